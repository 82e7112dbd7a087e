"""Narrative skills of SPEC §5: story-architect, script-breakdown (model-backed),
character-psychology and dialogue-consistency-check.

Every skill here follows one pattern:

1. render only its declared inputs, cut down to the target scene, into a compact prompt (so
   the prompt for scene 300 is as long as for scene 3);
2. ask the routed model for a structured *answer* (a pydantic model per skill: what the model
   returns, including the judgments the gate needs);
3. map the answer onto the artifact schema, keeping everything code can decide exactly out of
   the model's hands (extracted characters, introductions, stylometry, canonical ids);
4. judge the result in code. A model's judgment (say, "the midpoint changes nothing") is an
   input the gate reads; the verdict is always computed here.

The system prompts (role, process, checklist) are text files in ``filmslate/skills/narrative/prompts/``, one
per skill, read with :mod:`importlib.resources`: they are prose that writers and directors
review and edit, and they read best outside Python string literals.

Tiers and escalation: each skill names its default tier; on a persisting FAIL the runner
revises ``loops.max_revisions`` times, then escalates one tier (judgment -> premium,
throughput -> judgment), writing a ROUTING_DECISION, and hard-stops past the top tier.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from itertools import pairwise
from typing import Any, ClassVar, Final, Literal, Self

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from ...core._errors import UserError
from ...core._gate import Gate
from ...core._names import TOKEN_RE
from ...engine._skill import REGISTRY, Context, Media, Need, Skill
from ...rules._fountain import ParsedScene, canonical_id, parse_fountain
from ...rules._script_tables import breakdown_table
from ...rules._stylometry import (
    FUNCTION_WORDS,
    MIN_WORDS,
    DriftFlag,
    VoiceExpectation,
    VoiceProfile,
    check_against_lock,
    check_drift,
    distinctiveness,
    profile,
)
from ...schemas import (
    NONE_MARKER,
    Artifact,
    Beats,
    Breakdown,
    BreakdownRow,
    CharLock,
    DialogueCheck,
    Entry,
    Id,
    Item,
    KnowledgeUse,
    Paragraphs,
    Premise,
    Psych,
    PsychAssessment,
    SceneRow,
    Scenes,
    ScriptScene,
    StateDiff,
    Text,
    VoiceAssessment,
    VoiceLock,
    WorldState,
)
from ...schemas._narrative import VoiceProfileRow
from ...schemas._types import Score1to5, YesNo

__all__ = [
    "HISTORY_WORDS",
    "Answer",
    "BreakdownAnswer",
    "CharacterPsychology",
    "DialogueAnswer",
    "DialogueConsistencyCheck",
    "PsychAnswer",
    "ScriptBreakdown",
    "StoryAnswer",
    "StoryArchitect",
    "known_facts",
    "same_fact",
    "system_prompt",
    "unknown_knowledge",
    "voice_expectation",
]

# ── shared: prompts ─────────────────────────────────────────────────────────────────────────


def system_prompt(skill_name: str) -> str:
    """The role, process and checklist of a skill: ``filmslate/skills/narrative/prompts/<skill>.md``."""
    path = resources.files(__package__ or "filmslate.skills.narrative") / "prompts" / f"{skill_name}.md"
    return path.read_text(encoding="utf-8")


def _section(title: str, lines: Iterable[str]) -> str:
    body = [f"- {line}" for line in lines]
    return f"## {title}\n" + ("\n".join(body) if body else "- (none)")


def _prompt(sections: Iterable[str], feedback: Sequence[str]) -> str:
    """Sections joined; a revision adds the gate's reasons so the model can fix each one."""
    parts = [s for s in sections if s]
    if feedback:
        parts.append(_section("Revision: your previous answer failed these checks; fix every "
                              "one", feedback))
    return "\n\n".join(parts)


def _scene_lines(row: SceneRow) -> list[str]:
    return [f"scene: {row.scene_id}", f"location: {row.location}",
            f"time of day: {row.time_of_day or '(unspecified)'}",
            f"characters present: {', '.join(row.characters_present) or '(none)'}",
            f"summary: {row.summary}", f"goal: {row.goal}", f"conflict: {row.conflict}",
            f"outcome: {row.outcome}"]


def _joined(items: Iterable[str]) -> str:
    return "; ".join(items) or "(none)"


# ── shared: text and knowledge ──────────────────────────────────────────────────────────────

def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


_STOP_WORDS: Final = _word_set(
    "the and but for nor yet with from into onto upon about over under than then that this "
    "these those will would can could should shall may might must does did has have had not "
    "who what when where why how which whom whose their there they them his her him she our "
    "you your its are was were been being is be it he we i me my us as at by if in of on or "
    "so to up do no yes all any")
#: Share of a fact's content words that must appear in a recorded fact for the two to count
#: as the same knowledge. Facts are paraphrased ("the key is under the mat" vs "key hidden
#: under the mat"), so exact matching would fail honest scenes; 60 % keeps the subject and
#: most of the predicate.
FACT_OVERLAP: Final = 0.6
#: A substring match counts only when the shorter text has at least this many characters
#: (so "key" alone does not match every fact about keys).
FACT_SUBSTRING_MIN: Final = 8


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def content_words(text: str) -> set[str]:
    """Lowercased, crudely stemmed words of 3+ letters that carry meaning."""
    words = re.findall(r"[a-z0-9]+", text.lower().replace("'", ""))
    return {_stem(w) for w in words if len(w) > 2 and w not in _STOP_WORDS}


def _plain(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def same_fact(fact: str, recorded: str) -> bool:
    """Whether ``fact`` is the recorded fact: a substring either way, or enough shared words."""
    a, b = _plain(fact), _plain(recorded)
    if a and b and (a in b or b in a) and min(len(a), len(b)) >= FACT_SUBSTRING_MIN:
        return True
    words = content_words(fact)
    if len(words) < 2:  # "the key" says nothing checkable about what is known
        return False
    shared = len(words & content_words(recorded))
    return shared >= max(1, math.ceil(FACT_OVERLAP * len(words)))


def _for_character(mapping: Mapping[str, Any], character: str) -> list[Any]:
    """Values of a map keyed by character id, matching ids in canonical form."""
    wanted = canonical_id(character)
    return [value for key, value in mapping.items() if canonical_id(key) == wanted]


def known_facts(character: str, ctx: Context) -> list[str]:
    """What the inputs give a character: prior world state, lock baseline, this scene's diff."""
    facts: list[str] = []
    world: WorldState | None = ctx.inputs.get("WORLD_STATE")
    if world is not None:
        facts += [k for state in _for_character(world.characters, character)
                  for k in state.knowledge]
    diff: StateDiff | None = ctx.inputs.get("STATE_DIFF")
    if diff is not None:
        facts += [k for update in _for_character(diff.character_updates, character)
                  for k in update.learn]
    facts += [k for lock in _for_character(ctx.inputs.all("CHAR_LOCK"), character)
              for k in lock.knowledge_at_introduction]
    return facts


def unknown_knowledge(uses: Iterable[KnowledgeUse], ctx: Context) -> list[str]:
    """Gate reasons for every fact a character uses that no input gives them."""
    reasons = []
    for use in uses:
        if not any(same_fact(use.fact, known) for known in known_facts(use.character, ctx)):
            reasons.append(f"{use.character} uses knowledge the world state does not give "
                           f"them: {use.fact!r} (not in their recorded knowledge, their lock's "
                           "knowledge at introduction, or this scene's state diff)")
    return reasons


def _canonical_uses(uses: Iterable[KnowledgeUse]) -> list[KnowledgeUse]:
    return [KnowledgeUse(character=canonical_id(u.character) or u.character, fact=u.fact)
            for u in uses]


# ── shared: scenes ──────────────────────────────────────────────────────────────────────────


def _number(scene_id: str) -> int:
    return int(scene_id[1:])


def _scene_row(ctx: Context) -> SceneRow:
    """The target scene's SCENES row (ids compared by number, so S3 padding slips match)."""
    scenes: Scenes = ctx.inputs.get("SCENES")
    wanted = _number(ctx.scene_id)
    for row in scenes.rows:
        if _number(row.scene_id) == wanted:
            return row
    raise UserError(f"{ctx.scene_id} is not in SCENES: run story-architect or import the "
                    "script first, or pick a scene that exists", scene=ctx.scene_id)


def _breakdown_row(ctx: Context) -> BreakdownRow | None:
    breakdown: Breakdown | None = ctx.inputs.get("BREAKDOWN")
    if breakdown is None:
        return None
    wanted = _number(ctx.scene_id)
    return next((r for r in breakdown.rows if _number(r.scene_id) == wanted), None)


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(i for i in items if i))


