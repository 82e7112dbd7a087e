"""`slate run` with no skill through the real command: it stops cleanly, saying why and what to
do, at a handoff wait and at a hard stop, and refuses options that only fit one skill."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import run_slate
from filmslate import Project
from filmslate.engine._stops import record_hard_stop
from filmslate.schemas import schema_for

PREMISE = {
    "title": "The Last Keeper",
    "logline": "A keeper relights a dead lighthouse.",
    "genre": "drama",
    "tone": "tense",
    "length": "short",
    "characters": ["NELL"],
}


@pytest.fixture
def film(tmp_path: Path) -> Path:
    root = tmp_path / "film"
    run_slate("init", str(root), check=True)
    source = tmp_path / "PREMISE.md"
    source.write_bytes(schema_for("PREMISE").model_validate(PREMISE).render())
    run_slate("add", str(source), "-C", str(root), check=True)
    return root


def test_a_handoff_wait_stops_the_run_and_says_how_to_go_on(film: Path) -> None:
    config = film / "filmslate.toml"
    config.write_text(config.read_text().replace('"replay:', '"handoff:'))
    result = run_slate("run", "-C", str(film))
    assert result.returncode == 3, result.stdout + result.stderr
    assert "waiting at story-architect on PROJECT" in result.stdout
    assert "slate submit" in result.stdout
    assert (film / "inbox" / "story-architect__PROJECT__1.task.json").is_file()
    assert not list((film / "narrative").glob("BEATS_*"))


def test_a_hard_stop_stops_the_run_with_the_way_out(film: Path) -> None:
    with Project(film) as project:
        record_hard_stop(
            project, "PROJECT", "gate", "story-architect FAIL: no climax", "story-architect"
        )
    result = run_slate("run", "-C", str(film))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "stopped at story-architect on PROJECT" in result.stdout
    assert "slate override PROJECT" in result.stdout


def test_a_missing_replay_answer_names_the_file_to_write(film: Path) -> None:
    result = run_slate("run", "-C", str(film))
    assert result.returncode == 1
    assert "no replay answer for story-architect PROJECT attempt 1" in result.stdout
    assert "replay/story-architect/PROJECT/1.json" in result.stdout


def test_options_that_name_a_target_need_a_skill(film: Path) -> None:
    result = run_slate("run", "--scene", "S01", "-C", str(film))
    assert result.returncode == 2 and "name a skill" in result.stderr
