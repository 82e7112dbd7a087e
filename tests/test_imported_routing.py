"""Red-team and audience findings on an imported screenplay (issue 14 §1): there is no
PREMISE, so story-architect cannot revise the structure. Findings that name scenes go to
scene-revision of those scenes, with the findings as its notes, bounded by
loops.max_revisions like every route; a finding that names no scene ends in a stop saying
what to do (revise the screenplay and re-import, then `slate override`), never a crash or a
silent loop. Through `slate import` and `slate run`, answered by the replay provider.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import run_slate
from filmslate import Project
from filmslate.engine._runner import Runner
from filmslate.schemas import Beats, Scenes
from filmslate.workflow._backward import LoopBack, open_loop_back, revise_open
from filmslate.workflow._orchestrator import Orchestrator, Stop
from test_breakdown_props import MOOD, PLAY, S01, S02
from test_runtime import BEATS

GOALS = {
    "goal": "Nell wants the boat in the water before the tide turns",
    "conflict": "the boat is heavy and the key is still missing",
    "outcome": "the boat floats, and Nell goes looking for the key",
}
HOLE = "S02: the brass key turns up on the jetty with no reason for it to be there"
LOOSE = "the story never says why the tide matters"
FIX = "Nell saw Gus drop the key on the jetty in the boathouse window"


def answer(root: Path, skill: str, target: str, name: str, output: dict[str, Any]) -> None:
    path = root / "replay" / skill / target / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(output))


def psych(character: str) -> dict[str, Any]:
    return {
        "characters": [
            {
                "character": character,
                "motivation_alignment": "She wants the boat out before the tide turns: it fits.",
                "emotional_continuity": "Angry and hurried, as the scene before left her.",
                "trauma_history_influence": "None shown in this scene.",
                "arc_progression_status": "Start of the arc: she acts alone.",
                "broken_lock_trait": "",
                "reaction_proportionate": True,
                "arc_change_has_catalyst": True,
                "drift_warning": "NO",
                "recommended_correction": "",
            }
        ],
        "knowledge_used": [],
    }


def red_team(*failures: str) -> dict[str, Any]:
    return {
        "critical_failures": [{"kind": "major plot hole", "description": f} for f in failures],
        "hidden_weaknesses": ["the jetty scene is short"],
        "coincidence_scan": [],
        "stakes_audit": "The tide gives a clock.",
        "tension_audit": "Tension rises from the boathouse to the jetty.",
        "thematic_consistency": "Holding on and letting go, throughout.",
        "fix_conservative": "Plant the key in the first scene.",
        "fix_structural": "Give Gus a scene where he loses the key.",
    }


def imported(tmp_path: Path, max_revisions: int = 2) -> Path:
    """The two-scene play imported, beats added by hand, every narrative step answered but
    the red team's (scene-goals, breakdown, psychology, scene-revision of S02)."""
    (tmp_path / "play.fountain").write_text(PLAY)
    run_slate("init", "film", cwd=tmp_path, check=True)
    root = tmp_path / "film"
    config = root / "filmslate.toml"
    text = config.read_text()
    assert "max_revisions = 2 " in text
    config.write_text(text.replace("max_revisions = 2 ", f"max_revisions = {max_revisions} ", 1))
    run_slate("import", str(tmp_path / "play.fountain"), cwd=root, check=True)
    (tmp_path / "BEATS.md").write_bytes(Beats(**BEATS).render())
    run_slate("add", str(tmp_path / "BEATS.md"), cwd=root, check=True)
    answer(root, "scene-goals", "PROJECT", "1.json", GOALS)
    answer(root, "script-breakdown", "PROJECT", "1-1.json", {**S01, "not_props": [MOOD]})
    answer(root, "script-breakdown", "PROJECT", "1-2.json", S02)
    for scene in ("S01", "S02"):
        answer(root, "character-psychology", scene, "1.json", psych("NELL"))
    answer(root, "scene-revision", "S02", "1.json", revised_jetty())
    return root


def revised_jetty() -> dict[str, Any]:
    return {
        "row": {
            "scene_id": "S02",
            "summary": f"Nell finds the brass key on the jetty. {FIX}.",
            "goal": "Nell wants the key Gus dropped before the tide takes it",
            "conflict": "the planks are slick and the key is at the edge",
            "outcome": "Nell holds up the key: the boat can go",
            "location": "JETTY",
            "time_of_day": "NIGHT",
            "characters_present": ["NELL"],
        },
        "script": "EXT. JETTY - NIGHT\n\nNell kneels where Gus stood and holds up a BRASS KEY.\n\n"
        "NELL\nFound it.",
        "changes": [FIX],
    }


def rows(root: Path, event: str, skill: str = "") -> list[tuple[str, str, str]]:
    with Project(root) as project:
        found = project.store.conn.execute(
            "SELECT skill_name, target, notes FROM runlog WHERE event = ? AND "
            "(? = '' OR skill_name = ?) ORDER BY seq",
            (event, skill, skill),
        )
        return [tuple(row) for row in found]


