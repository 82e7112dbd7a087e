"""dialogue-consistency-check (SPEC §5): voice drift measured in code, nuance from the model."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Final, Literal, Self

from pydantic import Field, model_validator

from ...core._gate import Gate
from ...engine._skill import Context, Media, Need, Skill
from ...rules._fountain import canonical_id, parse_fountain
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
    Artifact,
    DialogueCheck,
    Entry,
    Id,
    Item,
    KnowledgeUse,
    ScriptScene,
    Text,
    VoiceAssessment,
    VoiceLock,
)
from ...schemas._narrative import VoiceProfileRow
from ...schemas._types import Score1to5
from .._prompts import system_prompt
from ._common import (
    PACKAGE,
    Answer,
    canonical_uses,
    compose,
    for_character,
    joined,
    section,
    unique,
    unknown_knowledge,
    writable,
)

__all__ = [
    "HISTORY_WORDS",
    "DialogueAnswer",
    "DialogueConsistencyCheck",
    "ModelFlag",
    "SpeakerAnswer",
    "code_flags",
    "dialogue_by_speaker",
    "dialogue_failures",
    "measured_distinctiveness",
    "merge_profiles",
    "profile_row",
    "row_profile",
    "running_profiles",
    "voice_expectation",
]

#: The running voice profile carried from scene to scene keeps about this many of a
#: character's most recent words (roughly their last three to six scenes): older lines fade
#: out, so a voice that evolves slowly through an arc is compared with its recent self.
HISTORY_WORDS: Final = 300
_FLAG_RE: Final = re.compile(r"(Low|Medium|High) \((code|model)\): ")
_RATES: Final = (
    "long_word_rate",
    "contraction_rate",
    "profanity_rate",
    "slang_rate",
    "dialect_marker_rate",
    "hedge_rate",
    "filler_rate",
    "figurative_rate",
    "ellipsis_rate",
    "dash_rate",
)


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
        default_factory=list, description="facts lines assert that the speaker knew before"
    )
    recommended_adjustments: list[Item] = Field(default_factory=list)

    @model_validator(mode="after")
    def _fits_dialogue_check(self) -> Self:
        writable(
            "DIALOGUE_CHECK",
            lambda: DialogueCheck(
                scene_id="S01",
                recommended_adjustments=self.recommended_adjustments,
                characters=[
                    _speaker_assessment(canonical_id(c.character) or c.character, c, [], {})
                    for c in self.characters
                ],
                knowledge_stated=canonical_uses(self.knowledge_stated),
            ),
        )
        return self


# -- voice lock -> measurable expectation ----------------------------------------------------

_FIGURATIVE: Final = {
    "none": ("none", "never", "literal", "plain"),
    "rare": (
        "rare",
        "rarely",
        "occasional",
        "occasionally",
        "sparing",
        "sparingly",
        "minimal",
        "some",
    ),
    "frequent": (
        "frequent",
        "frequently",
        "often",
        "rich",
        "heavy",
        "florid",
        "constant",
        "poetic",
        "lavish",
    ),
}
_DIRECTNESS: Final = {
    "blunt": ("blunt", "curt", "terse"),
    "direct": ("direct", "straightforward", "plain-spoken", "frank"),
    "indirect": ("indirect", "roundabout", "diplomatic", "hedging", "tactful"),
    "evasive": ("evasive", "vague", "non-committal", "noncommittal"),
}
_HESITATIONS: Final = {
    "none": ("none", "never", "fluent", "no hesitation", "no hesitations"),
    "some": ("some", "occasional", "occasionally", "rare", "rarely", "few", "slight"),
    "frequent": (
        "frequent",
        "frequently",
        "often",
        "constant",
        "many",
        "halting",
        "stammers",
        "stammering",
    ),
}


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
        hesitations=_keyword_label(lock.cadence.hesitations, _HESITATIONS),
    )


# -- profiles as numbers, and the running history --------------------------------------------


def profile_row(character: str, prof: VoiceProfile) -> VoiceProfileRow:
    """A profile as a table row (6 decimals: counts rebuilt from rates stay exact)."""
    values = {
        name: round(float(getattr(prof, name)), 6)
        for name in VoiceProfileRow.model_fields
        if name not in ("character", "lines", "words")
    }
    return VoiceProfileRow(character=character, lines=prof.lines, words=prof.words, **values)


def row_profile(row: VoiceProfileRow) -> VoiceProfile:
    """A table row back to a profile (function words are not carried: drift does not use them)."""
    values = row.model_dump(exclude={"character"})
    return VoiceProfile(**values, function_word_profile=(0.0,) * len(FUNCTION_WORDS))


def _weighted(a: float, wa: float, b: float, wb: float) -> float:
    return (a * wa + b * wb) / (wa + wb) if wa + wb else 0.0


def merge_profiles(
    history: VoiceProfile | None, current: VoiceProfile, keep: int = HISTORY_WORDS
) -> VoiceProfile:
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
        function_word_profile=(0.0,) * len(FUNCTION_WORDS),
        **rates,
    )


def _history(ctx: Context) -> dict[str, VoiceProfile]:
    previous: DialogueCheck | None = ctx.inputs.get("DIALOGUE_CHECK")
    if previous is None:
        return {}
    return {row.character: row_profile(row) for row in previous.voice_profiles}


def running_profiles(
    history: Mapping[str, VoiceProfile], current: Mapping[str, VoiceProfile]
) -> list[VoiceProfileRow]:
    """Every speaker so far: merged where they spoke in this scene, carried otherwise."""
    names = sorted({*history, *current})
    merged = {
        n: merge_profiles(history.get(n), current[n]) if n in current else history[n] for n in names
    }
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


def code_flags(
    profiles: Mapping[str, VoiceProfile],
    history: Mapping[str, VoiceProfile],
    locks: Mapping[str, VoiceLock],
) -> dict[str, list[DriftFlag]]:
    """Measurable contradictions per speaker: against their voice lock and their history."""
    flags: dict[str, list[DriftFlag]] = {}
    for speaker, prof in profiles.items():
        found: list[DriftFlag] = []
        lock = next(iter(for_character(locks, speaker)), None)
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


def _speaker_assessment(
    speaker: str,
    answer: SpeakerAnswer | None,
    flags: Sequence[DriftFlag],
    measured: Mapping[str, int],
) -> VoiceAssessment:
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
        drift_flags=unique(entries),
    )


def _measure_lines(speaker: str, prof: VoiceProfile, measured: Mapping[str, int]) -> str:
    score = measured.get(speaker)
    return (
        f"{speaker}: {prof.words} words, {prof.mean_sentence_words:.1f} words/sentence, "
        f"long words {prof.long_word_rate:.0%}, contractions {prof.contraction_rate:.0%}, "
        f"questions {prof.question_rate:.0%}, slang {prof.slang_rate:.0%}, profanity "
        f"{prof.profanity_rate:.0%}, dialect markers {prof.dialect_marker_rate:.0%}, hedges "
        f"{prof.hedge_rate:.0%}, distinctiveness "
        f"{score if score is not None else '(too little text to measure)'}"
    )


def _voice_lock_line(speaker: str, lock: VoiceLock | None) -> str:
    if lock is None:
        return f"{speaker}: no voice lock"
    return (
        f"{speaker}: pitch {lock.tone.pitch}, timbre {lock.tone.timbre}, energy "
        f"{lock.tone.energy}; sentences {lock.cadence.sentence_length}, hesitations "
        f"{lock.cadence.hesitations}; accent {lock.accent.region} "
        f"({lock.accent.strength}), slang {lock.accent.slang_level}; vocabulary "
        f"{lock.constraints.vocabulary_level}, swearing {lock.constraints.swearing}, "
        f"figurative {lock.constraints.figurative_language}, directness "
        f"{lock.constraints.directness}; default emotion {lock.emotional_range.default}; "
        f"never: {joined(lock.forbidden_drift)}"
    )


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
    return compose(
        [
            section(
                f"Dialogue of {ctx.scene_id}",
                [f"{s}: {line}" for s, lines in m.lines.items() for line in lines],
            ),
            section(
                "Voice locks",
                [_voice_lock_line(s, next(iter(for_character(locks, s)), None)) for s in m.lines],
            ),
            section(
                "Measured by code", [_measure_lines(s, m.profiles[s], m.scores) for s in m.lines]
            ),
            section(
                "Code's drift flags (these stand)",
                [f"{f.severity}: {f.message}" for s in m.lines for f in m.flags[s]],
            ),
        ],
        ctx.feedback,
    )


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
            failures.append(
                f"{item.character}: distinctiveness {item.distinctiveness} is below "
                f"the minimum {minimum}: their lines could be another speaker's"
            )
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
    prompt_name: ClassVar[str] = "dialogue-consistency-check"
    layer: ClassVar[Any] = "narrative"
    tier: ClassVar[Any] = "judgment"
    loop: ClassVar[str] = "narrative"
    needs: ClassVar[tuple[Need, ...]] = (
        Need("SCRIPT", "scene"),
        Need("VOICE_LOCK", "all", optional=True),
        Need("CHAR_LOCK", "cast", optional=True),
        Need("WORLD_STATE", "before_scene", optional=True),  # what the speakers knew before
        # the scene's own diff exists only on a rerun (the scene is tracked after these
        # checks): context, so the tracker's next diff does not reopen them
        Need("STATE_DIFF", "scene", optional=True, lineage=False, history=True),
        # the previous scene's check carries each speaker's running voice profile; it is
        # context, so a new version of it (say after a lock revision) does not reopen this one
        Need("DIALOGUE_CHECK", "previous", optional=True, lineage=False),
    )
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
            system = system_prompt(PACKAGE, self.prompt_name)
            answer = ctx.ask(DialogueAnswer, system, _dialogue_prompt(ctx, m))
        by_speaker = {canonical_id(a.character): a for a in answer.characters}
        return [
            DialogueCheck(
                scene_id=ctx.scene_id,
                characters=[
                    _speaker_assessment(s, by_speaker.get(s), m.flags[s], m.scores) for s in m.lines
                ],
                recommended_adjustments=answer.recommended_adjustments,
                knowledge_stated=canonical_uses(answer.knowledge_stated),
                voice_profiles=running_profiles(m.history, m.profiles),
            )
        ]

    def gate(self, outputs: list[Any], ctx: Context) -> Gate:
        """FAIL on drift, indistinct voices, missing assessments or unacquired knowledge."""
        minimum = ctx.config.thresholds.dialogue_distinctiveness
        failures = dialogue_failures(outputs[0], minimum, ctx)
        unassessed = [f for f in failures if f.endswith(": no voice assessment")]
        findings = [f for f in failures if f not in unassessed]  # the lines must change
        return Gate.routed(failures, findings, "scene-revision", ctx.scene_id)