def _present(ctx: Context) -> list[str]:
    """Characters in the target scene: the scene list's and the breakdown's, canonical."""
    row = _scene_row(ctx)
    extra = _breakdown_row(ctx)
    names = [*row.characters_present, *(extra.characters_present if extra else [])]
    return _unique(canonical_id(n) for n in names)


# ── shared: answers ─────────────────────────────────────────────────────────────────────────


def _drop_none_markers(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none_markers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_drop_none_markers(v) for v in value
                if not (isinstance(v, str) and v.strip() == NONE_MARKER)]
    if isinstance(value, str) and value.strip() == NONE_MARKER:
        return ""
    return value


class Answer(BaseModel):
    """Base of every model answer here: ``(none)``, reserved by artifact files, means empty."""

    @model_validator(mode="before")
    @classmethod
    def _none_means_empty(cls, data: Any) -> Any:
        return _drop_none_markers(data)


def _writable(kind_name: str, build: Any) -> None:
    """Raise ValueError (so the provider re-asks) when an answer cannot become its artifact."""
    try:
        build()
    except ValidationError as exc:
        problems = "; ".join(str(e["msg"]) for e in exc.errors())
        raise ValueError(f"the answer cannot be written as {kind_name}: {problems}") from None


# ════════════════════════════════════════════════════════════════════════════════════════════
# story-architect
# ════════════════════════════════════════════════════════════════════════════════════════════


class BeatStakes(Answer):
    """How much is at stake at one beat, 1 (little) to 10 (everything)."""

    beat: Item
    level: int = Field(ge=1, le=10)


class StoryAnswer(Answer):
    """story-architect's answer: BEATS and SCENES fields plus the judgments its gate reads."""

    central_dramatic_question: Paragraphs
    inciting_incident: Paragraphs
    escalation_sequence: list[Item]
    midpoint_shift: Paragraphs
    crisis: Paragraphs
    climax: Paragraphs
    climax_answers: Text = Field(description="how the climax answers the central question")
    resolution: Paragraphs
    escalation: list[BeatStakes] = Field(
        description="stakes per beat, inciting incident to climax, in story order")
    midpoint_changes_trajectory: bool
    midpoint_explanation: Text
    scenes: list[SceneRow]
    new_characters: list[Id] = Field(default_factory=list,
                                     description="characters not in the premise")

    @field_validator("scenes")
    @classmethod
    def _unique_ids(cls, scenes: list[SceneRow]) -> list[SceneRow]:
        ids = [s.scene_id for s in scenes]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"scene ids must be unique; repeated: {', '.join(dupes)}")
        return scenes

    @model_validator(mode="after")
    def _fits_beats(self) -> Self:
        _writable("BEATS", lambda: beats_of(self, "title", "logline"))
        return self


def beats_of(answer: StoryAnswer, title: str, logline: str) -> Beats:
    """The BEATS artifact of an answer (title and logline come from the premise)."""
    return Beats(title=title, logline=logline,
                 central_dramatic_question=answer.central_dramatic_question,
                 inciting_incident=answer.inciting_incident,
                 escalation_sequence=answer.escalation_sequence,
                 midpoint_shift=answer.midpoint_shift, crisis=answer.crisis,
                 climax=answer.climax, resolution=answer.resolution)


#: Placeholder phrasing that says nothing a crew could stage.
_VAGUE_RE: Final = re.compile(
    r"\b(?:tbd|tba|todo|etc|n/a|somehow|something happens|things happen|stuff happens|"
    r"and so on|whatever)\b|\?\?|\.\.\.$", re.IGNORECASE)
#: A goal, conflict or outcome needs at least a subject, a verb and an object.
MIN_SCENE_FIELD_WORDS: Final = 3
#: Share of the central question's content words the climax must reuse to count as answering
#: it (at least one word; "Will Nell relight the lighthouse?" -> two of nell/relight/lighthouse).
CLIMAX_OVERLAP: Final = 0.3
_NAME_CUT_RE: Final = re.compile(r"\s*[,(:;\u2014\u2013]\s*|\s+-\s+")


def _premise_lines(premise: Premise) -> list[str]:
    return [f"title: {premise.title}", f"logline: {premise.logline}",
            f"genre: {premise.genre}", f"tone: {premise.tone}", f"length: {premise.length}",
            f"theme: {premise.theme or '(none given)'}",
            f"characters: {_joined(premise.characters)}"]


def premise_ids(premise: Premise) -> set[str]:
    """Character ids named by the premise (``"Nell, the keeper"`` -> ``NELL``)."""
    return {canonical_id(_NAME_CUT_RE.split(c, maxsplit=1)[0]) for c in premise.characters}


def _canonical_scene(row: SceneRow) -> SceneRow:
    """Ids in canonical form (code normalises spelling; it never invents content)."""
    return row.model_copy(update={
        "location": canonical_id(row.location),
        "characters_present": _unique(canonical_id(c) for c in row.characters_present)})


def _is_vague(text: str) -> bool:
    return len(text.split()) < MIN_SCENE_FIELD_WORDS or _VAGUE_RE.search(text) is not None


def _beat_failures(beats: Beats) -> list[str]:
    named = {"inciting incident": beats.inciting_incident, "midpoint shift": beats.midpoint_shift,
             "crisis": beats.crisis, "climax": beats.climax, "resolution": beats.resolution}
    failures = [f"beat missing: the {name} is empty" for name, text in named.items()
                if not text.strip()]
    if not beats.escalation_sequence:
        failures.append("beat missing: the escalation sequence has no steps")
    return failures


