"""The lock skills: character-lock, set-lock and voice-lock (SPEC §5, Tier 2 judgment).

Each runs on one scene (``--scene S03``) and writes the locks that scene still lacks: a lock
for every character present (character-lock), every location used (set-lock) and every
character who speaks (voice-lock). Subjects whose latest lock passed its gate and is fresh
are skipped, so a scene whose locks all exist produces nothing and passes. There is one model
call per missing lock, and its prompt holds only that subject's facts: the scene's row, its
breakdown row filtered to the subject, the scene where the subject first appears, the style
lock (for looks) or the subject's lines in this scene (for voices). Prompt size therefore does
not grow with the length of the production.

Each skill's system prompt is ``prompts/<prompt_name>.md`` of this package. Every lock is
judged by ``_locks.lock_gate`` in code; a FAIL on any lock fails the run, with reasons
prefixed by the lock's name, and a revision sends each lock's own reasons back to the model.

Which locks already exist is read from ``ctx.params["existing"]`` (kind -> subject ->
verdict of the latest version, ``STALE`` when its inputs moved on), which the runner fills for
skills that set ``wants_existing``. Without it every needed lock is drafted again.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from ...core._errors import SchemaError, UserError
from ...core._gate import Gate
from ...core._names import format_stem
from ...engine._skill import REGISTRY, Context, Media, Need, Skill
from ...rules._fountain import canonical_id, parse_fountain
from ...rules._locks import VAGUE_PHRASES, Lock, lock_gate
from ...schemas import (
    Artifact,
    Breakdown,
    BreakdownRow,
    CharLock,
    SceneRow,
    Scenes,
    ScriptScene,
    SetLock,
    StyleLock,
    VoiceLock,
)
from .._prompts import system_prompt

PACKAGE = "filmslate.skills.continuity"  # the package whose prompts/ holds the prompts
VAGUE_LIST = ", ".join(f'"{p}"' for p in VAGUE_PHRASES)

# -- scene facts ------------------------------------------------------------------------------


def scene_rows(ctx: Context) -> tuple[SceneRow, BreakdownRow]:
    """The target scene's SCENES row and BREAKDOWN row."""
    scenes: Scenes = ctx.inputs.get("SCENES")
    breakdown: Breakdown = ctx.inputs.get("BREAKDOWN")
    row = next((r for r in scenes.rows if r.scene_id == ctx.scene_id), None)
    facts = next((r for r in breakdown.rows if r.scene_id == ctx.scene_id), None)
    if row is None:
        raise UserError(f"SCENES has no scene {ctx.scene_id}", scene=ctx.scene_id)
    if facts is None:
        raise UserError(
            f"BREAKDOWN has no row for {ctx.scene_id}: run script-breakdown first",
            scene=ctx.scene_id,
        )
    return row, facts


def _ids(names: Iterable[str]) -> list[str]:
    """Canonical lock subjects, in order, without repeats or empties."""
    return [i for i in dict.fromkeys(canonical_id(n) for n in names) if i]


def _about(subject: str, notes: Iterable[str]) -> list[str]:
    """The notes that name the subject (as ``MR_QUILL`` or ``Mr Quill``)."""
    spoken = subject.replace("_", " ").casefold()
    return [n for n in notes if subject.casefold() in n.casefold() or spoken in n.casefold()]


def render_scene(row: SceneRow, facts: BreakdownRow, subject: str) -> str:
    """One scene, compactly, with only the breakdown notes about ``subject``."""
    lines = [
        f"SCENE {row.scene_id} | {row.location} | {row.time_of_day or 'time not given'}",
        f"summary: {row.summary}",
    ]
    for label, value in (("goal", row.goal), ("conflict", row.conflict), ("outcome", row.outcome)):
        if value:
            lines.append(f"{label}: {value}")
    lines.append(f"characters present: {', '.join(facts.characters_present) or '(none)'}")
    if facts.props_used:
        lines.append(f"props used: {', '.join(facts.props_used)}")
    for label, notes in (
        ("state changes", facts.state_changes),
        ("continuity risks", facts.continuity_risks),
    ):
        mine = _about(subject, notes)
        if mine:
            lines.append(f"{label}: {'; '.join(mine)}")
    return "\n".join(lines)


