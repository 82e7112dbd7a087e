"""regen-analyzer (SPEC §5, §8; Tier 2, deterministic core): rules from repeated QC failures.

It reads a shot's failed QC rows, names the dominant failure pattern and a root-cause
hypothesis, and writes REGEN_RULES scoped to the shot, keeping the rules of the previous
version. prompt-packager puts them in the next GenPack's negatives, so a regeneration never
reuses an unchanged GenPack.

Findings routed to it about a take QC accepted (visual-continuity's, as its revision notes)
become the shot's rules verbatim (``_regen_feedback``).

The scene's QC_BATCH is read as a *history*: the latest version is wanted even when its gate
failed (it records a failed attempt) and whatever else was graded after it.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any, ClassVar

from ...core._errors import UserError
from ...core._gate import Gate
from ...engine._refusals import Refusal
from ...engine._regen import ANALYZER
from ...engine._skill import REGISTRY, Context, Layer, Media, Need, Skill, Tier
from ...rules._media import QC_CATEGORIES
from ...schemas import (
    AdjustmentRule,
    Artifact,
    CharLock,
    GenPack,
    QcBatch,
    QcRow,
    RegenRules,
    SetLock,
    ShotRow,
)
from ._production import shot_row
from ._regen_feedback import feedback_rules
from ._regen_refusal import refusal_cause, refusal_of, refusal_summary, rewording
from ._shared import CROWD, GENPACK_NOTE, applicable_rules, history, pack_digest

REDUCTIONS = ("complexity_reduction", "duration_reduction")
PATTERNS = {
    "face_consistency": "face drift",
    "wardrobe_consistency": "wardrobe drift",
    "set_continuity": "set drift",
    "prop_accuracy": "prop inconsistency",
    "lighting_consistency": "lighting shift",
    "motion_integrity": "motion artifact",
    "audio_consistency": "audio mismatch",
}


@dataclasses.dataclass(frozen=True)
class Analysis:
    """What the failed attempts of one shot have in common."""

    shot_id: str
    failed: list[QcRow]
    deficits: dict[str, int]  # category -> points lost over the failed attempts
    repeats: dict[str, int]  # category -> failed attempts scoring below 2 in it
    packs: list[str]  # GenPack digests the failed attempts were made from (attempt order)

    @property
    def dominant(self) -> str:
        """The category that lost the most points (QC column order breaks ties)."""
        return max(QC_CATEGORIES, key=lambda c: (self.deficits.get(c, 0), -QC_CATEGORIES.index(c)))

    @property
    def repeated(self) -> list[str]:
        """Categories that failed in at least two attempts."""
        return [c for c in QC_CATEGORIES if self.repeats.get(c, 0) >= 2]


def analyse(rows: list[QcRow], shot_id: str) -> Analysis:
    """Aggregate the shot's attempts since its last PASS by category."""
    mine = [r for r in rows if r.shot_id == shot_id]
    last_pass = max((i for i, r in enumerate(mine) if r.verdict == "PASS"), default=-1)
    failed = mine[last_pass + 1 :]
    deficits: Counter[str] = Counter()
    repeats: Counter[str] = Counter()
    for row in failed:
        for name, score in row.scores.items():
            if score is not None and score < 2:
                deficits[name] += 2 - score
                repeats[name] += 1
    packs = [m.group(2) for r in failed if (m := GENPACK_NOTE.search(r.notes))]
    return Analysis(shot_id, failed, dict(deficits), dict(repeats), packs)


