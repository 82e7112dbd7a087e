"""The provider prompt of a shot, composed from its GenPack: what a video or image model is sent.

The GenPack stays the audited artifact (locks verbatim, action, negatives, settings); a model
gets a short description built from it, deterministically, in this order: style, the set and
its anchors, each character's visual anchors and look, the regen rules, then action and camera.
When the model publishes a prompt limit the least important parts are dropped whole (never
cut mid-word) until the prompt fits, and every dropped part is named in ``Composed.dropped``.

The forbidden-drift items become the negative prompt when the model takes one; when it takes
none they are not sent at all: "no beard" written into a positive prompt asks for a beard.
Regen rules ("keep NELL identical to the CHAR lock ...") are instructions, so they go into the
positive prompt, however the GenPack files them; one that forbids ("no lens flares") is sent
with the negatives.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

from ..core._catalogue import ModelEntry
from ..schemas import CharLock, GenPack, SetLock, ShotRow, StyleLock
from ..schemas._document import DocumentArtifact
from ._lock_drift import parse_drift

L = TypeVar("L", bound=DocumentArtifact)

# How important each part is: the lowest goes first when the prompt is too long.
ACTION, CAMERA, FRAME_ORDER, REGEN = 100, 98, 96, 94
CHAR_ANCHOR, STYLE_MEDIUM, SETTING, SET_ANCHOR = 90, 80, 75, 70
LIGHT, WEARING, MARKS, APPEARANCE = 65, 60, 55, 50
ACCESSORY, WEATHER, LOOK, SHADOW = 40, 35, 30, 25

# A storyboard frame's prompt stays well inside every image model's limit.
FRAME_PROMPT_CHARS = 1000

# Leading words a negative prompt does without: it already lists what must not appear.
_NEGATION = re.compile(r"^(?:no|never|not|without)\s+", re.IGNORECASE)
_REGEN_LINE = re.compile(r"regen rule \(([a-z_]+), [^)]*\): (.*)")
# A regen rule that is about routing, not about the picture.
_NOT_PROMPT = ("tier_escalation",)


@dataclass(frozen=True)
class Part:
    """One piece of the prompt: the group it is written under, its text and its weight."""

    group: str  # "Style", "Setting", "NELL", "Action" ...: parts of a group share a sentence
    text: str
    priority: int
    label: str  # how a dropped part is named: "set anchor 'green cloth logbook'"


@dataclass(frozen=True)
class Composed:
    """The prompt and negative prompt sent to a model, and what did not fit.

    Unpacks as ``prompt, negative = compose(pack, entry)``.
    """

    prompt: str
    negative_prompt: str
    dropped: tuple[str, ...] = ()

    def __iter__(self) -> Iterator[str]:
        return iter((self.prompt, self.negative_prompt))


def compose(pack: GenPack, entry: ModelEntry | None) -> Composed:
    """The provider prompt for ``pack`` within ``entry``'s limits.

    ``entry`` None (a model outside the catalogue, the offline animatic) means no published
    limit and a negative prompt the provider may use or ignore.
    """
    limit = entry.max_prompt_chars if entry is not None else None
    kept, dropped = fit(prompt_parts(pack), limit)
    prompt = render_parts(kept)
    negatives = negative_items(pack)
    takes_negative = entry is None or entry.input.negative_prompt is not None
    if not takes_negative:
        if negatives:
            dropped.append(f"{len(negatives)} forbidden-drift item(s): the model has no negative")
        negatives = []
    negative, cut = _fit_list(negatives, limit)
    dropped += [f"negative {item!r}" for item in cut]
    return Composed(prompt, negative, tuple(dropped))


def compose_frame(
    row: ShotRow,
    set_lock: SetLock | None,
    characters: Sequence[CharLock | None],
    limit: int | None = FRAME_PROMPT_CHARS,
) -> Composed:
    """The image prompt of a shot's storyboard frame, from its row and locks (the frame comes
    before the GenPack): set, characters, action and camera; forbidden drift as negative."""
    locks = [c for c in characters if c is not None]
    parts = _set_parts(set_lock) if set_lock is not None else []
    for lock in locks:
        parts += _char_parts(lock)
    parts += [
        Part("Left to right", ", ".join(row.char_ids), FRAME_ORDER, "frame order"),
        Part("Action", _words(row.blocking_summary), ACTION, "action"),
        Part("Camera", f"{row.camera_type.replace('_', ' ')} shot", CAMERA, "camera"),
    ]
    if not row.char_ids:
        parts = [p for p in parts if p.group != "Left to right"]
    kept, dropped = fit(parts, limit)
    drift = [*(set_lock.forbidden_drift if set_lock else [])]
    drift += [item for lock in locks for item in lock.forbidden_drift]
    negative, cut = _fit_list(negative_items_of(drift), limit)
    return Composed(render_parts(kept), negative, (*dropped, *(f"negative {c!r}" for c in cut)))


# -- the parts, read from the GenPack ----------------------------------------------------------


def prompt_parts(pack: GenPack) -> list[Part]:
    """Every part of the prompt, in prompt order."""
    parts: list[Part] = []
    for style in _locks(pack.style, StyleLock):
        parts += _style_parts(style)
    for set_lock in _locks(pack.set, SetLock):
        parts += _set_parts(set_lock)
    for char in _locks(pack.characters, CharLock):
        parts += _char_parts(char)
    parts += _regen_parts(pack.negatives)
    parts += _action_parts(pack.action)
    return parts


def _locks(text: str, schema: type[L]) -> list[L]:
    """The locks pasted one after another into a GenPack section, each read back."""
    chunks: list[list[str]] = []
    for line in text.split("\n"):
        if line.startswith(f"{schema.TITLE}: ") or not chunks:
            chunks.append([])
        chunks[-1].append(line)
    out = []
    for chunk in chunks:
        body = "\n".join(chunk).strip("\n")
        if not body:
            continue
        try:
            out.append(schema.parse((body + "\n").encode("utf-8")))
        except Exception:  # a hand-edited pack: the GenPack gate reports it, we send what reads
            continue
    return out


def _words(text: str) -> str:
    return " ".join(text.split())


def _style_parts(style: StyleLock) -> list[Part]:
    parts = [Part("Style", _words(style.medium), STYLE_MEDIUM, f"style {style.name} medium")]
    look = "; ".join(_words(t) for t in (style.lens_film_look, style.grading) if t.strip())
    if look:
        parts.append(Part("Look", look, LOOK, f"style {style.name} lens and grading"))
    return parts


def _set_parts(lock: SetLock) -> list[Part]:
    place = lock.name.replace("_", " ").lower()
    env, light = lock.environment, lock.lighting
    parts = [
        Part("Setting", f"{place}, {_words(env.time_of_day)}", SETTING, f"set {lock.name}"),
        Part(
            "Setting",
            f"lit by {_words(light.primary_source)}, {light.temperature_k}K",
            LIGHT,
            f"set {lock.name} key light",
        ),
        Part("Setting", _words(env.weather), WEATHER, f"set {lock.name} weather"),
        Part(
            "Setting",
            f"shadow {_words(light.shadow)}; contrast {_words(light.contrast)}",
            SHADOW,
            f"set {lock.name} shadow and contrast",
        ),
    ]
    parts += [
        Part("In the set", _words(anchor), SET_ANCHOR - i, f"set anchor {anchor!r}")
        for i, anchor in enumerate(lock.visual_anchors)
    ]
    return parts


def _char_parts(lock: CharLock) -> list[Part]:
    name, look, dress = lock.name, lock.appearance, lock.wardrobe
    parts = [
        Part(name, _words(a), CHAR_ANCHOR - i, f"{name} anchor {a!r}")
        for i, a in enumerate(lock.visual_anchors)
    ]
    parts.append(Part(name, f"wearing {_words(dress.default_outfit)}", WEARING, f"{name} outfit"))
    parts += [
        Part(name, _words(mark), MARKS, f"{name} mark {mark!r}")
        for mark in look.distinguishing_marks
    ]
    for label, value in (
        ("age", look.age_range),
        ("build", look.build),
        ("hair", look.hair),
        ("eyes", look.eyes),
    ):
        text = _words(value) if label == "build" else f"{label} {_words(value)}"
        parts.append(Part(name, text, APPEARANCE, f"{name} {label}"))
    parts += [
        Part(name, _words(item), ACCESSORY, f"{name} accessory {item!r}")
        for item in dress.accessories
    ]
    return parts


def _regen_rules(negatives: str) -> list[str]:
    """The regen rules filed among a GenPack's negatives that are about the picture."""
    rules = []
    for line in negatives.split("\n"):
        found = _REGEN_LINE.fullmatch(line.removeprefix("- "))
        if found and found.group(1) not in _NOT_PROMPT:
            rules.append(_words(found.group(2)))
    return rules


