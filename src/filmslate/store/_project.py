"""A project: the folder, its configuration and its store; the one object users open."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..core._config import CONFIG_FILE, Config, default_toml, load_config
from ..core._errors import IntegrityError, LockRefused, ProjectError, SchemaError, UserError
from ..core._gate import Gate
from ..core._kinds import load_kinds
from ..core._names import (
    LAYERS,
    LOCK_KINDS,
    SHEET_LOCKS,
    format_stem,
    parse_unversioned,
    target_fields,
)
from . import _runlog
from ._counts import ledger_disagreements
from ._derived import read_transaction
from ._store import Record, Store
from ._verify import Violation, verify

if TYPE_CHECKING:  # locks and schemas load when a lock is added, not to open a project
    from ..rules._locks import Lock


@dataclass(frozen=True)
class Status:
    """A cheap summary of a project, for `slate status`."""

    name: str
    root: Path
    counts: dict[str, tuple[int, int]]
    log_rows: int
    spend: float
    last_run: str
    problems: tuple[str, ...] = ()  # the index disagreeing with itself: run `slate verify`


class Project:
    """A production folder: config, store and run log."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self.config: Config = load_config(self.root / CONFIG_FILE)
        load_kinds()  # third-party kinds name files like built-in ones do
        self.store = Store(self.root)

    def close(self) -> None:
        """Release the index."""
        self.store.close()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @classmethod
    def init(cls, root: Path, name: str | None = None, title: str = "") -> Project:
        """Create a new project folder with the layer folders and a commented config."""
        root = Path(root)
        if (root / CONFIG_FILE).exists():
            raise ProjectError(f"{root} is already a filmslate project", path=str(root))
        if root.exists() and any(p.name in LAYERS for p in root.iterdir()):
            raise ProjectError(
                f"{root} already holds layer folders; pick an empty folder", path=str(root)
            )
        root.mkdir(parents=True, exist_ok=True)
        for layer in LAYERS:
            (root / layer).mkdir(exist_ok=True)
        project_name = name or root.resolve().name
        (root / CONFIG_FILE).write_text(default_toml(project_name, title), encoding="utf-8")
        project = cls(root)
        project.store.log(
            _runlog.LogEntry(
                run_id=_runlog.new_run_id(),
                skill_name="init",
                event="init",
                outcome="PASS",
                notes=f"project {project_name} created",
            )
        )
        return project

    @classmethod
    def find(cls, start: Path | None = None) -> Project:
        """Open the project containing ``start`` (default: the current folder)."""
        here = Path(start or Path.cwd()).resolve()
        for folder in (here, *here.parents):
            if (folder / CONFIG_FILE).is_file():
                return cls(folder)
        raise ProjectError(
            f"no {CONFIG_FILE} in {here} or any parent folder: create a "
            "project with `slate init DIR`, or pass --project DIR",
            path=str(here),
        )

    def add(self, file: Path, reason: str = "") -> Record:
        """Store a hand-written file as the next version of its artifact (manual mode)."""
        file = Path(file)
        if not file.is_file():
            raise ProjectError(f"{file} is not a file", path=str(file))
        k, subject = parse_unversioned(file.name)
        if k.name in LOCK_KINDS:  # locks pass their gate before they are stored
            return add_lock(self, file, reason)[0]
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise ProjectError(f"cannot read {file}: {exc}", path=str(file)) from None
        if k.name in ("SCENES", "BEATS"):
            self._check_series(k.name, file, data)
        entry = manual_entry(file.name, subject, reason)
        try:
            record = self.store.write(
                k.name, subject, data, inputs=self._drawn_from(k.name, subject), entry=entry
            )
        except SchemaError as exc:
            raise SchemaError(
                f"{file.name} does not match the {k.name} schema: {exc}", path=str(file)
            ) from None
        return record

    def _check_series(self, kind: str, file: Path, data: bytes) -> None:
        """A hand-written SCENES (its scene ids) or BEATS (the episodes of its Episode Beats)
        fits the declared episodes (issue 16), or nothing is written."""
        from ..core._episodes import beats_roster_failures, series_failures
        from ..schemas import Beats, Scenes

        declared = self.config.series.episodes
        try:
            if kind == "SCENES":
                ids = [row.scene_id for row in Scenes.parse(data).rows]
                problems = series_failures(ids, declared)
            else:
                given = [row.episode for row in Beats.parse(data).episode_beats]
                problems = beats_roster_failures(given, declared)
        except SchemaError:
            return  # the write names the schema problem
        for problem in problems[:1]:
            raise SchemaError(f"{file.name} was refused, nothing was written: {problem}")

    def _drawn_from(self, kind_name: str, subject: str | None) -> list[str]:
        """A person's reference sheet is drawn for its lock as it stands now (its lineage)."""
        lock = SHEET_LOCKS.get(kind_name)
        latest = self.store.latest(lock, subject) if lock else None
        return [latest.filename] if latest is not None else []

    def show(self, name: str) -> tuple[Record, bytes]:
        """A version (or the latest, when no version is given) and its verified bytes."""
        record = self.store.resolve(name)
        return record, self.store.read(record.name)

    def status(self) -> Status:
        """Counts and totals from the index only: constant work per kind and per cap.

        The counts and the spend the ledger's totals are checked against are running figures
        the index keeps on write (``_counts``), so nothing here grows with the versions or
        the log; a ledger that no longer adds up to the log rows beside it is named in
        ``problems`` rather than shown as if true.
        """
        conn = self.store.conn
        with read_transaction(conn):
            # Constant-cost lookups: the last row (seq counts rows) and the running totals.
            rows, last = conn.execute(
                "SELECT seq, timestamp FROM runlog ORDER BY seq DESC LIMIT 1"
            ).fetchone() or (0, "")
            spend = conn.execute(
                "SELECT coalesce(sum(settled), 0) FROM spend_totals WHERE level = 'project'"
            ).fetchone()[0]
            counts = self.store.counts()
            disagree = ledger_disagreements(conn)
        problems: tuple[str, ...] = ()
        if disagree:
            problems = (
                "the index's spend totals disagree with its run-log rows for "
                f"{', '.join(disagree[:5])}{' and more' if len(disagree) > 5 else ''}: the caps "
                "below are not to be trusted; run `slate verify`",
            )
        return Status(
            self.config.project.name, self.root, counts, rows, float(spend), last, problems
        )

    def verify(self) -> list[Violation]:
        """Every contract violation in the project."""
        return verify(self.store, self.config) + self._series_violations()

    def _series_violations(self) -> list[Violation]:
        """SCENES against the declared episodes: an episode removed from filmslate.toml while
        its scenes stay, say (read once: the latest SCENES only)."""
        from ..core._episodes import series_failures
        from ..schemas import Scenes

        latest = self.store.latest("SCENES")
        if latest is None:
            return []
        try:
            scenes = self.store.load(latest.name)
        except (UserError, IntegrityError):
            return []  # verify names a broken or changed artifact itself
        assert isinstance(scenes, Scenes)
        ids = [row.scene_id for row in scenes.rows]
        return [
            Violation(latest.name.relpath, f"{p} (filmslate.toml [series])")
            for p in series_failures(ids, self.config.series.episodes)
        ]