class RegenAnalyzer(Skill):
    """Turns a shot's repeated QC failures into REGEN_RULES the packager applies."""

    name: ClassVar[str] = ANALYZER
    layer: ClassVar[Layer] = "production"
    tier: ClassVar[Tier] = "judgment"
    loop: ClassVar[str] = "production"
    # Nothing here is lineage: REGEN_RULES is project-wide, and a new GenPack or QC row (which
    # these rules cause) must not make them stale for every other shot's packaging.
    needs: ClassVar[tuple[Need, ...]] = (
        history("QC_BATCH", "scene"),
        Need("SHOTLIST", "scene", lineage=False),
        Need("GENPACK", "shot", lineage=False),
        Need("CHAR_LOCK", "cast", optional=True, lineage=False),
        Need("SET_LOCK", "scene_set", optional=True, lineage=False),
        Need("REGEN_RULES", optional=True, lineage=False),
    )
    produces: ClassVar[tuple[str, ...]] = ("REGEN_RULES",)
    target_scope: ClassVar[Any] = "shot"
    uses_model: ClassVar[bool] = False
    revise_on_fail: ClassVar[bool] = False  # the same rows give the same analysis
    wants_refusals: ClassVar[bool] = True  # the shot's refused renders: ctx.params["refusals"]
    summary: ClassVar[str] = (
        "after repeated QC failures or a refused render: dominant pattern, root cause and "
        "rules for the next GenPack; findings routed to it (visual continuity) become rules"
    )

    def produce(self, ctx: Context) -> list[Artifact | Media]:
        """The previous rules plus this shot's new ones."""
        row = shot_row(ctx)
        batch: QcBatch | None = ctx.inputs.get("QC_BATCH")
        found = analyse(list(batch.rows) if batch else [], row.shot_id)
        refused = refusal_of(ctx, ctx.inputs.get("GENPACK")) is not None
        if ctx.feedback and not refused:  # a later gate's findings on an accepted take
            return [feedback_rules(row, ctx.inputs.get("REGEN_RULES"), ctx.feedback)]
        if not refused and not any(r.verdict != "PASS" for r in found.failed):
            raise UserError(
                f"{row.shot_id} has no failed QC attempt since its last PASS and no refused "
                "render of its GenPack: nothing to analyse (run qc-grader first)",
                target=row.shot_id,
            )
        return [regen_rules(ctx, row, found)]

    def gate(self, outputs: list[Any], ctx: Context) -> Gate:
        """FAIL without a root cause, a new adjustment, or a reduction after repeated drift."""
        rules = outputs[0]
        assert isinstance(rules, RegenRules)
        batch: QcBatch | None = ctx.inputs.get("QC_BATCH")
        found = analyse(list(batch.rows) if batch else [], ctx.target)
        return Gate.from_failures(regen_failures(rules, found, ctx.inputs.get("REGEN_RULES")))


def regen_failures(rules: RegenRules, found: Analysis, previous: RegenRules | None) -> list[str]:
    """The SPEC's FAIL conditions for one shot's rules."""
    shot = found.shot_id
    out = []
    if not rules.root_cause_hypothesis.strip():
        out.append(f"{shot}: no root cause is named")
    old = {_key(r) for r in previous.prompt_adjustment_rules} if previous else set()
    new = [r for r in rules.prompt_adjustment_rules if r.scope == shot and _key(r) not in old]
    if not new:
        out.append(f"{shot}: no new adjustment: the next GenPack would be unchanged")
    mine = [r for r in rules.prompt_adjustment_rules if r.scope == shot]
    if found.repeated and not any(r.type in REDUCTIONS for r in mine):
        out.append(
            f"{shot}: repeated drift in {', '.join(found.repeated)} but complexity and "
            "duration are unchanged (add a complexity or duration reduction)"
        )
    return out


def _key(rule: AdjustmentRule) -> tuple[str, str, str]:
    return rule.type, rule.scope, rule.rule


def regen_rules(ctx: Context, row: ShotRow, found: Analysis) -> RegenRules:
    """The new REGEN_RULES version: previous rules kept, this shot's rules added. A refused
    render of the current GenPack is its own pattern: the prompt is reworded within the locks."""
    previous: RegenRules | None = ctx.inputs.get("REGEN_RULES")
    pack: GenPack = ctx.inputs.get("GENPACK")
    refusal = refusal_of(ctx, pack)
    if refusal is not None:
        return _refusal_rules(ctx, row, found, previous, refusal)
    escalate = _rules_already_failed(previous, pack, found)
    mine = adjustments(ctx, row, found, escalate)
    kept = list(previous.prompt_adjustment_rules) if previous else []
    seen = {_key(r) for r in kept}
    added = [r for r in mine if _key(r) not in seen]
    simplifications = [s for s in (previous.structural_simplifications if previous else [])]
    simplifications += [s for s in simplify(ctx, row, found) if s not in simplifications]
    return RegenRules(
        failure_pattern_summary=summary_of(found, pack),
        root_cause_hypothesis=root_cause(ctx, row, found),
        prompt_adjustment_rules=kept + added,
        structural_simplifications=simplifications,
        escalation_recommendation=_escalation(row, escalate),
    )


def _refusal_rules(
    ctx: Context, row: ShotRow, found: Analysis, previous: RegenRules | None, refusal: Refusal
) -> RegenRules:
    """Rewording within the locks (plus the reductions repeated QC drift still needs)."""
    kept = list(previous.prompt_adjustment_rules) if previous else []
    reductions = _reductions(ctx, row, found, []) if found.repeated else []
    mine = [rewording(row.shot_id, refusal, previous), *reductions]
    seen = {_key(r) for r in kept}
    return RegenRules(
        failure_pattern_summary=refusal_summary(refusal),
        root_cause_hypothesis=refusal_cause(row, refusal),
        prompt_adjustment_rules=kept + [r for r in mine if _key(r) not in seen],
        structural_simplifications=list(previous.structural_simplifications if previous else []),
        escalation_recommendation=_escalation(row, False),
    )


