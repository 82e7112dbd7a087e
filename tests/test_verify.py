"""`verify` finds every change made behind the store's back."""

from __future__ import annotations

import csv
import os

import pytest

from conftest import png
from filmslate import HardStop, Project


@pytest.fixture
def filled(project: Project) -> Project:
    for i in range(3):
        project.store.write("STORYBOARD", "S01_SH01", png(i))
    project.store.write("STORYBOARD", "S02_SH01", png(9))
    assert project.verify() == []
    return project


def _reasons(project: Project) -> list[str]:
    return [str(v) for v in project.verify()]


def _path(project: Project, name: str):
    return project.root / "production" / name


def test_edited_file(filled: Project) -> None:
    path = _path(filled, "STORYBOARD_S01_SH01_v002.png")
    os.chmod(path, 0o644)
    path.write_bytes(b"\x89PNG\r\n\x1a\nedited")
    os.chmod(path, 0o444)
    assert _reasons(filled) == [
        "production/STORYBOARD_S01_SH01_v002.png: content changed after it was written "
        "(sha256 mismatch)"
    ]


def test_deleted_file(filled: Project) -> None:
    _path(filled, "STORYBOARD_S01_SH01_v003.png").unlink()
    assert _reasons(filled) == [
        "production/STORYBOARD_S01_SH01_v003.png: missing from disk: deleted or renamed"
    ]


def test_chmod_writable(filled: Project) -> None:
    os.chmod(_path(filled, "STORYBOARD_S02_SH01_v001.png"), 0o664)
    assert any("is writable" in r for r in _reasons(filled))


def test_stray_files(filled: Project) -> None:
    (filled.root / "production" / "STORYBOARD_S01_SH01_v004.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (filled.root / "narrative" / "notes.txt").write_text("hello")
    (filled.root / "narrative" / "SCENES_final.csv").write_text("x")
    reasons = _reasons(filled)
    assert any("STORYBOARD_S01_SH01_v004.png: not in the index" in r for r in reasons)
    assert any("notes.txt: invalid artifact name" in r for r in reasons)
    assert any("SCENES_final.csv: invalid artifact name" in r for r in reasons)


def test_renamed_version(filled: Project) -> None:
    os.rename(
        _path(filled, "STORYBOARD_S01_SH01_v002.png"), _path(filled, "STORYBOARD_S01_SH01_v005.png")
    )
    reasons = _reasons(filled)
    assert any("v005.png: not in the index" in r for r in reasons)
    assert any("v002.png: missing from disk" in r for r in reasons)
    assert any(
        "STORYBOARD_S01_SH01: versions are not sequential: missing v002, v004" in r for r in reasons
    )


def test_file_in_the_wrong_layer(filled: Project) -> None:
    os.rename(
        _path(filled, "STORYBOARD_S02_SH01_v001.png"),
        filled.root / "narrative" / "STORYBOARD_S02_SH01_v001.png",
    )
    assert any("belong in production/" in r for r in _reasons(filled))


def _rewrite_log(project: Project, change) -> None:
    path = project.root / "logs" / "RUN_LOG_v001.csv"
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh))
    rows = change(rows)
    with path.open("w", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)


def test_edited_log_row_breaks_the_chain(filled: Project) -> None:
    def edit(rows):
        rows[2][rows[0].index("actual_cost")] = "0.000001"
        return rows

    _rewrite_log(filled, edit)
    assert any("RUN_LOG_v001.csv:3: hash chain broken" in r for r in _reasons(filled))


def test_removed_log_row(filled: Project) -> None:
    _rewrite_log(filled, lambda rows: rows[:2] + rows[3:])
    assert any("hash chain broken" in r or "seq" in r for r in _reasons(filled))


def test_truncated_log_is_caught_and_not_restored_quietly(filled: Project) -> None:
    _rewrite_log(filled, lambda rows: rows[:-1])
    log_lines = [r for r in _reasons(filled) if r.startswith("logs/")]
    # said once, with the rows it lost (a second line only counted them)
    assert len(log_lines) == 1 and "missing from the end of the log" in log_lines[0], log_lines
    # A row the CSV held and lost is tampering, not a crash between commit and the CSV
    # append: the next open does not put it back silently (tests/test_log_integrity.py).
    with Project(filled.root) as reopened:
        assert any("missing from the end of the log" in str(v) for v in reopened.verify())


def test_log_edited_at_its_end_stops_writes(filled: Project) -> None:
    def edit(rows):
        rows[-1][rows[0].index("notes")] = "rewritten history"
        rows[-1][-1] = "f" * 64
        return rows

    _rewrite_log(filled, edit)
    with Project(filled.root) as reopened:
        assert any("hash chain broken" in str(v) for v in reopened.verify())
        with pytest.raises(HardStop, match="missing log entry"):
            reopened.store.write("STORYBOARD", "S03_SH01", png())


def test_inconsistent_scene_padding(project: Project) -> None:
    project.store.write("STORYBOARD", "S01_SH01", png())
    project.store.write("STORYBOARD", "S100_SH01", png())
    assert any("padded inconsistently" in r for r in _reasons(project))


