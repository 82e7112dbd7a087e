"""script-breakdown asks once per scene, and a revision re-asks only the failing scenes
(issue 14 §5): an imported 9-scene screenplay with one bad scene made 81 requests when every
revision re-asked all nine. Counted on the wire, against the local OpenAI-compatible server
(127.0.0.1 only), through the runner's real revise / escalate / hard-stop loop.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from conftest import SRC
from filmslate import HardStop, Project
from filmslate.engine._answers import CRASH_AFTER_ANSWER
from filmslate.engine._runner import Runner
from filmslate.schemas import Breakdown, Scenes
from filmslate.skills.narrative import ScriptBreakdown
from filmslate.skills.narrative._breakdown import scenes_to_ask
from filmslate.testing.openai_server import OpenAIServer
from filmslate.workflow._importer import import_screenplay
from test_text_timeouts import film, runner_on

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "heist_at_the_lighthouse.fountain"
SCENES = [f"S0{n}" for n in range(1, 10)]
BAD = "S05"


def asked_scene(body: dict[str, Any]) -> str:
    """Which scene a breakdown request asks about (its ``scene: Sxx`` line)."""
    found = re.search(r"scene: (S\d+)", json.dumps(body["messages"]))
    assert found, "not a script-breakdown request"
    return found.group(1)


def answer(body: dict[str, Any], bad: set[str]) -> dict[str, Any]:
    """A schema-valid answer that passes the gate, except for the scenes in ``bad`` (a lock
    requirement that names no lock, which only this scene's revision can fix)."""
    said = json.dumps(body["messages"])
    props = re.search(r"props: ([^\\]*?)\\n", said)
    listed = [p.strip() for p in props.group(1).split(";")] if props else []
    owners = [{"prop": p, "owner": "NELL"} for p in listed if p and p != "(none)"]
    return {
        "prop_owners": owners,
        "state_changes": ["the crew's position changes"],
        "continuity_risks": ["props carried between scenes stay with their holders"],
        "lock_requirements": ["the ghost of the lamp"] if asked_scene(body) in bad else [],
    }


def imported(tmp_path: Path, server: OpenAIServer) -> Path:
    root = film(tmp_path, server)
    with Project(root) as project:
        import_screenplay(project, EXAMPLE)
    return root


def first_round_bad(body: dict[str, Any]) -> dict[str, Any]:
    """S05 is bad the first time it is asked, good after."""
    first = "Revision: your previous answer failed" not in json.dumps(body["messages"])
    return answer(body, {BAD} if first else set())


def per_scene(server: OpenAIServer) -> list[str]:
    return [asked_scene(r.body) for r in server.completions()]


def test_one_bad_scene_is_the_only_one_asked_again(tmp_path: Path) -> None:
    with OpenAIServer(lambda body: answer(body, {BAD})) as server:
        root = imported(tmp_path, server)
        with runner_on(root) as runner, pytest.raises(HardStop):
            runner.run("script-breakdown", "PROJECT")
        asked = per_scene(server)
    # 3 tiers x (1 + max_revisions = 2) = 9 attempts: 9 questions, then S05 alone 8 times
    assert asked[:9] == SCENES
    assert asked[9:] == [BAD] * 8
    assert len(asked) == 17  # not 81


def test_a_fixed_scene_gives_one_breakdown_from_every_scenes_answer(tmp_path: Path) -> None:
    seen: list[str] = []

    def once_bad(body: dict[str, Any]) -> dict[str, Any]:
        seen.append(asked_scene(body))
        return answer(body, {BAD} if seen.count(BAD) == 1 else set())

    with OpenAIServer(once_bad) as server:
        root = imported(tmp_path, server)
        with runner_on(root) as runner:
            result = runner.run("script-breakdown", "PROJECT")
            failed = runner.store.load("BREAKDOWN_v002.csv")  # v001: the import's
            passed = runner.store.load(result.records[0].filename)
        assert per_scene(server) == [*SCENES, BAD]
    assert result.gate.passed and result.attempt == 2
    assert [a for a, _ in result.earlier] == [1]
    assert all(r.startswith(f"{BAD}:") for r in result.earlier[0][1].reasons)
    assert isinstance(failed, Breakdown) and isinstance(passed, Breakdown)
    # one version, a row per scene; the scenes that passed keep their answers' rows
    assert [r.scene_id for r in passed.rows] == SCENES
    keep = [(a, b) for a, b in zip(failed.rows, passed.rows, strict=True) if a.scene_id != BAD]
    assert all(a == b for a, b in keep)
    bad_row = next(r for r in failed.rows if r.scene_id == BAD)
    assert "THE_GHOST_OF_THE_LAMP" in bad_row.lock_requirements
    assert "THE_GHOST_OF_THE_LAMP" not in passed.rows[4].lock_requirements


def test_a_revision_in_a_new_process_does_not_pay_for_passed_scenes(tmp_path: Path) -> None:
    """Killed between attempts (the run log holds the FAIL): the next process asks S05 only."""
    with OpenAIServer(first_round_bad) as server:
        root = imported(tmp_path, server)
        with runner_on(root) as runner:
            first = runner.run_once("script-breakdown", "PROJECT")
        assert not first.gate.passed
        with runner_on(root) as runner:  # a new runner: nothing in memory
            result = runner.run("script-breakdown", "PROJECT")
        assert result.gate.passed and result.attempt == 2
        assert per_scene(server) == [*SCENES, BAD]


CRASHING_RUN = """
import dataclasses, sys
from pathlib import Path
from filmslate import Project
from filmslate.engine._gateway import Gateway
from filmslate.engine._runner import Runner, provider_settings
root = Path(sys.argv[1])
with Project(root) as project:
    runner = Runner(project, gateway=Gateway(root, provider_settings(project)))
    runner.run("script-breakdown", "PROJECT")
"""


def test_a_kill_after_the_answer_of_a_revision_does_not_pay_again(tmp_path: Path) -> None:
    """Attempt 2 is killed right after S05's new answer is recorded: the rerun takes it from
    the runner's answer book and the other eight from the kept answers; nothing is asked."""
    with OpenAIServer(first_round_bad) as server:
        root = imported(tmp_path, server)
        with runner_on(root) as runner:
            assert not runner.run_once("script-breakdown", "PROJECT").gate.passed
        env = {**os.environ, "PYTHONPATH": str(SRC), "FILMSLATE_CRASH_AT": CRASH_AFTER_ANSWER}
        killed = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(CRASHING_RUN), str(root)],
            env=env,
            capture_output=True,
            timeout=120,
        )
        assert killed.returncode == -9, killed.stderr
        assert per_scene(server) == [*SCENES, BAD]
        with runner_on(root) as runner:
            result = runner.run("script-breakdown", "PROJECT")
        assert result.gate.passed and result.attempt == 2
        assert per_scene(server) == [*SCENES, BAD]  # no request after the kill