def _question_failures(beats: Beats, answer: StoryAnswer) -> list[str]:
    question = beats.central_dramatic_question.strip()
    if not question.endswith("?"):
        return ["the central dramatic question is missing or is not a question (end it "
                "with '?')"]
    failures = []
    words = content_words(question)
    shared = words & content_words(beats.climax)
    if len(shared) < max(1, math.ceil(CLIMAX_OVERLAP * len(words))):
        failures.append("the climax does not name the central dramatic question it resolves: "
                        f"it reuses {len(shared)} of its key words "
                        f"({', '.join(sorted(words)) or 'none'})")
    if not answer.climax_answers:
        failures.append("the climax does not say how it answers the central dramatic "
                        "question (climax_answers is empty)")
    return failures


def _stakes_failures(stakes: Sequence[BeatStakes]) -> list[str]:
    if len(stakes) < 3:
        return ["stakes not assessed: rate at least three beats, inciting incident to climax"]
    failures = []
    falls = [f"{a.beat} ({a.level}) -> {b.beat} ({b.level})" for a, b in pairwise(stakes)
             if b.level < a.level]
    if falls:
        failures.append("stakes do not escalate: they fall at " + ", ".join(falls))
    if stakes[-1].level <= stakes[0].level:
        failures.append(f"stakes do not escalate: they end at {stakes[-1].level}, no higher "
                        f"than they start ({stakes[0].level})")
    if "climax" not in stakes[-1].beat.lower():
        failures.append("the stakes assessment must end at the climax "
                        f"(it ends at {stakes[-1].beat!r})")
    return failures


def _midpoint_failures(answer: StoryAnswer) -> list[str]:
    if not answer.midpoint_explanation:
        return ["the midpoint judgment has no explanation"]
    if not answer.midpoint_changes_trajectory:
        return [f"the midpoint does not change the trajectory: {answer.midpoint_explanation}"]
    return []


def _scene_field_failures(row: SceneRow) -> list[str]:
    fields = {"goal": row.goal, "conflict": row.conflict, "outcome": row.outcome}
    failures = []
    for name, text in fields.items():
        if not text:
            failures.append(f"{row.scene_id}: the scene has no {name}")
        elif _is_vague(text):
            failures.append(f"{row.scene_id}: the {name} is vague ({text!r}); say who does "
                            "what, concretely")
    return failures


def _scene_id_failures(ids: Sequence[str]) -> list[str]:
    if not ids:
        return ["no scenes: the scene list is empty"]
    width = max(2, len(str(len(ids))))
    expected = [f"S{n:0{width}d}" for n in range(1, len(ids) + 1)]
    for got, want in zip(ids, expected, strict=True):
        if got != want:
            return [f"scene ids must run {expected[0]}, {expected[1] if len(ids) > 1 else ''}"
                    f"... in order with {width}-digit padding: found {got} where {want} "
                    "belongs"]
    return []


def _cast_failures(row: SceneRow, cast_ids: set[str]) -> list[str]:
    failures = []
    if not row.location or not TOKEN_RE.fullmatch(row.location):
        failures.append(f"{row.scene_id}: the location is missing or not a set id "
                        "(uppercase, like OLD_MILL)")
    unknown = [c for c in row.characters_present if c not in cast_ids]
    if unknown:
        failures.append(f"{row.scene_id}: {', '.join(unknown)} not in the premise and not "
                        "listed in new_characters")
    return failures


def story_failures(beats: Beats, scenes: Scenes, answer: StoryAnswer,
                   premise: Premise) -> list[str]:
    """Every reason story-architect's output fails its gate (empty: PASS)."""
    cast_ids = premise_ids(premise) | {canonical_id(c) for c in answer.new_characters}
    failures = [*_beat_failures(beats), *_question_failures(beats, answer),
                *_stakes_failures(answer.escalation), *_midpoint_failures(answer),
                *_scene_id_failures([r.scene_id for r in scenes.rows])]
    for row in scenes.rows:
        failures += _scene_field_failures(row) + _cast_failures(row, cast_ids)
    return failures


class StoryArchitect(Skill):
    """Premise -> BEATS + SCENES (Tier 2; Tier 3 on escalation for structural arbitration).

    Gate (code): every scene has a concrete goal, conflict and outcome; all six beats are
    present; the climax reuses the central dramatic question's terms and says how it answers
    it; the stakes never fall and end higher than they start; the midpoint changes the
    trajectory; scene ids run S01.. with one padding; characters come from the premise or are
    flagged new; locations are canonical set ids.
    """

    name: ClassVar[str] = "story-architect"
    layer: ClassVar[Any] = "narrative"
    tier: ClassVar[Any] = "judgment"
    loop: ClassVar[str] = "narrative"
    needs: ClassVar[tuple[Need, ...]] = (Need("PREMISE"),)
    produces: ClassVar[tuple[str, ...]] = ("BEATS", "SCENES")
    target_scope: ClassVar[Any] = "project"
    summary: ClassVar[str] = "premise -> beats and scene list; structure gated in code"

    def __init__(self) -> None:
        self.answer: StoryAnswer | None = None

    def produce(self, ctx: Context) -> list[Artifact | Media]:
        """Ask for the structure; copy title and logline from the premise; canonical ids."""
        premise: Premise = ctx.inputs.get("PREMISE")
        prompt = _prompt([_section("Premise", _premise_lines(premise))], ctx.feedback)
        answer = ctx.ask(StoryAnswer, system_prompt(self.name), prompt)
        self.answer = answer
        beats = beats_of(answer, premise.title, premise.logline)
        return [beats, Scenes(rows=[_canonical_scene(r) for r in answer.scenes])]

    def gate(self, outputs: list[Any], ctx: Context) -> Gate:
        """FAIL on any structural fault (see the class docstring)."""
        beats, scenes = outputs
        if self.answer is None:
            return Gate.from_failures(["no model answer was recorded for this run"])
        return Gate.from_failures(story_failures(beats, scenes, self.answer,
                                                 ctx.inputs.get("PREMISE")))


# ════════════════════════════════════════════════════════════════════════════════════════════
# script-breakdown (model-backed)
# ════════════════════════════════════════════════════════════════════════════════════════════


class PropOwner(Answer):
    """Who holds or controls a prop (a character id, or the set id where it belongs)."""

    prop: Id
    owner: Id


class BreakdownAnswer(Answer):
    """script-breakdown's answer for one scene: only additions to what code extracted."""

    added_characters: list[Id] = Field(default_factory=list)
    added_locations: list[Id] = Field(default_factory=list)
    added_props: list[Id] = Field(default_factory=list)
    prop_owners: list[PropOwner] = Field(default_factory=list)
    state_changes: list[Entry] = Field(default_factory=list)
    continuity_risks: list[Entry] = Field(default_factory=list)
    lock_requirements: list[Id] = Field(default_factory=list)


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
    r"confess\w*|tell(?:s|ing)?|told)\b", re.IGNORECASE)
_INJURY_RE: Final = re.compile(
    r"\b(?:injur\w*|wound\w*|hurt(?:s|ing)?|stab\w*|shot|shoot(?:s|ing)?|bleed\w*|bled|"
    r"blood\w*|burn(?:s|ed|t)?|bruis\w*|limp\w*|concuss\w*|fractur\w*|sprain\w*|scar(?:s|red)?)"
    r"\b", re.IGNORECASE)
