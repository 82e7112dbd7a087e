"""The run log cannot be shortened or rewritten unnoticed (issue 11, Deliver 1).

Each case tampers with a project the way the probe did (through the files, as a user with a
text editor or a script would) and then drives the real `slate` command: `verify` must name
which rows are missing and how many, `reindex` must not make the project verify clean, and
the spend must not drop.
"""

from __future__ import annotations

import csv
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import png, run_slate
from filmslate import Project
from filmslate.store import _runlog
from filmslate.store._chain import KEY_ENV, SIGN_ENV
from filmslate.store._ledger import Ledger

LOG = "logs/RUN_LOG_v001.csv"
Rows = list[list[str]]


def _spend(project: Project, amount: float, shot: str = "S01_SH01") -> None:
    ledger = Ledger(project.store, project.config)
    res = ledger.reserve("R-render", "S01", shot, amount + 1, "render")
    entry = _runlog.LogEntry(run_id="R-render", skill_name="render", scene_id="S01", shot_id=shot)
    ledger.settle(res, amount, entry)


def _film(root: Path) -> Path:
    """A project with writes and two spends (7.50 then 2.25), closed."""
    with Project.init(root, name="tamper") as project:
        project.store.write("STORYBOARD", "S01_SH01", png(1))
        _spend(project, 7.5)
        project.store.write("STORYBOARD", "S01_SH01", png(2))
        _spend(project, 2.25, "S01_SH02")
        project.store.write("STORYBOARD", "S01_SH02", png(3))
    return root


