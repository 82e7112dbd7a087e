"""What the validation skills of SPEC §5 share: the answer base, the rendering of their
declared inputs and the skill base that asks, writes and gates.

The skills (research-agent, plausibility-auditor, cultural-check, narrative-red-team with its
light pass, and audience-simulator, one module each) ask their tier's model for a structured
answer (an ``...Answer`` model: every field of its artifact plus the flags its gate needs),
turn the answer into the artifact, and judge it in code: the model's opinion feeds the gate,
it never is the gate. An answer that cannot become a valid artifact is refused at validation
time, so the provider re-asks and then fails clearly, before anything is written.

Per-scene skills render only the scene's own row, its truth packet, the locks of the
characters in it and the world state before it: the prompt for scene 300 is no larger than
for scene 3. Project-level reviews (red team, audience) read the whole story: every scene
while the scene list is small, past ``rules._digest.FULL_STORY_CHARS`` the story digest
(STORY_DIGEST, at most 16 bounded sequences) and the full text of the scenes that matter now,
so their prompt is bounded too.

The system prompts (role, process, checklist) are text files in
``filmslate/skills/validation/prompts/``, named by each skill's ``prompt_name``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from ...core._episodes import episode_of
from ...core._errors import InputNotReady, UserError
from ...core._gate import Gate
from ...core._names import lock_subject
from ...engine._skill import Context, Need, Skill
from ...rules._digest import FOCUS_CHARS, FULL_STORY_CHARS, focus_scenes, render_digest
from ...schemas import Artifact, Beats, SceneRow, StoryDigest, Truth, WorldState
from .._prompts import system_prompt

__all__ = [
    "ANSWER_KEY",
    "PACKAGE",
    "SCRIPT",
    "Answer",
    "AnsweringSkill",
    "joined",
    "render_char_locks",
    "render_episode_beats",
    "render_scene",
    "render_scene_line",
    "render_script",
    "render_story",
    "render_truth",
    "render_voice_locks",
    "render_world",
    "revision_note",
    "scene_row",
    "story_scenes",
]

#: The package whose ``prompts/`` folder holds the validation skills' system prompts.
PACKAGE = "filmslate.skills.validation"
ANSWER_KEY = "answer"  # where produce() leaves the model's answer for gate()
SCRIPT = Need("SCRIPT", "scene", optional=True)
#: Where findings go (SPEC §6): a structure revision by story-architect (new BEATS and
#: SCENES) for the whole story, a scene revision (its SCENES row and script slice) for a scene.
STRUCTURE_REVISION = "story-architect"
SCENE_REVISION = "scene-revision"  # the scene's screenplay text, when imported


class Answer(BaseModel):
    """A model's structured answer; extra keys are refused so typos surface as errors."""

    model_config = ConfigDict(extra="forbid")
    PLACEHOLDER: ClassVar[str] = "S01"

    def to_artifact(self, subject: str) -> Artifact:
        """The artifact this answer becomes for ``subject``."""
        raise NotImplementedError

    @model_validator(mode="after")
    def _fits_its_artifact(self) -> Self:
        # Build the artifact once while validating, so an answer whose text the artifact
        # file could not carry (a heading-like line, the '(none)' marker) is re-asked.
        try:
            self.to_artifact(self.PLACEHOLDER)
        except ValidationError as exc:
            problems = "; ".join(str(e["msg"]) for e in exc.errors())
            raise ValueError(f"the answer cannot be written as an artifact: {problems}") from None
        return self


# -- rendering the declared inputs compactly -------------------------------------------------


def scene_row(ctx: Context) -> SceneRow:
    """The target scene's row of SCENES."""
    for row in ctx.inputs.get("SCENES").rows:
        if row.scene_id == ctx.scene_id:
            return row  # type: ignore[no-any-return]
    raise UserError(
        f"{ctx.scene_id} is not in SCENES: pick a scene the scene list has, or revise SCENES first",
        scene=ctx.scene_id,
    )


def render_scene(row: SceneRow) -> str:
    """One scene as a short block."""
    return "\n".join(
        [
            f"Scene {row.scene_id} at {row.location}, {row.time_of_day or 'time of day unstated'}",
            f"Characters: {', '.join(row.characters_present) or 'none'}",
            f"Summary: {row.summary}",
            f"Goal: {row.goal or '(unstated)'} | Conflict: {row.conflict or '(unstated)'} | "
            f"Outcome: {row.outcome or '(unstated)'}",
        ]
    )


