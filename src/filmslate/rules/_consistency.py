"""Consistency as a figure (issue 13 §6): per character and per set, the share of accepted takes
whose QC scores for it are compliant (2), and the takes that are not.

A shot's accepted take is its last QC row when that row is a PASS (what assemble-cut uses); a
PASS can still carry a 1 (hero B and C thresholds allow it), and those are the takes named.
A character is judged on face and wardrobe, a set on set continuity and lighting. A score
below 2 counts against every character in the shot, unless the row's notes carry the vision
model's contradictions for that category naming some of them (``face_consistency take frame 2
of 6 vs CHAR_NELL_REF_v002: ...``): then against those only.

One pass over the rows: the cost grows with the QC rows read, nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ..schemas import QcRow, ShotRow

CHARACTER_CATEGORIES = ("face_consistency", "wardrobe_consistency")
SET_CATEGORIES = ("set_continuity", "lighting_consistency")
NOTE_SEPARATOR = " | "  # how qc-grader joins the parts of a row's notes
REVIEWER = "reviewer: "  # the prefix of the first part the model said


@dataclass
class Consistency:
    """One character's or set's figure: compliant of accepted takes, and the takes that fail."""

    subject: str
    accepted: int = 0
    compliant: int = 0
    not_compliant: list[str] = field(default_factory=list)  # "S01_SH02 attempt 1 (face 1)"

    @property
    def share(self) -> float:
        """Compliant accepted takes as a share of accepted takes (1.0 with none accepted)."""
        return round(self.compliant / self.accepted, 4) if self.accepted else 1.0

    def line(self) -> str:
        """``NELL 2/3 (67%) not compliant: S01_SH02 attempt 1 (face 1)``."""
        text = f"{self.subject} {self.compliant}/{self.accepted} ({self.share:.0%})"
        if self.not_compliant:
            text += f" not compliant: {', '.join(self.not_compliant)}"
        return text


@dataclass
class ConsistencyReport:
    """Every character's and every set's figure, by name."""

    characters: list[Consistency] = field(default_factory=list)
    sets: list[Consistency] = field(default_factory=list)

    def summary(self) -> str:
        """One line for a QC sheet's notes."""
        chars = "; ".join(c.line() for c in self.characters) or "none"
        sets = "; ".join(s.line() for s in self.sets) or "none"
        return (
            f"consistency of accepted takes: characters (face, wardrobe): {chars}; "
            f"sets (set, lighting): {sets}"
        )


def accepted_rows(rows: Iterable[QcRow]) -> list[QcRow]:
    """Each shot's last row, where it is a PASS, in the order the shots were first graded."""
    last: dict[str, QcRow] = {}
    for row in rows:
        last[row.shot_id] = row
    return [row for row in last.values() if row.verdict == "PASS"]


def consistency(rows: Iterable[QcRow], shots: Mapping[str, ShotRow]) -> ConsistencyReport:
    """The figures of the accepted takes among ``rows`` (one scene's or the film's), using
    ``shots`` (shot id -> its row in the latest shot list) for who and where."""
    chars: dict[str, Consistency] = {}
    sets: dict[str, Consistency] = {}
    for row in accepted_rows(rows):
        shot = shots.get(row.shot_id)
        if shot is None:
            continue  # a shot no longer in its scene's shot list
        blamed = _blamed(row, _low(row, CHARACTER_CATEGORIES), shot.char_ids)
        for cid in shot.char_ids:
            mine = {c: s for c, (s, who) in blamed.items() if cid in who}
            _count(chars.setdefault(cid, Consistency(cid)), row, mine)
        where = sets.setdefault(shot.set_id, Consistency(shot.set_id))
        _count(where, row, _low(row, SET_CATEGORIES))
    return ConsistencyReport(
        characters=[chars[k] for k in sorted(chars)], sets=[sets[k] for k in sorted(sets)]
    )


def _low(row: QcRow, categories: tuple[str, ...]) -> dict[str, int]:
    scores = row.scores
    return {c: s for c in categories if (s := scores.get(c)) is not None and s < 2}


def _count(figure: Consistency, row: QcRow, low: dict[str, int]) -> None:
    figure.accepted += 1
    if not low:
        figure.compliant += 1
        return
    scores = ", ".join(f"{_short(category)} {score}" for category, score in low.items())
    figure.not_compliant.append(f"{row.shot_id} attempt {row.attempt_number} ({scores})")


def _short(category: str) -> str:
    return category.removesuffix("_consistency").removesuffix("_continuity")


def _blamed(row: QcRow, low: dict[str, int], cast: list[str]) -> dict[str, tuple[int, set[str]]]:
    """Each low category's score and the characters it is held against: those the model's
    contradictions for it name, else the whole cast of the shot."""
    named: dict[str, set[str]] = {category: set() for category in low}
    for part in row.notes.split(NOTE_SEPARATOR):
        category, _, said = part.removeprefix(REVIEWER).partition(" ")
        if category in named and " vs " in said:
            item = said.split(" vs ", 1)[1]
            named[category] |= {cid for cid in cast if _names(item, cid)}
    return {c: (score, named[c] or set(cast)) for c, score in low.items()}


def _names(text: str, cid: str) -> bool:
    """True when ``text`` names ``cid`` as a whole id (``CHAR_NELL_REF_v002`` names NELL)."""
    found = re.search(rf"(?<![A-Za-z0-9]){re.escape(cid)}(?![A-Za-z0-9])", text, re.IGNORECASE)
    return found is not None


__all__ = [
    "CHARACTER_CATEGORIES",
    "NOTE_SEPARATOR",
    "SET_CATEGORIES",
    "Consistency",
    "ConsistencyReport",
    "accepted_rows",
    "consistency",
]
