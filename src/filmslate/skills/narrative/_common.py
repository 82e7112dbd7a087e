"""What the narrative skills of SPEC §5 share: prompt rendering, knowledge matching, the
target scene's rows and the base of their model answers.

The skills (story-architect, script-breakdown, character-psychology and
dialogue-consistency-check, one module each) follow one pattern:

1. render only its declared inputs, cut down to the target scene, into a compact prompt (so
   the prompt for scene 300 is as long as for scene 3);
2. ask the routed model for a structured *answer* (a pydantic model per skill: what the model
   returns, including the judgments the gate needs);
3. map the answer onto the artifact schema, keeping everything code can decide exactly out of
   the model's hands (extracted characters, introductions, stylometry, canonical ids);
4. judge the result in code. A model's judgment (say, "the midpoint changes nothing") is an
   input the gate reads; the verdict is always computed here.

The system prompts (role, process, checklist) are text files in
``filmslate/skills/narrative/prompts/``, one per skill (its ``prompt_name``), read with
:func:`filmslate.skills._prompts.system_prompt`: they are prose that writers and directors
review and edit, and they read best outside Python string literals.

Tiers and escalation: each skill names its default tier; on a persisting FAIL the runner
revises ``loops.max_revisions`` times, then escalates one tier (judgment -> premium,
throughput -> judgment), writing a ROUTING_DECISION, and hard-stops past the top tier.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from pydantic import BaseModel, ValidationError, model_validator

from ...core._errors import UserError
from ...core._scene_ids import scene_key
from ...engine._skill import Context
from ...rules._fountain import canonical_id
from ...schemas import (
    NONE_MARKER,
    Breakdown,
    BreakdownRow,
    KnowledgeUse,
    SceneRow,
    Scenes,
    StateDiff,
    WorldState,
)

__all__ = [
    "FACT_OVERLAP",
    "FACT_SUBSTRING_MIN",
    "MIN_SCENE_FIELD_WORDS",
    "PACKAGE",
    "Answer",
    "breakdown_row",
    "canonical_uses",
    "compose",
    "content_words",
    "for_character",
    "is_vague",
    "joined",
    "known_facts",
    "same_fact",
    "scene_cast",
    "scene_key",
    "scene_lines",
    "scene_row",
    "section",
    "unique",
    "unknown_knowledge",
    "writable",
]

#: The package whose ``prompts/`` folder holds the narrative skills' system prompts.
PACKAGE: Final = "filmslate.skills.narrative"


# ── prompts ─────────────────────────────────────────────────────────────────────────────────


def section(title: str, lines: Iterable[str]) -> str:
    """A Markdown section of bullet lines (``- (none)`` when there are none)."""
    body = [f"- {line}" for line in lines]
    return f"## {title}\n" + ("\n".join(body) if body else "- (none)")


def compose(sections: Iterable[str], feedback: Sequence[str]) -> str:
    """Sections joined; a revision adds the gate's reasons so the model can fix each one."""
    parts = [s for s in sections if s]
    if feedback:
        parts.append(
            section("Revision: your previous answer failed these checks; fix every one", feedback)
        )
    return "\n\n".join(parts)


def scene_lines(row: SceneRow) -> list[str]:
    """A SCENES row as prompt lines, one field each."""
    return [
        f"scene: {row.scene_id}",
        f"location: {row.location}",
        f"time of day: {row.time_of_day or '(unspecified)'}",
        f"characters present: {', '.join(row.characters_present) or '(none)'}",
        f"summary: {row.summary}",
        f"goal: {row.goal}",
        f"conflict: {row.conflict}",
        f"outcome: {row.outcome}",
    ]


def joined(items: Iterable[str]) -> str:
    """Items joined with semicolons, ``(none)`` for none."""
    return "; ".join(items) or "(none)"


# ── text and knowledge ──────────────────────────────────────────────────────────────────────


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


_STOP_WORDS: Final = _word_set(
    "the and but for nor yet with from into onto upon about over under than then that this "
    "these those will would can could should shall may might must does did has have had not "
    "who what when where why how which whom whose their there they them his her him she our "
    "you your its are was were been being is be it he we i me my us as at by if in of on or "
    "so to up do no yes all any"
)
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


#: Placeholder phrasing that says nothing a crew could stage.
_VAGUE_RE: Final = re.compile(
    r"\b(?:tbd|tba|todo|etc|n/a|somehow|something happens|things happen|stuff happens|"
    r"and so on|whatever)\b|\?\?|\.\.\.$",
    re.IGNORECASE,
)
#: A goal, conflict or outcome (or an episode's beat) needs a subject, a verb and an object.
MIN_SCENE_FIELD_WORDS: Final = 3