def _rules_already_failed(previous: RegenRules | None, pack: GenPack, found: Analysis) -> bool:
    """True when this shot's earlier rules are in the current GenPack and it still failed."""
    if previous is None:
        return False
    lines = applicable_rules(previous, found.shot_id)
    applied = bool(lines) and all(line in pack.negatives.split("\n") for line in lines)
    last = found.failed[-1] if found.failed else None
    used = last is not None and found.packs[-1:] == [pack_digest(pack)]
    return applied and used and last is not None and last.verdict != "PASS"


def summary_of(found: Analysis, pack: GenPack) -> str:
    """Attempts, scores by category, the dominant pattern and the GenPack comparison."""
    lines = [
        f"{found.shot_id}: {len(found.failed)} failed attempt(s) since the last PASS "
        f"(attempts {', '.join(str(r.attempt_number) for r in found.failed)})."
    ]
    lost = ", ".join(
        f"{c} -{found.deficits[c]} in {found.repeats[c]} attempt(s)"
        for c in QC_CATEGORIES
        if found.deficits.get(c)
    )
    lines.append(f"Points lost by category: {lost or 'none'}.")
    lines.append(f"Dominant pattern: {PATTERNS[found.dominant]} ({found.dominant}).")
    distinct = list(dict.fromkeys(found.packs))
    if len(found.packs) >= 2 and len(distinct) == 1:
        same = "the current one" if distinct[0] == pack_digest(pack) else "an earlier one"
        lines.append(
            f"GenPack unchanged across {len(found.packs)} attempts (sha256:"
            f"{distinct[0]}, {same}): the wording did not change between retakes."
        )
    elif distinct:
        lines.append(
            f"{len(distinct)} different GenPacks over {len(found.packs)} attempts; "
            "rewording alone did not fix it."
        )
    return "\n".join(lines)


def root_cause(ctx: Context, row: ShotRow, found: Analysis) -> str:
    """A hypothesis from the dominant pattern and what makes the shot hard."""
    causes = {
        "face_consistency": "the characters' identity anchors are too weak in the prompt for "
        "the model to hold faces steady",
        "wardrobe_consistency": "the wardrobe is described loosely, so the model re-dresses "
        "the characters between frames",
        "set_continuity": "the set's anchors are not pinned, so the model invents a layout",
        "prop_accuracy": "props are not named precisely enough to stay the same",
        "lighting_consistency": "the light source and temperature are not constrained tightly "
        "enough, so the light shifts",
        "motion_integrity": "the motion asked for is more than the model renders cleanly",
        "audio_consistency": "the sound design is not constrained",
    }
    hard = []
    if len(row.char_ids) >= CROWD:
        hard.append(f"{len(row.char_ids)} characters in frame")
    if row.complexity_level == "high":
        hard.append("high blocking complexity")
    if row.duration_s > ctx.config.visual.complex_max_s:
        hard.append(f"a long take ({row.duration_s:g}s)")
    if row.camera_type not in ("insert", "close_up", "extreme_close_up"):
        hard.append(f"a moving {row.camera_type} camera")
    made_worse = f", made worse by {', '.join(hard)}" if hard else ""
    return f"{PATTERNS[found.dominant].capitalize()}: {causes[found.dominant]}{made_worse}."


