"""The deterministic core of continuity-supervisor: contradictions found by code.

Pure functions over structured inputs, no I/O and no model. What code knows about one scene
is a :class:`SceneFacts`: its SCENES and BREAKDOWN rows, its STATE_DIFF, the WORLD_STATE just
before and just after it, and optional :class:`Observation` records of what the scene shows
(a character using a prop, wearing a coat, showing or lacking an injury, stating a fact,
standing somewhere, the scene's light). Observations come from a model reading the scene or
from a person; code never guesses them, and the checks only ever add findings for them.

``check_continuity`` runs every check over scenes in order and returns
:class:`~filmslate.schemas.Finding` rows (category, severity, scenes, artifacts, description,
correction); ``report`` turns them into a ContinuityReport whose gate (``gate_for``) FAILs on
any High finding. ``scene_facts`` builds the facts from the artifacts, replaying the diffs
around the stored world state so each scene gets its own before and after.

Matching free text (an outfit against a lock, a stated fact against what a character knows)
is done on content words: lower-cased words without filler words and plural ``s``. A
description matches a reference when every content word of the description appears in it.

The module runs the checks and assembles the report; the parts live beside it and are
re-exported here, so callers import from this one path: the inputs and text helpers
(``_continuity_inputs``), one module per group of checks (``_continuity_props``,
``_continuity_characters``, ``_continuity_timeline``, ``_continuity_lighting``) and the facts
from the artifacts (``_continuity_replay``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import get_args

from ..core._errors import ArtifactNameError
from ..core._names import ArtifactName
from ..schemas import Check, ContinuityReport, Finding
from ..schemas._continuity import Category
from ._continuity_characters import (
    ambiguous_claims,
    check_injuries,
    check_knowledge,
    check_wardrobe,
)
from ._continuity_inputs import (
    DEFAULT_LIGHT_FAIL_K,
    DEFAULT_LIGHT_TOLERANCE_K,
    PHASES,
    ClaimJudgment,
    Join,
    Locks,
    Observation,
    ObservationKind,
    Policy,
    SceneFacts,
    Severity,
    covered,
    key,
    phase_of,
    same_place,
    time_join,
    words,
)
from ._continuity_lighting import allowed_kelvin, check_lighting
from ._continuity_props import check_props
from ._continuity_replay import replay_step, rewind, scene_facts, with_observations
from ._continuity_timeline import check_places, check_time, effective_phase, phase_at

__all__ = [
    "CATEGORIES",
    "DEFAULT_LIGHT_FAIL_K",
    "DEFAULT_LIGHT_TOLERANCE_K",
    "PHASES",
    "ClaimJudgment",
    "Join",
    "Locks",
    "Observation",
    "ObservationKind",
    "Policy",
    "SceneFacts",
    "Severity",
    "allowed_kelvin",
    "ambiguous_claims",
    "check_continuity",
    "check_injuries",
    "check_knowledge",
    "check_lighting",
    "check_places",
    "check_props",
    "check_scene",
    "check_time",
    "check_wardrobe",
    "covered",
    "effective_phase",
    "gate_failures",
    "key",
    "merge",
    "name_artifacts",
    "phase_at",
    "phase_of",
    "replay_step",
    "report",
    "rewind",
    "same_place",
    "scene_facts",
    "time_join",
    "with_observations",
    "words",
]

CATEGORIES: tuple[Category, ...] = get_args(Category)


# -- the checks ------------------------------------------------------------------------------


def check_scene(
    f: SceneFacts, prev: SceneFacts | None, locks: Locks, policy: Policy, prev_phase: int | None
) -> list[Finding]:
    """Every check on one scene (and its join with the previous one)."""
    phase = effective_phase(f, prev_phase)
    return [
        *check_props(f),
        *check_injuries(f),
        *check_knowledge(f, locks),
        *check_places(f, prev, locks),
        *check_time(f, prev, prev_phase),
        *check_lighting(f, locks, policy, phase),
        *check_wardrobe(f, locks, prev),
    ]


def check_continuity(
    scenes: Sequence[SceneFacts],
    locks: Locks | None = None,
    policy: Policy | None = None,
    previous: SceneFacts | None = None,
    previous_phase: int | None = None,
) -> list[Finding]:
    """Every check over scenes in order.

    ``previous`` is the scene before the first one: used only by the checks that join two
    scenes, never checked itself. Its phase of day is ``previous_phase`` when given (see
    ``phase_at``: a continuous scene inherits it from further back), else what it states.

    Joins follow story time: a scene in order joins the last scene in order (a flashback
    between them is skipped); a flashback joins only the scene before it when that scene
    continues the same flashback (else it is a cut).
    """
    locks = locks or Locks()
    policy = policy or Policy()
    findings: list[Finding] = []
    present, present_phase = previous, previous_phase  # the last scene in story order
    if present_phase is None and previous is not None:
        present_phase = previous.stated_phase
    last: tuple[SceneFacts, int | None] | None = None  # the scene just before, as shot
    for scene in scenes:
        prev, prev_phase = present, present_phase
        if scene.story:  # out of story order: it joins only the flashback it continues
            same = last is not None and last[0].story == scene.story
            prev, prev_phase = last if same and last is not None else (None, None)
        findings += check_scene(scene, prev, locks, policy, prev_phase)
        phase = effective_phase(scene, prev_phase)
        last = (scene, phase)
        if not scene.story:
            present, present_phase = scene, phase
    return findings


# -- the report ------------------------------------------------------------------------------


_READS: dict[Category, tuple[str, ...]] = {
    "character": ("CHAR_LOCK", "SCENES", "BREAKDOWN"),
    "set": ("SET_LOCK", "SCENES", "WORLD_STATE"),
    "prop_inventory": ("BREAKDOWN", "STATE_DIFF", "WORLD_STATE"),
    "injury_emotional": ("STATE_DIFF", "WORLD_STATE"),
    "knowledge": ("STATE_DIFF", "WORLD_STATE", "CHAR_LOCK"),
    "timeline": ("SCENES", "STATE_DIFF", "SET_LOCK"),
}
"""The artifact kinds each check reads (named in its notes)."""
_NEEDS: dict[Category, str] = {"character": "CHAR_LOCK", "set": "SET_LOCK"}
"""A check with no finding and no input of this kind had nothing to check (N/A)."""
_SEVERITIES: tuple[Severity, ...] = ("High", "Medium", "Low")


def merge(code: Sequence[Finding], model: Iterable[Finding]) -> list[Finding]:
    """Code findings verbatim, then each model finding that is not already there.

    The model can add; it can never remove or soften a code finding, because nothing it
    returns is allowed to replace one (a restated finding with another severity is an
    additional row, and the code row stays).
    """
    out = list(code)
    seen = {_identity(f) for f in out}
    for finding in model:
        if _identity(finding) not in seen:
            seen.add(_identity(finding))
            out.append(finding)
    return out


def _identity(f: Finding) -> tuple[str, str, tuple[str, ...], str]:
    return (f.category, f.severity, tuple(f.scenes), " ".join(f.description.casefold().split()))


def report(
    target: str, findings: Sequence[Finding], checked_artifacts: Sequence[str]
) -> ContinuityReport:
    """The CONTINUITY_REPORT: one check per category, the findings, the corrections.

    A check FAILs when its category has a Medium or High finding, is N/A when it had nothing
    to check (no finding and no lock of the kind it needs among the checked artifacts), and
    PASSes otherwise; its notes count the findings and name what was checked.
    """
    checks = {f"{cat}_check": _check(cat, findings, checked_artifacts) for cat in CATEGORIES}
    corrections = list(dict.fromkeys(f.correction for f in findings if f.correction))
    return ContinuityReport.model_validate(
        {
            "target": target,
            **checks,
            "findings": [f.model_dump() for f in findings],
            "corrections": corrections,
        }
    )


def _check(category: Category, findings: Sequence[Finding], checked: Sequence[str]) -> Check:
    mine = [f for f in findings if f.category == category]
    kinds = {name: _kind_of(name) for name in checked}
    relevant = [n for n, k in kinds.items() if k in _READS[category]]
    needed = _NEEDS.get(category)
    if not mine and needed and needed not in kinds.values():
        return Check(status="N/A", notes=f"no {needed} to check against")
    counts = ", ".join(
        f"{n} {s}" for s in _SEVERITIES if (n := sum(1 for f in mine if f.severity == s))
    )
    failed = any(f.severity in ("High", "Medium") for f in mine)
    notes = f"{counts or 'no contradictions'}; checked {_summarise(relevant, kinds)}"
    return Check(status="FAIL" if failed else "PASS", notes=notes)


def _kind_of(name: str) -> str:
    try:
        return ArtifactName.parse(name).kind
    except ArtifactNameError:
        return ""


def _summarise(names: Sequence[str], kinds: Mapping[str, str], most: int = 4) -> str:
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(kinds[name], []).append(name)
    parts = [
        ", ".join(group) if len(group) <= most else f"{len(group)} {kind_name} versions"
        for kind_name, group in groups.items()
    ]
    return ", ".join(parts) or "nothing"


def gate_failures(findings: Sequence[Finding]) -> list[str]:
    """The gate's reasons: every High finding (the gate FAILs on any)."""
    return [
        f"High {f.category} finding in {', '.join(f.scenes) or 'the target'}: {f.description}"
        for f in findings
        if f.severity == "High"
    ]


def name_artifacts(findings: Sequence[Finding], names: Sequence[str]) -> list[Finding]:
    """Findings with artifact stems (``STATE_DIFF_S03``) replaced by the file names read."""
    by_stem = {re.sub(r"_v\d+\.\w+$", "", n): n for n in names}
    return [
        f.model_copy(
            update={"artifacts": list(dict.fromkeys(by_stem.get(a, a) for a in f.artifacts))}
        )
        for f in findings
    ]
