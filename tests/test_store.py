"""The store: versions, immutability, lineage, crash safety, concurrency, reindex."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from conftest import SRC, png
from filmslate import (
    ArtifactName,
    ArtifactNotFound,
    IntegrityError,
    Project,
    SchemaError,
    Store,
    reindex,
)


def test_versions_are_allocated_in_order_and_files_are_read_only(project: Project) -> None:
    first = project.store.write("STORYBOARD", "S01_SH01", png(1))
    second = project.store.write("STORYBOARD", "S01_SH01", png(2))
    assert (first.filename, second.filename) == (
        "STORYBOARD_S01_SH01_v001.png",
        "STORYBOARD_S01_SH01_v002.png",
    )
    path = project.root / "production" / second.filename
    assert not path.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    assert project.store.latest("STORYBOARD", "S01_SH01") == second
    assert [r.name.version for r in project.store.versions("STORYBOARD", "S01_SH01")] == [1, 2]
    assert project.store.read(first.name).startswith(b"\x89PNG")


def test_every_write_appends_a_chained_log_row(project: Project) -> None:
    rec = project.store.write("STORYBOARD", "S01_SH01", png())
    row = project.store.conn.execute(
        "SELECT artifact_sha256, event, prev_hash FROM runlog WHERE artifact_output = ?",
        (rec.filename,),
    ).fetchone()
    assert row[0] == rec.sha256 and row[1] == "write" and len(row[2]) == 64
    csv_text = (project.root / "logs" / "RUN_LOG_v001.csv").read_text()
    assert rec.filename in csv_text and rec.sha256 in csv_text


def test_the_store_has_no_way_to_overwrite_or_delete() -> None:
    public = {name for name in dir(Store) if not name.startswith("_")}
    assert not public & {"delete", "remove", "overwrite", "replace", "update", "unlink", "put"}


def test_a_file_in_the_way_is_never_overwritten(project: Project) -> None:
    project.store.write("STORYBOARD", "S01_SH01", png(1))
    squatter = project.root / "production" / "STORYBOARD_S01_SH01_v002.png"
    squatter.write_bytes(b"\x89PNG\r\n\x1a\nhand-made")
    with pytest.raises(IntegrityError, match="nothing was overwritten"):
        project.store.write("STORYBOARD", "S01_SH01", png(2))
    assert squatter.read_bytes() == b"\x89PNG\r\n\x1a\nhand-made"
    assert project.store.latest("STORYBOARD", "S01_SH01").name.version == 1


def test_reads_verify_the_hash(project: Project) -> None:
    rec = project.store.write("STORYBOARD", "S01_SH01", png())
    path = project.root / rec.name.relpath
    os.chmod(path, 0o644)
    path.write_bytes(b"\x89PNG\r\n\x1a\ntampered")
    with pytest.raises(IntegrityError, match="changed after it was written"):
        project.store.read(rec.name)


def test_bad_payloads_are_refused_and_nothing_is_written(project: Project) -> None:
    with pytest.raises(SchemaError, match=r"not a \.png"):
        project.store.write("STORYBOARD", "S01_SH01", b"GIF89a")
    assert project.store.latest("STORYBOARD", "S01_SH01") is None
    assert list((project.root / "production").iterdir()) == []


def test_lineage_dependents_and_staleness(project: Project) -> None:
    store = project.store
    board1 = store.write("STORYBOARD", "S01_SH01", png(1))
    proxy = store.write("PROXY", "S01_SH01", b"\0\0\0\x18ftypisom", inputs=[board1.filename])
    cut = store.write("CUT", "PROJECT", b"\0\0\0\x18ftypisom", inputs=[proxy.name])
    assert store.lineage(proxy.name) == [board1.name]
    assert store.dependents(board1.name) == [proxy.name]
    assert store.dependents(board1.name, transitive=True) == sorted([proxy.name, cut.name])
    assert not store.is_stale(proxy.name)
    board2 = store.write("STORYBOARD", "S01_SH01", png(2))
    assert store.is_stale(proxy.name)
    assert store.stale_inputs(proxy.name) == [(board1.name, board2.name)]
    with pytest.raises(ArtifactNotFound):
        store.write("PROXY", "S01_SH02", b"\0\0\0\x18ftyp", inputs=["STORYBOARD_S09_SH01_v001.png"])


def test_resolve_with_and_without_version(project: Project) -> None:
    project.store.write("STORYBOARD", "S01_SH01", png(1))
    two = project.store.write("STORYBOARD", "S01_SH01", png(2))
    assert project.store.resolve("STORYBOARD_S01_SH01") == two
    assert project.store.resolve("STORYBOARD_S01_SH01.png") == two
    assert project.store.resolve("STORYBOARD_S01_SH01_v001.png").name.version == 1
    with pytest.raises(ArtifactNotFound):
        project.store.resolve("STORYBOARD_S01_SH01_v009.png")


def _write_many(root: str, count: int) -> list[int]:
    with Project(Path(root)) as p:
        return [p.store.write("STORYBOARD", "S01_SH01", png(i)).name.version for i in range(count)]


def test_concurrent_processes_get_distinct_consecutive_versions(project: Project) -> None:
    with ProcessPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(_write_many, [str(project.root)] * 4, [15] * 4))
    versions = sorted(v for chunk in results for v in chunk)
    assert versions == list(range(1, 61))
    for chunk in results:
        assert chunk == sorted(chunk)
    assert project.verify() == []


CRASHER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from filmslate import Project
    with Project(Path(sys.argv[1])) as p:
        p.store.write("STORYBOARD", "S01_SH01", b"\\x89PNG\\r\\n\\x1a\\n" + b"crash")
""")


