"""Lock gates (SPEC §5): the checks a CHAR/SET/VOICE/STYLE lock passes before it is stored.

A lock is the anti-drift contract of a character, set, voice or look. The schemas make every
SPEC §4 section exist; the gates here check that each section carries content a generator can
hold to: no empty or placeholder values, no vague phrasing, no traits that contradict each
other, and the kind-specific rules (3-5 set anchors, an exact age, an eye colour, a forbidden
drift list, ...). Every rule is data (the tables in ``_lock_words``, re-exported here) read by
a few small checkers, so a rule is added by adding a row. The same gates serve the lock skills
and a person adding a lock file by hand; a FAIL refuses the lock with every reason at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from pydantic import BaseModel

from ..core._config import Config
from ..core._errors import UserError
from ..core._gate import Gate
from ..core._names import LOCK_KINDS
from ..schemas import Artifact, CharLock, SetLock, StyleLock, VoiceLock
from ._lock_drift import breaks, parse_drift
from ._lock_words import (
    AGE_RE,
    CONTRADICTIONS,
    CROSS_FIELD,
    DAY_SOURCES,
    EXACT_TERMS,
    EYE_COLOURS,
    EYE_SHADES,
    HEAVY,
    HEX_IN_TEXT,
    LONG_HAIR,
    NEGATIONS,
    NEUTRAL_REGIONS,
    NONE_IS_AN_ANSWER,
    NOT_PROSE,
    OPENING_WORDS,
    PLACEHOLDERS,
    REQUIRED_LISTS,
    SHAPE_WORDS,
    SHORT_HAIR,
    SLIM,
    SOURCE_KELVIN,
    SWEAR_WORDS,
    VAGUE_PHRASES,
    Contradiction,
    CrossField,
)

# The word tables live in ``_lock_words``; they are re-exported so callers keep one path.
__all__ = [
    "AGE_RE",
    "CONTRADICTIONS",
    "CROSS_FIELD",
    "DAY_SOURCES",
    "EXACT_TERMS",
    "EYE_COLOURS",
    "EYE_SHADES",
    "HEAVY",
    "HEX_IN_TEXT",
    "LONG_HAIR",
    "NEGATIONS",
    "NEUTRAL_REGIONS",
    "NONE_IS_AN_ANSWER",
    "NOT_PROSE",
    "OPENING_WORDS",
    "PLACEHOLDERS",
    "REQUIRED_LISTS",
    "SHAPE_WORDS",
    "SHORT_HAIR",
    "SLIM",
    "SOURCE_KELVIN",
    "SWEAR_WORDS",
    "VAGUE_PHRASES",
    "Contradiction",
    "CrossField",
    "Lock",
    "char_lock_gate",
    "conflicts",
    "empty_sections",
    "field_text",
    "leaves",
    "lock_gate",
    "lock_problems",
    "mentions",
    "set_lock_gate",
    "style_lock_gate",
    "vague_phrases",
    "voice_lock_gate",
]

Lock = CharLock | SetLock | VoiceLock | StyleLock

# -- walking a lock ---------------------------------------------------------------------------


def leaves(model: BaseModel, prefix: str = "") -> Iterator[tuple[str, Any, bool]]:
    """(dotted path, value, required) for every scalar field and list item of a model."""
    for name, info in type(model).model_fields.items():
        path = f"{prefix}{name}"
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            yield from leaves(value, f"{path}.")
        elif isinstance(value, list):
            for i, item in enumerate(value):
                yield f"{path}[{i}]", item, False
        else:
            yield path, value, info.is_required()


def field_text(model: BaseModel, path: str) -> str:
    """The text of a dotted field (list items joined with `` | ``; '' when absent)."""
    value: Any = model
    for part in path.split("."):
        value = getattr(value, part, None)
    if isinstance(value, list):
        return " | ".join(str(v) for v in value)
    return "" if value is None else str(value)


def _list_at(model: BaseModel, path: str) -> list[Any]:
    value: Any = model
    for part in path.split("."):
        value = getattr(value, part)
    return list(value)


def _pattern(phrase: str) -> re.Pattern[str]:
    words = r"\s+".join(re.escape(w) for w in phrase.split())
    return re.compile(rf"(?<![A-Za-z0-9]){words}(?![A-Za-z0-9])", re.IGNORECASE)


_PATTERNS: dict[str, re.Pattern[str]] = {}


def _find(phrase: str, text: str) -> list[re.Match[str]]:
    pattern = _PATTERNS.get(phrase)
    if pattern is None:
        pattern = _PATTERNS[phrase] = _pattern(phrase)
    return list(pattern.finditer(text))


def _negated(text: str, start: int) -> bool:
    """True when one of the three words before ``start`` negates it ("never long")."""
    before = re.findall(r"[A-Za-z']+", text[:start])[-3:]
    return any(w.lower() in NEGATIONS or w.lower().endswith("n't") for w in before)


def mentions(text: str, words: Sequence[str], negatable: bool = True) -> list[str]:
    """The words (whole-word, any case, not negated) that ``text`` uses, in table order."""
    return [
        w
        for w in words
        if any(not (negatable and _negated(text, m.start())) for m in _find(w, text))
    ]


# -- the rules --------------------------------------------------------------------------------


def empty_sections(lock: Lock) -> list[str]:
    """Required values that are empty or placeholders, and required lists with no items."""
    problems = []
    for path, value, required in leaves(lock):
        if not required or not isinstance(value, str) or path in NOT_PROSE:
            continue
        lowered = value.strip().lower()
        if lowered in PLACEHOLDERS and not (lowered == "none" and path in NONE_IS_AN_ANSWER):
            shown = f" ({value!r})" if value else ""
            problems.append(f"{path} is empty{shown}: state it concretely")
    for path in REQUIRED_LISTS[lock.KIND]:
        if not [i for i in _list_at(lock, path) if str(i).strip().lower() not in PLACEHOLDERS]:
            problems.append(f"{path} is empty: list at least one item")
    return problems


def vague_phrases(lock: Lock) -> list[str]:
    """Every vague phrase in the lock, with the field it sits in."""
    problems = []
    for path, value, _ in leaves(lock):
        if not isinstance(value, str) or path.split("[")[0] in NOT_PROSE:
            continue
        text = value
        for term in EXACT_TERMS:
            text = _pattern(term).sub(" ", text)
        for phrase in VAGUE_PHRASES:
            if _find(phrase, text):
                problems.append(
                    f"vague phrasing in {path}: {phrase!r} (say exactly what is seen or heard)"
                )
    return problems


def conflicts(lock: Lock) -> list[str]:
    """Traits of the lock that contradict each other."""
    problems = [
        *_contradictions(lock),
        *_cross_field(lock),
        *_palette_forbidden(lock),
        *_anchors_forbidden(lock),
    ]
    if isinstance(lock, CharLock):
        problems += _eye_colours_twice(lock)
    if isinstance(lock, SetLock):
        problems += _light_temperature(lock)
    return problems


def _contradictions(lock: Lock) -> list[str]:
    problems = []
    for rule in CONTRADICTIONS:
        for path in rule.fields:
            text = field_text(lock, path)
            first, second = mentions(text, rule.first), mentions(text, rule.second)
            if first and second:
                problems.append(
                    f"conflicting traits in {path}: {first[0]!r} and {second[0]!r} ({rule.why})"
                )
    return problems


def _cross_field(lock: Lock) -> list[str]:
    problems = []
    for rule in CROSS_FIELD:
        text_a, text_b = field_text(lock, rule.field_a), field_text(lock, rule.field_b)
        found_a = mentions(text_a, rule.words_a)
        found_b = mentions(text_b, rule.words_b, rule.negatable)
        if found_a and found_b and not mentions(text_a, rule.unless):
            problems.append(
                f"conflicting traits: {rule.field_a} {found_a[0]!r} and "
                f"{rule.field_b} {found_b[0]!r} ({rule.why})"
            )
    return problems


def _palettes(lock: Lock) -> list[str]:
    if isinstance(lock, CharLock):
        return list(lock.wardrobe.palette)
    if isinstance(lock, SetLock | StyleLock):
        return list(lock.palette)
    return []


def _palette_forbidden(lock: Lock) -> list[str]:
    palette = set(_palettes(lock))
    problems = []
    for i, item in enumerate(lock.forbidden_drift):
        for colour in HEX_IN_TEXT.findall(item):
            if colour.upper() in palette:
                problems.append(
                    f"conflicting traits: palette colour {colour.upper()} is also "
                    f"in forbidden_drift[{i}] ({item!r})"
                )
    return problems


def _anchors_forbidden(lock: Lock) -> list[str]:
    """An anchor that is also forbidden drift, or that shows what a drift item bans (read
    with its negation: "no glasses" bans the anchor "wire glasses"; "never without his
    glasses" requires it, no conflict)."""
    anchors = {a.casefold(): a for a in getattr(lock, "visual_anchors", [])}
    same = [
        f"conflicting traits: {anchors[item.casefold()]!r} is both a visual anchor and "
        "forbidden drift"
        for item in lock.forbidden_drift
        if item.casefold() in anchors
    ]
    banned = [
        f"conflicting traits: the visual anchor {anchor!r} shows what forbidden drift {item!r} bans"
        for item in lock.forbidden_drift
        if item.casefold() not in anchors and (drift := parse_drift(item)).mode == "ban"
        for anchor in anchors.values()
        if breaks(drift, anchor)
    ]
    return same + banned


def _eye_colours_twice(lock: CharLock) -> list[str]:
    text = lock.appearance.eyes
    if re.search(r"heterochromia|\bleft\b|\bright\b", text, re.IGNORECASE):
        return []  # two colours, one per eye, is a precise description
    bare = []
    for segment in re.split(r",|;|/|\bor\b|\band\b", text, flags=re.IGNORECASE):
        words = set(re.findall(r"[a-z]+", segment.lower()))
        colours = words & set(EYE_COLOURS)
        if colours and words <= set(EYE_COLOURS) | EYE_SHADES:
            bare.append(frozenset(colours))
    if len(set(bare)) > 1:
        return [
            f"conflicting traits in appearance.eyes: colour listed twice differently ({text!r})"
        ]
    return []


def _light_temperature(lock: SetLock) -> list[str]:
    source = lock.lighting.primary_source
    named = mentions(source, tuple(SOURCE_KELVIN))
    kelvin = lock.lighting.temperature_k
    if not named or any(lo <= kelvin <= hi for lo, hi in (SOURCE_KELVIN[n] for n in named)):
        return []
    ranges = ", ".join(f"{n} {SOURCE_KELVIN[n][0]}-{SOURCE_KELVIN[n][1]}K" for n in named)
    return [
        f"conflicting traits: lighting.temperature_k {kelvin}K does not fit the primary "
        f"source {source!r} ({ranges})"
    ]


# -- kind-specific rules ----------------------------------------------------------------------


def _char_rules(lock: CharLock) -> list[str]:
    problems = []
    age = AGE_RE.fullmatch(lock.appearance.age_range.strip())
    if age is None:
        problems.append(
            f"appearance.age_range {lock.appearance.age_range!r} is ambiguous: "
            "give a number or a range like 32-36"
        )
    elif age.group(2) and int(age.group(1)) > int(age.group(2)):
        problems.append(f"appearance.age_range {lock.appearance.age_range!r} runs backwards")
    eyes = lock.appearance.eyes
    if eyes and not (mentions(eyes, EYE_COLOURS) or HEX_IN_TEXT.search(eyes)):
        problems.append(f"appearance.eyes {eyes!r} names no colour: give the eye colour")
    return problems


def _set_rules(lock: SetLock, config: Config) -> list[str]:
    low, high = config.thresholds.set_anchors_min, config.thresholds.set_anchors_max
    anchors = {a.casefold() for a in lock.visual_anchors}
    problems = []
    if not low <= len(anchors) <= high:
        problems.append(
            f"visual_anchors: {len(anchors)} distinct anchor(s); a set lock needs {low}-{high}"
        )
    geometry = lock.layout.geometry
    if geometry and not (re.search(r"\d", geometry) or mentions(geometry, SHAPE_WORDS)):
        problems.append(f"layout.geometry {geometry!r} is not concrete: give the shape or the size")
    exits = lock.layout.entries_exits
    if exits and not (re.search(r"\d", exits) or mentions(exits, OPENING_WORDS)):
        problems.append(
            f"layout.entries_exits {exits!r} is not concrete: name each door, stair or hatch"
        )
    if lock.lighting.temperature_k <= 0:
        problems.append("lighting.temperature_k is missing: give the colour temperature in K")
    return problems


def _voice_rules(lock: VoiceLock) -> list[str]:
    region = lock.accent.region
    if region and not mentions(region, NEUTRAL_REGIONS) and lock.accent.strength == "none":
        return [
            f"accent.strength is 'none' but accent.region is {region!r}: say how strong "
            "the accent is (light, moderate, strong)"
        ]
    return []


def lock_problems(lock: Lock, config: Config) -> list[str]:
    """Every reason the lock fails its gate (empty when it passes)."""
    problems = [*empty_sections(lock), *vague_phrases(lock), *conflicts(lock)]
    if isinstance(lock, CharLock):
        problems += _char_rules(lock)
    elif isinstance(lock, SetLock):
        problems += _set_rules(lock, config)
    elif isinstance(lock, VoiceLock):
        problems += _voice_rules(lock)
    return problems


def char_lock_gate(lock: CharLock, config: Config) -> Gate:
    """character-lock's gate: content, vague phrasing, conflicts, age, eyes, knowledge."""
    return Gate.from_failures(lock_problems(lock, config))


def set_lock_gate(lock: SetLock, config: Config) -> Gate:
    """set-lock's gate: content, vague phrasing, conflicts, anchor count, concrete layout."""
    return Gate.from_failures(lock_problems(lock, config))


def voice_lock_gate(lock: VoiceLock, config: Config) -> Gate:
    """voice-lock's gate: content, vague phrasing, conflicts, accent strength."""
    return Gate.from_failures(lock_problems(lock, config))


def style_lock_gate(lock: StyleLock, config: Config) -> Gate:
    """The style lock's gate: content (palette, forbidden drift), vague phrasing, conflicts."""
    return Gate.from_failures(lock_problems(lock, config))


def lock_gate(artifact: Artifact, config: Config) -> Gate:
    """The gate of any lock, chosen by its kind."""
    if isinstance(artifact, CharLock):
        return char_lock_gate(artifact, config)
    if isinstance(artifact, SetLock):
        return set_lock_gate(artifact, config)
    if isinstance(artifact, VoiceLock):
        return voice_lock_gate(artifact, config)
    if isinstance(artifact, StyleLock):
        return style_lock_gate(artifact, config)
    raise UserError(
        f"{artifact.KIND} is not a lock; lock gates judge {', '.join(LOCK_KINDS)}",
        kind=artifact.KIND,
    )
