"""Tampering, one case at a time, through `slate verify` on a small real project.

Each case applies one change behind the store's back (to the index, the files or the folder
itself) and asserts that `slate verify` exits 1 naming the file and the reason, with no
traceback. Then: writes refuse links, reindex survives every state, status does not show a
false cap, and status reads running counts.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import png, run_slate
from filmslate import IntegrityError, Project
from filmslate.engine._override import record_override
from filmslate.store._ledger import Ledger
from filmslate.store._runlog import LogEntry

INDEX = ".filmslate/index.sqlite"
BOARD = "production/STORYBOARD_S01_SH01_v002.png"  # the latest version of its stem
PROXY = "production/PROXY_S01_SH01_v001.mp4"  # made from the board's v001
MP4 = b"\0\0\0\x18ftypisom"
CAPS = {"project_cap = 15000.0": "project_cap = 100.0", "shot_cap = 200.0": "shot_cap = 20.0"}


def _spend(ledger: Ledger, scene: str, shot: str, amount: float) -> None:
    hold = ledger.reserve("R-test", scene, shot, amount, "test call")
    entry = LogEntry(run_id="R-test", skill_name="test", scene_id=scene, shot_id=shot)
    ledger.settle(hold, amount, entry)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Boards, a proxy with lineage, spend at three levels, a warning and a budget override."""
    root = tmp_path_factory.mktemp("template") / "film"
    Project.init(root, name="film").close()
    config = root / "filmslate.toml"
    text = config.read_text()
    for old, new in CAPS.items():
        text = text.replace(old, new)
    config.write_text(text)
    with Project(root) as project:
        store = project.store
        first = store.write("STORYBOARD", "S01_SH01", png(1))
        store.write("STORYBOARD", "S01_SH01", png(2))
        store.write("PROXY", "S01_SH01", MP4, inputs=[first.name])
        ledger = Ledger(store, project.config)
        _spend(ledger, "S01", "S01_SH01", 18.5)  # shot cap 20: a warning at 18
        _spend(ledger, "S02", "", 60.0)
        with pytest.raises(Exception, match="cap for PROJECT would be exceeded"):
            ledger.reserve("R-big", "", "", 40.0, "big call")
        record_override(project, "PROJECT", "approved by the producer", 50.0)
        assert project.verify() == []
    return root


@pytest.fixture
def film(template: Path, tmp_path: Path) -> Path:
    root = tmp_path / "film"
    shutil.copytree(template, root, symlinks=True)
    return root


def sql(statement: str) -> Callable[[Path], None]:
    def tamper(root: Path) -> None:
        conn = sqlite3.connect(root / INDEX)
        with conn:
            conn.execute(statement)
        conn.close()

    return tamper


def replace_with_link(rel: str, to_copy: bool = True) -> Callable[[Path], None]:
    """Swap a file or folder for a symbolic link to an identical copy outside the project."""

    def tamper(root: Path) -> None:
        path = root / rel
        copy = root.parent / f"copy-of-{path.name}"
        if path.is_dir():
            shutil.copytree(path, copy)
            shutil.rmtree(path)
        else:
            shutil.copy2(path, copy)
            path.unlink()
        os.symlink(copy if to_copy else root.parent / "nowhere", path)

    return tamper


def link_in(rel: str, target: Callable[[Path], Path]) -> Callable[[Path], None]:
    return lambda root: os.symlink(target(root), root / rel)


def move(rel: str, to: str) -> Callable[[Path], None]:
    return lambda root: os.rename(root / rel, root / to)


def write(rel: str, data: bytes = b"hello") -> Callable[[Path], None]:
    def tamper(root: Path) -> None:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)

    return tamper


def hard_link(root: Path) -> None:
    os.link(root / BOARD, root.parent / "outside.png")


def fifo(root: Path) -> None:
    os.mkfifo(root / "production" / "STORYBOARD_S09_SH01_v001.png")


def layer_is_a_file(root: Path) -> None:
    shutil.rmtree(root / "narrative")
    (root / "narrative").write_text("not a folder")


def non_utf8_name(root: Path) -> None:
    fd = os.open(os.fsencode(root / "production") + b"/STORYBOARD_\xff_v001.png", os.O_CREAT)
    os.close(fd)


