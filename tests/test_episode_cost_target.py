"""`slate cost --target E03` in a series of E01 and E02 (issue 16 §1, the episode's cost
review): a report on an episode the project does not have, or on a scene SCENES does not
hold, is refused in one line (exit 2) with nothing written, as `slate export --episode E03`
and the episode's edit plan are; the episodes it has still get theirs."""

from __future__ import annotations

from pathlib import Path

from conftest import run_slate

SCENES = """scene_id,summary,goal,conflict,outcome,location,time_of_day,characters_present
E01_S01,Mara lights the lamp.,Light it,The wick is wet,It burns,LAMP_ROOM,NIGHT,MARA
E02_S01,Mara walks the quay.,Find the boat,Nobody talks,Eli points,QUAY,DAY,MARA
"""


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
