"""The decode cache on disk: a take decoded by one ``slate`` command is not decoded again by
the next (the render gate decodes a take, a later qc-grader or render-final reads the decode).

Inside a project (the runner calls :func:`use_folder` with ``<project>/.filmslate/decoded``
before every skill run; elsewhere nothing is written) each decoded take is one file named by
the take's sha256 and the sample count: ``<sha256>-<samples>.v1.npy``, the clip's facts, its
per-frame numbers and its sampled frames as consecutive uncompressed ``.npy`` arrays (about
4 MB for a 640x360 take: written or read in ~3 ms where compressing took ~25). It is a derived
cache, never an artifact: the store does not record it, verify does not look into
``.filmslate/``, and deleting the folder at any time only means takes are decoded again.

- **Atomic**: written to a name unique to this process and call, then renamed into place:
  a reader sees a whole file or none.
- **Never trusted blindly**: a file that cannot be read, is cut short, or does not end with
  its own name's digest is removed and the take decoded again.
- **Bounded**: after each write the folder is pruned, least recently used first (a read
  refreshes a file's modification time), to ``MAX_BYTES`` (256 MB: about 60 takes at 640x360;
  a take is gated, then graded and rendered final soon after, so the recent ones are the
  ones read again).

Beside the decodes, ``facts.v1.sqlite`` keeps every clip's facts (what ``probe`` answers:
length, size, rate, frames) by its sha256: a row is ~100 bytes, so it outlives the decodes it
came from, and a later consumer that needs only the facts (the edit planner, the cut's gate,
``slate export``) reads them instead of starting ffmpeg. One indexed lookup per clip (never a
scan); bounded to ``MAX_FACTS`` rows, the oldest removed first.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
from contextlib import closing
from contextvars import ContextVar
from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.typing as npt

__all__ = [
    "MAX_BYTES",
    "MAX_FACTS",
    "Fields",
    "folder",
    "load",
    "load_facts",
    "save",
    "save_facts",
    "use_folder",
]

MAX_BYTES = 256 * 1024 * 1024
MAX_FACTS = 200_000  # clips whose facts are kept (~20 MB): far more than a film's takes
FACTS_FILE = "facts.v1.sqlite"
VERSION = "v1"  # bump when what a decode holds changes: older files are then never read
Picture = npt.NDArray[np.uint8]
# luma, diff, content, pixels, looks, at, jumps: FrameStats' fields in order
Fields = tuple[
    list[float],
    list[float],
    list[float],
    list[Picture],
    list[Picture],
    list[int],
    dict[int, Picture],
]
Facts = tuple[float, int, int, float, int]  # ClipInfo: duration_s, width, height, fps, frames

_FOLDER: ContextVar[Path | None] = ContextVar("filmslate_decoded", default=None)


def use_folder(path: Path | None) -> None:
    """Keep decodes in ``path`` from now on in this thread (None: in memory only)."""
    _FOLDER.set(path)


def folder() -> Path | None:
    """Where decodes are kept on disk now (None: nowhere)."""
    return _FOLDER.get()


def _path(digest: str, samples: int) -> Path | None:
    where = _FOLDER.get()
    return None if where is None else where / f"{digest}-{samples}.{VERSION}.npy"


def load(digest: str, samples: int) -> tuple[Facts, Fields] | None:
    """The stored decode of a take, or None (not stored, or unreadable: then removed)."""
    path = _path(digest, samples)
    if path is None:
        return None
    try:
        with path.open("rb") as stream:
            found = _read(stream, digest)
        os.utime(path)  # recently used: pruned last
    except FileNotFoundError:
        return None
    except (OSError, ValueError, EOFError, IndexError):
        path.unlink(missing_ok=True)  # corrupt or cut short: decoded again, written again
        return None
    return found


def _read(stream: BinaryIO, digest: str) -> tuple[Facts, Fields]:
    def array() -> npt.NDArray[np.generic]:
        return np.load(stream, allow_pickle=False)  # type: ignore[no-any-return]

    facts, luma, diff, content = array(), array(), array(), array()
    pixels, looks, at = array(), array(), array()
    jump_at, jump_frames, end = array(), array(), array()
    if end.tobytes().decode("ascii") != digest or len(jump_at) != len(jump_frames):
        raise ValueError("not this take's decode")
    duration, width, height, fps, frames = (float(v) for v in facts)
    return (duration, int(width), int(height), fps, int(frames)), (
        luma.tolist(),
        diff.tolist(),
        content.tolist(),
        list(pixels),
        list(looks),
        [int(i) for i in at],
        {int(i): frame for i, frame in zip(jump_at, jump_frames, strict=True)},
    )


def save(digest: str, samples: int, facts: Facts, fields: Fields) -> None:
    """Store a take's decode (atomically), then prune the folder to ``MAX_BYTES``."""
    path = _path(digest, samples)
    if path is None:
        return
    luma, diff, content, pixels, looks, at, jumps = fields
    if not looks:
        return  # nothing sampled (no frames): too small to be worth a file
    partial = path.with_name(f"{path.name}.{os.getpid()}-{secrets.token_hex(4)}.part")
    try:
        path.parent.mkdir(exist_ok=True)  # never .filmslate itself: a project removed since
        with partial.open("wb") as stream:
            for part in (
                np.array(facts, np.float64),
                np.array(luma, np.float64),
                np.array(diff, np.float64),
                np.array(content, np.float64),
                np.stack(pixels),
                np.stack(looks),
                np.array(at, np.int64),
                np.array(list(jumps), np.int64),
                np.stack(list(jumps.values()))
                if jumps
                else np.zeros((0, *looks[0].shape), np.uint8),
                np.frombuffer(digest.encode("ascii"), np.uint8),
            ):
                np.save(stream, part, allow_pickle=False)
        partial.replace(path)  # atomic: readers see the whole decode or none
    except OSError:
        partial.unlink(missing_ok=True)  # a full or read-only disk: the cache is optional
        return
    prune(path.parent, MAX_BYTES)


