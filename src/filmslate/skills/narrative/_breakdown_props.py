"""Prop candidates script-breakdown rejects (issue 14 §7).

`slate import` takes a capitalised word in the action as a prop only by a heuristic
(rules._fountain_props): what survives is a *candidate*. The breakdown confirms a candidate
by naming its owner, or rejects it as not a thing (``not_props``: a sound, a verb, emphasis,
a mood). Code then drops it from the scene's props_used, so it is never introduced, owned,
tracked in the world state or planned into a shot; the row's continuity_risks record the
rejection (BREAKDOWN has no notes column) and the run's log row says it on a PASS. A
rejection of a name the scene does not list as a candidate is a gate failure: a model may
not remove what it was not offered (nor what it added itself).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Final

from ...rules._fountain import canonical_id
from ...schemas import Entry, Id
from ._common import Answer

__all__ = [
    "NOT_A_PROP",
    "NotProp",
    "is_rejection_note",
    "rejected_names",
    "rejection_failures",
    "rejection_log",
    "rejection_notes",
    "without_rejected",
]

#: How a row's continuity_risks record a rejected candidate (code's note, not a risk).
NOT_A_PROP: Final = "not a prop: "


class NotProp(Answer):
    """A prop candidate that is not a thing, and why (``a sound``, ``a verb of action``)."""

    name: Id
    why: Entry  # required and not empty: a rejection says why


def rejected_names(not_props: Iterable[NotProp]) -> set[str]:
    """The rejected candidates as ids."""
    return {canonical_id(n.name) for n in not_props}


def without_rejected(props: Sequence[str], not_props: Iterable[NotProp]) -> list[str]:
    """The props with every rejected candidate taken out (compared as ids)."""
    gone = rejected_names(not_props)
    return [p for p in props if canonical_id(p) not in gone]


def rejection_notes(not_props: Iterable[NotProp]) -> list[str]:
    """One continuity_risks entry per rejected candidate: ``not a prop: BANG (a sound)``."""
    return [f"{NOT_A_PROP}{canonical_id(n.name)} ({n.why})" for n in not_props]


def is_rejection_note(risk: str) -> bool:
    """Is this continuity_risks entry code's record of a rejection (not a risk at all)?"""
    return risk.startswith(NOT_A_PROP)


def rejection_failures(
    scene_id: str, candidates: Sequence[str], not_props: Iterable[NotProp]
) -> list[str]:
    """A rejection must name one of the scene's candidates (the schema makes it say why)."""
    offered = {canonical_id(c) for c in candidates}
    failures = []
    for item in not_props:
        name = canonical_id(item.name)
        if name not in offered:
            failures.append(
                f"{scene_id}: not_props names {name}, which is not a prop candidate of this "
                f"scene (candidates: {', '.join(candidates) or 'none'}): reject only a "
                "listed candidate"  # no "; ": the run log joins reasons with it
            )
    return failures


def rejection_log(answers: Mapping[str, Iterable[NotProp]]) -> list[str]:
    """The run log's note per rejected candidate, scene by scene."""
    return [
        f"{scene}: {canonical_id(n.name)} is not a prop ({n.why}): dropped from props_used"
        for scene, not_props in answers.items()
        for n in not_props
    ]
