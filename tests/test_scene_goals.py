"""scene-goals (issue 14 §5): an imported screenplay's scenes get a goal, a conflict and an
outcome (SPEC §5, story-architect's rule: every scene has all three), from the replay
provider's authored answers, through the real runner, store and orchestrator.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from conftest import run_slate
from filmslate import Project, UserError
from filmslate.engine._runner import Runner
from filmslate.engine._skill import REGISTRY
from filmslate.schemas import Premise, SceneRow, Scenes
from filmslate.skills._prompts import system_prompt
from filmslate.skills.narrative import SceneGoals
from filmslate.skills.narrative._scene_goals import missing_fields, weak_fields
from filmslate.workflow._importer import import_screenplay
from filmslate.workflow._orchestrator import Orchestrator

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "heist_at_the_lighthouse.fountain"
DEMO = ROOT / "examples" / "demo_short_film"
SCENES = [f"S0{n}" for n in range(1, 10)]
GOOD = {
    "goal": "Nell wants to carry the brass key up to the lamp room unseen",
    "conflict": "Gus keeps watch on the stairs while the storm rattles every door",
    "outcome": "Nell slips past Gus but the radio crackles and gives her away",
}


def answer(project: Path, name: str, output: dict[str, Any]) -> None:
    path = project / "replay" / "scene-goals" / "PROJECT" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(output))


@pytest.fixture
def imported(tmp_path: Path) -> Path:
    """The example screenplay imported: nine scenes, no goal, conflict or outcome."""
    with Project.init(tmp_path / "film", name="film") as project:
        import_screenplay(project, EXAMPLE)
        return project.root


def latest_scenes(project: Project) -> Scenes:
    record = project.store.latest("SCENES")
    assert record is not None
    scenes = project.store.load(record.name)
    assert isinstance(scenes, Scenes)
    return scenes


def runs_of(project: Project, skill: str) -> list[str]:
    """The outcomes of the skill's runs, in order."""
    rows = project.store.conn.execute(
        "SELECT outcome FROM runlog WHERE skill_name = ? AND event = 'run' ORDER BY seq",
        (skill,),
    )
    return [outcome for (outcome,) in rows]


def test_an_empty_field_fails_naming_the_scene_and_the_field_and_only_it_is_asked_again(
    imported: Path,
) -> None:
    answer(imported, "1.json", GOOD)  # every scene of the first attempt ...
    answer(imported, "1-4.json", {**GOOD, "outcome": ""})  # ... but S04 leaves one empty
    answer(imported, "2-1.json", {**GOOD, "outcome": "Jonah reaches the top of the stairs"})
    # no 2.json: a second question in the revision would find no answer and fail the test
    with Project(imported) as project:
        before = latest_scenes(project)
        result = Runner(project).run("scene-goals", "PROJECT")
        assert result.gate.passed and result.attempt == 2
        (first,) = result.earlier
        assert first[1].reasons == ("S04: the scene has no outcome",)
        after = latest_scenes(project)
        assert project.store.latest("SCENES").filename == "SCENES_v003.csv"  # type: ignore[union-attr]
        lineage = {str(n) for n in project.store.lineage("SCENES_v003.csv")}
    assert lineage == {f"SCRIPT_{s}_v001.txt" for s in SCENES}  # made from the screenplay
    assert all(not missing_fields(r) for r in after.rows)
    assert after.rows[3].outcome == "Jonah reaches the top of the stairs"
    for old, new in zip(before.rows, after.rows, strict=True):
        keep = ("scene_id", "summary", "location", "time_of_day", "characters_present")
        assert all(getattr(old, f) == getattr(new, f) for f in keep)


def test_a_vague_field_fails_too() -> None:
    scenes = Scenes(
        rows=[
            SceneRow(scene_id="S01", summary="x", location="HOUSE", **GOOD),
            SceneRow(scene_id="S02", summary="x", location="HOUSE", **{**GOOD, "goal": "TBD"}),
        ]
    )
    gate = SceneGoals().gate([scenes], None)  # type: ignore[arg-type]
    assert gate.verdict == "FAIL"
    assert gate.reasons[0].startswith("S02: the goal is vague")