def manual_entry(
    file_name: str, subject: str | None, reason: str, note: str = ""
) -> _runlog.LogEntry:
    """The run-log row of an artifact a person wrote and added by hand (manual mode)."""
    fields = target_fields(subject or "")
    return _runlog.LogEntry(
        run_id=_runlog.new_run_id(),
        skill_name="manual",
        event="write",
        outcome="PASS",
        model_used="human",
        tier="manual",
        scene_id=fields["scene_id"],
        shot_id=fields["shot_id"],
        notes=reason or f"added by hand from {file_name}{note}",
    )


# -- adding a lock by hand: gated first, refused with every reason on FAIL -------------------


def check_lock_file(file: Path, config: Config) -> tuple[Lock, Gate]:
    """Parse a hand-written lock file (named like ``CHAR_ALEX_LOCK.txt``) and gate it."""
    from ..rules._locks import lock_gate
    from ..schemas import CharLock, SetLock, StyleLock, VoiceLock, schema_for

    file = Path(file)
    if not file.is_file():
        raise ProjectError(f"{file} is not a file", path=str(file))
    k, subject = parse_unversioned(file.name)
    if k.name not in LOCK_KINDS:
        raise UserError(
            f"{file.name} is a {k.name}, not a lock: `slate lock add` takes "
            "CHAR_/SET_/VOICE_/STYLE_<NAME>_LOCK.txt files (use `slate add` for "
            "other artifacts)",
            path=str(file),
        )
    try:
        lock = schema_for(k.name).parse(file.read_bytes())
    except SchemaError as exc:
        raise SchemaError(
            f"{file.name} does not match the {k.name} schema: {exc}", path=str(file)
        ) from None
    except OSError as exc:
        raise ProjectError(f"cannot read {file}: {exc}", path=str(file)) from None
    if lock.subject != subject:
        raise SchemaError(
            f"{file.name} is named for {subject} but its title says "
            f"{lock.subject}: make them agree",
            path=str(file),
        )
    assert isinstance(lock, CharLock | SetLock | VoiceLock | StyleLock)
    return lock, lock_gate(lock, config)


def add_lock(project: Project, file: Path, reason: str = "") -> tuple[Record, Gate]:
    """Gate a hand-written lock and store it as the next version; refuse it on FAIL.

    On FAIL nothing is written (no artifact, no log row) and ``LockRefused`` lists every
    reason. A lock identical to the latest version, which was itself added by hand, is not
    stored again: a new version would mark everything made from the old one stale for
    nothing.
    """
    lock, gate = check_lock_file(file, project.config)
    stem = format_stem(lock.KIND, lock.subject)
    if not gate.passed:
        listing = "\n".join(f"  - {r}" for r in gate.reasons)
        raise LockRefused(
            f"{Path(file).name} was refused: {stem} fails its gate "
            f"({len(gate.reasons)} problem(s)); nothing was written:\n{listing}",
            reasons=gate.reasons,
            path=str(file),
        )
    same = project.store.same_as_latest(lock.KIND, lock.subject, lock)
    if same is not None:
        return same, gate
    # The same log entry Project.add writes for a hand-added file, with the gate's verdict.
    entry = manual_entry(Path(file).name, lock.subject, reason, " (lock gate PASS)")
    return project.store.write(lock.KIND, lock.subject, lock, entry=entry), gate
