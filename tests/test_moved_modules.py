"""Handoff task files on users' disks name their answer type as ``module:qualname``; files
written before the layer packages name the old flat modules, and must still be answered."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import run_slate
from filmslate.synthetic import SyntheticFilm

# Every answer type a pre-package task file could name (skills asked for these).
OLD_ANSWER_TYPES = [
    "filmslate.skills_narrative:StoryAnswer",
    "filmslate.skills_narrative:BreakdownAnswer",
    "filmslate.skills_narrative:PsychAnswer",
    "filmslate.skills_narrative:DialogueAnswer",
    "filmslate.skills_validation:ResearchAnswer",
    "filmslate.skills_validation:PlausibilityAnswer",
    "filmslate.skills_validation:CultureAnswer",
    "filmslate.skills_validation:RedTeamAnswer",
    "filmslate.skills_validation:AudienceAnswer",
    "filmslate.skills_qc:RubricAnswer",
    "filmslate.skills_supervisor:SupervisorAnswer",
]


@pytest.fixture(scope="module")
def waiting(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A handoff project whose story-architect task names the answer type's old module."""
    tmp_path = tmp_path_factory.mktemp("moved")
    root = tmp_path / "film"
    run_slate("init", str(root), check=True)
    config = root / "filmslate.toml"
    config.write_text(config.read_text().replace('"replay:', '"handoff:'))
    premise = tmp_path / "PREMISE.md"
    premise.write_bytes(SyntheticFilm(2, 1).premise().render())
    run_slate("add", str(premise), cwd=root, check=True)
    assert "waiting" in run_slate("run", "story-architect", cwd=root, check=True).stdout
    task = root / "inbox" / "story-architect__PROJECT__1.task.json"
    body = json.loads(task.read_text())
    assert body["output_type"].endswith(":StoryAnswer")
    body["output_type"] = "filmslate.skills_narrative:StoryAnswer"  # as an older slate wrote
    task.chmod(0o644)
    task.write_text(json.dumps(body))
    return root


@pytest.mark.parametrize("dotted", OLD_ANSWER_TYPES)
def test_every_old_answer_type_path_still_loads(waiting: Path, tmp_path: Path, dotted: str) -> None:
    task = waiting / "inbox" / "story-architect__PROJECT__1.task.json"
    body = json.loads(task.read_text())
    body["output_type"] = dotted
    task.write_text(json.dumps(body))
    answer = tmp_path / "story-architect__PROJECT__1.answer.json"
    answer.write_text("[]")  # valid for no model: refused after the type has loaded
    refused = run_slate("submit", str(answer), cwd=waiting)
    # The type loads, so the refusal is about the answer's fields, not a missing model.
    assert refused.returncode == 2
    assert "cannot load the output model" not in refused.stderr, refused.stderr
    assert "Traceback" not in refused.stderr
    assert not (waiting / "inbox" / answer.name).exists()


def test_an_old_task_file_is_answered_and_the_run_goes_on(waiting: Path, tmp_path: Path) -> None:
    """(Runs last in this file: it answers the task the other tests only probe.)"""
    task = waiting / "inbox" / "story-architect__PROJECT__1.task.json"
    body = json.loads(task.read_text())
    body["output_type"] = "filmslate.skills_narrative:StoryAnswer"
    task.write_text(json.dumps(body))
    answer = tmp_path / "story-architect__PROJECT__1.answer.json"
    answer.write_text(SyntheticFilm(2, 1).story().model_dump_json())
    done = run_slate("submit", str(answer), cwd=waiting, check=True)
    assert "PASS" in done.stdout
    assert (waiting / "narrative" / "BEATS_v001.md").is_file()
    assert (waiting / "narrative" / "SCENES_v001.csv").is_file()