#: Lock requirement names follow the lock files' stems, as the importer writes them.
_LOCK_RE: Final = re.compile(r"(?:CHAR|SET|VOICE|STYLE)_[A-Z0-9]+(?:_[A-Z0-9]+)*_LOCK")
_LOCK_PREFIX_RE: Final = re.compile(r"(?:CHAR|SET|VOICE|STYLE)_[A-Z0-9_]+")
#: How code records a new prop's first owner among the state changes.
_ENTERS: Final = " enters the story, owned by "
#: Owners that say nobody knows who has the prop.
_VAGUE_OWNERS: Final = frozenset({"", "UNKNOWN", "NONE", "NOBODY", "SOMEONE", "UNCLEAR",
                                  "TBD", "NA", "N_A", "UNASSIGNED"})


def _parsed_script(scripts: Mapping[str, ScriptScene]
                   ) -> dict[int, tuple[ParsedScene, BreakdownRow]]:
    """Parse the slices as one screenplay, exactly as `slate import` does, and break it down
    with the importer's own code (so the extraction is the import's, field for field)."""
    if not scripts:
        return {}
    ordered = sorted(scripts, key=_number)
    play = parse_fountain("\n\n".join(scripts[s].text for s in ordered), source="SCRIPT")
    if len(play.scenes) != len(ordered):
        raise UserError(f"the SCRIPT slices hold {len(play.scenes)} scene headings for "
                        f"{len(ordered)} scenes: each SCRIPT_<SCENE> must hold exactly one "
                        "scene, heading first; re-import the screenplay")
    rows = breakdown_table(play).rows
    return {_number(s): (scene, row)
            for s, scene, row in zip(ordered, play.scenes, rows, strict=True)}


def extract(ctx: Context) -> dict[str, Extracted]:
    """Deterministic breakdown of every scene: SCENES columns plus the screenplay's own."""
    scenes: Scenes = ctx.inputs.get("SCENES")
    scripts: dict[str, ScriptScene] = ctx.inputs.all("SCRIPT")
    parsed = _parsed_script(scripts)
    texts = {_number(s): v.text for s, v in scripts.items()}
    out = {}
    for row in scenes.rows:
        number = _number(row.scene_id)
        scene, base = parsed.get(number, (None, None))
        out[row.scene_id] = Extracted(
            characters=_unique([*row.characters_present,
                                *(base.characters_present if base else [])]),
            speakers=list(scene.characters) if scene else [],
            locations=_unique([row.location, *(base.locations_used if base else [])]),
            props=list(base.props_used) if base else [],
            risks=list(base.continuity_risks) if base else [],
            text=texts.get(number, ""))
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
    return _unique([*extracted, *extra])


def _draft_row(scene_id: str, ext: Extracted, answer: BreakdownAnswer) -> BreakdownRow:
    """Extraction kept whole; the model's additions appended; introductions left for later."""
    return BreakdownRow(
        scene_id=scene_id,
        characters_present=_added(ext.characters, answer.added_characters, canonical_id),
        locations_used=_added(ext.locations, answer.added_locations, canonical_id),
        props_used=_added(ext.props, answer.added_props, canonical_id),
        state_changes=_unique(answer.state_changes),
        continuity_risks=_unique([*ext.risks, *answer.continuity_risks]),
        lock_requirements=_unique(_lock_name(x) for x in answer.lock_requirements))


def with_introductions(rows: Sequence[BreakdownRow], extracted: Mapping[str, Extracted],
                       owners: Mapping[str, str]) -> list[BreakdownRow]:
    """First appearances in scene order, recomputed by code, with the locks they require
    (for what code extracted; the model names its own) and each new prop's owner."""
    seen: dict[str, set[str]] = {"characters": set(), "locations": set(), "props": set(),
                                 "voices": set()}
    out = []
    for row in rows:
        ext = extracted[row.scene_id]
        new = {kind: [x for x in getattr(row, used) if x not in seen[kind]]
               for kind, used in (("characters", "characters_present"),
                                  ("locations", "locations_used"), ("props", "props_used"))}
        new["voices"] = [v for v in ext.speakers if v not in seen["voices"]]
        for kind, items in new.items():
            seen[kind].update(items)
        locks = ([f"CHAR_{c}_LOCK" for c in new["characters"] if c in ext.characters]
                 + [f"SET_{loc}_LOCK" for loc in new["locations"] if loc in ext.locations]
                 + [f"VOICE_{v}_LOCK" for v in new["voices"]])
        entries = [f"{p}{_ENTERS}{owner}" for p in new["props"]
                   if (owner := owners.get(canonical_id(p), "")) not in _VAGUE_OWNERS]
        out.append(row.model_copy(update={
            "new_characters_introduced": new["characters"],
            "new_locations_introduced": new["locations"],
            "new_props_introduced": new["props"],
            "state_changes": _unique([*row.state_changes, *entries]),
            "lock_requirements": _unique([*locks, *row.lock_requirements])}))
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
        if char not in ext.characters and char not in known.characters \
                and f"CHAR_{char}_LOCK" not in row.lock_requirements:
            failures.append(f"{row.scene_id}: undefined character {char}: not in the scene list "
                            f"or script, not introduced earlier, and no CHAR_{char}_LOCK lock "
                            "requirement")
    for loc in row.locations_used:
        if loc not in ext.locations and loc not in known.locations \
                and f"SET_{loc}_LOCK" not in row.lock_requirements:
            failures.append(f"{row.scene_id}: location {loc} appears without introduction: "
                            f"not in the scene list or script, and no SET_{loc}_LOCK lock "
                            "requirement")
    bad = [lock for lock in row.lock_requirements if not _LOCK_RE.fullmatch(lock)]
    if bad:
        failures.append(f"{row.scene_id}: lock requirements must name locks (CHAR_, SET_, "
                        f"VOICE_ or STYLE_ + id + _LOCK): {', '.join(bad)}")
    return failures


def _row_state_failures(row: BreakdownRow, scene: SceneRow, owners: Mapping[str, str]
                        ) -> list[str]:
    failures = []
    story = f"{scene.summary} {scene.outcome}"
    change = _CHANGE_RE.search(story)
    listed = [c for c in row.state_changes if _ENTERS not in c]  # code's own notes aside
    if not listed and change:
        failures.append(f"{row.scene_id}: state changes are not listed, but the summary or "
                        f"outcome says something changes hands, hurts or is learned "
                        f"({change.group()!r})")
    for prop in row.props_used:
        if owners.get(canonical_id(prop), "") in _VAGUE_OWNERS:
            failures.append(f"{row.scene_id}: prop {prop} is used without clear ownership; "
                            "name the character or set that holds it")
    injury = _INJURY_RE.search(" ".join([story, *row.state_changes]))
    if not row.continuity_risks and (row.new_props_introduced or injury):
        cause = (f"new props ({', '.join(row.new_props_introduced)})"
                 if row.new_props_introduced else f"an injury ({injury.group()!r})"
                 if injury else "")
        failures.append(f"{row.scene_id}: continuity risks are not acknowledged for {cause}")
    return failures


