"""continuity-supervisor: code checks first, then a model's observations and extra findings.

Target: a scene (``S03``: that scene against the world as it stood before it, and its join
with the previous scene) or ``PROJECT`` (every scene the world state has reached, in one
linear pass). Code findings come from :mod:`filmslate.rules._continuity`; then the judgment tier
reads the scene's compact facts and answers with observations (what the scene shows, which
code checks in turn) and findings code could not see. The model can only add: code
findings are kept verbatim, and the gate, computed in code, FAILs on any High finding.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from ...core._errors import UserError
from ...core._gate import Gate
from ...core._names import SCENE_RE
from ...engine._skill import REGISTRY, Context, Need, Skill
from ...rules._continuity import (
    ClaimJudgment,
    Locks,
    Observation,
    Policy,
    SceneFacts,
    ambiguous_claims,
    check_continuity,
    gate_failures,
    key,
    merge,
    name_artifacts,
    phase_at,
    report,
    same_place,
    scene_facts,
    with_observations,
)
from ...rules._worldstate_story import story_place, story_previous
from ...schemas import (
    Breakdown,
    BreakdownRow,
    CharLock,
    Finding,
    SceneRow,
    Scenes,
    SetLock,
    StateDiff,
    WorldState,
)
from .._prompts import system_prompt

PACKAGE = "filmslate.skills.continuity"  # the package whose prompts/ holds the prompts


class ClaimVerdicts(BaseModel):
    """The judgment tier's verdicts on the claims code could not decide (issue 16 §3)."""

    verdicts: list[ClaimJudgment] = Field(
        default_factory=list, description="one verdict per claim asked about"
    )


class SupervisorAnswer(BaseModel):
    """What the model adds: observations for code to check, and findings code cannot see."""

    observations: list[Observation] = Field(
        default_factory=list, description="what the scene text says it shows, by kind"
    )
    findings: list[Finding] = Field(
        default_factory=list, description="contradictions not already among the code findings"
    )


@dataclass(frozen=True)
class _Inputs:
    """The loaded inputs, typed."""

    scenes: Scenes
    breakdown: Breakdown
    world: WorldState
    diffs: Mapping[str, StateDiff]
    locks: Locks

    @classmethod
    def of(cls, ctx: Context) -> _Inputs:
        return cls(
            scenes=ctx.inputs.get("SCENES"),
            breakdown=ctx.inputs.get("BREAKDOWN"),
            world=ctx.inputs.get("WORLD_STATE") or WorldState(),
            diffs=ctx.inputs.all("STATE_DIFF"),
            locks=Locks(characters=ctx.inputs.all("CHAR_LOCK"), sets=ctx.inputs.all("SET_LOCK")),
        )

    def order(self) -> list[str]:
        return [row.scene_id for row in self.scenes.rows]