def first_appearance(ctx: Context, subject: str, column: str) -> str:
    """The scene that introduces the subject, rendered, when it is not the target scene."""
    breakdown: Breakdown = ctx.inputs.get("BREAKDOWN")
    scenes: Scenes = ctx.inputs.get("SCENES")
    intro = next((r for r in breakdown.rows if subject in _ids(getattr(r, column))), None)
    if intro is None or intro.scene_id == ctx.scene_id:
        return ""
    row = next((r for r in scenes.rows if r.scene_id == intro.scene_id), None)
    return "" if row is None else render_scene(row, intro, subject)


def style_text(ctx: Context) -> str:
    """Every style lock, verbatim (a production normally has one)."""
    styles: dict[str, StyleLock] = ctx.inputs.all("STYLE_LOCK")
    return "\n\n".join(s.render().decode("utf-8").strip() for _, s in sorted(styles.items()))


def revision_notes(ctx: Context, stem: str) -> str:
    """The previous attempt's reasons about this lock, as a fix list (or '')."""
    prefix = f"{stem}: "
    mine = [r.removeprefix(prefix) for r in ctx.feedback if r.startswith(prefix)]
    if not mine:
        return ""
    return f"\n\nYour previous draft of {stem} was refused. Fix every point:\n" + "\n".join(
        f"- {r}" for r in mine
    )


def done_subjects(ctx: Context, kind_name: str) -> set[str]:
    """Subjects whose latest lock of this kind passed its gate and is not stale."""
    existing: dict[str, dict[str, str]] = ctx.params.get("existing", {})
    return {s for s, verdict in existing.get(kind_name, {}).items() if verdict == "PASS"}


# -- the shared skill -------------------------------------------------------------------------


class LockSkill(Skill):
    """Base of the lock skills: one model call per missing lock, each gated in code."""

    layer = "continuity"
    tier = "judgment"
    loop = "continuity"
    target_scope = "scene"
    wants_existing: ClassVar[bool] = True
    lock_type: ClassVar[type[Lock]]
    prompt_name: ClassVar[str]  # its system prompt: prompts/<prompt_name>.md

    def subjects(self, ctx: Context) -> list[str]:
        """Every subject of this scene that needs a lock of this kind."""
        raise NotImplementedError

    def prompt(self, ctx: Context, subject: str) -> str:
        """The request for one subject's lock."""
        raise NotImplementedError

    def produce(self, ctx: Context) -> list[Artifact | Media]:
        """Draft the locks this scene still lacks (nothing when all exist and pass)."""
        kind_name = self.lock_type.KIND
        done = done_subjects(ctx, kind_name)
        outputs: list[Artifact | Media] = []
        for subject in self.subjects(ctx):
            if subject in done:
                continue
            answer = ctx.ask(
                self.lock_type, system_prompt(PACKAGE, self.prompt_name), self.prompt(ctx, subject)
            )
            # The name is ours, not the model's: the file is filed under this subject.
            outputs.append(self.lock_type.model_validate({**answer.model_dump(), "name": subject}))
        return outputs

    def visual_prompt(self, ctx: Context, subject: str, intro_field: str, checklist: str) -> str:
        """The request for a character or set lock: the subject's facts, where it first
        appears, the style lock, the checklist and any revision notes."""
        row, facts = scene_rows(ctx)
        style = style_text(ctx)
        parts = [
            f"Write the {self.lock_type.TITLE} for {subject}.",
            f"What the story says about {subject}:\n{render_scene(row, facts, subject)}",
        ]
        intro = first_appearance(ctx, subject, intro_field)
        if intro:
            parts.append(f"Where {subject} first appears:\n{intro}")
        parts.append(
            f"The production's style lock:\n{style}" if style else "There is no style lock yet."
        )
        parts.append(checklist)
        return "\n\n".join(parts) + revision_notes(ctx, format_stem(self.lock_type.KIND, subject))

    def gate(self, outputs: list[Any], ctx: Context) -> Gate:
        """FAIL when any lock fails its gate; every reason names its lock."""
        failures = []
        for lock in outputs:
            stem = format_stem(lock.KIND, lock.subject)
            # The run log joins reasons with "; " and a resumed loop splits on it.
            failures += [
                f"{stem}: {r.replace('; ', ', ')}" for r in lock_gate(lock, ctx.config).reasons
            ]
        return Gate.from_failures(failures)