def breakdown_failures(breakdown: Breakdown, scenes: Scenes, extracted: Mapping[str, Extracted],
                       answers: Mapping[str, BreakdownAnswer],
                       world: WorldState | None) -> list[str]:
    """Every reason script-breakdown's output fails its gate, scene by scene in order."""
    rows = {r.scene_id: r for r in scenes.rows}
    known = _Known(
        characters={c for r in scenes.rows for c in r.characters_present}
        | {canonical_id(c) for c in (world.characters if world else {})},
        locations={r.location for r in scenes.rows}
        | {canonical_id(loc) for loc in (world.locations if world else {})},
        owners=_world_owners(world))
    failures: list[str] = []
    for row in breakdown.rows:
        ext, answer = extracted[row.scene_id], answers[row.scene_id]
        known.owners.update(_owners_of(answer))
        failures += _row_entity_failures(row, ext, known)
        failures += _row_state_failures(row, rows[row.scene_id], known.owners)
        known.characters.update(row.characters_present)
        known.locations.update(row.locations_used)
    return failures


def _breakdown_prompt(ctx: Context, row: SceneRow, ext: Extracted,
                      owners: Mapping[str, str]) -> str:
    feedback = [r for r in ctx.feedback if r.startswith(f"{row.scene_id}:")
                or not re.match(r"S\d+:", r)]
    held = [f"{p}: {owners[canonical_id(p)]}" for p in ext.props if canonical_id(p) in owners]
    return _prompt([
        _section("Scene", _scene_lines(row)),
        f"## Screenplay text\n{ext.text}" if ext.text else "",
        _section("Extracted by code (fixed: add only)", [
            f"characters present: {_joined(ext.characters)}",
            f"speaking: {_joined(ext.speakers)}",
            f"locations: {_joined(ext.locations)}", f"props: {_joined(ext.props)}",
            f"continuity risks noted: {_joined(ext.risks)}"]),
        _section("Prop owners so far", held),
    ], feedback)


class ScriptBreakdown(Skill):
    """Completes the breakdown with implicit state changes, risks and locks (Tier 1).

    Code extracts characters, speakers, locations and props from SCENES and the per-scene
    SCRIPT slices and keeps them; the model (asked once per scene, so each prompt holds one
    scene) may only add. First appearances are recomputed in scene order. Escalates to Tier 2
    on a persisting FAIL. Gate (code): undefined characters, unlisted state changes, props
    without an owner, locations without introduction, unacknowledged continuity risks,
    malformed lock names.

    Why not read the import's BREAKDOWN: the runner refuses an input whose gate is FAIL, so a
    skill that reads the kind it writes could not revise after its own failed version. Code
    re-runs the importer's own breakdown on the same SCRIPT slices instead, so the extracted
    columns equal the import's (except under ``slate import --alias``, whose table the slices
    do not carry).
    """

    name: ClassVar[str] = "script-breakdown"
    layer: ClassVar[Any] = "narrative"
    tier: ClassVar[Any] = "throughput"
    loop: ClassVar[str] = "narrative"
    needs: ClassVar[tuple[Need, ...]] = (Need("SCENES"), Need("SCRIPT", "all", optional=True),
                                         Need("WORLD_STATE", optional=True))
    produces: ClassVar[tuple[str, ...]] = ("BREAKDOWN",)
    target_scope: ClassVar[Any] = "project"
    summary: ClassVar[str] = "breakdown: state changes, continuity risks, lock requirements"

    def __init__(self) -> None:
        self.extracted: dict[str, Extracted] = {}
        self.answers: dict[str, BreakdownAnswer] = {}

    def produce(self, ctx: Context) -> list[Artifact | Media]:
        """One model call per scene; code merges, never removing what it extracted."""
        scenes: Scenes = ctx.inputs.get("SCENES")
        self.extracted = extract(ctx)
        owners = _world_owners(ctx.inputs.get("WORLD_STATE"))
        first = dict(owners)  # who holds each prop when it enters the story
        system = system_prompt(self.name)
        drafts = []
        for row in scenes.rows:
            ext = self.extracted[row.scene_id]
            answer = ctx.ask(BreakdownAnswer, system, _breakdown_prompt(ctx, row, ext, owners))
            self.answers[row.scene_id] = answer
            owners.update(_owners_of(answer))
            for prop, owner in _owners_of(answer).items():
                first.setdefault(prop, owner)
            drafts.append(_draft_row(row.scene_id, ext, answer))
        return [Breakdown(rows=with_introductions(drafts, self.extracted, first))]

    def gate(self, outputs: list[Any], ctx: Context) -> Gate:
        """FAIL on any row fault (see the class docstring)."""
        return Gate.from_failures(breakdown_failures(
            outputs[0], ctx.inputs.get("SCENES"), self.extracted, self.answers,
            ctx.inputs.get("WORLD_STATE")))


# ════════════════════════════════════════════════════════════════════════════════════════════
# character-psychology
# ════════════════════════════════════════════════════════════════════════════════════════════


class CharacterJudgment(Answer):
    """One character's psychology in the scene, with the judgments the gate reads."""

    character: Id
    motivation_alignment: Text
    emotional_continuity: Text
    trauma_history_influence: Text
    arc_progression_status: Text
    broken_lock_trait: Text = Field("", description="the locked trait the behavior breaks; "
                                                    "empty when none")
    reaction_proportionate: bool
    arc_change_has_catalyst: bool = Field(description="true also when the arc does not move")
    drift_warning: YesNo
    recommended_correction: Text = ""


class PsychAnswer(Answer):
    """character-psychology's answer for one scene."""

    characters: list[CharacterJudgment]
    knowledge_used: list[KnowledgeUse] = Field(
        default_factory=list, description="facts acted on that were known before the scene")

    @model_validator(mode="after")
    def _fits_psych(self) -> Self:
        _writable("PSYCH", lambda: psych_of(self, "S01"))
        return self


def psych_of(answer: PsychAnswer, scene_id: str) -> Psych:
    """The PSYCH artifact of an answer; drift warnings follow the structured judgments."""
    return Psych(scene_id=scene_id, characters=[_assessment(j) for j in answer.characters],
                 knowledge_used=_canonical_uses(answer.knowledge_used))


#: How many of a character's most recent recorded facts the prompt shows. Knowledge grows
#: with every scene; the gate checks all of it in code, the model needs only the latest.
RECENT_KNOWLEDGE: Final = 5


def _drift_causes(judgment: CharacterJudgment) -> list[str]:
    causes = []
    if judgment.drift_warning == "YES":
        causes.append("the model flags drift")
    if judgment.broken_lock_trait:
        causes.append(f"behavior contradicts the lock ({judgment.broken_lock_trait})")
    if not judgment.reaction_proportionate:
        causes.append("the reaction is disproportionate")
    if not judgment.arc_change_has_catalyst:
        causes.append("the arc jumps without a catalyst")
    return causes


def _assessment(judgment: CharacterJudgment) -> PsychAssessment:
    return PsychAssessment(
        character=canonical_id(judgment.character) or judgment.character,
        motivation_alignment=judgment.motivation_alignment,
        emotional_continuity=judgment.emotional_continuity,
        trauma_history_influence=judgment.trauma_history_influence,
        arc_progression_status=judgment.arc_progression_status,
        drift_warning="YES" if _drift_causes(judgment) else "NO",
        recommended_correction=judgment.recommended_correction)