def _regen_parts(negatives: str) -> list[Part]:
    # "no lens flares" is something to avoid: it goes with the negatives, never positive
    return [
        Part("Hold", rule, REGEN, f"regen rule {rule!r}")
        for rule in _regen_rules(negatives)
        if not _NEGATION.match(rule)
    ]


def _action_parts(action: str) -> list[Part]:
    parts = []
    for line in action.split("\n"):
        key, _, value = line.partition(": ")
        if key == "camera":
            text = f"{value.replace('_', ' ')} shot"
            parts.append(Part("Camera", text, CAMERA, "camera"))
        elif key == "in frame (left to right)":
            parts.append(Part("Left to right", _words(value), FRAME_ORDER, "frame order"))
        elif key in ("duration", "set"):
            continue  # sent as settings, or already said by the set's part
        elif line.strip():
            parts.append(Part("Action", _words(line), ACTION, "action"))
    return parts


def negative_items(pack: GenPack) -> list[str]:
    """The forbidden-drift items of a GenPack, once each, in pack order, as things to avoid."""
    items = []
    for line in pack.negatives.split("\n"):
        item = line.removeprefix("- ").strip()
        if not item or item.startswith("(") or _REGEN_LINE.fullmatch(item):
            continue
        _, colon, rest = item.partition(": ")  # "- CHAR NELL: no beard"
        items.append(rest if colon else item)
    items += [rule for rule in _regen_rules(pack.negatives) if _NEGATION.match(rule)]
    return negative_items_of(items)


