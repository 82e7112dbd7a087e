"""`slate cost --target E03` in a series of E01 and E02 (issue 16 §1, the episode's cost
review): a report on an episode the project does not have, or on a scene SCENES does not
hold, is refused in one line (exit 2) with nothing written, as `slate export --episode E03`
and the episode's edit plan are; the episodes it has still get theirs."""

from __future__ import annotations

from pathlib import Path

from conftest import run_slate
from filmslate.synthetic import synthetic_project
from filmslate.testing import scripted_runner
from filmslate.workflow._loops import run_loop

SCENES = """scene_id,summary,goal,conflict,outcome,location,time_of_day,characters_present
E01_S01,Mara lights the lamp.,Light it,The wick is wet,It burns,LAMP_ROOM,NIGHT,MARA
E02_S01,Mara walks the quay.,Find the boat,Nobody talks,Eli points,QUAY,DAY,MARA
"""
IDS = ("E01_S01", "E01_S02", "E02_S01", "E02_S02")


def _files(root: Path) -> dict[str, bytes]:
    """The project's files and its run log (the index, a cache, aside)."""
    files = (p for p in root.rglob("*") if p.is_file() and ".filmslate" not in p.parts)
    return {str(p.relative_to(root)): p.read_bytes() for p in files}


def _series(tmp_path: Path) -> Path:
    root = tmp_path / "series"
    run_slate("init", str(root), "--name", "series", check=True)
    for episode in ("E01", "E02"):
        run_slate("episode", "add", episode, "-C", str(root), check=True)
    table = tmp_path / "SCENES.csv"
    table.write_text(SCENES, encoding="utf-8")
    run_slate("add", str(table), "--reason", "two episodes", "-C", str(root), check=True)
    return root


def test_a_cost_review_of_a_target_the_project_lacks_is_refused(tmp_path: Path) -> None:
    root = _series(tmp_path)
    before = _files(root)
    for target, named in (("E03", "E03 is not an episode"), ("E01_S09", "E01_S09 is not in")):
        result = run_slate("cost", "--target", target, "-C", str(root))
        assert result.returncode == 2, result.stdout + result.stderr
        assert named in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "Traceback" not in result.stderr
        assert _files(root) == before  # no COST_REPORT_E03, no log row
    result = run_slate("cost", "--target", "E01", "-C", str(root), check=True)
    assert "of the E01 episode cap" in result.stdout or "COST_REPORT E01" in result.stdout
    assert (root / "governance" / "COST_REPORT_E01_v001.md").exists()


def test_an_episodes_spend_is_listed_without_an_episode_cap(tmp_path: Path) -> None:
    # `slate episode list` shows each episode's spend; with no [budget] episode_cap (it is
    # optional) the spend is still the episode's, its scenes' calls and its own
    root = tmp_path / "series"
    _, film = synthetic_project(root, 4, 1, ids=IDS)
    for episode in ("E01", "E02"):
        run_slate("episode", "add", episode, "-C", str(root), check=True)
    runner, _ = scripted_runner(root, film.answer, cost=0.01, worst_case=0.02)
    assert run_loop(runner, "narrative").passed
    runner.close()
    listed = run_slate("episode", "list", "-C", str(root), check=True).stdout
    # E01: character-psychology on its two scenes, then its own red team and audience
    assert "E01: 2 scene(s) E01_S01, E01_S02; spend 0.04 (no episode_cap)" in listed, listed
    assert "E02: 2 scene(s) E02_S01, E02_S02; spend 0.04 (no episode_cap)" in listed, listed


def test_a_sheet_import_of_scenes_that_do_not_fit_the_series_is_refused(tmp_path: Path) -> None:
    # `slate sheet import` stores SCENES as `slate add` does: the declared episodes' checks too
    root = _series(tmp_path)
    folder = tmp_path / "sheet"
    run_slate("sheet", "export", str(folder), "--format", "csv", "-C", str(root), check=True)
    table = folder / "SCENES.csv"
    header, first, second = table.read_text(encoding="utf-8").splitlines()
    before = _files(root)
    for rows, named in (
        ((second, first), "the episodes run E02, E01"),
        ((first, second.replace("E02_S01", "E03_S01")), "episode E03 is not declared"),
    ):
        table.write_text("\n".join((header, *rows)) + "\n", encoding="utf-8")
        result = run_slate("sheet", "import", str(folder), "-C", str(root))
        assert result.returncode == 2, result.stdout + result.stderr
        assert "tab SCENES" in result.stderr and named in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert _files(root) == before  # no SCENES_v002, and verify stays clean
    assert run_slate("verify", "-C", str(root)).returncode == 0