def render_scene_line(row: SceneRow) -> str:
    """One scene as one line (for whole-story reviews)."""
    return (
        f"{row.scene_id} [{row.location}; {', '.join(row.characters_present) or 'nobody'}] "
        f"{row.summary} Goal: {row.goal or '?'} Conflict: {row.conflict or '?'} "
        f"Outcome: {row.outcome or '?'}"
    )


def joined(items: Iterable[str], empty: str = "none") -> str:
    """Items joined with semicolons, ``empty`` for none."""
    return "; ".join(items) or empty


def render_char_locks(ctx: Context, cast: list[str]) -> str:
    """The behavioral baseline, knowledge and forbidden drift of each cast member's lock."""
    locks = {lock_subject(k): v for k, v in ctx.inputs.all("CHAR_LOCK").items()}
    lines = []
    for name in cast:
        lock = locks.get(name)
        if lock is None:
            lines.append(f"- {name}: no character lock yet")
            continue
        b = lock.behavior
        lines.append(
            f"- {name}: temperament {b.temperament}; decides {b.decision_style}; under "
            f"stress {b.stress_behavior}; speaks {b.speech_patterns}; knows at "
            f"introduction: {joined(lock.knowledge_at_introduction)}; must never: "
            f"{joined(lock.forbidden_drift)}"
        )
    return "\n".join(lines) or "- nobody on screen"


def render_voice_locks(ctx: Context, cast: list[str]) -> str:
    """Accent and speech constraints of each cast member's voice lock."""
    locks = {lock_subject(k): v for k, v in ctx.inputs.all("VOICE_LOCK").items()}
    lines = []
    for name in cast:
        lock = locks.get(name)
        if lock is not None:
            a, c = lock.accent, lock.constraints
            lines.append(
                f"- {name}: accent {a.region} ({a.strength}), vocabulary {a.vocabulary}, "
                f"slang {a.slang_level}; vocabulary level {c.vocabulary_level}"
            )
    return "\n".join(lines) or "- no voice locks for this cast"


def render_script(ctx: Context) -> str:
    """The scene's screenplay text when it was imported, else ''."""
    script = ctx.inputs.get("SCRIPT")
    return f"\n\nSCRIPT\n{script.text}" if script is not None else ""


def render_world(ctx: Context, row: SceneRow) -> str:
    """The world before the scene, limited to its cast, its location and the rules."""
    state: WorldState | None = ctx.inputs.get("WORLD_STATE")
    if state is None:
        return "No world state recorded yet: this scene opens the tracked story."
    order = [r.scene_id for r in ctx.inputs.get("SCENES").rows]
    current = state.timeline.current_scene
    if current in order and order.index(current) >= order.index(row.scene_id):
        # Only the latest state is on record and it already includes this scene: showing
        # it as "before" would invent conflicts, so the check rests on the locks and truth.
        return (
            f"The world state on record is after {current}, not before this scene: "
            "judge consistency from the locks and the truth packet."
        )
    cast, location = [lock_subject(c) for c in row.characters_present], row.location
    t = state.timeline
    lines = [
        f"State after {t.current_scene or 'nothing (initial state)'}; elapsed time "
        f"{t.elapsed_time or 'unknown'}"
    ]
    people = {lock_subject(k): v for k, v in state.characters.items()}
    for name in cast:
        c = people.get(name)
        if c is not None:
            lines.append(
                f"- {name}: at {c.location or '?'}, feeling {c.emotional_state or '?'}; "
                f"injuries {joined(c.injuries)}; knows {joined(c.knowledge)}; "
                f"carries {joined(c.inventory)}"
            )
    place = {lock_subject(k): v for k, v in state.locations.items()}.get(lock_subject(location))
    if place is not None:
        lines.append(
            f"- {location}: {place.condition or 'condition unknown'}; light "
            f"{place.lighting_state or 'unknown'}; {place.notes}".rstrip("; ")
        )
    for prop, p in state.props.items():
        if lock_subject(p.owner) in cast or lock_subject(p.location) == lock_subject(location):
            lines.append(
                f"- prop {prop}: owner {p.owner or 'none'}, at {p.location or '?'}, "
                f"{p.status or 'status unknown'}"
            )
    rules = [*state.rules.fictional_constraints, *state.rules.modified_rules]
    lines.append(f"Rules of this world: {joined(rules)}")
    return "\n".join(lines)


