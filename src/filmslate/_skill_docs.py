"""``docs/skills/<skill>.md``: one reference page per skill, rendered from its declarations.

Every fact on a page (inputs, outputs, tier, loop, gate, escalation, what it logs) is read
from the skill class and the engine's tables, so the pages cannot drift from the code; a test
renders them again and compares. Regenerate with ``python -m filmslate._skill_docs``.
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

from .core._names import KINDS, RUN_LOG_SPEC_COLUMNS
from .engine._router import NEXT_TIER
from .engine._skill import Need, Skill, load_skills

DOCS = Path(__file__).resolve().parents[2] / "docs" / "skills"
SCOPES = {
    "project": "the project's latest version",
    "scene": "the run's scene",
    "shot": "the run's shot",
    "target": "the run's target",
    "all": "every subject's latest",
    "within": "every version inside the target",
    "adjacent": "this scene's and the previous",
    "cast": "the scene's cast",
    "scene_set": "the scene's set",
    "before_scene": "the state before this scene",
    "previous": "the previous scene's",
}
TARGETS = {
    "project": "PROJECT",
    "scene": "a scene (`--scene S03`)",
    "shot": "a shot (`--shot S03_SH02`)",
    "target": "PROJECT, a scene, an act or an episode (`--target`)",
}


def builtin_skills() -> list[type[Skill]]:
    """The skills filmslate ships (third-party ones document themselves)."""
    return [s for s in load_skills() if s.__module__.startswith("filmslate.")]


def render_page(skill: type[Skill]) -> str:
    """The Markdown reference page of one skill."""
    lines = [
        f"# {skill.name}",
        "",
        _doc(skill),
        "",
        "<!-- generated from the code by filmslate._skill_docs; do not edit -->",
        "",
        "| | |",
        "|---|---|",
        f"| layer | {skill.layer} |",
        f"| loop | {skill.loop or '-'} |",
        f"| tier | {_tier(skill)} |",
        f"| runs on | {_runs_on(skill)} |",
        f"| summary | {skill.summary or '-'} |",
        "",
        "## Inputs",
        "",
        *_inputs(skill),
        "",
        "## Outputs",
        "",
        *_outputs(skill),
        "",
        "## Gate",
        "",
        _gate(skill),
        "",
        "## On FAIL",
        "",
        _escalation(skill),
        "",
        "## Log",
        "",
        *_log(skill),
        "",
    ]
    return "\n".join(lines)


def _doc(skill: type[Skill]) -> str:
    return inspect.cleandoc(skill.__doc__ or skill.summary or skill.name)


def _tier(skill: type[Skill]) -> str:
    if skill.automatic:
        return "built into the engine (zero cost)"
    if not skill.uses_model:
        return "deterministic code: routed as `throughput` / `builtin`, zero cost"
    return f"`{skill.tier}` (the model `[tiers] {skill.tier}` names in filmslate.toml)"


def _runs_on(skill: type[Skill]) -> str:
    if skill.automatic:
        return "automatically: " + " ".join(str(getattr(skill, "how", "")).split())
    return f"{TARGETS[skill.target_scope]}: `slate run {skill.name}`"


def _inputs(skill: type[Skill]) -> list[str]:
    if not skill.needs:
        return ["None."]
    return [
        f"- `{need.kind}`: {SCOPES.get(need.scope, need.scope)}{_input_notes(need)}"
        for need in skill.needs
    ]


def _input_notes(need: Need) -> str:
    notes = ["optional"] if need.optional else []
    if not need.lineage:
        notes.append("context only: a newer version does not make the output stale")
    if need.history:
        notes.append("a record: its gate and age do not matter")
    return f" ({'; '.join(notes)})" if notes else ""


def _outputs(skill: type[Skill]) -> list[str]:
    return [f"- `{KINDS[k].form()}` in `{KINDS[k].layer}/`" for k in skill.produces] or ["None."]


def _gate(skill: type[Skill]) -> str:
    gate = skill.gate
    doc = gate.__doc__ if gate is not Skill.gate else None
    if skill.automatic:
        doc = inspect.getdoc(sys.modules[skill.__module__]) or doc
    return inspect.cleandoc(doc) if doc else "PASS: the skill has no rules of its own."


def _escalation(skill: type[Skill]) -> str:
    if skill.automatic:
        return "Not run by hand: its rules hold inside every other run."
    if not skill.revise_on_fail:
        return (
            "The loop stops at once with the gate's reasons: asking again cannot fix "
            "this FAIL, the fault is in an input; fix it upstream and run again."
        )
    if not skill.uses_model:
        return (
            "Deterministic: no model to revise or escalate. A FAIL names what to change "
            "upstream; the orchestrator sends it back to the step that can fix it."
        )
    ladder: list[str] = [skill.tier]
    while NEXT_TIER.get(ladder[-1]):
        ladder.append(str(NEXT_TIER[ladder[-1]]))
    return (
        "Revised with the gate's reasons up to `loops.max_revisions` times at one tier, "
        f"then one tier up ({' -> '.join(ladder)}), each step a ROUTING_DECISION; past "
        "the top tier a hard stop that `slate override` lifts on the record."
    )


def _log(skill: type[Skill]) -> list[str]:
    out = [
        "- Every run appends hash-chained rows to `logs/RUN_LOG_v001.csv` with "
        + ", ".join(f"`{c}`" for c in RUN_LOG_SPEC_COLUMNS)
        + "."
    ]
    if skill.uses_model:
        out.append(
            "- Each model call is metered: estimated (reserved) and actual (settled) "
            "cost, the model and tier used."
        )
    if skill.uses_video:
        out.append(
            "- Each generation records its provider job id before waiting, so a "
            "resumed run polls the same job instead of paying again."
        )
    if skill.regen_limited:
        out.append("- `regen_count` counts the shot's regenerations against SPEC §8's limits.")
    if skill.grades:
        out.append(
            f"- One verdict per version of {skill.grades}: grading the same take again "
            "is refused unless forced."
        )
    return out


def render_all() -> dict[str, str]:
    """Every built-in skill's page, by file name."""
    return {f"{s.name}.md": render_page(s) for s in builtin_skills()}


def write_all(folder: Path = DOCS) -> list[Path]:
    """Write every page (and the index), removing pages of skills that no longer exist."""
    folder.mkdir(parents=True, exist_ok=True)
    pages = {**render_all(), "README.md": render_index()}
    for old in folder.glob("*.md"):
        if old.name not in pages:
            old.unlink()
    for name, text in pages.items():
        (folder / name).write_text(text, encoding="utf-8")
    return [folder / n for n in sorted(pages)]


def render_index() -> str:
    """``docs/skills/README.md``: the skills by layer, with their one-line summaries."""
    lines = [
        "# Skills",
        "",
        "<!-- generated from the code by filmslate._skill_docs -->",
        "",
        "| skill | layer | tier | produces |",
        "|---|---|---|---|",
    ]
    for skill in builtin_skills():
        produces = ", ".join(skill.produces) or "-"
        tier = "automatic" if skill.automatic else (skill.tier if skill.uses_model else "builtin")
        lines.append(f"| [{skill.name}]({skill.name}.md) | {skill.layer} | {tier} | {produces} |")
    return "\n".join([*lines, ""])


if __name__ == "__main__":
    for path in write_all(Path(sys.argv[1]) if len(sys.argv) > 1 else DOCS):
        print(path)
