"""What a shot list says about the edit between two shots: the camera's angle, the screen
direction of the movement, whether a cut must keep that direction (issue 15 §4).

A SHOTLIST row has no angle or direction column, so both are read from its blocking summary
and notes, by a small fixed vocabulary (so a planner or a person writes them on purpose):

- an **angle**: ``low angle``, ``high angle``, ``overhead``, ``top-down``, ``bird's-eye``,
  ``worm's-eye``, ``dutch``/``canted``, ``eye level``, ``profile``, ``side-on``, ``frontal``,
  ``head-on``, ``three-quarter``, ``from behind``, ``reverse``, ``aerial``, and ``over X's
  shoulder`` (whose shoulder: shot and reverse shot differ there);
- a **screen direction**: ``left to right`` (``L>R``, ``from the left``, ``exits right``,
  ``moving right``, ``towards the right``) or ``right to left`` (the mirror words);
- **keep screen direction** (``keep``/``same``/``match``/``maintain`` ... ``screen
  direction``, or ``screen direction kept``/``held``/``matches``): this shot must move the
  way the shot before it does.

Two consecutive shots of one scene showing the same characters (one or more) with the same
camera type and the same angle are a jump cut. A cut between scenes is a change of place or
time, not a jump; shots of no one (inserts, establishing shots) differ by what they show, which
the shot list does not say in a form code can compare.
"""

from __future__ import annotations

import re

from ..schemas import ShotRow

__all__ = ["angle_of", "direction_of", "jump_cut", "keeps_direction"]

ANGLES = (
    "low angle",
    "high angle",
    "overhead",
    "top-down",
    "top down",
    "bird's-eye",
    "birds-eye",
    "worm's-eye",
    "dutch",
    "canted",
    "eye level",
    "eye-level",
    "profile",
    "side-on",
    "frontal",
    "head-on",
    "three-quarter",
    "from behind",
    "reverse",
    "aerial",
)
ANGLE_RE = re.compile(r"\b(" + "|".join(re.escape(a) for a in ANGLES) + r")\b", re.IGNORECASE)
SHOULDER_RE = re.compile(r"\bover (?:the )?([a-z]+)'s shoulder\b", re.IGNORECASE)
_TOWARDS = r"(?:exits?|moves?|moving|runs?|walks?|heads?|heading|travels?|towards?|to)"
EXPLICIT = re.compile(
    r"\b(left|right)[- ]to[- ](left|right)\b|\b([LR]) ?(?:>|->|→) ?([LR])\b", re.I
)
LEFT_TO_RIGHT = re.compile(rf"\bfrom (?:the )?left\b|\b{_TOWARDS} (?:the |screen )?right\b", re.I)
RIGHT_TO_LEFT = re.compile(rf"\bfrom (?:the )?right\b|\b{_TOWARDS} (?:the |screen )?left\b", re.I)
KEEP_RE = re.compile(
    r"\b(?:keeps?|same|match(?:es|ing)?|maintains?|hold|holds)\b[^.;]{0,24}\bscreen direction\b"
    r"|\bscreen direction\b[^.;]{0,12}\b(?:kept|held|maintained|matches|matched)\b",
    re.IGNORECASE,
)


def _text(row: ShotRow) -> str:
    return f"{row.blocking_summary} {row.notes}"


def angle_of(row: ShotRow) -> frozenset[str]:
    """The angle words of a shot (lowercase; ``over NICO's shoulder`` as ``over NICO``)."""
    text = _text(row)
    found = {m.group(1).lower().replace(" ", "-") for m in ANGLE_RE.finditer(text)}
    found |= {f"over {m.group(1).upper()}" for m in SHOULDER_RE.finditer(text)}
    return frozenset(found)


def direction_of(row: ShotRow) -> str:
    """``L>R``, ``R>L``, or '' when the shot states none (or both); ``left to right`` and
    ``L>R`` are read before the looser ``from the left`` / ``exits right``."""
    text = _text(row)
    found = {
        "L>R" if (m.group(1) or m.group(3)).upper().startswith("L") else "R>L"
        for m in EXPLICIT.finditer(text)
        if (m.group(1) or m.group(3)).upper()[0] != (m.group(2) or m.group(4)).upper()[0]
    }
    if not found:
        found = {"L>R"} if LEFT_TO_RIGHT.search(text) else set()
        found |= {"R>L"} if RIGHT_TO_LEFT.search(text) else set()
    return found.pop() if len(found) == 1 else ""


def keeps_direction(row: ShotRow) -> bool:
    """True when the shot list says this shot keeps the previous shot's screen direction."""
    return bool(KEEP_RE.search(_text(row)))


def jump_cut(before: ShotRow, after: ShotRow) -> bool:
    """Two shots of one scene, the same characters, the same camera type and angle."""
    return (
        before.scene_id == after.scene_id
        and bool(before.char_ids)
        and set(before.char_ids) == set(after.char_ids)
        and before.camera_type == after.camera_type
        and angle_of(before) == angle_of(after)
    )
