"""Projects whose run log predates signed rows: told apart, and adopted on request.

Before the project key existed the log had no ``row_mac`` column (in the CSV or the index's
copy) and artifact records had no log head. The chain hash never covered the signature, so
such a log is whole as it is: adopting it adds the empty column (an unsigned row's signature
is empty) to the CSV and the index, after checking the chain, and `slate reindex` then
records the heads. Opening a legacy project without adopting it is refused with
``_runlog.LEGACY_FIX``: appending to it would mix two layouts in one file.
"""

from __future__ import annotations

import csv
import io
import os
import sqlite3
from pathlib import Path

from ..core._config import CONFIG_FILE
from ..core._errors import IntegrityError, ProjectError
from . import _runlog
from ._index import INDEX_DIR, INDEX_FILE

LEGACY_COLUMNS = _runlog.LEGACY_COLUMNS
_ADDED = {  # table: the columns a legacy index lacks, as they are declared now
    "runlog": {"row_mac": "TEXT NOT NULL DEFAULT ''"},
    "artifacts": {"log_seq": "INTEGER NOT NULL DEFAULT 0", "log_head": "TEXT NOT NULL DEFAULT ''"},
}


def legacy_header(path: Path) -> bool:
    """True when the log file at ``path`` has the header of a log without signatures."""
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            return tuple(next(csv.reader(fh), ())) == LEGACY_COLUMNS
    except (OSError, UnicodeDecodeError, csv.Error):
        return False


def legacy_index(conn: sqlite3.Connection) -> bool:
    """True when the index's copy of the log has no signature column."""
    return "row_mac" not in _columns(conn, "runlog")


def adopt_legacy(start: Path | None) -> list[str]:
    """Bring a legacy project's log and index to the current layout; says what it changed
    (nothing for a current project). Refuses a legacy log whose chain is broken."""
    root = _find_root(Path(start or Path.cwd()).resolve())
    done = []
    log = root / _runlog.LOG_RELPATH
    if legacy_header(log):
        rows = _legacy_rows(log)
        _write_log(log, rows)
        done.append(f"{_runlog.LOG_RELPATH}: added the row_mac column to its {len(rows)} row(s)")
    index = root / INDEX_DIR / INDEX_FILE
    if index.is_file():
        conn = sqlite3.connect(index, isolation_level=None)
        try:
            for table, columns in _ADDED.items():
                have = _columns(conn, table)
                for column, declared in columns.items():
                    if have and column not in have:
                        conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declared}")
                        done.append(f"{INDEX_DIR}/{INDEX_FILE}: added {table}.{column}")
        finally:
            conn.close()
    return done


def _find_root(here: Path) -> Path:
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    raise ProjectError(f"no {CONFIG_FILE} in {here} or any parent folder", path=str(here))


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


def _legacy_rows(log: Path) -> list[dict[str, str]]:
    """The legacy log's rows with an empty signature, after checking that they chain."""
    csv.field_size_limit(_runlog.FIELD_LIMIT)
    with log.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        rows = [dict(zip(LEGACY_COLUMNS, values, strict=False)) for values in reader]
    prev = _runlog.GENESIS
    for position, cells in enumerate(rows, start=1):
        if (
            len(cells) != len(LEGACY_COLUMNS)
            or cells["seq"] != str(position)
            or cells["prev_hash"] != prev
            or _runlog.row_hash(prev, cells) != cells["row_hash"]
        ):
            raise IntegrityError(
                f"{_runlog.LOG_RELPATH}:{position + 1}: the legacy log's chain is broken there, "
                "so it is not adopted as it is; run `slate verify` after restoring the log",
                path=str(log),
            )
        prev = cells["row_hash"]
        cells["row_mac"] = ""
    return rows


def _write_log(log: Path, rows: list[dict[str, str]]) -> None:
    """Replace the log with the same rows in the current layout, all at once."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(_runlog.COLUMNS)
    writer.writerows([cells[c] for c in _runlog.COLUMNS] for cells in rows)
    tmp = log.parent.parent / INDEX_DIR / "tmp" / f"{log.name}.adopt"  # never a stray file
    tmp.parent.mkdir(parents=True, exist_ok=True)
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        fh.write(buf.getvalue())
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, log)
