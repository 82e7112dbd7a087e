"""The run log: an append-only, hash-chained record of every write, run and decision.

The index holds the rows (fast queries); ``logs/RUN_LOG_v001.csv`` is their human view and,
with the artifact files, the truth the index is rebuilt from. Each row's hash covers the
previous row's hash, so an edited, removed or reordered row breaks the chain.
"""

from __future__ import annotations

import csv
import fcntl
import hashlib
import io
import json
import os
import sqlite3
import stat
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from operator import itemgetter, methodcaller
from pathlib import Path
from typing import IO

from ..core._errors import IntegrityError, ProjectError
from ..core._names import RUN_LOG_COLUMNS, RUN_LOG_SPEC_COLUMNS
from ._chain import signer_of

COLUMNS = RUN_LOG_COLUMNS
SPEC_COLUMNS = RUN_LOG_SPEC_COLUMNS
LOG_RELPATH = "logs/RUN_LOG_v001.csv"
GENESIS = "0" * 64


def utc_now() -> str:
    """An ISO-8601 UTC timestamp with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_run_id() -> str:
    """A sortable, unique run id."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return f"R{stamp}-{os.urandom(3).hex()}"


@dataclass
class LogEntry:
    """One run-log row before it is chained. Costs in the project currency."""

    run_id: str
    skill_name: str
    event: str = "run"
    target: str = ""
    parent_run_id: str = ""
    scene_id: str = ""
    shot_id: str = ""
    model_used: str = ""
    tier: str = ""
    estimated_cost: float = 0.0
    actual_cost: float = 0.0
    duration_s: float = 0.0
    outcome: str = ""
    regen_count: int = 0
    artifact_output: str = ""
    notes: str = ""
    budget_status: str = ""
    artifact_sha256: str = ""
    inputs: tuple[str, ...] = field(default_factory=tuple)
    timestamp: str = field(default_factory=utc_now)

    def cells(self) -> dict[str, str]:
        """The row as text cells, exactly as hashed and written."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["estimated_cost"] = f"{self.estimated_cost:.6f}"
        out["actual_cost"] = f"{self.actual_cost:.6f}"
        out["duration_s"] = f"{self.duration_s:.3f}"
        out["regen_count"] = str(self.regen_count)
        out["inputs"] = ";".join(self.inputs)
        return {k: " ".join(str(v).split()) if k == "notes" else str(v) for k, v in out.items()}


# The log before rows were signed: no row_mac column (see ``_legacy``).
LEGACY_COLUMNS = tuple(c for c in COLUMNS if c != "row_mac")
LEGACY_FIX = (
    "the run log predates signed rows (no row_mac column): run `slate reindex "
    "--adopt-legacy` once to add it (the rows stay as written; their hashes do not cover it)"
)
CHAIN_COLUMNS = ("row_mac", "prev_hash", "row_hash")
HASHED_COLUMNS = tuple(c for c in COLUMNS if c not in CHAIN_COLUMNS)
# A row as its cells in column order (the index's copy and verify's rows): where they are.
SEQ, MAC, PREV, HASH = (COLUMNS.index(c) for c in ("seq", *CHAIN_COLUMNS))
# a row's cells as its hash covers them: the previous row's hash, then the hashed columns
_BODY = itemgetter(PREV, *(COLUMNS.index(c) for c in HASHED_COLUMNS))
_WIDTH = 1 + len(HASHED_COLUMNS)
_HEX = methodcaller("hexdigest")
_UNSAFE = bytes(range(0x20)) + b"\\"  # what json.dumps escapes besides the quote
_ENCODE = json.JSONEncoder(ensure_ascii=False).encode


def row_hash(prev_hash: str, cells: Mapping[str, str]) -> str:
    """The chain hash of a row: covers every cell and the previous row's hash.

    The signature is left out: it is made from this hash, and a log without a key has none.
    """
    return _body_hash([prev_hash] + [cells.get(c, "") for c in HASHED_COLUMNS])


def values_hash(values: Sequence[str]) -> str:
    """``row_hash`` of a row given as its cells in column order (its own prev_hash first)."""
    return _body_hash(_BODY(values))


def values_hashes(rows: Sequence[Sequence[str]]) -> list[str]:
    """``values_hash`` of every row (each of full width), all at once: verify walks every
    row of the log, and when no cell needs escaping the bodies are joined, encoded and hashed
    without a Python step per row."""
    try:
        texts = list(map('", "'.join, map(_BODY, rows)))
    except TypeError:
        return list(map(values_hash, rows))
    if texts:  # the first body opened and the last closed here: one join, no copy after
        texts[0] = '["' + texts[0]
        texts[-1] = texts[-1] + '"]'
    encoded = '"]\n["'.join(texts).encode()
    # the only quotes are the joints' own, the only control characters the newlines
    # between bodies, and no backslash: no cell needs escaping, each body is its cells joined
    quotes = len(texts) * 2 * _WIDTH
    lines = max(len(texts) - 1, 0)
    if (
        encoded.count(b'"') != quotes
        or len(encoded) - len(encoded.translate(None, _UNSAFE)) != lines
    ):
        return list(map(values_hash, rows))
    return list(map(_HEX, map(hashlib.sha256, encoded.split(b"\n")))) if texts else []


def _body_hash(body: Sequence[str]) -> str:
    """sha256 of json.dumps(body, ensure_ascii=False), the chain's definition; verify hashes
    every row, so a body that needs no escaping is joined rather than encoded cell by cell."""
    try:
        text = '", "'.join(body)
    except TypeError:  # not all text: the encoder says how it is written
        text = ""
    # json.dumps(ensure_ascii=False) escapes only quotes, backslashes and control characters:
    # when the only quotes are the joints' own and all is printable, the cells stand as they are
    plain = text.count('"') == 2 * (len(body) - 1) and "\\" not in text and text.isprintable()
    encoded = f'["{text}"]' if plain else _ENCODE(body)
    return hashlib.sha256(encoded.encode()).hexdigest()


def _column(name: str) -> str:
    if name == "seq":
        return "seq INTEGER PRIMARY KEY"
    # An unsigned row (no project key) has an empty signature.
    return f"{name} TEXT NOT NULL" + (" DEFAULT ''" if name == "row_mac" else "")


SCHEMA = f"""
CREATE TABLE IF NOT EXISTS runlog (
    {", ".join(_column(c) for c in COLUMNS)}
);
CREATE INDEX IF NOT EXISTS runlog_artifact ON runlog(artifact_output);
CREATE INDEX IF NOT EXISTS runlog_hash ON runlog(row_hash);
CREATE INDEX IF NOT EXISTS runlog_skill ON runlog(skill_name, target);
CREATE INDEX IF NOT EXISTS runlog_event ON runlog(event, target);
CREATE INDEX IF NOT EXISTS runlog_tier ON runlog(tier, event);
"""


def append(conn: sqlite3.Connection, entry: LogEntry) -> dict[str, str]:
    """Chain, sign and insert one row inside the caller's transaction; returns its cells.

    The index's log head (rows, last hash and, with a key, its signature) moves in the same
    transaction: a constant-cost witness of how long the log is (see ``_heads``).
    """
    last = conn.execute("SELECT seq, row_hash FROM runlog ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    signer = signer_of(conn)
    if signer is not None and seq == 1:
        signer.first_row(entry.run_id)
    cells = {"seq": str(seq), **entry.cells(), "prev_hash": prev}
    cells["row_hash"] = row_hash(prev, cells)
    cells["row_mac"] = signer.mac(cells["row_hash"]) if signer else ""
    conn.execute(
        f"INSERT INTO runlog ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)})",
        [cells[c] for c in COLUMNS],
    )
    head_mac = signer.head_mac(seq, cells["row_hash"]) if signer else ""
    set_meta(conn, HEAD_KEY, f"{seq}:{cells['row_hash']}:{head_mac}")
    return cells


HEAD_KEY = "log_head"  # meta: "rows:last row hash:signature" after the last append
MIRRORED_KEY = "csv_seq"  # meta: the highest row ever mirrored into the CSV


def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    """Set one index meta value."""
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))


def get_meta(conn: sqlite3.Connection, key: str) -> str:
    """One index meta value ('' when unset)."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return str(row[0]) if row else ""