def _lock_lines(name: str, lock: CharLock | None) -> list[str]:
    if lock is None:
        return [f"{name}: no character lock"]
    b = lock.behavior
    return [f"{name}: temperament {b.temperament}; decision style {b.decision_style}; "
            f"under stress {b.stress_behavior}; default tone {b.default_emotional_tone}; "
            f"speech {b.speech_patterns}",
            f"{name} knew at introduction: {_joined(lock.knowledge_at_introduction)}",
            f"{name} must never: {_joined(lock.forbidden_drift)}"]


def _state_lines(name: str, ctx: Context) -> list[str]:
    world: WorldState | None = ctx.inputs.get("WORLD_STATE")
    states = _for_character(world.characters, name) if world else []
    if not states:
        return [f"{name}: no recorded state"]
    s = states[0]
    return [f"{name}: emotional state {s.emotional_state or '(unrecorded)'}; location "
            f"{s.location or '(unrecorded)'}; injuries {_joined(s.injuries)}; inventory "
            f"{_joined(s.inventory)}",
            f"{name} recently learned: {_joined(s.knowledge[-RECENT_KNOWLEDGE:])}"]


def _diff_lines(ctx: Context, names: Iterable[str]) -> list[str]:
    diff: StateDiff | None = ctx.inputs.get("STATE_DIFF")
    if diff is None:
        return []
    return [f"{n} learns here: {_joined(u.learn)}" for n in names
            for u in _for_character(diff.character_updates, n) if u.learn]


def _psych_prompt(ctx: Context, present: Sequence[str]) -> str:
    locks: dict[str, CharLock] = ctx.inputs.all("CHAR_LOCK")
    breakdown = _breakdown_row(ctx)
    return _prompt([
        _section("Scene", _scene_lines(_scene_row(ctx))),
        _section("Breakdown", [f"state changes: {_joined(breakdown.state_changes)}",
                               f"continuity risks: {_joined(breakdown.continuity_risks)}"]
                 if breakdown else []),
        _section("Character locks", [line for n in present for line in _lock_lines(
            n, next(iter(_for_character(locks, n)), None))]),
        _section("State before this scene", [line for n in present
                                             for line in _state_lines(n, ctx)]),
        _section("This scene's state diff", _diff_lines(ctx, present)),
    ], ctx.feedback)


def psych_failures(psych: Psych, present: Sequence[str], answer: PsychAnswer | None,
                   ctx: Context) -> list[str]:
    """Every reason character-psychology's output fails its gate."""
    assessed = [a.character for a in psych.characters]
    failures = [f"no psychology for {c}, who is present in {psych.scene_id}"
                for c in present if c not in assessed]
    failures += [f"{c} is assessed but not present in {psych.scene_id}"
                 for c in assessed if c not in present]
    causes = {canonical_id(j.character): _drift_causes(j) for j in (answer.characters
                                                                    if answer else [])}
    for item in psych.characters:
        empty = [name for name in ("motivation_alignment", "emotional_continuity",
                                   "trauma_history_influence", "arc_progression_status")
                 if not getattr(item, name)]
        if empty:
            failures.append(f"{item.character}: {', '.join(empty)} missing")
        if item.drift_warning == "YES":
            why = "; ".join(causes.get(item.character, [])) or "drift warning YES"
            fix = f" (correction: {item.recommended_correction})" \
                if item.recommended_correction else " (no correction proposed)"
            failures.append(f"{item.character}: drift warning YES: {why}{fix}")
    return failures + unknown_knowledge(psych.knowledge_used, ctx)


class CharacterPsychology(Skill):
    """Per-scene psychology of every character present -> PSYCH_<SCENE> (Tier 2).

    Drift warning is YES when the model says so or when any structured judgment shows a broken
    locked trait, a disproportionate reaction or an arc jump without a catalyst. Gate (code):
    FAIL on any YES, a character present but not assessed, or knowledge a character acts on
    that the prior WORLD_STATE, their lock or this scene's STATE_DIFF does not give them.
    Escalates to Tier 3 on a persisting FAIL.
    """

    name: ClassVar[str] = "character-psychology"
    layer: ClassVar[Any] = "narrative"
    tier: ClassVar[Any] = "judgment"
    loop: ClassVar[str] = "narrative"
    needs: ClassVar[tuple[Need, ...]] = (
        Need("SCENES"), Need("BREAKDOWN"), Need("CHAR_LOCK", "cast", optional=True),
        Need("WORLD_STATE", optional=True), Need("STATE_DIFF", "scene", optional=True))
    produces: ClassVar[tuple[str, ...]] = ("PSYCH",)
    target_scope: ClassVar[Any] = "scene"
    summary: ClassVar[str] = "motivation, continuity, arc; drift and knowledge gated in code"

    def __init__(self) -> None:
        self.answer: PsychAnswer | None = None

    def produce(self, ctx: Context) -> list[Artifact | Media]:
        """Ask about the characters present; drift warnings follow the structured judgments."""
        present = _present(ctx)
        answer = ctx.ask(PsychAnswer, system_prompt(self.name), _psych_prompt(ctx, present))
        self.answer = answer
        return [psych_of(answer, ctx.scene_id)]

    def gate(self, outputs: list[Any], ctx: Context) -> Gate:
        """FAIL on drift, missing assessments or unacquired knowledge."""
        return Gate.from_failures(psych_failures(outputs[0], _present(ctx), self.answer, ctx))


# ════════════════════════════════════════════════════════════════════════════════════════════
# dialogue-consistency-check
# ════════════════════════════════════════════════════════════════════════════════════════════

#: The running voice profile carried from scene to scene keeps about this many of a
#: character's most recent words (roughly their last three to six scenes): older lines fade
#: out, so a voice that evolves slowly through an arc is compared with its recent self.
HISTORY_WORDS: Final = 300
_FLAG_RE: Final = re.compile(r"(Low|Medium|High) \((code|model)\): ")
_RATES: Final = ("long_word_rate", "contraction_rate", "profanity_rate", "slang_rate",
                 "dialect_marker_rate", "hedge_rate", "filler_rate", "figurative_rate",
                 "ellipsis_rate", "dash_rate")


class ModelFlag(Answer):
    """A drift the model hears and code cannot measure (tone, personality, register)."""

    severity: Literal["Low", "Medium", "High"]
    description: Entry


class SpeakerAnswer(Answer):
    """The model's nuance for one speaker."""

    character: Id
    voice_assessment: Text
    vocabulary_consistency: Text
    tone_alignment: Text
    emotional_authenticity: Text
    distinctiveness: Score1to5
    drift_flags: list[ModelFlag] = Field(default_factory=list)


class DialogueAnswer(Answer):
    """dialogue-consistency-check's answer for one scene."""

    characters: list[SpeakerAnswer]
    knowledge_stated: list[KnowledgeUse] = Field(
        default_factory=list, description="facts lines assert that the speaker knew before")
    recommended_adjustments: list[Item] = Field(default_factory=list)

    @model_validator(mode="after")
    def _fits_dialogue_check(self) -> Self:
        _writable("DIALOGUE_CHECK", lambda: DialogueCheck(
            scene_id="S01", recommended_adjustments=self.recommended_adjustments,
            characters=[_speaker_assessment(canonical_id(c.character) or c.character, c, [], {})
                        for c in self.characters],
            knowledge_stated=_canonical_uses(self.knowledge_stated)))
        return self


