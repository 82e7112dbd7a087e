"""`slate run narrative` on an imported screenplay (issue 14 §5): there is no premise for
story-architect, so the loop starts as the orchestrator's story phase does: scene-goals
fills the imported scenes' goal, conflict and outcome, then script-breakdown and the rest.
Through the slate command, answered by the replay provider.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from conftest import run_slate
from filmslate import Project
from filmslate.schemas import Scenes
from test_breakdown_props import MOOD, PLAY, S01, S02

DEMO = Path(__file__).resolve().parents[1] / "examples" / "demo_short_film"
GOALS = {
    "goal": "Nell wants the boat in the water before the tide turns",
    "conflict": "the boat is heavy and the key is still missing",
    "outcome": "the boat floats, and Nell goes looking for the key",
}


def answer(root: Path, skill: str, name: str, output: dict[str, Any]) -> None:
    path = root / "replay" / skill / "PROJECT" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(output))


def imported(tmp_path: Path) -> Path:
    (tmp_path / "play.fountain").write_text(PLAY)
    run_slate("init", "film", cwd=tmp_path, check=True)
    root = tmp_path / "film"
    run_slate("import", str(tmp_path / "play.fountain"), cwd=root, check=True)
    return root


def runs_of(root: Path, skill: str) -> list[str]:
    with Project(root) as project:
        rows = project.store.conn.execute(
            "SELECT outcome FROM runlog WHERE skill_name = ? AND event = 'run' ORDER BY seq",
            (skill,),
        )
        return [outcome for (outcome,) in rows]


def test_an_imported_project_runs_scene_goals_instead_of_story_architect(
    tmp_path: Path,
) -> None:
    root = imported(tmp_path)
    answer(root, "scene-goals", "1.json", GOALS)
    answer(root, "script-breakdown", "1-1.json", {**S01, "not_props": [MOOD]})
    answer(root, "script-breakdown", "1-2.json", S02)
    first = run_slate("run", "narrative", cwd=root)
    said = first.stdout + first.stderr
    assert first.returncode == 1 and "Traceback" not in said  # stops: no psychology answers
    lines = said.splitlines()
    assert lines[:3] == [
        "story-architect PROJECT: skipped (no premise: the scenes were imported)",
        "scene-goals PROJECT: passed (attempt 1)",
        "script-breakdown PROJECT: passed (attempt 1)",
    ]
    assert "stopped at character-psychology on S01" in lines[-1]
    assert "no replay answer for character-psychology" in said
    with Project(root) as project:
        record = project.store.latest("SCENES")
        assert record is not None and record.filename == "SCENES_v002.csv"
        scenes = project.store.load(record.name)
    assert isinstance(scenes, Scenes)
    assert [r.goal for r in scenes.rows] == [GOALS["goal"]] * 2
    # run again: the goals are there, so scene-goals is not asked again (it would refuse)
    again = run_slate("run", "narrative", cwd=root)
    assert again.stdout.splitlines()[:2] == [
        "story-architect PROJECT: skipped (no premise: the scenes were imported)",
        "script-breakdown PROJECT: up_to_date",
    ]
    assert runs_of(root, "scene-goals") == ["PASS"]
    assert runs_of(root, "story-architect") == []


def test_a_project_with_a_premise_still_starts_with_story_architect(tmp_path: Path) -> None:
    run_slate("init", "film", cwd=tmp_path, check=True)
    root = tmp_path / "film"
    shutil.copy(DEMO / "inputs" / "PREMISE.md", tmp_path / "PREMISE.md")
    run_slate("add", str(tmp_path / "PREMISE.md"), cwd=root, check=True)
    shutil.copytree(DEMO / "replay" / "story-architect", root / "replay" / "story-architect")
    done = run_slate("run", "narrative", cwd=root)
    lines = (done.stdout + done.stderr).splitlines()
    assert lines[0] == "story-architect PROJECT: passed (attempt 1)"
    assert "scene-goals" not in done.stdout  # story-architect's scenes have all three
    assert "stopped at script-breakdown" in done.stdout
    assert runs_of(root, "scene-goals") == []
