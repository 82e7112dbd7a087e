"""script-breakdown (SPEC §5): code extracts the breakdown, the model only adds to it."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final

from pydantic import Field

from ...core._errors import UserError
from ...core._gate import Gate
from ...core._scene_ids import ordered as in_story_order
from ...engine._kept import KEPT_PARAM, KeptAnswers
from ...engine._skill import Context, Media, Need, Skill
from ...rules._fountain import ParsedScene, canonical_id, parse_fountain
from ...rules._script_tables import breakdown_table
from ...schemas import (
    Artifact,
    Breakdown,
    BreakdownRow,
    Entry,
    Id,
    SceneRow,
    Scenes,
    ScriptScene,
    WorldState,
)
from .._prompts import system_prompt
from ._breakdown_props import (
    NotProp,
    is_rejection_note,
    rejection_failures,
    rejection_log,
    rejection_notes,
    without_rejected,
)
from ._common import PACKAGE, Answer, compose, joined, scene_key, scene_lines, section, unique

__all__ = [
    "BreakdownAnswer",
    "Extracted",
    "NotProp",
    "PropOwner",
    "ScriptBreakdown",
    "breakdown_failures",
    "extract",
    "scenes_to_ask",
    "with_introductions",
]


class PropOwner(Answer):
    """Who holds or controls a prop (a character id, or the set id where it belongs)."""

    prop: Id
    owner: Id


class BreakdownAnswer(Answer):
    """script-breakdown's answer for one scene: additions to what code extracted, and the
    prop candidates that are not props (``not_props``; code drops them from the scene)."""

    added_characters: list[Id] = Field(default_factory=list)
    added_locations: list[Id] = Field(default_factory=list)
    added_props: list[Id] = Field(default_factory=list)
    prop_owners: list[PropOwner] = Field(default_factory=list)
    state_changes: list[Entry] = Field(default_factory=list)
    continuity_risks: list[Entry] = Field(default_factory=list)
    lock_requirements: list[Id] = Field(default_factory=list)
    not_props: list[NotProp] = Field(default_factory=list)


@dataclass
class Extracted:
    """What code extracts for one scene from SCENES and its SCRIPT slice (kept verbatim)."""

    characters: list[str]
    speakers: list[str]
    locations: list[str]
    props: list[str]
    risks: list[str] = field(default_factory=list)
    text: str = ""


_CHANGE_RE: Final = re.compile(
    r"\b(?:tak(?:e|es|ing|en)|took|steal(?:s|ing)?|stol(?:e|en)|grab(?:s|bed|bing)?|"
    r"giv(?:e|es|en|ing)|gave|hand(?:s|ed)? over|receiv(?:e|es|ed|ing)|los(?:e|es|ing)|lost|"
    r"drop(?:s|ped|ping)?|find(?:s|ing)?|found|pick(?:s|ed)? up|injur\w*|wound\w*|"
    r"hurt(?:s|ing)?|stab\w*|shoot(?:s|ing)?|shot|bleed\w*|bled|break(?:s|ing)?|broken?|"
    r"burn\w*|kill\w*|learn\w*|discover\w*|reveal\w*|reali[sz]\w*|overhear\w*|overheard|"
    r"confess\w*|tell(?:s|ing)?|told)\b",
    re.IGNORECASE,
)
_INJURY_RE: Final = re.compile(
    r"\b(?:injur\w*|wound\w*|hurt(?:s|ing)?|stab\w*|shot|shoot(?:s|ing)?|bleed\w*|bled|"
    r"blood\w*|burn(?:s|ed|t)?|bruis\w*|limp\w*|concuss\w*|fractur\w*|sprain\w*|scar(?:s|red)?)"
    r"\b",
    re.IGNORECASE,
)
#: Lock requirement names follow the lock files' stems, as the importer writes them.
_LOCK_RE: Final = re.compile(r"(?:CHAR|SET|VOICE|STYLE)_[A-Z0-9]+(?:_[A-Z0-9]+)*_LOCK")
_LOCK_PREFIX_RE: Final = re.compile(r"(?:CHAR|SET|VOICE|STYLE)_[A-Z0-9_]+")
#: A gate reason about one scene: ``S03: ...``.
_SCENE_RE: Final = re.compile(r"((?:E\d+_)?S\d+):")
#: How code records a new prop's first owner among the state changes.
_ENTERS: Final = " enters the story, owned by "
#: Owners that say nobody knows who has the prop.
_VAGUE_OWNERS: Final = frozenset(
    {"", "UNKNOWN", "NONE", "NOBODY", "SOMEONE", "UNCLEAR", "TBD", "NA", "N_A", "UNASSIGNED"}
)


def _parsed_script(
    scripts: Mapping[str, ScriptScene], order: Sequence[str]
) -> dict[tuple[int, int], tuple[ParsedScene, BreakdownRow]]:
    """Parse the slices as one screenplay in story order (``order``: SCENES' ids), exactly
    as `slate import` does, and break it down with the importer's own code (so the
    extraction is the import's, field for field, first appearances included)."""
    if not scripts:
        return {}
    ordered = in_story_order(scripts, order)
    play = parse_fountain("\n\n".join(scripts[s].text for s in ordered), source="SCRIPT")
    if len(play.scenes) != len(ordered):
        raise UserError(
            f"the SCRIPT slices hold {len(play.scenes)} scene headings for "
            f"{len(ordered)} scenes: each SCRIPT_<SCENE> must hold exactly one "
            "scene, heading first; re-import the screenplay"
        )
    rows = breakdown_table(play).rows
    return {
        scene_key(s): (scene, row) for s, scene, row in zip(ordered, play.scenes, rows, strict=True)
    }


def extract(ctx: Context) -> dict[str, Extracted]:
    """Deterministic breakdown of every scene: SCENES columns plus the screenplay's own."""
    scenes: Scenes = ctx.inputs.get("SCENES")
    scripts: dict[str, ScriptScene] = ctx.inputs.all("SCRIPT")
    parsed = _parsed_script(scripts, [row.scene_id for row in scenes.rows])
    texts = {scene_key(s): v.text for s, v in scripts.items()}
    out = {}
    for row in scenes.rows:
        number = scene_key(row.scene_id)
        scene, base = parsed.get(number, (None, None))
        out[row.scene_id] = Extracted(
            characters=unique(
                [*row.characters_present, *(base.characters_present if base else [])]
            ),
            speakers=list(scene.characters) if scene else [],
            locations=unique([row.location, *(base.locations_used if base else [])]),
            props=list(base.props_used) if base else [],
            risks=list(base.continuity_risks) if base else [],
            text=texts.get(number, ""),
        )
    return out


def _world_owners(world: WorldState | None) -> dict[str, str]:
    if world is None:
        return {}
    return {canonical_id(p): canonical_id(s.owner) for p, s in world.props.items()}


def _owners_of(answer: BreakdownAnswer) -> dict[str, str]:
    return {canonical_id(o.prop): canonical_id(o.owner) for o in answer.prop_owners}


def _lock_name(text: str) -> str:
    """``char nell`` -> ``CHAR_NELL_LOCK``: spelling normalised, the kind never guessed."""
    name = canonical_id(text)
    if _LOCK_PREFIX_RE.fullmatch(name) and not name.endswith("_LOCK"):
        name += "_LOCK"
    return name


def _added(extracted: Sequence[str], added: Iterable[str], spell: Any) -> list[str]:
    """The extraction verbatim, then additions not already in it (compared as ids)."""
    have = {canonical_id(x) for x in extracted}
    extra = [spell(a) for a in added if canonical_id(a) not in have]
    return unique([*extracted, *extra])


def _draft_row(scene_id: str, ext: Extracted, answer: BreakdownAnswer) -> BreakdownRow:
    """Extraction kept whole (but the prop candidates the model rejects); the model's
    additions appended; introductions left for later."""
    props = _added(ext.props, answer.added_props, canonical_id)
    return BreakdownRow(
        scene_id=scene_id,
        characters_present=_added(ext.characters, answer.added_characters, canonical_id),
        locations_used=_added(ext.locations, answer.added_locations, canonical_id),
        props_used=without_rejected(props, answer.not_props),
        state_changes=unique(answer.state_changes),
        continuity_risks=unique(
            [*ext.risks, *answer.continuity_risks, *rejection_notes(answer.not_props)]
        ),
        lock_requirements=unique(_lock_name(x) for x in answer.lock_requirements),
    )


def with_introductions(
    rows: Sequence[BreakdownRow], extracted: Mapping[str, Extracted], owners: Mapping[str, str]
) -> list[BreakdownRow]:
    """First appearances in scene order, recomputed by code, with the locks they require
    (for what code extracted; the model names its own) and each new prop's owner."""
    seen: dict[str, set[str]] = {
        "characters": set(),
        "locations": set(),
        "props": set(),
        "voices": set(),
    }
    out = []
    for row in rows:
        ext = extracted[row.scene_id]
        new = {
            kind: [x for x in getattr(row, used) if x not in seen[kind]]
            for kind, used in (
                ("characters", "characters_present"),
                ("locations", "locations_used"),
                ("props", "props_used"),
            )
        }
        new["voices"] = [v for v in ext.speakers if v not in seen["voices"]]
        for kind, items in new.items():
            seen[kind].update(items)
        locks = (
            [f"CHAR_{c}_LOCK" for c in new["characters"] if c in ext.characters]
            + [f"SET_{loc}_LOCK" for loc in new["locations"] if loc in ext.locations]
            + [f"VOICE_{v}_LOCK" for v in new["voices"]]
        )
        entries = [
            f"{p}{_ENTERS}{owner}"
            for p in new["props"]
            if (owner := owners.get(canonical_id(p), "")) not in _VAGUE_OWNERS
        ]
        out.append(
            row.model_copy(
                update={
                    "new_characters_introduced": new["characters"],
                    "new_locations_introduced": new["locations"],
                    "new_props_introduced": new["props"],
                    "state_changes": unique([*row.state_changes, *entries]),
                    "lock_requirements": unique([*locks, *row.lock_requirements]),
                }
            )
        )
    return out


@dataclass
class _Known:
    """What is defined before a scene: the cast, the sets, and who owns each prop."""

    characters: set[str] = field(default_factory=set)
    locations: set[str] = field(default_factory=set)
    owners: dict[str, str] = field(default_factory=dict)


def _row_entity_failures(row: BreakdownRow, ext: Extracted, known: _Known) -> list[str]:
    failures = []
    for char in row.characters_present:
        if (
            char not in ext.characters
            and char not in known.characters
            and f"CHAR_{char}_LOCK" not in row.lock_requirements
        ):
            failures.append(
                f"{row.scene_id}: undefined character {char}: not in the scene list "
                f"or script, not introduced earlier, and no CHAR_{char}_LOCK lock "
                "requirement"
            )
    for loc in row.locations_used:
        if (
            loc not in ext.locations
            and loc not in known.locations
            and f"SET_{loc}_LOCK" not in row.lock_requirements
        ):
            failures.append(
                f"{row.scene_id}: location {loc} appears without introduction: "
                f"not in the scene list or script, and no SET_{loc}_LOCK lock "
                "requirement"
            )
    bad = [lock for lock in row.lock_requirements if not _LOCK_RE.fullmatch(lock)]
    if bad:
        failures.append(
            f"{row.scene_id}: lock requirements must name locks (CHAR_, SET_, "
            f"VOICE_ or STYLE_ + id + _LOCK): {', '.join(bad)}"
        )
    return failures


def _row_state_failures(row: BreakdownRow, scene: SceneRow, owners: Mapping[str, str]) -> list[str]:
    failures = []
    story = f"{scene.summary} {scene.outcome}"
    change = _CHANGE_RE.search(story)
    listed = [c for c in row.state_changes if _ENTERS not in c]  # code's own notes aside
    if not listed and change:
        failures.append(
            f"{row.scene_id}: state changes are not listed, but the summary or "
            f"outcome says something changes hands, hurts or is learned "
            f"({change.group()!r})"
        )
    for prop in row.props_used:
        if owners.get(canonical_id(prop), "") in _VAGUE_OWNERS:
            failures.append(
                f"{row.scene_id}: prop {prop} is used without clear ownership: name the "
                "character or set that holds it (or list it in not_props if it is not a thing)"
            )
    injury = _INJURY_RE.search(" ".join([story, *row.state_changes]))
    risks = [r for r in row.continuity_risks if not is_rejection_note(r)]  # code's notes aside
    if not risks and (row.new_props_introduced or injury):
        cause = (
            f"new props ({', '.join(row.new_props_introduced)})"
            if row.new_props_introduced
            else f"an injury ({injury.group()!r})"
            if injury
            else ""
        )
        failures.append(f"{row.scene_id}: continuity risks are not acknowledged for {cause}")
    return failures


def breakdown_failures(
    breakdown: Breakdown,
    scenes: Scenes,
    extracted: Mapping[str, Extracted],
    answers: Mapping[str, BreakdownAnswer],
    world: WorldState | None,
) -> list[str]:
    """Every reason script-breakdown's output fails its gate, scene by scene in order."""
    rows = {r.scene_id: r for r in scenes.rows}
    known = _Known(
        characters={c for r in scenes.rows for c in r.characters_present}
        | {canonical_id(c) for c in (world.characters if world else {})},
        locations={r.location for r in scenes.rows}
        | {canonical_id(loc) for loc in (world.locations if world else {})},
        owners=_world_owners(world),
    )
    failures: list[str] = []
    for row in breakdown.rows:
        ext, answer = extracted[row.scene_id], answers[row.scene_id]
        known.owners.update(_owners_of(answer))
        failures += rejection_failures(row.scene_id, ext.props, answer.not_props)
        failures += _row_entity_failures(row, ext, known)
        failures += _row_state_failures(row, rows[row.scene_id], known.owners)
        known.characters.update(row.characters_present)
        known.locations.update(row.locations_used)
    return failures


def _scene_sections(row: SceneRow, ext: Extracted) -> list[str]:
    """The part of a scene's question that is the scene's own (what a kept answer answered)."""
    return [
        section("Scene", scene_lines(row)),
        f"## Screenplay text\n{ext.text}" if ext.text else "",
        section(
            "Extracted by code (fixed: add only; the props are candidates, see not_props)",
            [
                f"characters present: {joined(ext.characters)}",
                f"speaking: {joined(ext.speakers)}",
                f"locations: {joined(ext.locations)}",
                f"props: {joined(ext.props)}",
                f"continuity risks noted: {joined(ext.risks)}",
            ],
        ),
    ]


def _breakdown_prompt(
    ctx: Context, row: SceneRow, ext: Extracted, owners: Mapping[str, str]
) -> str:
    feedback = [
        r for r in ctx.feedback if r.startswith(f"{row.scene_id}:") or not _SCENE_RE.match(r)
    ]
    held = [f"{p}: {owners[canonical_id(p)]}" for p in ext.props if canonical_id(p) in owners]
    return compose([*_scene_sections(row, ext), section("Prop owners so far", held)], feedback)


def scenes_to_ask(feedback: Sequence[str], scenes: Scenes) -> set[str]:
    """The scenes a run asks about: every scene on a first attempt, and on a revision only
    those its gate's reasons name (all of them when a reason names no scene)."""
    every = {r.scene_id for r in scenes.rows}
    if not feedback or any(not _SCENE_RE.match(r) for r in feedback):
        return every
    return {m.group(1) for r in feedback if (m := _SCENE_RE.match(r))} & every


class ScriptBreakdown(Skill):
    """Completes the breakdown with implicit state changes, risks and locks (Tier 1).

    Code extracts characters, speakers, locations and prop candidates from SCENES and the
    per-scene SCRIPT slices and keeps them; the model (asked once per scene, so each prompt
    holds one scene) may only add, except that it rejects a prop candidate that is not a
    thing (``not_props``, with why): code drops it from that scene's props (noted in the
    row's continuity_risks and, on a PASS, the run's log row). First appearances are
    recomputed in scene order. A revision re-asks only the scenes its gate's reasons name;
    the others keep their answers (kept as each arrives, so a resumed run does not pay for
    them again either). Escalates to Tier 2 on a persisting FAIL, asking again only the
    scenes that still fail. Gate (code): a rejection of a name that is not one of the scene's
    candidates, undefined characters, unlisted state changes, props without an owner,
    locations without introduction, unacknowledged continuity risks, malformed lock names.

    Why not read the import's BREAKDOWN: the runner refuses an input whose gate is FAIL, so a
    skill that reads the kind it writes could not revise after its own failed version. Code
    re-runs the importer's own breakdown on the same SCRIPT slices instead, so the extracted
    columns equal the import's (except under ``slate import --alias``, whose table the slices
    do not carry).
    """

    name: ClassVar[str] = "script-breakdown"
    prompt_name: ClassVar[str] = "script-breakdown"
    layer: ClassVar[Any] = "narrative"
    tier: ClassVar[Any] = "throughput"
    loop: ClassVar[str] = "narrative"
    needs: ClassVar[tuple[Need, ...]] = (
        Need("SCENES"),
        Need("SCRIPT", "all", optional=True),
        # the initial state (before S01): a later one is made from this breakdown
        Need("WORLD_STATE", "before_scene", optional=True),
    )
    produces: ClassVar[tuple[str, ...]] = ("BREAKDOWN",)
    target_scope: ClassVar[Any] = "project"
    summary: ClassVar[str] = "breakdown: state changes, continuity risks, lock requirements"
    keeps_answers: ClassVar[bool] = True  # a revision re-asks only the failing scenes

    def __init__(self) -> None:
        self.extracted: dict[str, Extracted] = {}
        self.answers: dict[str, BreakdownAnswer] = {}

    def produce(self, ctx: Context) -> list[Artifact | Media]:
        """One model call per scene (on a revision, per failing scene); code merges, never
        removing what it extracted."""
        scenes: Scenes = ctx.inputs.get("SCENES")
        self.extracted = extract(ctx)
        owners = _world_owners(ctx.inputs.get("WORLD_STATE"))
        first = dict(owners)  # who holds each prop when it enters the story
        system = system_prompt(PACKAGE, self.prompt_name)
        ask = scenes_to_ask(ctx.feedback, scenes)
        drafts = []
        for row in scenes.rows:
            ext = self.extracted[row.scene_id]
            answer = self._answer(ctx, system, row, ext, owners, row.scene_id in ask)
            self.answers[row.scene_id] = answer
            owners.update(_owners_of(answer))
            for prop, owner in _owners_of(answer).items():
                first.setdefault(prop, owner)
            drafts.append(_draft_row(row.scene_id, ext, answer))
        return [Breakdown(rows=with_introductions(drafts, self.extracted, first))]

    def _answer(
        self,
        ctx: Context,
        system: str,
        row: SceneRow,
        ext: Extracted,
        owners: Mapping[str, str],
        ask: bool,
    ) -> BreakdownAnswer:
        """The scene's answer: kept from an earlier attempt when the gate did not send the
        scene back (and the scene is unchanged), else asked and kept at once, so neither a
        revision nor a run resumed after a kill or a handoff pays for it again."""
        kept: KeptAnswers | None = ctx.params.get(KEPT_PARAM)
        question = compose([system, *_scene_sections(row, ext)], ())
        if kept is not None and not ask:
            found = kept.get(row.scene_id, question, BreakdownAnswer)
            if found is not None:
                return found
        answer = ctx.ask(BreakdownAnswer, system, _breakdown_prompt(ctx, row, ext, owners))
        if kept is not None:
            kept.keep(row.scene_id, question, answer)
        return answer

    def gate(self, outputs: list[Any], ctx: Context) -> Gate:
        """FAIL on any row fault (see the class docstring); a PASS notes each rejected
        candidate (the run's log row says what was dropped, and why)."""
        failures = breakdown_failures(
            outputs[0],
            ctx.inputs.get("SCENES"),
            self.extracted,
            self.answers,
            ctx.inputs.get("WORLD_STATE"),
        )
        if failures:
            return Gate.from_failures(failures)
        return Gate("PASS", tuple(rejection_log({s: a.not_props for s, a in self.answers.items()})))