# -- voice lock -> measurable expectation ----------------------------------------------------

_FIGURATIVE: Final = {"none": ("none", "never", "literal", "plain"),
                      "rare": ("rare", "rarely", "occasional", "occasionally", "sparing",
                               "sparingly", "minimal", "some"),
                      "frequent": ("frequent", "frequently", "often", "rich", "heavy",
                                   "florid", "constant", "poetic", "lavish")}
_DIRECTNESS: Final = {"blunt": ("blunt", "curt", "terse"),
                      "direct": ("direct", "straightforward", "plain-spoken", "frank"),
                      "indirect": ("indirect", "roundabout", "diplomatic", "hedging",
                                   "tactful"),
                      "evasive": ("evasive", "vague", "non-committal", "noncommittal")}
_HESITATIONS: Final = {"none": ("none", "never", "fluent", "no hesitation", "no hesitations"),
                       "some": ("some", "occasional", "occasionally", "rare", "rarely", "few",
                                "slight"),
                       "frequent": ("frequent", "frequently", "often", "constant", "many",
                                    "halting", "stammers", "stammering")}


def _keyword_label(text: str, table: Mapping[str, tuple[str, ...]]) -> Any:
    """The label whose keyword appears first in a free-text lock field, or None."""
    best: tuple[int, str] | None = None
    for label, words in table.items():
        for word in words:
            match = re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text.lower())
            if match and (best is None or match.start() < best[0]):
                best = (match.start(), label)
    return best[1] if best else None


def voice_expectation(lock: VoiceLock) -> VoiceExpectation:
    """What a voice lock says in measurable terms (free-text fields read by keyword)."""
    return VoiceExpectation(
        sentence_length=lock.cadence.sentence_length,
        vocabulary_level=lock.constraints.vocabulary_level,
        swearing=lock.constraints.swearing,
        slang_level=lock.accent.slang_level,
        accent_strength=lock.accent.strength,
        figurative_language=_keyword_label(lock.constraints.figurative_language, _FIGURATIVE),
        directness=_keyword_label(lock.constraints.directness, _DIRECTNESS),
        hesitations=_keyword_label(lock.cadence.hesitations, _HESITATIONS))


# -- profiles as numbers, and the running history --------------------------------------------


def profile_row(character: str, prof: VoiceProfile) -> VoiceProfileRow:
    """A profile as a table row (6 decimals: counts rebuilt from rates stay exact)."""
    values = {name: round(float(getattr(prof, name)), 6) for name in VoiceProfileRow.model_fields
              if name not in ("character", "lines", "words")}
    return VoiceProfileRow(character=character, lines=prof.lines, words=prof.words, **values)


def row_profile(row: VoiceProfileRow) -> VoiceProfile:
    """A table row back to a profile (function words are not carried: drift does not use them)."""
    values = row.model_dump(exclude={"character"})
    return VoiceProfile(**values, function_word_profile=(0.0,) * len(FUNCTION_WORDS))


def _weighted(a: float, wa: float, b: float, wb: float) -> float:
    return (a * wa + b * wb) / (wa + wb) if wa + wb else 0.0


def merge_profiles(history: VoiceProfile | None, current: VoiceProfile,
                   keep: int = HISTORY_WORDS) -> VoiceProfile:
    """The running profile: this scene whole, plus as much history as fits in ``keep`` words."""
    if history is None or history.words == 0 or current.words >= keep:
        return current
    wh = min(history.words, keep - current.words)
    wc = current.words
    sh = wh / history.mean_sentence_words if history.mean_sentence_words else 0.0
    sc = wc / current.mean_sentence_words if current.mean_sentence_words else 0.0
    rates = {r: _weighted(getattr(history, r), wh, getattr(current, r), wc) for r in _RATES}
    return VoiceProfile(
        lines=current.lines + round(history.lines * wh / history.words),
        words=wh + wc,
        mean_sentence_words=(wh + wc) / (sh + sc) if sh + sc else 0.0,
        type_token_ratio=_weighted(history.type_token_ratio, wh, current.type_token_ratio, wc),
        mean_word_length=_weighted(history.mean_word_length, wh, current.mean_word_length, wc),
        question_rate=_weighted(history.question_rate, sh, current.question_rate, sc),
        exclamation_rate=_weighted(history.exclamation_rate, sh, current.exclamation_rate, sc),
        function_word_profile=(0.0,) * len(FUNCTION_WORDS), **rates)


def _history(ctx: Context) -> dict[str, VoiceProfile]:
    previous: DialogueCheck | None = ctx.inputs.get("DIALOGUE_CHECK")
    if previous is None:
        return {}
    return {row.character: row_profile(row) for row in previous.voice_profiles}


def running_profiles(history: Mapping[str, VoiceProfile],
                     current: Mapping[str, VoiceProfile]) -> list[VoiceProfileRow]:
    """Every speaker so far: merged where they spoke in this scene, carried otherwise."""
    names = sorted({*history, *current})
    merged = {n: merge_profiles(history.get(n), current[n]) if n in current else history[n]
              for n in names}
    return [profile_row(n, merged[n]) for n in names]


# -- code's own judgment -----------------------------------------------------------------------


def dialogue_by_speaker(script: ScriptScene) -> dict[str, list[str]]:
    """Each speaker's lines in the scene, in order of first cue."""
    play = parse_fountain(script.text, source=f"SCRIPT_{script.scene_id}")
    lines: dict[str, list[str]] = {}
    for scene in play.scenes:
        for line in scene.dialogue:
            lines.setdefault(line.speaker, []).append(line.text)
    return lines


def code_flags(profiles: Mapping[str, VoiceProfile], history: Mapping[str, VoiceProfile],
               locks: Mapping[str, VoiceLock]) -> dict[str, list[DriftFlag]]:
    """Measurable contradictions per speaker: against their voice lock and their history."""
    flags: dict[str, list[DriftFlag]] = {}
    for speaker, prof in profiles.items():
        found: list[DriftFlag] = []
        lock = next(iter(_for_character(locks, speaker)), None)
        if lock is not None:
            found += check_against_lock(speaker, prof, voice_expectation(lock))
        if speaker in history:
            found += check_drift(speaker, prof, history[speaker])
        flags[speaker] = found
    return flags


def measured_distinctiveness(profiles: Mapping[str, VoiceProfile]) -> dict[str, int]:
    """Scores for speakers with enough text to measure, among at least two such speakers."""
    measurable = {s: p for s, p in profiles.items() if p.words >= MIN_WORDS}
    return distinctiveness(measurable) if len(measurable) >= 2 else {}


def _entry(severity: str, source: str, message: str) -> str:
    text = " ".join(message.replace(";", ",").split())
    return f"{severity} ({source}): {text}"


def _speaker_assessment(speaker: str, answer: SpeakerAnswer | None, flags: Sequence[DriftFlag],
                        measured: Mapping[str, int]) -> VoiceAssessment:
    entries = [_entry(f.severity, "code", f.message) for f in flags]
    if answer is not None:
        entries += [_entry(f.severity, "model", f.description) for f in answer.drift_flags]
    return VoiceAssessment(
        character=speaker,
        voice_assessment=answer.voice_assessment if answer else "",
        vocabulary_consistency=answer.vocabulary_consistency if answer else "",
        tone_alignment=answer.tone_alignment if answer else "",
        emotional_authenticity=answer.emotional_authenticity if answer else "",
        distinctiveness=measured.get(speaker, answer.distinctiveness if answer else 1),
        drift_flags=_unique(entries))