def render_truth(truth: Truth) -> str:
    """The truth packet with numbered claims."""
    lines = [f"Realism risk: {truth.realism_risk}"]
    for number, c in enumerate(truth.claims, start=1):
        source = f"source: {c.citation}" if c.citation else ""
        license_ = f"license: {c.creative_license_note}" if c.creative_license_note else ""
        lines.append(
            f"{number}. [{c.status}] {c.claim} "
            f"({joined([s for s in (source, license_) if s], 'no source')})"
        )
    lines.append(f"Terminology corrections: {joined(truth.terminology_corrections)}")
    lines.append(f"Creative allowances: {joined(truth.creative_allowances)}")
    lines.append(f"Cultural context: {truth.cultural_context or 'none'}")
    return "\n".join(lines)


def render_story(ctx: Context, named: Sequence[str] = ()) -> str:
    """Beats and the target's scenes: one scene for a scene target; else every scene line
    while they fit ``FULL_STORY_CHARS``, past it the story digest and the full text of the
    scenes that matter now (``named`` by the previous report, then those the digest flags)."""
    beats = ctx.inputs.get("BEATS")
    rows = ctx.inputs.get("SCENES").rows
    focus = f"Review target: {ctx.target}" + (
        " (judge this act within the whole story)" if ctx.target.startswith("ACT_") else ""
    )
    episode: list[str] = []
    if episode_of(ctx.target) == ctx.target:  # a series' episode: its scenes, in the season
        rows = [r for r in rows if episode_of(r.scene_id) == ctx.target]
        if not rows:  # an undeclared or empty episode: nothing to review, nothing to pay for
            raise UserError(
                f"{ctx.target} has no scene in the latest SCENES: review an episode that has "
                f"scenes ({', '.join(ctx.config.series.episodes) or 'none, it is a film'})",
                target=ctx.target,
            )
        focus += " (judge this episode within the season's beats)"
        episode = ["", *render_episode_beats(beats, ctx.target)]
    scenes = (
        ["SCENES", render_scene_line(scene_row(ctx))]
        if ctx.scene_id
        else story_scenes(rows, ctx.inputs.get("STORY_DIGEST"), named)
    )
    return "\n".join(
        [
            focus,
            "",
            "BEATS",
            f"Logline: {beats.logline}",
            f"Central dramatic question: {beats.central_dramatic_question}",
            f"Inciting incident: {beats.inciting_incident}",
            f"Escalation: {joined(beats.escalation_sequence)}",
            f"Midpoint shift: {beats.midpoint_shift}",
            f"Crisis: {beats.crisis}",
            f"Climax: {beats.climax}",
            f"Resolution: {beats.resolution}",
            *episode,
            "",
            *scenes,
        ]
    )


def render_episode_beats(beats: Beats, episode: str) -> list[str]:
    """An episode's own beats (BEATS' episode beats, issue 16 §1), for its review."""
    own = beats.of_episode(episode)
    if own is None:  # a BEATS written before episode beats: the season's arc is all there is
        return [f"EPISODE BEATS ({episode}): none in this BEATS; judge the episode by its scenes"]
    return [
        f"EPISODE BEATS ({episode})",
        f"Inciting incident: {own.inciting_incident}",
        f"Escalation: {joined(own.escalation_sequence)}",
        f"Midpoint shift: {own.midpoint_shift}",
        f"Crisis: {own.crisis}",
        f"Climax: {own.climax}",
        f"Resolution: {own.resolution}",
    ]


def story_scenes(
    rows: Sequence[SceneRow], digest: StoryDigest | None, named: Sequence[str] = ()
) -> list[str]:
    """The whole story's scenes as a review reads them (see ``rules._digest``)."""
    lines = [render_scene_line(r) for r in rows]
    size = sum(len(line) + 1 for line in lines)
    if size <= FULL_STORY_CHARS:
        return ["SCENES", *lines]
    if digest is None:
        raise InputNotReady(
            f"the story's {len(rows)} scene lines take {size:,} characters, more than the "
            f"{FULL_STORY_CHARS:,} a review reads in full: run `slate run story-digest` "
            "first, and the review reads its digest",
            input="STORY_DIGEST",
        )
    return [
        f"STORY DIGEST: {len(rows)} scenes in {len(digest.rows)} sequences (after it, in "
        "full: the scenes the previous review named and the scenes the digest flags)",
        render_digest(digest),
        "",
        *focus_blocks(rows, digest, named),
    ]


