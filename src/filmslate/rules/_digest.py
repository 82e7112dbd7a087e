"""The story digest (issue 14 §8): a bounded view of the whole story for its reviews.

narrative-red-team and audience-simulator judge the whole story. Given every scene in full,
their prompt grows about 420 characters a scene (126,509 characters at 300 scenes), so a long
production would not fit a model's context and would cost more with every revision. Above a
bound they read the story hierarchically instead:

* the digest: the scenes grouped into at most ``MAX_SEQUENCES`` sequences of consecutive
  scenes, each summarised in at most ``ROW_CHARS`` characters (scene range, sluglines, cast,
  the sequence's goal, conflict and outcome, a few turns inside it by scene (so a reviewer can
  name the scene it wants to see), its changes to the story's world: who enters,
  who is last seen, which places open; its flags);
* the full text of the scenes that matter now, at most ``FOCUS_SCENES`` of them within
  ``FOCUS_CHARS``: the scenes the previous report's findings named, then the scenes the
  digest flags (the final scene, a scene with an unstated goal, conflict or outcome, a
  character who first appears in the final sequence).

Both parts are bounded, so the story part of a review's prompt stays under
``FULL_STORY_CHARS`` at any length. Below that bound the full scene list is no larger than the
digest view would be, so a small story is read in full (nothing is lost by summarising).

Everything here is pure and deterministic: the digest is made by code, at no cost, from
SCENES alone, and the same scene list always gives the same digest.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence

from ..core._scene_ids import scene_key
from ..schemas import DigestRow, SceneRow, StoryDigest

__all__ = [
    "FOCUS_CHARS",
    "FOCUS_SCENES",
    "FULL_STORY_CHARS",
    "MAX_SEQUENCES",
    "ROW_CHARS",
    "build_digest",
    "digest_problems",
    "flagged_scenes",
    "focus_scenes",
    "group_scenes",
    "named_scenes",
    "render_digest",
    "render_sequence",
]

#: Sequences in a digest: the top level of the story's view stays this many lines.
MAX_SEQUENCES = 16
#: A sequence's rendering in the prompt, at most (its fields are clipped to budgets below).
ROW_CHARS = 1_200
#: Scenes shown in full beside the digest, and the characters they may take together.
FOCUS_SCENES = 12
FOCUS_CHARS = 4_800
#: The full scene list is used while it fits here (about 6,000 tokens at four characters a
#: token: with the system prompt and the answer an 8k-token model still holds it). The digest
#: view is built to fit the same bound (16 x 1,200 + 4,800, plus a few headings), so
#: switching to it never makes the prompt larger.
FULL_STORY_CHARS = 24_000
MIN_SEQUENCE = 3  # scenes: shorter stories still group into a few scenes a sequence

# Character budgets of a sequence's fields (their labels and layout take the rest).
_PLACES, _CAST, _GOAL, _CONFLICT, _OUTCOME = 120, 90, 100, 130, 100
_TURNS, _CHANGES, _FLAGS = 240, 150, 150
TURNS = 3  # interior scenes whose outcome a sequence shows, evenly spaced
_SCENE_ID = re.compile(r"\b(?:E\d+_)?S\d+\b")


# -- grouping ---------------------------------------------------------------------------------


def group_scenes(rows: Sequence[SceneRow], limit: int = MAX_SEQUENCES) -> list[list[SceneRow]]:
    """Consecutive scenes grouped into at most ``limit`` sequences.

    A sequence holds at least ``size`` scenes (the story's length over the limit, at least
    ``MIN_SEQUENCE``) and then ends where the location changes, or at twice that size; a
    short tail joins the sequence before it. Each closed sequence has ``size`` scenes or
    more, so there are never more than ``limit``.
    """
    size = max(MIN_SEQUENCE, -(-len(rows) // limit))
    out: list[list[SceneRow]] = []
    current: list[SceneRow] = []
    for row in rows:
        if len(current) >= size and (
            row.location != current[-1].location or len(current) >= 2 * size
        ):
            out.append(current)
            current = []
        current.append(row)
    if current:
        if out and len(current) < size // 2:
            out[-1] += current
        else:
            out.append(current)
    return out


# -- building ---------------------------------------------------------------------------------


def build_digest(rows: Sequence[SceneRow]) -> StoryDigest:
    """The digest of a scene list.

    Made from SCENES alone, so every digest version stands for one scene-list version: a
    review that reads it is never reopened by a digest change the story did not make.
    """
    groups = group_scenes(rows)
    first, last = _appearances(groups, lambda r: r.characters_present)
    places, _ = _appearances(groups, lambda r: [r.location])
    final = len(groups) - 1
    late = {n for n, at in first.items() if at == final} if final else set()
    return StoryDigest(
        rows=[
            _sequence(
                number, group, final, late, _changes(number, group, final, first, last, places)
            )
            for number, group in enumerate(groups)
        ]
    )


def _sequence(
    number: int, group: list[SceneRow], final: int, late: set[str], changes: list[str]
) -> DigestRow:
    goals = [r.goal for r in group if r.goal]
    conflicts = list(dict.fromkeys(r.conflict for r in group if r.conflict))
    outcomes = [r.outcome for r in group if r.outcome]
    conflict = " / ".join(_clip(c, _CONFLICT // 2 - 2) for c in conflicts[:1] + conflicts[1:][-1:])
    return DigestRow(
        sequence_id=f"SEQ{number + 1:02d}",
        scenes=[r.scene_id for r in group],
        sluglines=_places(group),
        characters=_within(_by_count(n for r in group for n in r.characters_present), _CAST),
        goal=_clip(goals[0], _GOAL) if goals else "",
        conflict=conflict,
        outcome=_clip(outcomes[-1], _OUTCOME) if outcomes else "",
        turns=_turns(group),
        state_changes=changes,
        flagged=_within(_flags(group, number == final, late), _FLAGS),
    )


def _turns(group: list[SceneRow]) -> list[str]:
    """The outcomes of a few evenly spaced scenes inside the sequence, each by its id (the
    first scene's goal and the last one's outcome are shown already)."""
    last = len(group) - 1
    picks = dict.fromkeys((k + 1) * last // (TURNS + 1) for k in range(TURNS))
    turns = [(group[i].scene_id, group[i].outcome or group[i].summary) for i in picks if i > 0]
    return _within([_entry(f"{s}: {_clip(text, 76).rstrip('.')}") for s, text in turns], _TURNS)


def _appearances(
    groups: list[list[SceneRow]], names: Callable[[SceneRow], Iterable[str]]
) -> tuple[dict[str, int], dict[str, int]]:
    """For each name: the first and the last sequence it appears in."""
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    for number, group in enumerate(groups):
        for row in group:
            for name in names(row):
                first.setdefault(name, number)
                last[name] = number
    return first, last


def _changes(
    number: int,
    group: list[SceneRow],
    final: int,
    first: dict[str, int],
    last: dict[str, int],
    places: dict[str, int],
) -> list[str]:
    """What the sequence changes in the story's world: who enters it, who is last seen in it
    (a thread that may be dropped), which places it opens."""
    cast = list(dict.fromkeys(n for r in group for n in r.characters_present))
    opened = list(dict.fromkeys(r.location for r in group if places[r.location] == number))
    parts = [
        ("enter", [n for n in cast if first[n] == number]),
        ("last seen", [n for n in cast if last[n] == number and number < final]),
        ("new places", opened if number else []),
    ]
    return _within(
        [_entry(f"{label}: {', '.join(names)}") for label, names in parts if names], _CHANGES
    )


def _places(group: list[SceneRow]) -> list[str]:
    places = _by_count(_entry(f"{r.location} {r.time_of_day}".strip()) for r in group)
    shown = _within(places, _PLACES - 12)
    return shown + ([f"+{len(places) - len(shown)} more"] if len(shown) < len(places) else [])


def _flags(group: list[SceneRow], final: bool, late: set[str]) -> list[str]:
    """The ending first, then scenes with an unstated goal, conflict or outcome, then the
    scenes where a late character arrives."""
    flags = [f"{group[-1].scene_id}: the final scene"] if final else []
    for row in group:
        missing = [f for f in ("goal", "conflict", "outcome") if not getattr(row, f)]
        if missing:
            flags.append(f"{row.scene_id}: {', '.join(missing)} unstated")
    seen: set[str] = set()
    for row in group:
        arrivals = [n for n in row.characters_present if n in late and n not in seen]
        seen.update(arrivals)
        if arrivals:
            flags.append(f"{row.scene_id}: {', '.join(arrivals)} first seen in the final sequence")
    return [_clip(_entry(f), _FLAGS) for f in flags]


# -- the gate ---------------------------------------------------------------------------------


def digest_problems(digest: StoryDigest, rows: Sequence[SceneRow]) -> list[str]:
    """Why a digest does not stand for the scene list (empty when it does): every scene in
    exactly one sequence, in story order, flags inside their sequence, sizes bounded."""
    order = [r.scene_id for r in rows]
    held = [s for seq in digest.rows for s in seq.scenes]
    counts = Counter(held)
    problems = [f"{s} is in no sequence" for s in order if s not in counts]
    problems += [f"{s} is in {n} sequences" for s, n in counts.items() if n > 1]
    problems += [f"{s} is not in SCENES" for s in counts if s not in set(order)]
    if not problems and held != order:
        problems.append("the sequences do not hold the scenes in SCENES order")
    if len(digest.rows) > MAX_SEQUENCES:
        problems.append(
            f"{len(digest.rows)} sequences: at most {MAX_SEQUENCES} keep a review's prompt bounded"
        )
    for seq in digest.rows:
        if not seq.scenes:
            problems.append(f"{seq.sequence_id} holds no scene")
        if (size := len(render_sequence(seq))) > ROW_CHARS:
            problems.append(f"{seq.sequence_id} takes {size} characters, over {ROW_CHARS}")
        problems += [
            f"{seq.sequence_id} flags {flag!r}, a scene outside it"
            for flag in seq.flagged
            if flag.split(":", 1)[0] not in seq.scenes
        ]
    return problems


# -- the view ---------------------------------------------------------------------------------


def render_sequence(seq: DigestRow) -> str:
    """One sequence as the prompt shows it (a few short lines)."""
    span = seq.scenes[0] if len(seq.scenes) == 1 else f"{seq.scenes[0]}-{seq.scenes[-1]}"
    if not seq.scenes:
        span = "no scenes"
    lines = [
        f"{seq.sequence_id} {span} ({len(seq.scenes)} scene{'s' * (len(seq.scenes) != 1)}) "
        f"at {'; '.join(seq.sluglines) or '?'}",
        f"  cast: {', '.join(seq.characters) or 'nobody'}",
        f"  goal: {seq.goal or '?'} | conflict: {seq.conflict or '?'} | "
        f"outcome: {seq.outcome or '?'}",
    ]
    if seq.turns:
        lines.append(f"  turns: {'; '.join(seq.turns)}")
    if seq.state_changes:
        lines.append(f"  changes: {'; '.join(seq.state_changes)}")
    if seq.flagged:
        lines.append(f"  flagged: {'; '.join(seq.flagged)}")
    return "\n".join(lines)


def render_digest(digest: StoryDigest) -> str:
    """Every sequence, in story order."""
    return "\n".join(render_sequence(seq) for seq in digest.rows)


def flagged_scenes(digest: StoryDigest) -> list[str]:
    """The scenes the digest flags, in story order."""
    return list(dict.fromkeys(f.split(":", 1)[0] for seq in digest.rows for f in seq.flagged))


def named_scenes(texts: Iterable[str], scene_ids: Iterable[str]) -> list[str]:
    """The scenes of ``scene_ids`` that ``texts`` name (``S07``, ``S7``, ``E02_S03``), first
    named first."""
    by_key = {scene_key(s): s for s in scene_ids}
    found = (by_key.get(scene_key(m)) for text in texts for m in _SCENE_ID.findall(text))
    return list(dict.fromkeys(s for s in found if s))


def focus_scenes(named: Sequence[str], digest: StoryDigest) -> list[str]:
    """The scenes to show in full: those a finding named, then those the digest flags."""
    return list(dict.fromkeys([*named, *flagged_scenes(digest)]))[:FOCUS_SCENES]


# -- small helpers ----------------------------------------------------------------------------


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def _entry(text: str) -> str:
    """Text fit for a '; '-joined cell."""
    return " ".join(text.replace(";", ",").split())


def _by_count(items: Iterable[str]) -> list[str]:
    """Distinct items, the most frequent first (ties: first seen first)."""
    counts = Counter(items)
    return sorted(counts, key=lambda item: -counts[item])


def _within(items: Iterable[str], budget: int) -> list[str]:
    """The leading items whose joined length (with '; ') fits the budget, each clipped."""
    out: list[str] = []
    used = 0
    for item in items:
        item = _clip(item, budget)
        if item and used + len(item) + 2 * bool(out) > budget:
            break
        if item:
            out.append(item)
            used += len(item) + 2 * (len(out) > 1)
    return out
