"""A gate's reasons in one run-log cell, read back exactly (a resume revises with them).

Reasons are written joined by ``"; "``, as they always were, and read back by splitting on
it. A reason that itself holds ``"; "`` (or a ``;`` and a line break, which the log folds
into one) would be read back as two, one naming nothing (script-breakdown then asked every
scene again). Only such a row is written as a JSON list of its reasons instead: every other
row is byte for byte what it was, and every row written before this encoding is read as
before, so old logs keep their hashes, signatures and meaning. A list of strings in JSON is
told apart from the old form by its ``["`` ... ``"]`` brackets (reasons whose plain join
would look like that are written as JSON too; an old row of that shape, which no gate's
reasons produce in practice, would be read as the JSON it looks like).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

__all__ = ["SEP", "join_reasons", "recorded", "split_reasons"]

SEP = "; "
_AMBIGUOUS = re.compile(r";\s")  # a separator once the log folds whitespace


def join_reasons(reasons: Iterable[str]) -> str:
    """One cell for the reasons: ``"; "``-joined, or a JSON list when a reason holds one."""
    items = list(reasons)
    joined = SEP.join(items)
    if any(_AMBIGUOUS.search(r) for r in items) or _listlike(joined):
        return json.dumps(items, ensure_ascii=False)
    return joined


def split_reasons(cell: str) -> tuple[str, ...]:
    """The reasons of a cell :func:`join_reasons` wrote (or an older row), empty ones dropped."""
    if _listlike(cell):
        try:
            items = json.loads(cell)
        except ValueError:
            items = None
        if isinstance(items, list) and all(isinstance(i, str) for i in items):
            return tuple(i for i in items if i)
    return tuple(r for r in cell.split(SEP) if r)


def recorded(reasons: Iterable[str]) -> tuple[str, ...]:
    """The reasons as the run log gives them back: joined, whitespace folded as a cell is
    (``store._runlog``), split. What a live step should use when its resume must match."""
    return split_reasons(" ".join(join_reasons(reasons).split()))


def _listlike(cell: str) -> bool:
    return cell.startswith('["') and cell.endswith('"]')