# -- character-lock ---------------------------------------------------------------------------

CHAR_CHECKLIST = """\
The lock is refused unless:
- age_range is one number or a narrow range such as 32-36;
- build, hair and eyes each hold one consistent description (not "slim" and "stocky", not \
"short" and "long"); eyes name a colour;
- the wardrobe has a default outfit and a palette of #RRGGBB colours{palette_hint};
- speech patterns, temperament, decision style, stress behavior and default emotional tone \
describe this person, not people in general;
- knowledge_at_introduction lists at least one thing they know when first seen;
- visual_anchors lists at least one detail that identifies them at a glance;
- forbidden_drift lists at least one change that must never happen, and forbids none of the \
palette colours or anchors;
- no field uses vague wording: {vague}."""


class CharacterLock(LockSkill):
    """character-lock: a CHAR lock for each character present in the scene."""

    name = "character-lock"
    prompt_name = "character-lock"
    needs = (
        Need("SCENES", lineage=False),
        Need("BREAKDOWN", lineage=False),
        Need("STYLE_LOCK", "all", optional=True),
    )
    produces = ("CHAR_LOCK",)
    lock_type = CharLock
    summary = "Lock the look, behavior and knowledge of each character in a scene."

    def subjects(self, ctx: Context) -> list[str]:
        """Characters present in the scene (breakdown first, then the scene list)."""
        row, facts = scene_rows(ctx)
        return _ids([*facts.characters_present, *row.characters_present])

    def prompt(self, ctx: Context, subject: str) -> str:
        """The character's facts, the style lock, the checklist and any revision notes."""
        hint = " drawn from the style lock's look" if style_text(ctx) else ""
        return self.visual_prompt(
            ctx,
            subject,
            "new_characters_introduced",
            CHAR_CHECKLIST.format(palette_hint=hint, vague=VAGUE_LIST),
        )


# -- set-lock ---------------------------------------------------------------------------------

SET_CHECKLIST = """\
The lock is refused unless:
- geometry gives the shape or the size, and entries_exits names each door, stair or hatch;
- visual_anchors lists {low} to {high} distinct landmarks;
- temperature_k fits the primary source (daylight about 5600K, tungsten about 3200K, candle or \
fire about 1900K, sodium about 2000K), and a night set is not lit by the sun, a day set not by \
the moon;
- shadow and contrast are each one quality (not "soft" and "harsh");
- prop_anchors says where each prop of the scene lives; tone_rules and forbidden_drift each \
hold at least one item; no forbidden item repeats an anchor or a palette colour;
- no field uses vague wording: {vague}."""


class SetLockSkill(LockSkill):
    """set-lock: a SET lock for each location the scene uses."""

    name = "set-lock"
    prompt_name = "set-lock"
    needs = (
        Need("SCENES", lineage=False),
        Need("BREAKDOWN", lineage=False),
        Need("STYLE_LOCK", "all", optional=True),
    )
    produces = ("SET_LOCK",)
    lock_type = SetLock
    summary = "Lock the layout, anchors, light and atmosphere of each location in a scene."

    def subjects(self, ctx: Context) -> list[str]:
        """Locations used by the scene (breakdown first, then the scene's location)."""
        row, facts = scene_rows(ctx)
        return _ids([*facts.locations_used, row.location])

    def prompt(self, ctx: Context, subject: str) -> str:
        """The location's facts, the style lock, the checklist and any revision notes."""
        thresholds = ctx.config.thresholds
        return self.visual_prompt(
            ctx,
            subject,
            "new_locations_introduced",
            SET_CHECKLIST.format(
                low=thresholds.set_anchors_min, high=thresholds.set_anchors_max, vague=VAGUE_LIST
            ),
        )


