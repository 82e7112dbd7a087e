"""The spreadsheet spine (`slate sheet export` / `import`): the data tables as tabs.

A workbook (or a folder of CSVs, one per tab, for Google Sheets) holds SCENES, BREAKDOWN and
one SHOTLIST tab per scene, which a person may edit, and QC, COST and RUN_LOG, which are
read-only views (QC rows are written by qc-grader or a logged override, spend by the ledger,
the log by the system). A README tab explains the rules and carries the manifest: for every
tab the version it was made from and a digest of what was written.

Import reads the tabs back and stores each changed editable tab as the next version of its
artifact, through the schema every hand-added file passes (`slate add`): all tabs are checked
first and the new versions are published in one batch, so a refused cell imports nothing.
A tab whose artifact changed since the export is refused too (a person edited an old view).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..core._budget import CapState
from ..core._errors import SchemaError, UserError
from ..core._runlog_columns import RUN_LOG_SPEC_COLUMNS
from ..store import _runlog
from ..store._index import Record
from ..store._ledger import Ledger
from ..store._project import Project, manual_entry

README = "README"
MANIFEST_HEADER = ("tab", "source", "digest", "editable")
EDITABLE_KINDS = ("SCENES", "BREAKDOWN", "SHOTLIST")
LINE = re.compile(r"^line \d+: ")  # a file-level error's own line (schemas._base.fail)
DUPLICATE = re.compile(r"(duplicate (\w+) .*) on lines (\d+) and (\d+)")  # schemas._csv.unique
COST_HEADER = ("level", "scope", "cap", "settled", "reserved", "committed", "percent", "state")
RULES = (
    "filmslate data spine: one tab per table of the production.",
    "Editable: SCENES, BREAKDOWN and every SHOTLIST_<scene> tab. Change cells, keep the header "
    "row (SCENES may gain a story_position column) and the tab names, then run "
    "`slate sheet import FILE`.",
    "Each changed tab becomes the next version of its artifact, checked by the same schema as "
    "`slate add`; a refused cell names its tab, row and column, and nothing is imported.",
    "Lists in a cell are joined with ', ' (state_changes and continuity_risks with '; ').",
    "Read-only: QC (written by qc-grader or `slate override`), COST (the ledger) and RUN_LOG "
    "(the system). An edit there is refused; they show the production as it was exported.",
    "Work from a fresh export: a tab whose artifact has a newer version is refused.",
)


@dataclass
class Tab:
    """One tab: its header, its rows as text, and where it came from."""

    name: str
    header: tuple[str, ...]
    rows: list[list[str]]
    source: str = ""  # the artifact version it shows ('' for a view)
    kind: str = ""  # the artifact kind an editable tab imports as ('' = read-only)
    numeric: frozenset[str] = frozenset()
    record: Record | None = None
    # The spreadsheet row of each of ``rows`` (header = row 1): blank rows are dropped on
    # reading, so an error names the row the person sees. Empty: rows 2, 3, ... in order.
    row_numbers: tuple[int, ...] = ()

    @property
    def editable(self) -> bool:
        return bool(self.kind)

    def row_number(self, index: int) -> int:
        return self.row_numbers[index] if self.row_numbers else index + 2

    def digest(self) -> str:
        return _digest(self.header, self.rows)


@dataclass
class Workbook:
    """The tabs of one export, README first."""

    tabs: list[Tab] = field(default_factory=list)

    def readme(self) -> Tab:
        manifest = [
            [t.name, t.source, t.digest(), "yes" if t.editable else "no"] for t in self.tabs
        ]
        rows = [[line, "", "", ""] for line in RULES] + [["", "", "", ""], list(MANIFEST_HEADER)]
        return Tab(README, ("about", "", "", ""), rows + manifest)


@dataclass(frozen=True)
class Imported:
    """What an import stored (new versions) and what it left (unchanged tabs)."""

    stored: list[Record]
    unchanged: list[str]
    stale: list[str]


def workbook(project: Project) -> Workbook:
    """Every tab of the production as it stands."""
    book = Workbook(editable_tabs(project))
    book.tabs.append(_qc_tab(project))
    book.tabs.append(_cost_tab(project))
    book.tabs.append(_log_tab(project))
    return book


def editable_tabs(project: Project) -> list[Tab]:
    """The tabs a person may edit (the latest SCENES, BREAKDOWN and every SHOTLIST)."""
    store = project.store
    return [
        _artifact_tab(project, record)
        for kind_name in EDITABLE_KINDS
        for record in store.latest_of_each(kind_name)
    ]


def _artifact_tab(project: Project, record: Record) -> Tab:
    from ..schemas import schema_for

    cls = schema_for(record.name.kind)
    header, *rows = _csv_rows(project.store.read(record.name))
    stem = record.name.stem
    source = record.name.filename
    return Tab(stem, tuple(header), rows, source, record.name.kind, _numeric(cls), record)


def _qc_tab(project: Project) -> Tab:
    from ..schemas import QcBatch

    rows: list[list[str]] = []
    for record in project.store.latest_of_each("QC_BATCH"):
        rows.extend(_csv_rows(project.store.read(record.name))[1:])
    return Tab("QC", QcBatch.header(), rows)


def _cost_tab(project: Project) -> Tab:
    return Tab(
        "COST", COST_HEADER, [_cost_row(s) for s in Ledger(project.store, project.config).states()]
    )


def _cost_row(s: CapState) -> list[str]:
    money = (f"{v:.4f}" for v in (s.cap, s.settled, s.reserved, s.committed))
    return [s.level, s.scope, *money, f"{s.percent:.1f}", s.state]


def _log_tab(project: Project) -> Tab:
    rows = [[row[c] for c in RUN_LOG_SPEC_COLUMNS] for _, row in _runlog.read_csv(project.root)]
    return Tab("RUN_LOG", RUN_LOG_SPEC_COLUMNS, rows)


def _numeric(cls: type) -> frozenset[str]:
    """The columns that hold numbers (written as numbers, so the sheet can validate them)."""
    from ._spreadsheet_rules import column_rules

    return frozenset(name for name, rule in column_rules(cls).items() if rule.number)


# -- import ------------------------------------------------------------------------------


def import_tabs(project: Project, tabs: Sequence[Tab], origin: str) -> Imported:
    """Store every changed editable tab as a new version, all or nothing."""
    manifest = _manifest(tabs)
    # the editable tabs only: the read-only views are checked against the manifest, so an
    # import never reads the whole run log or every QC batch again
    current = {t.name: t for t in editable_tabs(project)}
    changes: list[tuple[Tab, bytes, Record]] = []
    unchanged: list[str] = []
    for tab in tabs:
        if tab.name == README:
            continue
        change = _check_tab(tab, manifest, current)
        if change is None:
            unchanged.append(tab.name)
        else:
            _fits_series(project, *change)
            changes.append(change)
    stored: list[Record] = []
    if changes:
        with project.store.batch() as batch:
            staged = [
                batch.add(
                    record.name.kind,
                    record.name.subject,
                    data,
                    inputs=[n.filename for n in project.store.lineage(record.name)],
                    entry=manual_entry(
                        origin, record.name.subject, f"edited in {origin}, tab {tab.name}"
                    ),
                )
                for tab, data, record in changes
            ]
        stored = [s.published for s in staged]
    return Imported(stored, unchanged, _stale(project, stored))


def _fits_series(project: Project, tab: Tab, data: bytes, record: Record) -> None:
    """An edited SCENES fits the declared episodes (issue 16), as `slate add` checks it."""
    from ..core._episodes import series_failures
    from ..schemas import Scenes

    if record.name.kind != "SCENES":
        return
    ids = [row.scene_id for row in Scenes.parse(data).rows]
    for problem in series_failures(ids, project.config.series.episodes)[:1]:
        raise UserError(f"tab {tab.name}: {problem} (nothing was imported)")


def _check_tab(
    tab: Tab, manifest: dict[str, tuple[str, str, bool]], current: dict[str, Tab]
) -> tuple[Tab, bytes, Record] | None:
    """The bytes to store for an edited tab, None when unchanged; refuses what cannot be."""
    if tab.name not in manifest:
        raise UserError(
            f"tab {tab.name}: not a tab of this export (its README lists {', '.join(manifest)}); "
            "rename it back or remove it"
        )
    source, digest, editable = manifest[tab.name]
    if not editable:
        if tab.digest() != digest:
            raise UserError(
                f"tab {tab.name} is read-only and was edited: undo the edit or delete the tab "
                "(QC rows come from qc-grader or `slate override`, COST from the ledger)"
            )
        return None
    now = current.get(tab.name)
    if now is None or now.source != source:
        newer = now.source if now else "no version"
        raise UserError(
            f"tab {tab.name} was exported from {source}, but the project now has {newer}: "
            "export again and redo the edit there"
        )
    _no_cells_outside(tab)
    # The header is the schema's to judge, as for `slate add`: SCENES may gain its optional
    # story_position column (a flashback); anything else is refused as row 1.
    return _parsed(tab, now)


def _no_cells_outside(tab: Tab) -> None:
    """A value typed right of the table (a column with no header) is named, not guessed at."""
    for index, name in enumerate(tab.header):
        rows = [tab.row_number(n) for n, r in enumerate(tab.rows) if index < len(r) and r[index]]
        if name.strip() or not rows:
            continue
        raise UserError(
            f"tab {tab.name}, row {rows[0]}, column {_letter(index)}: a cell outside the "
            "table (its column has no header); clear it and import again (nothing was imported)"
        )


def _parsed(tab: Tab, now: Tab) -> tuple[Tab, bytes, Record] | None:
    from ..schemas import schema_for

    cls = schema_for(now.kind)
    try:
        artifact = cls.parse(_csv_text(tab.header, tab.rows).encode("utf-8"))
    except SchemaError as exc:
        raise UserError(_cell_error(tab, exc)) from None
    data = artifact.render()
    before = cls.parse(_csv_text(now.header, now.rows).encode("utf-8")).render()
    if data == before or now.record is None:
        return None
    return tab, data, now.record


def _cell_error(tab: Tab, exc: SchemaError) -> str:
    """tab, row and column (letter and name) of every refused cell, and what to do."""
    problems = exc.context.get("errors") or [
        {"line": exc.context.get("line"), "field": "", "message": str(exc)}
    ]
    rows = _rows_by_line(tab)
    parts = []
    for problem in problems:
        column = str(problem.get("field") or "").rsplit(".", 1)[-1].split("[")[0]
        text = LINE.sub("", str(problem["message"]).split(": ", 1)[-1])  # the row says it
        duplicate = DUPLICATE.search(text)
        if duplicate:  # a table-wide check counts rows from 2: name the sheet's rows
            first, second = (tab.row_number(int(n) - 2) for n in duplicate.group(3, 4))
            text = f"{duplicate.group(1)} in rows {first} and {second}"
            column = column if column in tab.header else duplicate.group(2)
        where = [f"tab {tab.name}"]
        if problem.get("line"):
            where.append(f"row {rows.get(int(problem['line']), problem['line'])}")
        if column and column in tab.header:
            where.append(f"column {_letter(tab.header.index(column))} ({column})")
        parts.append(f"{', '.join(where)}: {text}")
    return "; ".join(parts) + "; fix the cell and import again (nothing was imported)"


def _rows_by_line(tab: Tab) -> dict[int, int]:
    """The CSV line a record ends on (what the schema's errors count, a cell with a line
    break spanning two) -> the spreadsheet row it came from."""
    reader = csv.reader(io.StringIO(_csv_text(tab.header, tab.rows), newline=""))
    next(reader, None)
    rows: dict[int, int] = {}
    for index, _ in enumerate(reader):
        rows[reader.line_num] = tab.row_number(index)  # line_num: where this record ended
    return rows


def _letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _manifest(tabs: Sequence[Tab]) -> dict[str, tuple[str, str, bool]]:
    readme = next((t for t in tabs if t.name == README), None)
    rows = readme.rows if readme else []
    start = next((i for i, r in enumerate(rows) if tuple(r[:4]) == MANIFEST_HEADER), None)
    if start is None:
        raise UserError(
            "the spreadsheet has no README tab with its manifest (tab, source, digest, "
            "editable): import a file written by `slate sheet export`"
        )
    return {r[0]: (r[1], r[2], r[3] == "yes") for r in rows[start + 1 :] if r and r[0]}


def _stale(project: Project, stored: Sequence[Record]) -> list[str]:
    """The current versions the new ones make stale (made from the version just replaced)."""
    store = project.store
    found: set[str] = set()
    for record in stored:
        previous = store.versions(record.name.kind, record.name.subject)[-2:-1]
        for old in previous:
            for name in store.dependents(old.name, transitive=True):
                latest = store.latest(name.kind, name.subject)
                if latest is not None and latest.name == name and store.is_stale(name):
                    found.add(name.filename)
    return sorted(found)


# -- text helpers ---------------------------------------------------------------------------


def _csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def _csv_text(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def _digest(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    return hashlib.sha256(_csv_text(header, rows).encode("utf-8")).hexdigest()[:16]


def write_csv(path: Path, tab: Tab) -> None:
    """One tab as a CSV file (the Google Sheets form)."""
    path.write_text(_csv_text(tab.header, tab.rows), encoding="utf-8")


def read_csv_tab(path: Path) -> Tab:
    """A tab back from its CSV file (named after the tab)."""
    try:
        # Excel's "CSV UTF-8" starts the file with a byte-order mark: not part of the header
        header, *rows = _csv_rows(path.read_bytes().removeprefix(codecs.BOM_UTF8)) or [[]]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise UserError(f"{path}: not a UTF-8 CSV file ({exc})") from None
    kept = [(n, r) for n, r in enumerate(rows, start=2) if any(c.strip() for c in r)]
    return Tab(
        path.stem, tuple(header), [r for _, r in kept], row_numbers=tuple(n for n, _ in kept)
    )