@pytest.mark.parametrize(
    "point,survives",
    [
        ("after_temp", False),
        ("after_intent", False),
        ("after_link", False),
        ("after_commit", True),
        ("before_csv", True),
    ],
)
def test_a_writer_killed_mid_write_leaves_a_consistent_project(
    project: Project, point: str, survives: bool
) -> None:
    project.store.write("STORYBOARD", "S01_SH01", png(1))
    env = {**os.environ, "PYTHONPATH": str(SRC), "FILMSLATE_CRASH_AT": point}
    proc = subprocess.run(
        [sys.executable, "-c", CRASHER, str(project.root)], env=env, capture_output=True
    )
    assert proc.returncode == -9
    with Project(project.root) as reopened:
        assert reopened.verify() == []
        latest = reopened.store.latest("STORYBOARD", "S01_SH01")
        assert latest.name.version == (2 if survives else 1)
        assert not any((reopened.root / ".filmslate" / "pending").iterdir())
        assert not any((reopened.root / ".filmslate" / "tmp").iterdir())
        nxt = reopened.store.write("STORYBOARD", "S01_SH01", png(3))
        assert nxt.name.version == (3 if survives else 2)
        assert reopened.verify() == []


def _tables(store: Store) -> dict[str, list[tuple[object, ...]]]:
    return {
        t: store.conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall()
        for t in ("artifacts", "lineage", "runlog")
    }


def test_reindex_rebuilds_an_equal_index(project: Project) -> None:
    store = project.store
    board = store.write("STORYBOARD", "S01_SH01", png(1))
    store.write("PROXY", "S01_SH01", b"\0\0\0\x18ftypisom", inputs=[board.name])
    store.write("STORYBOARD", "S01_SH01", png(2))
    before = _tables(store)
    count, rows, skipped, findings, stop_row = reindex(store, project.config)
    assert (count, skipped, findings, stop_row) == (3, [], [], 0)
    assert rows == len(before["runlog"])
    assert _tables(store) == before
    (project.root / ".filmslate" / "index.sqlite").unlink()
    for suffix in ("-wal", "-shm"):
        (project.root / ".filmslate" / f"index.sqlite{suffix}").unlink(missing_ok=True)
    with Project(project.root) as fresh:
        reindex(fresh.store, fresh.config)
        assert _tables(fresh.store) == before
        assert fresh.verify() == []


def test_artifact_name_objects_and_strings_are_interchangeable(project: Project) -> None:
    rec = project.store.write("STORYBOARD", "S01_SH01", png())
    assert project.store.record(str(rec.name)) == project.store.record(
        ArtifactName("STORYBOARD", "S01_SH01", 1)
    )