def audience(*confusions: str) -> dict[str, Any]:
    return {
        "reactions": {
            "mainstream_viewer": "Follows Nell to the water and wants the key found.",
            "genre_fan": "Enjoys the race against the tide.",
            "critical_viewer": "Notes the short second scene.",
        },
        "confusion_points": [{"description": c, "impairs_story": True} for c in confusions],
        "engagement_dips": [],
        "emotional_peaks": ["the key held up on the jetty"],
        "predictability": 3,
        "clarity": 4,
        "engagement": 4,
        "adjustments": [],
        "stakes_clear_after_act_one": True,
        "genre_mismatch": [],
    }


def latest(root: Path, kind: str, subject: str | None = None) -> tuple[str, list[str], Any]:
    """The latest version's file name, lineage and content."""
    with Project(root) as project:
        record = project.store.latest(kind, subject)
        assert record is not None
        lineage = [n.filename for n in project.store.lineage(record.name)]
        return record.filename, lineage, project.store.load(record.name)


def test_a_red_team_finding_naming_a_scene_revises_that_scene(tmp_path: Path) -> None:
    root = imported(tmp_path, max_revisions=1)
    answer(root, "narrative-red-team", "PROJECT", "1.json", red_team(HOLE))
    done = run_slate("run", "narrative", cwd=root)
    said = done.stdout + done.stderr
    assert done.returncode == 1 and "Traceback" not in said
    finding = f"major plot hole: {HOLE}"
    # the finding went to the scene it names, not to story-architect (no premise)
    assert rows(root, "loop_back") == [
        ("narrative-red-team", "PROJECT", f"to scene-revision on S02: {finding}")
    ]
    assert rows(root, "run", "story-architect") == []
    [(_, target, notes)] = rows(root, "run", "scene-revision")
    assert (target, notes) == ("S02", "")  # passed first time, the finding as its notes
    name, lineage, scenes = latest(root, "SCENES")
    assert isinstance(scenes, Scenes) and name == "SCENES_v003.csv"  # import, goals, revision
    assert FIX in scenes.rows[1].summary and FIX not in scenes.rows[0].summary
    assert "SCRIPT_S02_v001.txt" not in lineage  # the revised slice supersedes it
    name, lineage, script = latest(root, "SCRIPT", "S02")
    assert name == "SCRIPT_S02_v002.txt" and "Gus stood" in script.text
    # the story reran from the revised scene; the replayed red team still fails: past
    # loops.max_revisions (1 here) it is a hard stop, not another revision
    lines = said.splitlines()
    assert lines[5].startswith("narrative-red-team PROJECT: sent_back (")
    assert "-> scene-revision S02" in lines[5]
    assert "still FAILs after 1 revision(s) by scene-revision on S02" in lines[-2]
    assert len(rows(root, "run", "narrative-red-team")) == 2
    assert len(rows(root, "loop_back")) == 1
    # a red team satisfied by the revision, the stop lifted: the loop passes
    answer(root, "narrative-red-team", "PROJECT", "2.json", red_team())  # after its FAIL
    answer(root, "audience-simulator", "PROJECT", "1.json", audience())
    lifted = (
        "override",
        "PROJECT",
        "--reason",
        "the jetty scene was revised",
        "--cost-impact",
        "0",
    )
    run_slate(*lifted, cwd=root, check=True)
    again = run_slate("run", "narrative", cwd=root)
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.splitlines()[-1] == "narrative loop on PROJECT: PASS"
    assert len(rows(root, "run", "scene-revision")) == 1
    assert run_slate("verify", cwd=root).returncode == 0


def test_a_finding_naming_no_scene_stops_for_a_person(tmp_path: Path) -> None:
    root = imported(tmp_path)
    answer(root, "narrative-red-team", "PROJECT", "1.json", red_team())
    answer(root, "audience-simulator", "PROJECT", "1.json", audience(LOOSE))
    done = run_slate("run", "narrative", cwd=root)
    said = done.stdout + done.stderr
    assert done.returncode == 1 and "Traceback" not in said
    stop = said.splitlines()[-2]
    assert stop.startswith("audience-simulator PROJECT: stopped (audience-simulator on PROJECT ")
    assert f"FAILs on finding(s) that name no scene: confusion impairs the story: {LOOSE}" in stop
    assert "Revise the screenplay and `slate import` it again" in stop
    assert "`slate override PROJECT --reason ... --cost-impact 0`" in stop
    assert rows(root, "loop_back") == [] and rows(root, "run", "scene-revision") == []
    # a hard stop: running again asks (and pays) nobody until a person acts
    again = run_slate("run", "narrative", cwd=root)
    assert again.returncode == 1 and "hard stop (gate) on PROJECT" in again.stdout
    assert len(rows(root, "run", "audience-simulator")) == 1