def adjustments(
    ctx: Context, row: ShotRow, found: Analysis, escalate: bool
) -> list[AdjustmentRule]:
    """This shot's rules, by type, from the failed categories and the shot row."""
    shot = row.shot_id
    locks: dict[str, CharLock] = ctx.inputs.all("CHAR_LOCK")
    set_lock: SetLock | None = ctx.inputs.all("SET_LOCK").get(row.set_id)
    failing = {c for c, n in found.deficits.items() if n}
    out = []
    for cid in row.char_ids:
        lock = locks.get(cid)
        if lock is None:
            continue
        if "face_consistency" in failing and lock.visual_anchors:
            out.append(
                AdjustmentRule(
                    type="anchor_reinforcement",
                    scope=shot,
                    rule=(
                        f"keep {cid} identical to the CHAR lock in every frame: "
                        f"{'; '.join(lock.visual_anchors)}; marks: "
                        f"{'; '.join(lock.appearance.distinguishing_marks) or 'none'}"
                    ),
                )
            )
        if "wardrobe_consistency" in failing:
            out.append(
                AdjustmentRule(
                    type="anchor_reinforcement",
                    scope=shot,
                    rule=(
                        f"{cid} wears exactly {lock.wardrobe.default_outfit} (palette "
                        f"{', '.join(lock.wardrobe.palette)}) from first to last frame"
                    ),
                )
            )
    if set_lock is not None:
        out += _set_rules(shot, set_lock, failing)
    if "motion_integrity" in failing:
        out.append(
            AdjustmentRule(
                type="constraint_tightening",
                scope=shot,
                rule=(
                    "one continuous take: no cuts, no frozen or black frames, no flicker, "
                    "slow camera"
                ),
            )
        )
    out += _reductions(ctx, row, found, out)
    if escalate:
        out.append(
            AdjustmentRule(
                type="tier_escalation",
                scope=shot,
                rule=(
                    "earlier rules for this shot were applied and it still failed: render it one "
                    "visual tier up"
                ),
            )
        )
    return out


def _set_rules(shot: str, lock: SetLock, failing: set[str]) -> list[AdjustmentRule]:
    out = []
    if "set_continuity" in failing:
        out.append(
            AdjustmentRule(
                type="constraint_tightening",
                scope=shot,
                rule=(
                    f"set {lock.name} stays as locked: {'; '.join(lock.visual_anchors)} in place; "
                    f"palette {', '.join(lock.palette) or 'as locked'}"
                ),
            )
        )
    if "lighting_consistency" in failing:
        light = lock.lighting
        out.append(
            AdjustmentRule(
                type="constraint_tightening",
                scope=shot,
                rule=(
                    f"hold the light: {light.temperature_k}K from {light.primary_source}, "
                    f"{light.shadow} shadows, {light.contrast} contrast, no change during the shot"
                ),
            )
        )
    if "prop_accuracy" in failing and lock.prop_anchors:
        out.append(
            AdjustmentRule(
                type="constraint_tightening",
                scope=shot,
                rule=(f"props exactly as locked: {'; '.join(lock.prop_anchors)}"),
            )
        )
    return out


def _reductions(
    ctx: Context, row: ShotRow, found: Analysis, so_far: list[AdjustmentRule]
) -> list[AdjustmentRule]:
    shot = row.shot_id
    limit = ctx.config.visual.complex_max_s
    out = []
    if len(row.char_ids) >= CROWD or row.complexity_level == "high":
        out.append(
            AdjustmentRule(
                type="complexity_reduction",
                scope=shot,
                rule=(f"at most {CROWD - 1} characters in frame and one action at a time"),
            )
        )
    if row.duration_s > limit:
        out.append(
            AdjustmentRule(
                type="duration_reduction",
                scope=shot,
                rule=(f"shorten the shot to at most {limit:g}s (now {row.duration_s:g}s)"),
            )
        )
    if found.repeated and not out:
        # repeated drift on a shot that is already simple: calm the camera, hold one action
        out.append(
            AdjustmentRule(
                type="complexity_reduction",
                scope=shot,
                rule=(
                    f"locked-off camera and a single action; repeated drift in "
                    f"{', '.join(found.repeated)}"
                ),
            )
        )
    return out


def simplify(ctx: Context, row: ShotRow, found: Analysis) -> list[str]:
    """Structural changes the shot planner should consider for this shot."""
    out = []
    if len(row.char_ids) >= CROWD:
        out.append(f"{row.shot_id}: split into shots of at most {CROWD - 1} characters")
    if row.duration_s > ctx.config.visual.complex_max_s:
        out.append(f"{row.shot_id}: split or trim to {ctx.config.visual.complex_max_s:g}s or less")
    if found.repeated and row.camera_type not in ("insert", "close_up"):
        out.append(f"{row.shot_id}: consider a steadier framing than {row.camera_type}")
    return out


def _escalation(row: ShotRow, escalate: bool) -> str:
    if escalate:
        return (
            f"Escalate {row.shot_id} (hero {row.hero_tier}) one visual tier: its earlier "
            "rules were applied and the failures persist. Record the cost impact."
        )
    return (
        f"No escalation for {row.shot_id} yet: apply these rules and simplifications at "
        "the current tier first."
    )


REGISTRY.register(RegenAnalyzer)

__all__ = [
    "PATTERNS",
    "REDUCTIONS",
    "Analysis",
    "RegenAnalyzer",
    "adjustments",
    "analyse",
    "regen_failures",
    "regen_rules",
    "root_cause",
    "simplify",
    "summary_of",
]