# (tampering, the path verify must name, a phrase of the reason)
CASES: dict[str, tuple[Callable[[Path], None], str, str]] = {
    "settled spend zeroed": (
        sql("UPDATE spend_totals SET settled = 0 WHERE level = 'project'"),
        INDEX,
        "spend_totals for the project cap PROJECT says settled 0.00 but the run log's "
        "spend rows add up to 78.50",
    ),
    "headroom raised": (
        sql("UPDATE spend_totals SET headroom = 1000 WHERE level = 'project'"),
        INDEX,
        "headroom 1000.00 but its budget overrides add up to 50.00",
    ),
    "settled zeroed and headroom raised (the issue's case)": (
        sql("UPDATE spend_totals SET settled = 0, headroom = 1000"),
        INDEX,
        "settled 0.00 but the run log's spend rows add up to 78.50; headroom 1000.00",
    ),
    "a scene's spend lowered": (
        sql("UPDATE spend_totals SET settled = 1 WHERE scope = 'S02'"),
        INDEX,
        "the scene cap S02 says settled 1.00 but the run log's spend rows add up to 60.00",
    ),
    "a hold forged": (
        sql("UPDATE spend_totals SET reserved = -500 WHERE level = 'project'"),
        INDEX,
        "reserved -500.00 but the open reservations hold 0.00",
    ),
    "a warning mark cleared": (
        sql("UPDATE spend_totals SET warned_at = '' WHERE scope = 'S01_SH01'"),
        INDEX,
        "shot cap S01_SH01 says warned_at '(none)' but the run log says",
    ),
    "a spend row deleted from the ledger": (
        sql("DELETE FROM spend_totals WHERE scope = 'S02'"),
        INDEX,
        "scene cap S02 says settled 0.00 but the run log's spend rows add up to 60.00",
    ),
    "lineage rows deleted": (
        sql("DELETE FROM lineage"),
        PROXY,
        "lineage in the index lost input(s) STORYBOARD_S01_SH01_v001.png",
    ),
    "a lineage row added": (
        sql(
            "INSERT INTO lineage VALUES ('PROXY_S01_SH01_v001.mp4', 'STORYBOARD_S01_SH01_v002.png')"
        ),
        PROXY,
        "has input(s) STORYBOARD_S01_SH01_v002.png its run-log row does not",
    ),
    "running counts edited": (
        sql("UPDATE kind_counts SET versions = 99 WHERE kind = 'STORYBOARD'"),
        INDEX,
        "kind_counts disagrees with the artifact rows for STORYBOARD",
    ),
    "running spend edited": (
        sql("UPDATE spend_mirror SET settled = 0"),
        INDEX,
        "spend_mirror disagrees with the run log",
    ),
    "the index's copy of a spend row edited": (
        sql("UPDATE runlog SET actual_cost = '0.000000' WHERE event = 'spend'"),
        INDEX,
        "the index's copy of run-log row(s)",
    ),
    "an artifact replaced by a link to an identical copy": (
        replace_with_link(BOARD),
        BOARD,
        "is a symbolic link to",
    ),
    "an artifact replaced by a dangling link": (
        replace_with_link(BOARD, to_copy=False),
        BOARD,
        "which does not exist",
    ),
    "a layer folder replaced by a link to an identical copy": (
        replace_with_link("production"),
        "production",
        "a layer folder must be a real folder in the project",
    ),
    "a link to a folder inside a layer folder": (
        link_in("production/STORYBOARD_S05_SH01_v001.png", lambda root: root / "narrative"),
        "production/STORYBOARD_S05_SH01_v001.png",
        "is a symbolic link to",
    ),
    "a dangling link inside a layer folder": (
        link_in("narrative/SCENES_v001.csv", lambda root: root / "gone.csv"),
        "narrative/SCENES_v001.csv",
        "which does not exist",
    ),
    "a link in the project root": (
        link_in("renders", lambda root: root.parent),
        "renders",
        "the project holds no links",
    ),
    "a hard link to an artifact": (hard_link, BOARD, "has 2 hard links"),
    "an artifact moved to another layer folder": (
        move(BOARD, "narrative/STORYBOARD_S01_SH01_v002.png"),
        "narrative/STORYBOARD_S01_SH01_v002.png",
        "STORYBOARD artifacts belong in production/",
    ),
    "the latest version deleted": (
        lambda root: (root / BOARD).unlink(),
        BOARD,
        "missing from disk",
    ),
    "a stray file in the project root": (
        write("notes.txt"),
        "notes.txt",
        "file is not part of the project",
    ),
    "a stray folder in the project root": (
        write("hidden/STORYBOARD_S01_SH01_v003.png", png(3)),
        "hidden",
        "folder is not part of the project",
    ),
    "a FIFO in a layer folder": (
        fifo,
        "production/STORYBOARD_S09_SH01_v001.png",
        "is not a regular file",
    ),
    "a layer folder replaced by a file": (
        layer_is_a_file,
        "narrative",
        "is not a folder: the layer folder was replaced",
    ),
    "a file name that is not UTF-8": (
        non_utf8_name,
        "production/STORYBOARD_\\xff_v001.png",
        "invalid artifact name",
    ),
    "a file name that looks like markup": (
        write("production/[bold]x[red].png"),
        "production/[bold]x[red].png",
        "invalid artifact name",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_verify_names_the_file_and_the_reason(film: Path, case: str) -> None:
    tamper, path, reason = CASES[case]
    tamper(film)
    result = run_slate("verify", cwd=film)
    assert "Traceback" not in result.stdout + result.stderr
    assert result.returncode == 1, result.stdout + result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("VIOLATION")]
    assert any(f"VIOLATION {path}: " in line and reason in line for line in lines), lines


# -- reindex in every state: no crash, and no tampering hidden ---------------------------------


@pytest.mark.parametrize(
    "case",
    [
        "the latest version deleted",
        "an artifact moved to another layer folder",
        "an artifact replaced by a link to an identical copy",
        "a layer folder replaced by a link to an identical copy",
        "a dangling link inside a layer folder",
        "a hard link to an artifact",
        "a FIFO in a layer folder",
        "a file name that is not UTF-8",
    ],
)
def test_reindex_survives_and_verify_still_reports(film: Path, case: str) -> None:
    tamper, path, _ = CASES[case]
    tamper(film)
    result = run_slate("reindex", cwd=film)
    assert "Traceback" not in result.stdout + result.stderr
    assert result.returncode == 0, result.stderr
    after = run_slate("verify", cwd=film)
    assert after.returncode == 1 and "Traceback" not in after.stdout + after.stderr
    assert f"VIOLATION {path}: " in after.stdout


def test_a_deleted_latest_version_stays_visible_after_reindex(film: Path) -> None:
    (film / BOARD).unlink()
    result = run_slate("reindex", cwd=film, check=True)
    assert "STORYBOARD_S01_SH01_v002.png: the run log records its write" in result.stdout
    after = run_slate("verify", cwd=film)
    assert after.returncode == 1
    assert f"VIOLATION {BOARD}: missing from disk: the run log records its write" in after.stdout


def test_reindex_repairs_every_derived_table(film: Path) -> None:
    for case in ("settled zeroed and headroom raised (the issue's case)", "lineage rows deleted"):
        CASES[case][0](film)
    sql("UPDATE kind_counts SET versions = 99")(film)
    sql("UPDATE spend_mirror SET settled = 0")(film)
    assert run_slate("verify", cwd=film).returncode == 1
    run_slate("reindex", cwd=film, check=True)
    assert run_slate("verify", cwd=film).returncode == 0


def test_reindex_keeps_lineage_when_a_later_row_names_the_artifact(film: Path) -> None:
    # A run's summary row names its first output with the same hash and no inputs; the
    # lineage comes from the row that published it.
    with Project(film) as project:
        rec = project.store.record("PROXY_S01_SH01_v001.mp4")
        project.store.log(
            LogEntry(
                run_id="R-run",
                skill_name="render",
                event="run",
                artifact_output=rec.filename,
                artifact_sha256=rec.sha256,
            )
        )
    run_slate("reindex", cwd=film, check=True)
    with Project(film) as project:
        assert [n.filename for n in project.store.lineage(rec.name)] == [
            "STORYBOARD_S01_SH01_v001.png"
        ]
        assert project.verify() == []


def test_the_allowed_folders_and_files_are_not_reported(film: Path) -> None:
    (film / "inbox" / "tasks").mkdir(parents=True)
    (film / "inbox" / "tasks" / "task.json").write_text("{}")
    (film / "replay" / "pitch").mkdir(parents=True)
    (film / "replay" / "pitch" / "any.json").write_text("{}")
    (film / ".git").mkdir()
    (film / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (film / ".gitignore").write_text(".filmslate/\n")
    (film / "skills" / "__pycache__").mkdir(parents=True)
    (film / "skills" / "mine.py").write_text("")
    (film / "skills" / "__pycache__" / "mine.cpython-311.pyc").write_bytes(b"")
    config = film / "filmslate.toml"
    config.write_text(config.read_text().replace("paths = []", 'paths = ["skills/mine.py"]'))
    with Project(film) as project:
        assert project.verify() == []
    (film / "skills" / "other.py").write_text("")
    with Project(film) as project:
        assert [str(v) for v in project.verify()] == [
            "skills/other.py: file is not part of the project: move it out of the project "
            "folder (a project holds filmslate.toml, the layer folders and the inbox and "
            "replay folders)"
        ]


# -- refused on write ---------------------------------------------------------------------------


def production_is_a_file(root: Path) -> None:
    shutil.rmtree(root / "production")
    (root / "production").write_text("not a folder")


@pytest.mark.parametrize(
    "tamper,what",
    [(replace_with_link("production"), "a symbolic link"), (production_is_a_file, "not a folder")],
)
def test_the_store_never_publishes_through_a_link_or_a_file(
    film: Path, tamper: Callable[[Path], None], what: str
) -> None:
    tamper(film)
    before = sorted(p.name for p in film.parent.iterdir())
    with Project(film) as project:
        rows = project.store.conn.execute("SELECT count(*) FROM runlog").fetchone()[0]
        with pytest.raises(IntegrityError, match=f"production is {what}: the store publishes"):
            project.store.write("STORYBOARD", "S07_SH01", png(7))
        assert project.store.conn.execute("SELECT count(*) FROM runlog").fetchone()[0] == rows
    assert not (film.parent / "copy-of-production" / "STORYBOARD_S07_SH01_v001.png").exists()
    assert sorted(p.name for p in film.parent.iterdir()) == before


def test_a_dangling_link_at_the_next_version_is_refused(film: Path) -> None:
    os.symlink(film.parent / "elsewhere.png", film / "production" / "STORYBOARD_S01_SH01_v003.png")
    with Project(film) as project, pytest.raises(IntegrityError, match="already exists"):
        project.store.write("STORYBOARD", "S01_SH01", png(3))
    assert not (film.parent / "elsewhere.png").exists()


def test_slate_add_through_a_linked_layer_folder_is_a_clean_error(
    film: Path, tmp_path: Path
) -> None:
    replace_with_link("production")(film)
    source = tmp_path / "STORYBOARD_S07_SH01.png"
    source.write_bytes(png(7))
    result = run_slate("add", str(source), cwd=film)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "production is a symbolic link" in result.stderr
    assert not (film.parent / "copy-of-production" / "STORYBOARD_S07_SH01_v001.png").exists()


# -- status: no false cap, running counts -------------------------------------------------------


def test_status_says_the_index_disagrees_instead_of_showing_a_false_cap(film: Path) -> None:
    clean = run_slate("status", cwd=film, check=True)
    assert "disagrees" not in clean.stdout
    CASES["settled zeroed and headroom raised (the issue's case)"][0](film)
    result = run_slate("status", cwd=film, check=True)
    assert "Traceback" not in result.stderr
    assert "the index's spend totals disagree with its run-log rows for PROJECT" in result.stdout
    assert "run `slate verify`" in result.stdout


def _status_steps(project: Project) -> int:
    """SQLite virtual-machine steps `Project.status` takes: a measure of its work that does
    not depend on the machine's speed."""
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0

    project.store.conn.set_progress_handler(count, 1)
    try:
        project.status()
    finally:
        project.store.conn.set_progress_handler(None, 1)
    return steps


def test_status_work_does_not_grow_with_the_versions(project: Project) -> None:
    from filmslate.core._names import ArtifactName
    from filmslate.store._index import Record, insert_record

    def add_versions(start: int, count: int) -> None:
        with project.store.transaction() as conn:
            for n in range(start, start + count):
                name = ArtifactName("STORYBOARD", f"S{n // 10 + 1:03d}_SH{n % 10 + 1:02d}", 1)
                insert_record(conn, Record(name, "0" * 64, 1, "R", "T"), [])

    add_versions(0, 200)
    small = _status_steps(project)
    add_versions(200, 4800)
    large = _status_steps(project)
    assert project.status().counts["STORYBOARD"] == (5000, 5000)
    assert large < small * 1.2, (small, large)


# -- no traceback for any filesystem state -----------------------------------------------------

NAMES = st.sampled_from(
    [
        "STORYBOARD_S01_SH01_v001.png",
        "STORYBOARD_S01_SH01_v009.png",
        "SCENES_v001.csv",
        "notes.txt",
        "x",
        "[red]",
        "sub",
    ]
)
KINDS = st.sampled_from(["file", "folder", "link", "dangling", "fifo", "unreadable"])
WHERE = st.sampled_from(["", "production", "narrative", "logs", "inbox", "production/sub"])


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.tuples(WHERE, NAMES, KINDS), min_size=1, max_size=4))
def test_no_filesystem_state_makes_verify_or_reindex_raise(
    template: Path, tmp_path_factory: pytest.TempPathFactory, entries: list
) -> None:
    root = tmp_path_factory.mktemp("fuzz") / "film"
    shutil.copytree(template, root, symlinks=True)
    for where, name, what in entries:
        folder = root / where
        path = folder / name
        if os.path.lexists(path) or not folder.is_dir() or folder.is_symlink():
            continue
        _make(path, what, root)
    with Project(root) as project:
        problems = project.verify()
        assert all(isinstance(str(p), str) for p in problems)
        from filmslate import reindex

        reindex(project.store, project.config)
        project.verify()


def _make(path: Path, what: str, root: Path) -> None:
    if what == "file":
        path.write_bytes(b"data")
    elif what == "folder":
        path.mkdir()
    elif what == "link":
        os.symlink(root / "filmslate.toml", path)
    elif what == "dangling":
        os.symlink(root / "missing", path)
    elif what == "fifo":
        os.mkfifo(path)
    else:
        path.write_bytes(b"secret")
        os.chmod(path, 0)
    assert stat.S_IFMT(os.lstat(path).st_mode)
