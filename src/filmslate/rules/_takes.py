"""Pure facts about shots and their takes, shared by the render service and the skills:
the seed of a shot, the identity of a GenPack, the last QC verdict of a shot."""

from __future__ import annotations

import hashlib
import zlib

from ..schemas import GenPack, QcBatch


def shot_seed(shot_id: str) -> int:
    """A stable seed per shot: a regeneration changes wording, not luck."""
    return zlib.crc32(shot_id.encode("utf-8")) & 0x7FFFFFFF


def genpack_sha(pack: GenPack) -> str:
    """The identity of a GenPack: the sha256 of its stored text."""
    return hashlib.sha256(pack.render()).hexdigest()


def last_qc_verdict(batch: QcBatch | None, shot_id: str) -> str | None:
    """The verdict of the shot's last row in a QC batch (None when it has none)."""
    rows = [row for row in batch.rows if row.shot_id == shot_id] if batch else []
    return rows[-1].verdict if rows else None