def test_what_a_person_wrote_is_kept_and_only_gaps_are_asked(imported: Path) -> None:
    with Project(imported) as project:
        scenes = latest_scenes(project)
        rows = [r.model_copy(update=GOOD) if r.scene_id != "S02" else r for r in scenes.rows]
        rows[2] = rows[2].model_copy(update={"conflict": ""})
        project.store.write("SCENES", None, Scenes(rows=rows))
        rows[3] = rows[3].model_copy(update={"outcome": "TBD"})  # written, but vague
        asked = [r.scene_id for r in rows if weak_fields(r)]
        assert asked == ["S02", "S03", "S04"]
        answer(imported, "1.json", {**GOOD, "goal": "Gus wants the intruders out of his light"})
        result = Runner(project).run("scene-goals", "PROJECT")
        assert result.gate.passed
        after = latest_scenes(project).rows
    assert after[1].goal == "Gus wants the intruders out of his light"  # S02 was empty
    assert after[2].goal == GOOD["goal"]  # S03's goal was written: kept, only its gap filled
    assert after[2].conflict == GOOD["conflict"]
    assert after[3].outcome == GOOD["outcome"]  # the vague one replaced, at the first attempt
    assert [r.goal for r in after[3:]] == [GOOD["goal"]] * 6


def test_nothing_to_fill_is_refused_and_nothing_is_written(imported: Path) -> None:
    with Project(imported) as project:
        rows = [r.model_copy(update=GOOD) for r in latest_scenes(project).rows]
        project.store.write("SCENES", None, Scenes(rows=rows))
        with pytest.raises(UserError, match="nothing to fill"):
            Runner(project).run("scene-goals", "PROJECT")
        assert project.store.latest("SCENES").filename == "SCENES_v002.csv"  # type: ignore[union-attr]


def test_the_orchestrator_fills_imported_scenes_before_the_breakdown(imported: Path) -> None:
    answer(imported, "1.json", GOOD)
    with Project(imported) as project:
        outcome = Orchestrator(Runner(project)).run()
        assert outcome.status == "stopped" and outcome.skill == "script-breakdown"
        assert "no replay answer for script-breakdown" in outcome.reason  # the next step
        assert runs_of(project, "scene-goals") == ["PASS"]
        assert all(not missing_fields(r) for r in latest_scenes(project).rows)
        outcome = Orchestrator(Runner(project)).run()  # filled: never asked again
        assert runs_of(project, "scene-goals") == ["PASS"]


def test_story_architect_scenes_are_not_filled_again(tmp_path: Path) -> None:
    with Project.init(tmp_path / "film", name="film") as project:
        premise = Premise.parse((DEMO / "inputs" / "PREMISE.md").read_bytes())
        project.store.write("PREMISE", None, premise)
        story = project.root / "replay" / "story-architect"
        shutil.copytree(DEMO / "replay" / "story-architect", story)
        outcome = Orchestrator(Runner(project)).run()
        assert outcome.skill == "script-breakdown", outcome.reason
        assert runs_of(project, "story-architect") == ["PASS"]
        assert runs_of(project, "scene-goals") == []


def test_scene_goals_is_registered_with_its_prompt() -> None:
    skill = REGISTRY.get("scene-goals")
    assert skill is SceneGoals and skill.tier == "judgment" and skill.loop == "narrative"
    text = system_prompt("filmslate.skills.narrative", "scene-goals")
    assert all(part in text for part in ("ROLE", "PROCESS", "CHECKLIST"))


def test_the_slate_command_fills_then_refuses_to_fill_again(tmp_path: Path) -> None:
    run_slate("init", "film", cwd=tmp_path, check=True)
    root = tmp_path / "film"
    run_slate("import", str(EXAMPLE), cwd=root, check=True)
    answer(root, "1.json", GOOD)
    done = run_slate("run", "scene-goals", cwd=root, check=True)
    assert "PASS -> SCENES_v002.csv" in " ".join(done.stdout.split())
    again = run_slate("run", "scene-goals", "--force", cwd=root)
    assert again.returncode == 2 and "Traceback" not in again.stderr
    assert "nothing to fill" in again.stdout + again.stderr
    assert sorted(p.name for p in (root / "narrative").glob("SCENES_*")) == [
        "SCENES_v001.csv",
        "SCENES_v002.csv",
    ]
