"""Answers kept per part across the revisions of one target (issue 14 §5).

A skill that asks one question per part of its target (script-breakdown: one per scene) and
fails its gate on one part should not pay again for the parts that passed. The runner's
answer book forgets a run's answers once it is graded (a rerun asks afresh), so the next
attempt, a new run in a new process after a kill or a handoff, would have nothing to reuse.
A skill declaring ``keeps_answers`` gets ``ctx.params["kept"]``: the latest answer to each
part's question, stored in the project index as it arrives (one row per skill, target and
part, replaced by the next answer), with a digest of the question it answered so a changed
part is never answered from its old text. The skill decides which parts its gate's reasons
send back; everything else it takes from here, at no cost and with no request.
"""

from __future__ import annotations

import hashlib
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from ..store import _runlog
from ..store._store import Store

__all__ = ["KEPT_PARAM", "KeptAnswers"]

KEPT_PARAM = "kept"  # the ctx.params key
M = TypeVar("M", bound=BaseModel)

SCHEMA = """
CREATE TABLE IF NOT EXISTS kept_answers (
    skill TEXT NOT NULL,
    target TEXT NOT NULL,
    part TEXT NOT NULL,
    question TEXT NOT NULL,
    output_type TEXT NOT NULL,
    output TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (skill, target, part)
)"""


def _digest(question: str) -> str:
    return hashlib.sha256(question.encode("utf-8")).hexdigest()


class KeptAnswers:
    """The kept per-part answers of one skill on one target."""

    def __init__(self, store: Store, skill: str, target: str) -> None:
        self.store, self.skill, self.target = store, skill, target
        store.conn.execute(SCHEMA)

    def get(self, part: str, question: str, output_type: type[M]) -> M | None:
        """The kept answer to exactly this question about ``part`` (None: none, another
        question, another output type, or one that no longer fits the type)."""
        found = self.store.conn.execute(
            "SELECT question, output_type, output FROM kept_answers WHERE skill = ? AND "
            "target = ? AND part = ?",
            (self.skill, self.target, part),
        ).fetchone()
        if found is None or found[0] != _digest(question) or found[1] != output_type.__name__:
            return None
        try:
            return output_type.model_validate_json(found[2])
        except ValidationError:  # the type changed since: ask again
            return None

    def keep(self, part: str, question: str, answer: BaseModel) -> None:
        """Record the answer to ``question`` about ``part`` (replacing the last one)."""
        with self.store.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO kept_answers VALUES (?,?,?,?,?,?,?)",
                (
                    self.skill,
                    self.target,
                    part,
                    _digest(question),
                    type(answer).__name__,
                    answer.model_dump_json(),
                    _runlog.utc_now(),
                ),
            )