def negative_items_of(items: Iterable[str]) -> list[str]:
    """Forbidden-drift items as a negative prompt lists them: without the leading "no".
    An item that requires something ("never without his glasses") is not a negative: as one
    it would keep out the very thing it protects (issue 16 §3, ``_lock_drift``)."""
    out: list[str] = []
    for item in items:
        if parse_drift(item).mode == "require":
            continue
        text = _NEGATION.sub("", _words(item))
        if text and text not in out:
            out.append(text)
    return out


# -- fitting ------------------------------------------------------------------------------------


def render_parts(parts: list[Part]) -> str:
    """Parts as sentences: ``Group: a; b.`` per group, groups in their first part's order."""
    groups: dict[str, list[str]] = {}
    for part in parts:
        groups.setdefault(part.group, []).append(part.text)
    sentences = []
    for group, texts in groups.items():
        body = "; ".join(texts).rstrip(".")
        sentences.append(f"{body}." if group == "Action" else f"{group}: {body}.")
    return " ".join(sentences)


def fit(parts: list[Part], limit: int | None) -> tuple[list[Part], list[str]]:
    """The parts that fit ``limit`` characters and the labels of those dropped.

    The least important part goes first; among equals, the one said last. A single part
    still too long is cut after its last whole word that fits.
    """
    kept = list(parts)
    dropped: list[str] = []
    if limit is None:
        return kept, dropped
    while len(kept) > 1 and len(render_parts(kept)) > limit:
        victim = min(reversed(range(len(kept))), key=lambda i: kept[i].priority)
        dropped.append(kept.pop(victim).label)
    if kept and len(render_parts(kept)) > limit:
        part, words = kept[0], kept[0].text.split()
        while words and len(render_parts([_with_text(part, " ".join(words))])) > limit:
            words.pop()
        dropped.append(f"{part.label} (cut after {len(words)} words)")
        kept = [_with_text(part, " ".join(words))] if words else []
    return kept, dropped


def _with_text(part: Part, text: str) -> Part:
    return Part(part.group, text, part.priority, part.label)


def _fit_list(items: list[str], limit: int | None) -> tuple[str, list[str]]:
    """Items joined by ", " within ``limit``, the last ones left out first."""
    kept = list(items)
    cut: list[str] = []
    while limit is not None and kept and len(", ".join(kept)) > limit:
        cut.insert(0, kept.pop())
    return ", ".join(kept), cut


__all__ = [
    "FRAME_PROMPT_CHARS",
    "Composed",
    "Part",
    "compose",
    "compose_frame",
    "fit",
    "negative_items",
    "negative_items_of",
    "prompt_parts",
    "render_parts",
]