def test_a_log_row_longer_than_the_csv_default_field_limit_verifies(project) -> None:
    from filmslate.store._runlog import LogEntry, new_run_id

    inputs = ";".join(f"PROXY_S{n // 10:03d}_SH{n % 10 + 1:02d}_v001.mp4" for n in range(6000))
    assert len(inputs) > 131_072  # the csv module's default field limit
    project.store.log(LogEntry(run_id=new_run_id(), skill_name="assemble-cut", notes=inputs))
    assert project.verify() == []


def test_log_cells_the_csv_quotes_or_json_escapes_verify_and_edits_are_caught(project) -> None:
    """Verify reads a clean log without parsing it (the file is the index copy's rendering)
    and hashes rows in bulk when no cell needs escaping: cells that need quoting or escaping
    take the row-by-row way, and an edit to either copy is still found."""
    import sqlite3

    from filmslate.store._runlog import LOG_RELPATH, LogEntry, new_run_id

    odd = ['a, "quoted" note', "back\\slash", "tab\there", "ДОМ 李 ✓", "plain"]
    for note in odd:
        project.store.log(LogEntry(run_id=new_run_id(), skill_name="t", notes=note, target=note))
    project.store.write("STORYBOARD", "S01_SH01", png())
    assert project.verify() == []
    index = project.root / ".filmslate" / "index.sqlite"
    with sqlite3.connect(index) as conn:
        conn.execute("UPDATE runlog SET target = 'a, \"quoted\" note!' WHERE target LIKE 'a,%'")
    assert any("the index's copy of run-log row(s)" in r for r in _reasons(project))
    with sqlite3.connect(index) as conn:
        conn.execute("UPDATE runlog SET target = 'a, \"quoted\" note' WHERE target LIKE 'a,%'")
    assert project.verify() == []
    log = project.root / LOG_RELPATH
    log.write_text(log.read_text(encoding="utf-8").replace("ДОМ", "ДОМА"), encoding="utf-8")
    assert any("hash chain broken" in r for r in _reasons(project))


@pytest.mark.parametrize("seed", range(3))
def test_the_chain_hash_is_json_of_the_cells_whatever_they_hold(seed: int) -> None:
    """The bulk and joined hashing verify uses equals the chain's definition: sha256 of
    json.dumps([prev_hash, *cells], ensure_ascii=False)."""
    import hashlib
    import json
    import random

    from filmslate.store import _runlog

    rnd = random.Random(seed)
    alphabet = ["a", '"', "\\", "\n", "\r", "\x00", "\x1f", " ", ",", "é", "李", "\u2028", "\t"]
    rows = []
    for n in range(300):
        cells = {c: "".join(rnd.choices(alphabet, k=rnd.randint(0, 3))) for c in _runlog.COLUMNS}
        if n % 2:  # half the rows plain, so both ways run in one log
            cells = {c: f"v{n}" for c in _runlog.COLUMNS}
        body = [cells["prev_hash"]] + [cells[c] for c in _runlog.HASHED_COLUMNS]
        want = hashlib.sha256(json.dumps(body, ensure_ascii=False).encode()).hexdigest()
        assert _runlog.row_hash(cells["prev_hash"], cells) == want
        rows.append((tuple(cells[c] for c in _runlog.COLUMNS), want))
    assert _runlog.values_hashes([r for r, _ in rows]) == [h for _, h in rows]
    plain = [r for n, (r, _) in enumerate(rows) if n % 2]
    assert _runlog.values_hashes(plain) == [h for n, (_, h) in enumerate(rows) if n % 2]


def test_a_file_named_with_full_width_digits_is_named_as_such_not_as_in_the_wrong_folder(
    filled: Project,
) -> None:
    """A name that reads as an artifact's only once NFKC-normalised (S０1 for S01) is not
    one: verify said it belonged in the folder it was in."""
    from filmslate.store._verify import reindex

    odd = _path(filled, "STORYBOARD_S０1_SH01_v004.png")
    odd.write_bytes(png(7))
    reasons = [r for r in _reasons(filled) if "S０1" in r]
    assert len(reasons) == 1, reasons
    assert "'０' (U+FF10)" in reasons[0] and "only once normalised" in reasons[0]
    assert "belong in" not in reasons[0] and "move it out of the project" in reasons[0]
    assert not any("versions are not sequential" in r for r in _reasons(filled))
    skipped = reindex(filled.store, filled.config).not_indexed
    assert any("only once normalised" in s for s in skipped) and not any(
        "belong in" in s for s in skipped
    )


def test_a_gap_in_the_index_and_on_disk_alike_is_found(filled: Project) -> None:
    """With every file clean and none missing the index's own gaps stand for the disk's
    (found in SQL): a version deleted from both is still a gap."""
    import sqlite3

    path = _path(filled, "STORYBOARD_S01_SH01_v002.png")
    os.chmod(path, 0o644)
    path.unlink()
    with sqlite3.connect(filled.root / ".filmslate" / "index.sqlite") as conn:
        conn.execute("DELETE FROM artifacts WHERE name = 'STORYBOARD_S01_SH01_v002.png'")
    reasons = _reasons(filled)
    assert any(
        "STORYBOARD_S01_SH01: versions are not sequential: missing v002" in r for r in reasons
    ), reasons