def _measure_lines(speaker: str, prof: VoiceProfile, measured: Mapping[str, int]) -> str:
    score = measured.get(speaker)
    return (f"{speaker}: {prof.words} words, {prof.mean_sentence_words:.1f} words/sentence, "
            f"long words {prof.long_word_rate:.0%}, contractions {prof.contraction_rate:.0%}, "
            f"questions {prof.question_rate:.0%}, slang {prof.slang_rate:.0%}, profanity "
            f"{prof.profanity_rate:.0%}, dialect markers {prof.dialect_marker_rate:.0%}, hedges "
            f"{prof.hedge_rate:.0%}, distinctiveness "
            f"{score if score is not None else '(too little text to measure)'}")


def _voice_lock_line(speaker: str, lock: VoiceLock | None) -> str:
    if lock is None:
        return f"{speaker}: no voice lock"
    return (f"{speaker}: pitch {lock.tone.pitch}, timbre {lock.tone.timbre}, energy "
            f"{lock.tone.energy}; sentences {lock.cadence.sentence_length}, hesitations "
            f"{lock.cadence.hesitations}; accent {lock.accent.region} "
            f"({lock.accent.strength}), slang {lock.accent.slang_level}; vocabulary "
            f"{lock.constraints.vocabulary_level}, swearing {lock.constraints.swearing}, "
            f"figurative {lock.constraints.figurative_language}, directness "
            f"{lock.constraints.directness}; default emotion {lock.emotional_range.default}; "
            f"never: {_joined(lock.forbidden_drift)}")


@dataclass
class _Measured:
    """Everything code knows about the scene's dialogue before the model is asked."""

    lines: dict[str, list[str]]
    profiles: dict[str, VoiceProfile]
    history: dict[str, VoiceProfile]
    flags: dict[str, list[DriftFlag]]
    scores: dict[str, int]


def _dialogue_prompt(ctx: Context, m: _Measured) -> str:
    locks: dict[str, VoiceLock] = ctx.inputs.all("VOICE_LOCK")
    return _prompt([
        _section(f"Dialogue of {ctx.scene_id}",
                 [f"{s}: {line}" for s, lines in m.lines.items() for line in lines]),
        _section("Voice locks", [_voice_lock_line(s, next(iter(_for_character(locks, s)),
                                                          None)) for s in m.lines]),
        _section("Measured by code", [_measure_lines(s, m.profiles[s], m.scores)
                                      for s in m.lines]),
        _section("Code's drift flags (these stand)",
                 [f"{f.severity}: {f.message}" for s in m.lines for f in m.flags[s]]),
    ], ctx.feedback)


def dialogue_failures(check: DialogueCheck, minimum: int, ctx: Context) -> list[str]:
    """Every reason dialogue-consistency-check's output fails its gate."""
    failures = []
    for item in check.characters:
        if not item.voice_assessment:
            failures.append(f"{item.character}: no voice assessment")
        for entry in item.drift_flags:
            match = _FLAG_RE.match(entry)
            if match and match.group(1) in ("Medium", "High"):
                failures.append(f"{item.character}: drift: {entry}")
        if item.distinctiveness < minimum:
            failures.append(f"{item.character}: distinctiveness {item.distinctiveness} is below "
                            f"the minimum {minimum}: their lines could be another speaker's")
    return failures + unknown_knowledge(check.knowledge_stated, ctx)


class DialogueConsistencyCheck(Skill):
    """Per-scene voice check -> DIALOGUE_CHECK_<SCENE> (Tier 2), measured in code first.

    Code parses the scene's SCRIPT slice, profiles every speaker (``filmslate.rules._stylometry``),
    flags measurable contradictions of their VOICE_LOCK and drift from their running profile
    (carried in the previous scene's DIALOGUE_CHECK, so input size is constant), and scores
    distinctiveness between the scene's speakers. The model adds nuance and may add flags; it
    cannot remove code's. Gate (code): FAIL on any Medium/High flag, distinctiveness below
    ``thresholds.dialogue_distinctiveness``, an unassessed speaker, or a fact stated that the
    world state does not give the speaker. Escalates to Tier 3 on a persisting FAIL.
    """

    name: ClassVar[str] = "dialogue-consistency-check"
    layer: ClassVar[Any] = "narrative"
    tier: ClassVar[Any] = "judgment"
    loop: ClassVar[str] = "narrative"
    needs: ClassVar[tuple[Need, ...]] = (
        Need("SCRIPT", "scene"), Need("VOICE_LOCK", "all", optional=True),
        Need("CHAR_LOCK", "cast", optional=True), Need("WORLD_STATE", optional=True),
        Need("STATE_DIFF", "scene", optional=True),
        # the previous scene's check carries each speaker's running voice profile; it is
        # context, so a new version of it (say after a lock revision) does not reopen this one
        Need("DIALOGUE_CHECK", "previous", optional=True, lineage=False))
    produces: ClassVar[tuple[str, ...]] = ("DIALOGUE_CHECK",)
    target_scope: ClassVar[Any] = "scene"
    summary: ClassVar[str] = "voice drift measured in code (stylometry) plus model nuance"

    def measure(self, ctx: Context) -> _Measured:
        """Code's own findings: profiles, lock and history flags, distinctiveness."""
        lines = dialogue_by_speaker(ctx.inputs.get("SCRIPT"))
        profiles = {s: profile(text) for s, text in lines.items()}
        history = _history(ctx)
        flags = code_flags(profiles, history, ctx.inputs.all("VOICE_LOCK"))
        return _Measured(lines, profiles, history, flags, measured_distinctiveness(profiles))

    def produce(self, ctx: Context) -> list[Artifact | Media]:
        """Measure, ask for nuance (skipped for a scene without dialogue), merge."""
        m = self.measure(ctx)
        answer = DialogueAnswer(characters=[])
        if m.lines:
            answer = ctx.ask(DialogueAnswer, system_prompt(self.name), _dialogue_prompt(ctx, m))
        by_speaker = {canonical_id(a.character): a for a in answer.characters}
        return [DialogueCheck(
            scene_id=ctx.scene_id,
            characters=[_speaker_assessment(s, by_speaker.get(s), m.flags[s], m.scores)
                        for s in m.lines],
            recommended_adjustments=answer.recommended_adjustments,
            knowledge_stated=_canonical_uses(answer.knowledge_stated),
            voice_profiles=running_profiles(m.history, m.profiles))]

    def gate(self, outputs: list[Any], ctx: Context) -> Gate:
        """FAIL on drift, indistinct voices, missing assessments or unacquired knowledge."""
        minimum = ctx.config.thresholds.dialogue_distinctiveness
        return Gate.from_failures(dialogue_failures(outputs[0], minimum, ctx))


for _skill in (StoryArchitect, ScriptBreakdown, CharacterPsychology, DialogueConsistencyCheck):
    REGISTRY.register(_skill)