class ContinuitySupervisor(Skill):
    """Cross-checks scenes, breakdown, state diffs, world state and locks; FAIL on any High."""

    name: ClassVar[str] = "continuity-supervisor"
    prompt_name: ClassVar[str] = "continuity-supervisor"
    layer: ClassVar[Any] = "continuity"
    tier: ClassVar[Any] = "judgment"
    loop: ClassVar[str] = "continuity"
    # A FAIL here is a fact about the scene or its diff; asking again cannot fix it. The
    # continuity loop goes back to the scene and the world-state tracker instead.
    revise_on_fail: ClassVar[bool] = False
    # WORLD_STATE is the state before the target scene (for PROJECT: the initial state, or
    # none), so every scene's before and after follow exactly from the diffs. A scene target
    # reads its own diff and its predecessor's (PROJECT reads them all), and the locks of the
    # scene's cast and set (everyone's for PROJECT), so revising one character's lock reopens
    # only that character's scenes and the cost per scene does not grow with the production.
    needs: ClassVar[tuple[Need, ...]] = (
        Need("SCENES"),
        Need("BREAKDOWN"),
        Need("STATE_DIFF", "adjacent"),
        Need("WORLD_STATE", "before_scene", optional=True),
        Need("CHAR_LOCK", "cast", optional=True),
        Need("SET_LOCK", "scene_set", optional=True),
    )
    produces: ClassVar[tuple[str, ...]] = ("CONTINUITY_REPORT",)
    target_scope: ClassVar[Any] = "target"
    summary: ClassVar[str] = (
        "checks a scene (or the whole project) for continuity breaks "
        "against the world state and the locks; FAIL on any High"
    )

    def check_target(self, target: str) -> str:
        """A scene or PROJECT (acts and episodes have no scene list of their own yet)."""
        if target != "PROJECT" and not SCENE_RE.fullmatch(target):
            raise UserError(
                f"{self.name} runs on a scene or PROJECT, not {target!r}: use "
                "--target S03 or --target PROJECT",
                skill=self.name,
                target=target,
            )
        return target

    def produce(self, ctx: Context) -> list[Any]:
        data = _Inputs.of(ctx)
        policy = Policy.from_config(ctx.config)
        previous, checked, problems = _facts(data, ctx.target)
        before = _previous_phase(data, previous)
        code = problems + check_continuity(checked, data.locks, policy, previous, before)
        code = name_artifacts(code, ctx.inputs.names)
        answer = ctx.ask(
            SupervisorAnswer,
            system_prompt(PACKAGE, self.prompt_name),
            _prompt(ctx, data, previous, checked, code),
        )
        known = [f.scene_id for f in checked]
        observed = with_observations(checked, _observations(answer, ctx.target, known))
        observed = _judged(ctx, observed, data.locks)
        seen = name_artifacts(
            check_continuity(observed, data.locks, policy, previous, before), ctx.inputs.names
        )
        added = [_scoped(f, ctx.target, data.order()) for f in answer.findings]
        findings = merge(code, [*seen, *added])
        return [report(ctx.target, findings, _checked_names(ctx, data, previous, checked))]

    def gate(self, outputs: list[Any], ctx: Context) -> Gate:
        """FAIL on any High finding (code's or the model's); PASS otherwise."""
        return Gate.from_failures(gate_failures(outputs[0].findings))


def _facts(data: _Inputs, target: str) -> tuple[SceneFacts | None, list[SceneFacts], list[Finding]]:
    """(previous scene in story time, scenes to check, replay findings) for the target."""
    order = data.order()
    if target == "PROJECT":
        facts, problems = scene_facts(data.scenes, data.breakdown, data.diffs, data.world)
        return None, facts, problems
    if target not in order:
        raise UserError(f"{target} is not in SCENES: add it there first", target=target)
    previous = story_previous(data.scenes.rows, target)
    only = [previous, target] if previous else [target]
    facts, problems = scene_facts(data.scenes, data.breakdown, data.diffs, data.world, only)
    mine = [p for p in problems if target in p.scenes]
    return (facts[0] if len(facts) == 2 else None), facts[-1:], mine


def _judged(ctx: Context, facts: list[SceneFacts], locks: Locks) -> list[SceneFacts]:
    """The facts with the judgment tier's verdicts on the claims code found ambiguous (one
    question for all of them; none asked when there are none)."""
    asked = [(f.scene_id, *claim) for f in facts for claim in ambiguous_claims(f, locks)]
    if not asked:
        return facts
    lines = [
        f"- {scene} {who}: claims {claim!r}; what they know: {entry!r}"
        for scene, who, claim, entry in asked
    ]
    answer = ctx.ask(
        ClaimVerdicts,
        system_prompt(PACKAGE, "continuity-claims"),
        "For each claim, say whether what the character knows entails it.\n\n" + "\n".join(lines),
    )
    out = []
    for f in facts:
        mine = {
            (key(who), " ".join(claim.split()))
            for scene, who, claim, _ in asked
            if scene == f.scene_id
        }
        verdicts = [
            v for v in answer.verdicts if (key(v.character), " ".join(v.claim.split())) in mine
        ]
        out.append(replace(f, judgments=(*f.judgments, *verdicts)))
    return out


def _previous_phase(data: _Inputs, previous: SceneFacts | None) -> int | None:
    """The previous scene's phase of day, walking back through continuous scenes."""
    if previous is None:
        return None
    return phase_at(data.scenes.rows, data.order().index(previous.scene_id))