def test_findings_naming_two_scenes_revise_each_once(tmp_path: Path) -> None:
    root = imported(tmp_path, max_revisions=1)
    other = "the boathouse scene (S1) never shows the tide"
    answer(root, "narrative-red-team", "PROJECT", "1.json", red_team(HOLE, other))
    script = PLAY.split("EXT. JETTY")[0].split("Title: The Key")[1].strip()
    tide = {"row": boathouse(), "script": f"{script}\n\nThe tide climbs.", "changes": ["tide"]}
    answer(root, "scene-revision", "S01", "1.json", tide)
    done = run_slate("run", "narrative", cwd=root)
    assert done.returncode == 1 and "Traceback" not in done.stdout + done.stderr
    assert [(t, n.split(":")[0]) for _, t, n in rows(root, "loop_back")] == [
        ("PROJECT", "to scene-revision on S01"),
        ("PROJECT", "to scene-revision on S02"),
    ]
    assert [t for _, t, _ in rows(root, "run", "scene-revision")] == ["S01", "S02"]
    # one round with two scenes is one revision against loops.max_revisions = 1
    assert "still FAILs after 1 revision(s)" in done.stdout


def boathouse() -> dict[str, Any]:
    return {
        "scene_id": "S01",
        "summary": "Nell drags the rowing boat to the water as the tide climbs the slipway.",
        "goal": "Nell wants the boat in the water before the tide turns",
        "conflict": "the boat is heavy and the key is still missing",
        "outcome": "the boat floats, and Nell goes looking for the key",
        "location": "BOATHOUSE",
        "time_of_day": "NIGHT",
        "characters_present": ["NELL"],
    }


def test_the_orchestrator_sends_each_named_scene_and_resumes_the_last(tmp_path: Path) -> None:
    """The orchestrator's own loop-back (what `slate run` does on a review FAIL): every scene
    but the last is revised at once, the last row is the open revision its next pass makes
    first (as a single route is, and as a resume after kill -9 does)."""
    root = imported(tmp_path)
    other = "the boathouse scene (S1) never shows the tide"
    answer(root, "narrative-red-team", "PROJECT", "1.json", red_team(HOLE, other))
    script = PLAY.split("EXT. JETTY")[0].split("Title: The Key")[1].strip()
    tide = {"row": boathouse(), "script": f"{script}\n\nThe tide climbs.", "changes": ["tide"]}
    answer(root, "scene-revision", "S01", "1.json", tide)
    with Project(root) as project:
        runner = Runner(project)
        for skill, target in (
            ("scene-goals", "PROJECT"),
            ("script-breakdown", "PROJECT"),
            ("character-psychology", "S01"),
            ("character-psychology", "S02"),
        ):
            assert runner.run(skill, target).gate.passed
        failed = runner.run("narrative-red-team", "PROJECT")
        assert failed.gate.route is not None and failed.gate.goes_upstream
        assert failed.gate.route.skill == "story-architect"  # what the gate asks for
        orchestrator = Orchestrator(runner)
        orchestrator.loop_back(LoopBack(failed, failed.gate.route))
        assert [t for _, t, _ in rows(root, "run", "scene-revision")] == ["S01"]
        route = open_loop_back(runner)
        assert route is not None and (route.skill, route.target) == ("scene-revision", "S02")
        assert route.findings == (f"major plot hole: {HOLE}",)
        assert revise_open(orchestrator)
        assert open_loop_back(runner) is None
        assert rows(root, "run", "story-architect") == []
    assert [t for _, t, _ in rows(root, "run", "scene-revision")] == ["S01", "S02"]
    name, _, scenes = latest(root, "SCENES")
    assert name == "SCENES_v004.csv" and "tide climbs" in scenes.rows[0].summary
    assert FIX in scenes.rows[1].summary


def test_the_orchestrator_stops_on_a_finding_naming_no_scene(tmp_path: Path) -> None:
    root = imported(tmp_path)
    answer(root, "narrative-red-team", "PROJECT", "1.json", red_team(LOOSE))
    with Project(root) as project:
        runner = Runner(project)
        for skill, target in (("scene-goals", "PROJECT"), ("script-breakdown", "PROJECT")):
            assert runner.run(skill, target).gate.passed
        for scene in ("S01", "S02"):
            assert runner.run("character-psychology", scene).gate.passed
        failed = runner.run("narrative-red-team", "PROJECT")
        assert failed.gate.route is not None
        with pytest.raises(Stop) as stop:
            Orchestrator(runner).loop_back(LoopBack(failed, failed.gate.route))
    assert stop.value.skill == "narrative-red-team" and stop.value.target == "PROJECT"
    assert "name no scene: major plot hole: the story never says" in stop.value.reason
    assert "`slate import` it again" in stop.value.reason
    assert rows(root, "loop_back") == []
    [(_, target, reason)] = rows(root, "hard_stop")
    assert target == "PROJECT" and LOOSE in reason
