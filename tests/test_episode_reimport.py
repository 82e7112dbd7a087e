"""`slate import SCRIPT --episode E01` again after `slate run` filled the scenes (issue 16
§1): scene-goals writes each scene's goal, conflict and outcome into SCENES, so the latest
SCENES is no longer the import's. The same screenplay again still writes nothing: no SCENES
or BREAKDOWN that empties what the model filled and makes every scene of every episode stale
(a whole series redone, its shots rendered again, for an unchanged screenplay). A revised
screenplay still replaces the episode's scenes."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from conftest import run_slate
from test_episode_import import PILOT, SECOND, _script, _series, _tables


def _fill_goals(root: Path, folder: Path) -> None:
    """What scene-goals does, by hand: every scene's goal, conflict and outcome filled."""
    shown = run_slate("show", "SCENES", "-C", str(root), check=True).stdout
    rows = list(csv.DictReader(io.StringIO(shown)))
    for row in rows:
        row.update(goal="Nell wants the lamp lit", conflict="The storm", outcome="It burns")
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    table = folder / "SCENES.csv"
    table.write_text(out.getvalue(), encoding="utf-8")
    run_slate("add", str(table), "--reason", "goals", "-C", str(root), check=True)


def test_the_same_screenplay_again_after_a_run_writes_nothing(tmp_path: Path) -> None:
    root = _series(tmp_path / "series", "E01", "E02")
    pilot = _script(tmp_path, "e01.fountain", PILOT)
    run_slate("import", pilot, "--episode", "E01", "-C", str(root), check=True)
    second = _script(tmp_path, "e02.fountain", SECOND)
    run_slate("import", second, "--episode", "E02", "-C", str(root), check=True)
    _fill_goals(root, tmp_path)
    scenes, breakdown, version = _tables(root)

    again = run_slate("import", pilot, "--episode", "E01", "-C", str(root), check=True)
    assert "replaced" not in again.stdout, again.stdout
    now, breakdown_now, version_now = _tables(root)
    assert version_now == version and now == scenes and breakdown_now == breakdown
    assert [r.goal for r in now.rows] == ["Nell wants the lamp lit"] * 3  # kept

    revised = _script(tmp_path, "e01b.fountain", PILOT.replace("Hold the light", "Hold it"))
    done = run_slate("import", revised, "--episode", "E01", "-C", str(root), check=True)
    assert "E01's earlier scenes (E01_S01, E01_S02) are replaced" in done.stdout
    assert _tables(root)[2] == version + 1