def _observations(answer: SupervisorAnswer, target: str, known: Sequence[str]) -> list[Observation]:
    """The model's observations on the scenes being checked (a scene target owns blanks)."""
    out = []
    for obs in answer.observations:
        scene = obs.scene_id or (target if target != "PROJECT" else "")
        if scene in known:
            out.append(obs.model_copy(update={"scene_id": scene}))
    return out


def _scoped(finding: Finding, target: str, order: Sequence[str]) -> Finding:
    """A model finding keeps only real scene ids; a scene target's finding names its scene."""
    scenes = [s for s in finding.scenes if s in order]
    if not scenes and target != "PROJECT":
        scenes = [target]
    return finding.model_copy(update={"scenes": scenes})


def _checked_names(
    ctx: Context, data: _Inputs, previous: SceneFacts | None, checked: Sequence[SceneFacts]
) -> list[str]:
    """The input versions the checks actually read (for the report's notes)."""
    if ctx.target == "PROJECT":
        return list(ctx.inputs.names)
    scenes = [*([previous] if previous else []), *checked]
    cast = {key(c) for f in scenes for c in f.characters}
    places = [f.location for f in scenes]
    wanted = {f"STATE_DIFF_{f.scene_id}" for f in scenes}
    wanted |= {
        f"CHAR_{lock.name}_LOCK" for cid, lock in data.locks.characters.items() if key(cid) in cast
    }
    wanted |= {f"SET_{lock.name}_LOCK" for p in places if (lock := data.locks.set_for(p))}
    keep = []
    for name in ctx.inputs.names:
        stem = name.rsplit("_v", 1)[0]
        kind_prefix = stem.startswith(("STATE_DIFF_", "CHAR_", "SET_", "VOICE_", "STYLE_"))
        if not kind_prefix or stem in wanted:
            keep.append(name)
    return keep


# -- the prompt ------------------------------------------------------------------------------


def _prompt(
    ctx: Context,
    data: _Inputs,
    previous: SceneFacts | None,
    checked: Sequence[SceneFacts],
    code: Sequence[Finding],
) -> str:
    """Only the declared inputs the target needs, rendered compactly."""
    if ctx.target == "PROJECT":
        body = _project_body(data, checked)
    else:
        body = _scene_body(data, previous, checked[0])
    parts = [
        f"Target: {ctx.target}",
        body,
        "Findings code already made (they stand):",
        _lines(f"- {f.severity} {f.category} {', '.join(f.scenes)}: {f.description}" for f in code),
    ]
    if ctx.feedback:
        parts += ["Feedback on the previous attempt:", _lines(f"- {r}" for r in ctx.feedback)]
    parts.append(
        "Answer with observations (scene_id may stay empty for the target scene) "
        "and only the findings that are not listed above."
    )
    return "\n\n".join(parts)


def _lines(items: Any) -> str:
    text = "\n".join(items)
    return text or "- (none)"


def _scene_body(data: _Inputs, previous: SceneFacts | None, f: SceneFacts) -> str:
    row = _row(data.scenes.rows, f.scene_id)
    bd = _row(data.breakdown.rows, f.scene_id)
    parts = [f"Scene {f.scene_id} (to check)\n" + _scene_block(row, bd)]
    if previous is not None:
        parts.append(
            f"Previous scene {previous.scene_id}: {previous.location}, "
            f"{previous.time_of_day or 'time not given'}; characters "
            f"{', '.join(previous.characters) or 'none'}"
        )
    parts.append(f"World before {f.scene_id}:\n" + _state_block(f))
    diff = f.diff.model_dump(mode="json", exclude_defaults=True) if f.diff else None
    parts.append(
        f"State diff of {f.scene_id}: "
        + (json.dumps(diff, sort_keys=True) if diff else "(missing)")
    )
    parts.append("Locks:\n" + _locks_block(data.locks, f))
    return "\n\n".join(parts)


def _list(items: Sequence[str]) -> str:
    return "; ".join(items) or "none"


def _row(rows: Sequence[Any], scene: str) -> Any:
    return next((r for r in rows if r.scene_id == scene), None)