# -- voice-lock -------------------------------------------------------------------------------

VOICE_CHECKLIST = """\
The lock is refused unless:
- the timbre agrees with the pitch (a high voice is not "deep"; a low voice is not "shrill");
- every cadence, emotional range and constraint field is filled with one concrete description;
- an accent region other than neutral has a strength of light, moderate or strong;
- signature phrases obey the swearing rule;
- forbidden_drift lists at least one thing the voice must never do;
- no field uses vague wording: {vague}."""


def speakers(ctx: Context) -> tuple[list[str], dict[str, list[str]]]:
    """Who speaks in the scene, and their lines, from its SCRIPT slice.

    Without a script, or when a speaker's name is not one the breakdown knows (an alias the
    import resolved and the slice alone cannot), every character present counts as a
    speaker: a missing voice lock costs more later than an extra one now.
    """
    row, facts = scene_rows(ctx)
    present = _ids([*facts.characters_present, *row.characters_present])
    script: ScriptScene | None = ctx.inputs.get("SCRIPT")
    if script is None:
        return present, {}
    try:
        parsed = parse_fountain(script.text, source=f"SCRIPT {ctx.scene_id}").scenes
    except SchemaError:
        return present, {}
    lines: dict[str, list[str]] = {}
    for scene in parsed:
        for line in scene.dialogue:
            spoken = f"({line.extension}) {line.text}" if line.extension else line.text
            lines.setdefault(canonical_id(line.speaker), []).append(spoken)
    known = known_characters(ctx)
    if set(lines) - known:
        return _ids([*(s for s in lines if s in known), *present]), lines
    return list(lines), lines


def known_characters(ctx: Context) -> set[str]:
    """Every character the breakdown names anywhere (present, or needing a voice lock)."""
    breakdown: Breakdown = ctx.inputs.get("BREAKDOWN")
    known: set[str] = set()
    for row in breakdown.rows:
        known.update(_ids(row.characters_present))
        known.update(
            r.removeprefix("VOICE_").removesuffix("_LOCK")
            for r in row.lock_requirements
            if r.startswith("VOICE_")
        )
    return known


class VoiceLockSkill(LockSkill):
    """voice-lock: a VOICE lock for each character who speaks in the scene."""

    name = "voice-lock"
    prompt_name = "voice-lock"
    needs = (
        Need("SCENES", lineage=False),
        Need("BREAKDOWN", lineage=False),
        Need("SCRIPT", "scene", optional=True, lineage=False),
    )
    produces = ("VOICE_LOCK",)
    lock_type = VoiceLock
    summary = "Lock the pitch, cadence, accent and range of each speaking character in a scene."

    def subjects(self, ctx: Context) -> list[str]:
        """Characters with dialogue in the scene (all present ones when that is unknown)."""
        return speakers(ctx)[0]

    def prompt(self, ctx: Context, subject: str) -> str:
        """The character's lines and facts, the checklist and any revision notes."""
        row, facts = scene_rows(ctx)
        lines = speakers(ctx)[1].get(subject, [])
        parts = [
            f"Write the VOICE LOCK for {subject}.",
            f"What the story says about {subject}:\n{render_scene(row, facts, subject)}",
        ]
        if lines:
            parts.append(
                f"{subject}'s {len(lines)} line(s) in {row.scene_id}:\n"
                + "\n".join(f"- {line}" for line in lines)
            )
        else:
            parts.append(f"No lines of {subject} are available for {row.scene_id}.")
        parts.append(VOICE_CHECKLIST.format(vague=VAGUE_LIST))
        return "\n\n".join(parts) + revision_notes(ctx, format_stem("VOICE_LOCK", subject))


for _skill in (CharacterLock, SetLockSkill, VoiceLockSkill):
    REGISTRY.register(_skill)