def focus_blocks(rows: Sequence[SceneRow], digest: StoryDigest, named: Sequence[str]) -> list[str]:
    """The full text of the focus scenes, within ``FOCUS_CHARS``; the rest listed by id."""
    by_id = {r.scene_id: r for r in rows}
    flags: dict[str, list[str]] = {}
    for seq in digest.rows:
        for flag in seq.flagged:
            scene, _, why = flag.partition(":")
            flags.setdefault(scene, []).append(why.strip())
    shown, left, used = ["SCENES IN FULL"], [], 0
    for scene in focus_scenes([s for s in named if s in by_id], digest):
        if scene not in by_id:  # a hand-made digest may flag a scene the list lacks
            continue
        why = "named by the previous review" if scene in named else "; ".join(flags[scene])
        block = f"{render_scene(by_id[scene])}\n(why shown: {why})"
        if used + len(block) > FOCUS_CHARS:
            left.append(scene)
            continue
        shown.append(block)
        used += len(block) + 1
    if left:
        shown.append(f"(not shown in full, over the focus budget: {', '.join(left)})")
    return shown if len(shown) > 1 else []


def revision_note(ctx: Context) -> str:
    """On a revision: the reasons the previous answer failed its gate.

    An auditor must not learn to pass by softening its verdict, so the note separates what
    the answer can fix (its own gaps) from findings about the work, which stand until the
    work itself is revised.
    """
    if not ctx.feedback:
        return ""
    return (
        "\n\nREVISION: your previous answer failed these checks:\n"
        + "\n".join(f"- {reason}" for reason in ctx.feedback)
        + "\nCorrect what was wrong in your answer itself (a missing source, an empty "
        "section, an unnamed flag). Re-examine every finding about the scene or story: "
        "keep it if it is real, withdraw it only if you were wrong. Never raise a score "
        "just to pass."
    )


# -- the skills -------------------------------------------------------------------------------


class AnsweringSkill(Skill):
    """A skill that asks for one answer, turns it into one artifact and gates both."""

    answer_type: ClassVar[type[Answer]]
    prompt_name: ClassVar[str]  # its system prompt: prompts/<prompt_name>.md
    # Further prompt files appended, each after a blank line (a variant of a skill adds a
    # note to the prompt it shares instead of copying it).
    prompt_notes: ClassVar[tuple[str, ...]] = ()

    def system(self) -> str:
        """The system prompt: role, process and checklist, read from the package's files."""
        return "\n\n".join(
            system_prompt(PACKAGE, name) for name in (self.prompt_name, *self.prompt_notes)
        )

    def prompt(self, ctx: Context) -> str:
        """The rendered inputs (the system text carries role, process and checklist)."""
        raise NotImplementedError

    def subject(self, ctx: Context) -> str:
        """The artifact's subject: the scene for per-scene skills, else the target."""
        return ctx.scene_id if self.target_scope == "scene" else ctx.target

    def produce(self, ctx: Context) -> list[Any]:
        """Ask, remember the answer for the gate, return the artifact."""
        answer = ctx.ask(self.answer_type, self.system(), self.prompt(ctx) + revision_note(ctx))
        ctx.params[ANSWER_KEY] = answer
        return [answer.to_artifact(self.subject(ctx))]

    def gate(self, outputs: list[Any], ctx: Context) -> Gate:
        """FAIL with every reason found in the artifact and the answer's flags; the findings
        about the work go back to the skill that can fix them (SPEC §1.4)."""
        answer = ctx.params[ANSWER_KEY]
        defects = self.failures(outputs[0], answer, ctx)
        findings = self.findings(outputs[0], answer, ctx)
        skill, target = self.fix_route(ctx)
        return Gate.routed([*defects, *findings], findings, skill, target)

    def failures(self, artifact: Any, answer: Any, ctx: Context) -> list[str]:
        """The answer's own defects (an empty section, a missing source): asking again fixes
        them. Empty with no findings = PASS."""
        raise NotImplementedError

    def findings(self, artifact: Any, answer: Any, ctx: Context) -> list[str]:
        """What the answer finds wrong with the work itself: only a revision of the work
        (``fix_route``) fixes it, never a softer answer."""
        return []

    def fix_route(self, ctx: Context) -> tuple[str, str]:
        """(skill, target) that revises the work a finding is about: the scene's revision
        for a per-scene check, the story's structure for a whole-story review."""
        if self.target_scope == "scene":
            return SCENE_REVISION, ctx.scene_id
        return STRUCTURE_REVISION, "PROJECT"