def is_vague(text: str) -> bool:
    """Too short to stage, or placeholder phrasing ("something happens", "TBD", "...")."""
    return len(text.split()) < MIN_SCENE_FIELD_WORDS or _VAGUE_RE.search(text) is not None


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


def for_character(mapping: Mapping[str, Any], character: str) -> list[Any]:
    """Values of a map keyed by character id, matching ids in canonical form."""
    wanted = canonical_id(character)
    return [value for key, value in mapping.items() if canonical_id(key) == wanted]


def known_facts(character: str, ctx: Context) -> list[str]:
    """What the inputs give a character: prior world state, lock baseline, this scene's diff."""
    facts: list[str] = []
    world: WorldState | None = ctx.inputs.get("WORLD_STATE")
    if world is not None:
        facts += [
            k for state in for_character(world.characters, character) for k in state.knowledge
        ]
    diff: StateDiff | None = ctx.inputs.get("STATE_DIFF")
    if diff is not None:
        facts += [
            k for update in for_character(diff.character_updates, character) for k in update.learn
        ]
    facts += [
        k
        for lock in for_character(ctx.inputs.all("CHAR_LOCK"), character)
        for k in lock.knowledge_at_introduction
    ]
    return facts


def unknown_knowledge(uses: Iterable[KnowledgeUse], ctx: Context) -> list[str]:
    """Gate reasons for every fact a character uses that no input gives them."""
    reasons = []
    for use in uses:
        if not any(same_fact(use.fact, known) for known in known_facts(use.character, ctx)):
            reasons.append(
                f"{use.character} uses knowledge the world state does not give "
                f"them: {use.fact!r} (not in their recorded knowledge, their lock's "
                "knowledge at introduction, or this scene's state diff)"
            )
    return reasons


def canonical_uses(uses: Iterable[KnowledgeUse]) -> list[KnowledgeUse]:
    """Knowledge uses with character ids in canonical form."""
    return [
        KnowledgeUse(character=canonical_id(u.character) or u.character, fact=u.fact) for u in uses
    ]


# ── scenes ──────────────────────────────────────────────────────────────────────────────────


def scene_row(ctx: Context) -> SceneRow:
    """The target scene's SCENES row (ids compared by episode and number: S3 matches S03)."""
    scenes: Scenes = ctx.inputs.get("SCENES")
    wanted = scene_key(ctx.scene_id)
    for row in scenes.rows:
        if scene_key(row.scene_id) == wanted:
            return row
    raise UserError(
        f"{ctx.scene_id} is not in SCENES: run story-architect or import the "
        "script first, or pick a scene that exists",
        scene=ctx.scene_id,
    )


def breakdown_row(ctx: Context) -> BreakdownRow | None:
    """The target scene's BREAKDOWN row, when there is a breakdown and it has the scene."""
    breakdown: Breakdown | None = ctx.inputs.get("BREAKDOWN")
    if breakdown is None:
        return None
    wanted = scene_key(ctx.scene_id)
    return next((r for r in breakdown.rows if scene_key(r.scene_id) == wanted), None)


def unique(items: Iterable[str]) -> list[str]:
    """Non-empty items in first-seen order, each once."""
    return list(dict.fromkeys(i for i in items if i))


def scene_cast(ctx: Context) -> list[str]:
    """Characters in the target scene: the scene list's and the breakdown's, canonical."""
    row = scene_row(ctx)
    extra = breakdown_row(ctx)
    names = [*row.characters_present, *(extra.characters_present if extra else [])]
    return unique(canonical_id(n) for n in names)


# ── answers ─────────────────────────────────────────────────────────────────────────────────


def _drop_none_markers(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none_markers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [
            _drop_none_markers(v)
            for v in value
            if not (isinstance(v, str) and v.strip() == NONE_MARKER)
        ]
    if isinstance(value, str) and value.strip() == NONE_MARKER:
        return ""
    return value


class Answer(BaseModel):
    """Base of every model answer here: ``(none)``, reserved by artifact files, means empty."""

    @model_validator(mode="before")
    @classmethod
    def _none_means_empty(cls, data: Any) -> Any:
        return _drop_none_markers(data)


def writable(kind_name: str, build: Any) -> None:
    """Raise ValueError (so the provider re-asks) when an answer cannot become its artifact."""
    try:
        build()
    except ValidationError as exc:
        problems = "; ".join(str(e["msg"]) for e in exc.errors())
        raise ValueError(f"the answer cannot be written as {kind_name}: {problems}") from None