def _scene_block(row: SceneRow, bd: BreakdownRow | None) -> str:
    story = (
        f"; out of story order: {row.story_position or 'a flashback / flash forward'} (the "
        "world below is the world at its story time)"
        if story_place(row)
        else ""
    )
    lines = [
        f"- location {row.location}; time of day {row.time_of_day or '(not given)'}; "
        f"characters {', '.join(row.characters_present) or 'none'}{story}",
        f"- summary: {row.summary}",
        f"- goal: {row.goal or '-'} | conflict: {row.conflict or '-'} | outcome: "
        f"{row.outcome or '-'}",
    ]
    if bd is not None:
        lines.append(
            f"- breakdown: props used {', '.join(bd.props_used) or 'none'}; new props "
            f"{', '.join(bd.new_props_introduced) or 'none'}; state changes "
            f"{'; '.join(bd.state_changes) or 'none'}; risks "
            f"{'; '.join(bd.continuity_risks) or 'none'}"
        )
    return "\n".join(lines)


def _state_block(f: SceneFacts) -> str:
    state = f.before
    cast = {key(c) for c in f.characters}
    used = {key(p) for p in f.props_used}
    lines = []
    for cid, c in state.characters.items():
        if key(cid) in cast:
            lines.append(
                f"- {cid}: at {c.location or '?'}; injuries {_list(c.injuries)}; "
                f"holds {_list(c.inventory)}; knows {_list(c.knowledge)}; mood "
                f"{c.emotional_state or '?'}; wears {c.wardrobe or 'their locked outfit'}"
                + "".join(f"; {i} shows as {_list(signs)}" for i, signs in c.injury_signs.items())
            )
    for pid, p in state.props.items():
        if key(pid) in used or key(p.owner) in cast:
            lines.append(
                f"- prop {pid}: owner {p.owner or 'nobody'}; at {p.location or '?'}; "
                f"{p.status or 'status ?'}"
            )
    for lid, loc in state.locations.items():
        if same_place(lid, f.location):
            lines.append(
                f"- place {lid}: lighting {loc.lighting_state or '?'}; condition "
                f"{loc.condition or '?'}"
            )
    return _lines(lines)


def _locks_block(locks: Locks, f: SceneFacts) -> str:
    lines = []
    for cid in f.characters:
        lock = locks.char(cid)
        if lock is not None:
            lines.append(_char_line(lock))
    set_lock = locks.set_for(f.location)
    if set_lock is not None:
        lines.append(_set_line(set_lock))
    return _lines(lines)


def _char_line(lock: CharLock) -> str:
    look, dress = lock.appearance, lock.wardrobe
    return (
        f"- CHAR {lock.name}: hair {look.hair}; eyes {look.eyes}; build {look.build}; "
        f"outfit {dress.default_outfit}; variants {_list(dress.justified_variants)}; "
        f"anchors {_list(lock.visual_anchors)}; forbidden drift {_list(lock.forbidden_drift)}"
    )


def _set_line(lock: SetLock) -> str:
    light, env = lock.lighting, lock.environment
    return (
        f"- SET {lock.name}: time of day {env.time_of_day}; light {light.temperature_k}K from "
        f"{light.primary_source}, variation {light.allowed_variation}; exits "
        f"{lock.layout.entries_exits}; anchors {'; '.join(lock.visual_anchors) or 'none'}; "
        f"forbidden drift {'; '.join(lock.forbidden_drift) or 'none'}"
    )


def _project_body(data: _Inputs, checked: Sequence[SceneFacts]) -> str:
    """One line per scene: the cross-scene view (grows with the project, by design)."""
    lines = []
    for f in checked:
        row = _row(data.scenes.rows, f.scene_id)
        story = f" ({f.story}, in story time)" if f.story else ""
        lines.append(
            f"- {f.scene_id}{story} | {f.location} | {f.time_of_day or '-'} | "
            f"{', '.join(f.characters) or '-'} | props {', '.join(f.props_used) or '-'}"
            f" | changes {'; '.join(f.state_changes) or '-'} | {row.summary}"
        )
    return (
        "Scenes in order (id | place | time | characters | props | changes | summary):\n"
        + _lines(lines)
        + "\n\nLook for conflicts that span scenes; give each observation "
        "its scene_id."
    )


REGISTRY.register(ContinuitySupervisor)