@pytest.fixture
def film(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # no key of the user's
    return _film(tmp_path / "film")


def _edit_log(root: Path, change: Callable[[Rows], Rows], rechain: bool = False) -> None:
    """Rewrite the CSV's data rows; with ``rechain`` recompute seq and the hash chain, as a
    forger who read the code would (they cannot recompute a signature without the key)."""
    path = root / LOG
    with path.open(newline="") as fh:
        header, *body = list(csv.reader(fh))
    body = change(body)
    if rechain:
        prev = _runlog.GENESIS
        for seq, row in enumerate(body, start=1):
            cells = dict(zip(header, row, strict=True))
            cells.update(seq=str(seq), prev_hash=prev)
            cells["row_hash"] = prev = _runlog.row_hash(prev, cells)
            row[:] = [cells[c] for c in header]
    with path.open("w", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows([header, *body])


def _col(name: str) -> int:
    return _runlog.COLUMNS.index(name)


def _without_spend(amount: str) -> Callable[[Rows], Rows]:
    return lambda rows: [
        r for r in rows if not (r[_col("event")] == "spend" and r[_col("actual_cost")] == amount)
    ]


def _appended(rows: Rows) -> Rows:
    forged = list(rows[-1])
    forged[_col("event")], forged[_col("notes")] = "override", "a row nobody wrote"
    return [*rows, forged]


def _verify(root: Path, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = run_slate("verify", cwd=root, env=env)
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, " ".join(result.stdout.split())


def _spent(root: Path) -> float:
    with Project(root) as project:
        return project.status().spend


TAMPERING = {  # case: (tamper, what verify says, what the hard stop reindex records says)
    "last row deleted": (
        lambda r: _edit_log(r, lambda rows: rows[:-1]),
        "row 6 is missing from the end of the log (it was cut): 1 row(s): row 6 (write by "
        "store STORYBOARD_S01_SH02_v001.png)",
        "row 6 is missing from the end of the log",
    ),
    "cut in half": (
        lambda r: _edit_log(r, lambda rows: rows[:3]),
        "rows 4..6 are missing from the end of the log (it was cut): 3 row(s)",
        "rows 4..6 are missing from the end of the log",
    ),
    "log file deleted": (
        lambda r: (r / LOG).unlink(),
        "the log file is missing: the index holds its 6 row(s)",
        "the log file was deleted (6 row(s)",
    ),
    "spend row removed, chain recomputed": (
        lambda r: _edit_log(r, _without_spend("2.250000"), rechain=True),
        "from row 5 the log differs from the index's copy; missing from the log: 1 row(s): "
        "row 5 (spend by render S01_SH02, cost 2.25)",
        "missing from the log: 1 row(s): row 5 (spend by render S01_SH02, cost 2.25)",
    ),
    "row appended, chain recomputed": (
        lambda r: _edit_log(r, _appended, rechain=True),
        "in the log but never recorded by the index: 1 row(s): row 7 (override by store",
        "holds row 7 the index never recorded",
    ),
}


@pytest.mark.parametrize("case", sorted(TAMPERING))
def test_verify_names_the_missing_rows_and_reindex_does_not_clean_it(film: Path, case: str) -> None:
    spent = _spent(film)
    assert spent == pytest.approx(9.75)
    assert _verify(film) == (0, "clean: 3 artifact versions verified")
    tamper, before, after = TAMPERING[case]
    tamper(film)
    code, said = _verify(film)
    assert code == 1 and before in said, said
    result = run_slate("reindex", cwd=film)
    assert result.returncode == 0, result.stdout + result.stderr
    code, said = _verify(film)
    assert code == 1, said
    assert "reindex could not vouch for the log" in said and after in said, said
    assert "slate override PROJECT" in said
    assert _spent(film) == pytest.approx(spent)  # no spend was lost


def test_an_override_lifts_the_integrity_stop_and_the_log_is_whole_again(film: Path) -> None:
    _edit_log(film, _without_spend("2.250000"), rechain=True)
    run_slate("reindex", cwd=film, check=True)
    evidence = list((film / ".filmslate" / "evidence").glob("RUN_LOG_v001.*.csv"))
    assert len(evidence) == 1  # the rewritten log is kept, not destroyed
    forged = list(csv.reader(evidence[0].read_text(encoding="utf-8").splitlines()))
    assert [r[_col("actual_cost")] for r in forged if r[_col("event")] == "spend"] == ["7.500000"]
    lift = ("override", "PROJECT", "--reason", "forged by a test", "--cost-impact", "0")
    run_slate(*lift, cwd=film, check=True)
    assert _verify(film)[0] == 0
    with Project(film) as project:
        spends = [c for _, c in _runlog.read_csv(film) if c["event"] == "spend"]
        assert [s["actual_cost"] for s in spends] == ["7.500000", "2.250000"]
        assert project.status().spend == pytest.approx(9.75)


def test_a_crash_between_commit_and_mirroring_is_not_tampering(film: Path) -> None:
    """Rows committed but never mirrored (a kill before the CSV append) are put back."""
    with Project(film) as project, project.store.transaction() as conn:
        _runlog.append(conn, _runlog.LogEntry(run_id="R-late", skill_name="test"))
    assert _verify(film)[0] == 0
    assert [c["run_id"] for _, c in _runlog.read_csv(film)][-1] == "R-late"


def test_rows_removed_from_both_copies_are_caught_by_the_heads(film: Path) -> None:
    """A forger who cuts the CSV and the index's copy alike still leaves the index's head
    and the artifact records, which name rows past the new end."""
    _edit_log(film, lambda rows: rows[:3])
    with sqlite3.connect(film / ".filmslate" / "index.sqlite") as conn:
        conn.execute("DELETE FROM runlog WHERE seq > 3")
        conn.execute("UPDATE meta SET value = '3' WHERE key = 'csv_seq'")
    code, said = _verify(film)
    assert code == 1
    assert "the index recorded a log of 6 row(s)" in said
    assert "2 artifact(s) were written at log rows past its end (row 3)" in said
    run_slate("reindex", cwd=film, check=True)
    code, said = _verify(film)
    assert code == 1 and "rows 4..6 are missing from both" in said, said


def test_reindex_after_the_index_is_deleted_stays_clean(film: Path) -> None:
    """The documented use of reindex: nothing was tampered with, so nothing is reported."""
    for path in (film / ".filmslate").glob("index.sqlite*"):
        path.unlink()
    run_slate("reindex", cwd=film, check=True)
    assert _verify(film)[0] == 0
    assert _spent(film) == pytest.approx(9.75)


# -- the project key ----------------------------------------------------------------------------


def _signed_film(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv(SIGN_ENV, "1")
    root = _film(tmp_path / "film")
    monkeypatch.delenv(SIGN_ENV)
    return root


def test_init_with_signing_makes_a_key_outside_the_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _signed_film(tmp_path, monkeypatch)
    keys = list((tmp_path / "config" / "filmslate" / "keys").iterdir())
    assert len(keys) == 1 and keys[0].stat().st_mode & 0o777 == 0o600
    first = next(_runlog.read_csv(root))[1]
    assert keys[0].name == first["run_id"]  # the project id is the first row's run id
    assert json.loads(keys[0].read_text())["project"] == str(root.resolve())
    rows = [c for _, c in _runlog.read_csv(root)]
    assert all(len(c["row_mac"]) == 64 for c in rows)
    assert not any(root.rglob(keys[0].name))  # the key never enters the project folder
    assert _verify(root)[0] == 0


def test_a_rewrite_without_the_key_is_caught_even_when_the_index_goes_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The strongest forger without the key: rewrite the CSV, recompute the chain, delete
    the index, reindex. Only the signatures are left to tell, and they do."""
    root = _signed_film(tmp_path, monkeypatch)
    _edit_log(root, _without_spend("7.500000"), rechain=True)
    for path in (root / ".filmslate").glob("index.sqlite*"):
        path.unlink()
    run_slate("reindex", cwd=root, check=True)
    code, said = _verify(root)
    assert code == 1
    assert "rows 3..5 (3 row(s)) are not signed by the project key" in said, said


def test_without_the_key_a_signed_log_still_verifies_by_its_chain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _signed_film(tmp_path, monkeypatch)
    other = {"XDG_CONFIG_HOME": str(tmp_path / "elsewhere")}  # another machine: no key
    assert _verify(root, other)[0] == 0
    _edit_log(root, lambda rows: rows[:-1])
    assert "row 6 is missing" in _verify(root, other)[1]


def test_a_key_in_the_environment_signs_and_checks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv(KEY_ENV, "correct horse battery staple")
    root = _film(tmp_path / "film")
    assert _verify(root, {KEY_ENV: "correct horse battery staple"})[0] == 0
    code, said = _verify(root, {KEY_ENV: "another key"})
    assert code == 1 and "rows 1..6 (6 row(s)) are not signed" in said


def test_a_log_rewritten_from_its_first_row_cannot_shed_its_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Changing the first row's run id (the key file's name) does not hide the key: a key
    file made for this folder is used."""
    root = _signed_film(tmp_path, monkeypatch)

    def new_id(rows: Rows) -> Rows:
        rows[0][_col("run_id")] = "R20000101T000000-000000"
        return rows

    _edit_log(root, new_id, rechain=True)
    for path in (root / ".filmslate").glob("index.sqlite*"):
        path.unlink()
    run_slate("reindex", cwd=root, check=True)
    code, said = _verify(root)
    assert code == 1 and "rows 1..6 (6 row(s)) are not signed" in said


def test_an_edited_index_head_is_caught_with_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _signed_film(tmp_path, monkeypatch)
    with sqlite3.connect(root / ".filmslate" / "index.sqlite") as conn:
        head = conn.execute("SELECT value FROM meta WHERE key = 'log_head'").fetchone()[0]
        rows, digest, _ = head.split(":")
        conn.execute("UPDATE meta SET value = ? WHERE key = 'log_head'", (f"{rows}:{digest}:",))
    code, said = _verify(root)
    assert code == 1 and "the index's log head is not signed by the project key" in said


def test_signing_costs_one_hmac_per_row(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The log head is O(1) per write: appending reads the last row only, never the log."""
    root = _signed_film(tmp_path, monkeypatch)
    with Project(root) as project:
        statements: list[str] = []
        project.store.conn.set_trace_callback(statements.append)
        project.store.write("STORYBOARD", "S02_SH01", png(7))
        project.store.conn.set_trace_callback(None)
    reads = [s for s in statements if "FROM runlog" in s]
    assert reads and all("LIMIT 1" in s or "row_hash =" in s or "seq >" in s for s in reads)


def test_reindex_gives_every_artifact_the_head_of_its_own_write(film: Path) -> None:
    """A later row may name an artifact (a run's summary row); the head stays its write's."""
    with Project(film) as project:
        rec = project.store.record("STORYBOARD_S01_SH02_v001.png")
        project.store.log(
            _runlog.LogEntry(
                run_id="R-run",
                skill_name="render",
                artifact_output=rec.filename,
                artifact_sha256=rec.sha256,
            )
        )
        heads = "SELECT name, log_seq, log_head FROM artifacts ORDER BY name"
        before = project.store.conn.execute(heads).fetchall()
        assert [seq for _, seq, _ in before] == [2, 4, 6]
        run_slate("reindex", cwd=film, check=True)
        assert project.store.conn.execute(heads).fetchall() == before


def _link_elsewhere(root: Path) -> None:
    (root / LOG).rename(root.parent / "elsewhere.csv")
    (root / LOG).symlink_to(root.parent / "elsewhere.csv")


NOT_A_LOG = {
    "a folder in its place": lambda r: ((r / LOG).unlink(), (r / LOG).mkdir()),
    "a symbolic link to a copy outside": _link_elsewhere,
    "bytes that are no text": lambda r: (r / LOG).write_bytes(b"\x92\xff" * 200),
    "a changed header": lambda r: (r / LOG).write_text("a,b,c\n1,2,3\n"),
}


@pytest.mark.parametrize("case", sorted(NOT_A_LOG))
def test_a_log_that_is_no_log_is_set_aside_and_restored(film: Path, case: str) -> None:
    NOT_A_LOG[case](film)
    outside = film.parent / "elsewhere.csv"
    before = outside.read_bytes() if outside.exists() else b""
    for command in ("status", "verify"):
        result = run_slate(command, cwd=film)
        assert "Traceback" not in result.stderr, result.stderr
    assert _verify(film)[0] == 1
    run_slate("reindex", cwd=film, check=True)
    code, said = _verify(film)
    assert code == 1 and "reindex could not vouch for the log" in said and "kept as" in said
    assert (film / LOG).is_file() and not (film / LOG).is_symlink()
    assert len(list(_runlog.read_csv(film))) == 7  # the 6 rows and the hard stop
    assert (outside.read_bytes() if outside.exists() else b"") == before  # never written through
    assert _spent(film) == pytest.approx(9.75)


def test_a_key_that_cannot_be_created_is_a_one_line_error(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text("not a folder")  # the keys folder cannot be made under a file
    env = {"XDG_CONFIG_HOME": str(config), SIGN_ENV: "1"}
    result = run_slate("init", str(tmp_path / "film"), env=env)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "cannot create the project key" in result.stdout + result.stderr


def test_reindex_prints_what_it_could_not_vouch_for_apart_from_files_not_indexed(
    film: Path,
) -> None:
    """What reindex could not vouch for in the log is a hard stop, not a file left out:
    it was printed under "not indexed"."""
    (film / LOG).unlink()
    result = run_slate("reindex", cwd=film, check=True)
    said = result.stdout
    assert "not indexed" not in said, said
    assert "log not vouched for the log file was deleted" in " ".join(said.split()), said
    assert "recorded as a hard stop (log row 7)" in said
    assert "slate override PROJECT" in said


def _make_legacy(root: Path) -> None:
    """The layout before rows were signed: no row_mac in the CSV or the index, no log
    heads on the artifact records."""
    import sqlite3

    with (root / LOG).open(newline="") as fh:
        rows = list(csv.reader(fh))
    at = rows[0].index("row_mac")
    with (root / LOG).open("w", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(r[:at] + r[at + 1 :] for r in rows)
    conn = sqlite3.connect(root / ".filmslate" / "index.sqlite")
    for table, column in (
        ("runlog", "row_mac"),
        ("artifacts", "log_seq"),
        ("artifacts", "log_head"),
    ):
        conn.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    conn.commit()
    conn.close()


def test_a_log_made_before_rows_were_signed_is_refused_with_the_way_forward(film: Path) -> None:
    """Such a project was refused with a traceback (no such column: row_mac) and nothing
    could open it; it is told how to adopt it, and adopting keeps every row and the spend."""
    spent = _spent(film)
    before = [r for r in csv.reader((film / LOG).read_text(encoding="utf-8").splitlines())]
    _make_legacy(film)
    for command in ("status", "verify", "reindex"):
        result = run_slate(command, cwd=film)
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
        assert "slate reindex --adopt-legacy" in result.stderr + result.stdout
    result = run_slate("reindex", "--adopt-legacy", cwd=film, check=True)
    assert "added the row_mac column to its 6 row(s)" in result.stdout, result.stdout
    assert _verify(film) == (0, "clean: 3 artifact versions verified")
    assert _spent(film) == pytest.approx(spent)
    after = [r for r in csv.reader((film / LOG).read_text(encoding="utf-8").splitlines())]
    assert after == before  # the same rows, in today's layout
    assert "nothing to adopt" in run_slate("reindex", "--adopt-legacy", cwd=film).stdout


def test_a_legacy_log_with_a_broken_chain_is_not_adopted(film: Path) -> None:
    _make_legacy(film)
    text = (film / LOG).read_text(encoding="utf-8")
    (film / LOG).write_text(text.replace("7.500000", "0.500000", 1), encoding="utf-8")
    result = run_slate("reindex", "--adopt-legacy", cwd=film)
    assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr
    assert "chain is broken" in result.stderr + result.stdout
    assert (film / LOG).read_text(encoding="utf-8").startswith("seq,run_id")
    assert "row_mac" not in (film / LOG).read_text(encoding="utf-8").splitlines()[0]