def prune(where: Path, limit: int) -> None:
    """Remove the least recently used decodes until the folder holds at most ``limit`` bytes
    (a partial file a killed writer left behind is old, so it goes first); the facts database
    is bounded by its own rows, never removed here."""
    try:
        entries = [
            (s.st_mtime, s.st_size, Path(e.path))
            for e in os.scandir(where)
            if not e.name.startswith(FACTS_FILE) and (s := e.stat())
        ]
    except OSError:
        return
    total = sum(size for _, size, _ in entries)
    for _, size, path in sorted(entries):
        if total <= limit:
            break
        path.unlink(missing_ok=True)
        total -= size


# --- the facts of every clip -----------------------------------------------------------------

_FACTS_TABLE = (
    "CREATE TABLE IF NOT EXISTS facts (digest TEXT PRIMARY KEY, duration_s REAL NOT NULL, "
    "width INTEGER NOT NULL, height INTEGER NOT NULL, fps REAL NOT NULL, frames INTEGER NOT NULL)"
)


def _facts_db() -> sqlite3.Connection | None:
    where = _FOLDER.get()
    if where is None:
        return None
    try:
        where.mkdir(exist_ok=True)  # never .filmslate itself: a project removed since
        db = sqlite3.connect(where / FACTS_FILE, timeout=10.0)
        db.execute("PRAGMA synchronous = OFF")  # a derived cache: a lost row is probed again
        db.execute(_FACTS_TABLE)
    except (OSError, sqlite3.Error):
        return None
    return db


def load_facts(digest: str) -> Facts | None:
    """The stored facts of a clip (None: not stored, or the cache cannot be read)."""
    db = _facts_db()
    if db is None:
        return None
    try:
        with closing(db):
            row = db.execute(
                "SELECT duration_s, width, height, fps, frames FROM facts WHERE digest = ?",
                (digest,),
            ).fetchone()
    except sqlite3.Error:
        return None
    if row is None:
        return None
    duration, width, height, fps, frames = row
    return float(duration), int(width), int(height), float(fps), int(frames)


def save_facts(digest: str, facts: Facts) -> None:
    """Store a clip's facts; past ``MAX_FACTS`` rows the oldest go (one indexed delete)."""
    db = _facts_db()
    if db is None:
        return
    try:
        with closing(db), db:
            cursor = db.execute(
                "INSERT OR REPLACE INTO facts VALUES (?, ?, ?, ?, ?, ?)", (digest, *facts)
            )
            newest = cursor.lastrowid or 0
            if newest > MAX_FACTS and newest % 1000 == 0:  # now and then, not every write
                db.execute("DELETE FROM facts WHERE rowid <= ?", (newest - MAX_FACTS,))
    except sqlite3.Error:
        return  # a locked or read-only cache: the clip is probed again next time