def mirrored(conn: sqlite3.Connection) -> int:
    """How many rows the CSV has held at most (0 when unknown)."""
    value = get_meta(conn, MIRRORED_KEY)
    return int(value) if value.isdigit() else 0


def _csv_line(cells: Mapping[str, str]) -> str:
    return _csv_values([cells[c] for c in COLUMNS])


def _csv_values(values: Sequence[object]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(values)
    return buf.getvalue()


HEADER = ",".join(COLUMNS) + "\n"
_COMMAS = len(COLUMNS) - 1


def _csv_row(values: Sequence[str]) -> str:
    """One line of the log file, as the csv writer writes it (joined, unless a cell needs
    quoting)."""
    line = ",".join(values)
    if line.count(",") != _COMMAS or '"' in line or "\n" in line or "\r" in line:
        return _csv_values(values)
    return line + "\n"


def is_rendering(data: bytes, rows: Sequence[Sequence[str]]) -> bool:
    """True when ``data`` is byte for byte the log file ``sync_csv`` writes for ``rows`` (so
    reading it back gives exactly these cells, and verify need not parse it)."""
    if b"\0" in data:
        return False  # the csv reader refuses a NUL: let the full reading say so
    try:
        text = "\n".join(map(",".join, rows))
        plain = (
            text.count(",") == len(rows) * _COMMAS
            and text.count("\n") == max(len(rows) - 1, 0)
            and '"' not in text
            and "\r" not in text
        )  # no cell the writer quotes: the file is the cells joined
        if not plain:
            text = "".join(map(_csv_row, rows)).removesuffix("\n")
        # compared in place: no copy of the whole file with its header and last line end
        body = memoryview(data)[len(HEADER) : len(data) - (1 if rows else 0)]
        return (
            data.startswith(HEADER.encode())
            and (not rows or data.endswith(b"\n"))
            and body == text.encode()
        )
    except (TypeError, UnicodeEncodeError):  # a cell that is not text: never the file
        return False


def _last_hash_in_file(path: Path) -> str | None:
    """The row_hash of the file's last row, read from the end (constant cost)."""
    with path.open("rb") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        fh.seek(max(0, size - 8192))
        tail = fh.read().decode("utf-8", errors="replace").rstrip("\n").rsplit("\n", 1)[-1]
    last = tail.rsplit(",", 1)[-1].strip()
    return last if len(last) == 64 and last != "row_hash" else None


def sync_csv(conn: sqlite3.Connection, root: Path) -> int:
    """Append to the CSV every committed row it does not have yet; returns rows appended.

    Runs after each commit and on open, under a file lock, so a crash between commit and
    append is repaired by the next command and concurrent appenders never interleave. Rows
    the CSV once held and lost (a cut, a deleted file) are not put back quietly: that is
    tampering, refused here and reported by verify; `slate reindex` restores and records it.
    """
    path = root / LOG_RELPATH
    path.parent.mkdir(parents=True, exist_ok=True)
    if why := not_a_log_file(path):
        raise IntegrityError(
            f"{why}; nothing was written through it. `slate reindex` sets it aside and "
            "restores the log from the index (recorded as a hard stop).",
            path=str(path),
        )
    if not path.exists() and (held := mirrored(conn)):
        raise IntegrityError(cut_message(0, held), path=str(path))
    with _open_log(path) as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        held = mirrored(conn)  # read under the lock: appenders raise it in turn
        after = _rows_in_file(conn, fh, path)
        if after < held:
            raise IntegrityError(cut_message(after, held), path=str(path))
        try:
            rows = conn.execute(
                f"SELECT {', '.join(COLUMNS)} FROM runlog WHERE seq > ? ORDER BY seq", (after,)
            ).fetchall()
        except sqlite3.OperationalError as exc:
            if "row_mac" in str(exc):  # an index made before rows were signed
                raise ProjectError(LEGACY_FIX, path=str(path)) from None
            raise
        for row in rows:
            fh.write(_csv_line(dict(zip(COLUMNS, row, strict=True))))
        fh.flush()
        os.fsync(fh.fileno())
        if after + len(rows) > held:
            set_meta(conn, MIRRORED_KEY, str(after + len(rows)))
    return len(rows)


def log_bytes(root: Path) -> bytes | None:
    """The log file's bytes, read without following a link (None when it is missing, not a
    regular file, or unreadable: verify's full reading of the log then says which)."""
    try:
        fd = os.open(root / LOG_RELPATH, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        chunks = []
        while chunk := os.read(fd, 1 << 22):
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


def not_a_log_file(path: Path) -> str:
    """Why ``path`` cannot be the log ('' for a regular file or none): a link or a folder in
    its place would have the log written elsewhere, or not at all."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return ""
    except OSError as exc:
        return f"{LOG_RELPATH} cannot be read ({exc.strerror})"
    if stat.S_ISLNK(mode):
        return f"{LOG_RELPATH} is a symbolic link, not the log itself"
    return "" if stat.S_ISREG(mode) else f"{LOG_RELPATH} is not a regular file"


def _open_log(path: Path) -> IO[str]:
    """Open the log to read and append, never through a link swapped in meanwhile."""
    flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as exc:
        raise IntegrityError(
            f"{LOG_RELPATH} cannot be opened ({exc.strerror})", path=str(path)
        ) from None
    return os.fdopen(fd, "a+", encoding="utf-8", newline="")


def _rows_in_file(conn: sqlite3.Connection, fh: IO[str], path: Path) -> int:
    """The seq of the CSV's last row (0 for a new file, which gets its header here)."""
    if fh.tell() == 0:
        fh.write(",".join(COLUMNS) + "\n")
        fh.flush()
    last = _last_hash_in_file(path)
    if last is None:
        return 0
    found = conn.execute("SELECT seq FROM runlog WHERE row_hash = ?", (last,)).fetchone()
    if found is None:
        raise IntegrityError(
            f"{LOG_RELPATH} ends with a row the index does not know: the log was "
            "edited (missing log entry: hard stop). Run `slate verify` to see where.",
            path=str(path),
        )
    return int(found[0])


def cut_message(rows: int, held: int) -> str:
    """Say which rows a shortened log lost (the index still holds them)."""
    where = "the log file was deleted" if rows == 0 else f"the log ends at row {rows}"
    return (
        f"{LOG_RELPATH} lost {held - rows} row(s) it had held, rows {rows + 1}..{held}: "
        f"{where} (missing log entry: hard stop). The index still holds them: `slate "
        "reindex` restores them and records the cut as a hard stop."
    )


# A cut's row names every take it joins: 5,000 shots make a cell far past the csv module's
# default 128 KiB field limit, which would make the log unreadable to `slate verify`.
FIELD_LIMIT = 2**31 - 1


def read_csv(root: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line number, row) from the CSV; header checked."""
    csv.field_size_limit(FIELD_LIMIT)
    path = root / LOG_RELPATH
    if not path.exists():
        return
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is not None and tuple(header) == LEGACY_COLUMNS:
            raise IntegrityError(f"{LOG_RELPATH}: {LEGACY_FIX}", path=str(path))
        if header is not None and tuple(header) != COLUMNS:
            raise IntegrityError(
                f"{LOG_RELPATH}: header changed; expected {','.join(COLUMNS)}", path=str(path)
            )
        for values in reader:
            yield reader.line_num, dict(zip(COLUMNS, values, strict=False))


def chain_problems(root: Path) -> Iterator[str]:
    """Walk the CSV chain and say every place it breaks."""
    prev = GENESIS
    expected_seq = 1
    for line, cells in read_csv(root):
        if len(cells) != len(COLUMNS):
            yield f"{LOG_RELPATH}:{line}: row has {len(cells)} cells, expected {len(COLUMNS)}"
            return
        if cells["seq"] != str(expected_seq):
            yield (
                f"{LOG_RELPATH}:{line}: row seq {cells['seq']}, expected {expected_seq} "
                "(a row was removed, added or reordered)"
            )
        if cells["prev_hash"] != prev or row_hash(prev, cells) != cells["row_hash"]:
            yield f"{LOG_RELPATH}:{line}: hash chain broken (row edited or removed)"
            return
        prev = cells["row_hash"]
        expected_seq += 1
