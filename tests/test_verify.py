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
    assert any("rows but the index recorded" in r for r in _reasons(filled))
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