def test_which_scenes_a_run_asks() -> None:
    scenes = Scenes.model_validate(
        {"rows": [{"scene_id": s, "summary": "x", "location": "HOUSE"} for s in SCENES[:3]]}
    )
    every = {"S01", "S02", "S03"}
    assert scenes_to_ask((), scenes) == every  # a first attempt asks every scene
    assert scenes_to_ask(("S02: undefined character GHOST",), scenes) == {"S02"}
    assert scenes_to_ask(("S02: a", "S09: gone since"), scenes) == {"S02"}
    # a note about no one scene goes in every scene's prompt: every scene is asked again
    assert scenes_to_ask(("S02: a", "the tone drifts"), scenes) == every


def test_the_skill_declares_it_keeps_answers() -> None:
    assert ScriptBreakdown.keeps_answers


def test_a_revision_by_handoff_hands_off_the_failing_scene_only(tmp_path: Path) -> None:
    """With a person answering (handoff), each run stops at the next unanswered question;
    the revision writes one task, for S05, and the eight answered scenes are not asked."""
    with Project.init(tmp_path / "film", name="film") as project:
        root = project.root
        import_screenplay(project, EXAMPLE)
    config = root / "filmslate.toml"
    config.write_text(config.read_text().replace('"replay:', '"handoff:'))
    tasks: list[tuple[str, str]] = []  # (task file, scene) in the order they were written
    for _ in range(20):
        with Project(root) as project:
            result = Runner(project).run("script-breakdown", "PROJECT")
        if result.status != "waiting":
            break
        task = json.loads(Path(result.task_path).read_text())
        scene = asked_scene({"messages": task["prompt"]})
        tasks.append((Path(result.task_path).name, scene))
        bad = {BAD} if task["task"] == "script-breakdown__PROJECT__1-5.task.json" else set()
        reply = answer({"messages": task["prompt"]}, bad)
        (Path(result.task_path).parent / task["answer_file"]).write_text(json.dumps(reply))
    assert result.gate.passed and result.attempt == 2
    assert tasks[:9] == [
        (f"script-breakdown__PROJECT__1{f'-{n}' if n > 1 else ''}.task.json", s)
        for n, s in enumerate(SCENES, 1)
    ]
    assert tasks[9:] == [("script-breakdown__PROJECT__2.task.json", BAD)]
