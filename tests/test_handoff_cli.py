"""The handoff round trip through the real `slate` command: run -> waiting -> submit ->
gate -> next step, with a project-local skill file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import run_slate

SKILLS = """
from typing import Any, ClassVar
from filmslate import Context, Gate, Need, Skill
from filmslate.schemas import Beats, Premise


class Pitch(Skill):
    name: ClassVar[str] = "pitch"
    layer: ClassVar[Any] = "narrative"
    tier: ClassVar[Any] = "judgment"
    produces: ClassVar[tuple[str, ...]] = ("PREMISE",)

    def produce(self, ctx: Context) -> list[Any]:
        return [ctx.ask(Premise, "You pitch short films.", "Pitch one about a lighthouse.")]

    def gate(self, outputs: list[Any], ctx: Context) -> Gate:
        return Gate.from_failures([] if outputs[0].characters else ["no characters named"])


class Outline(Skill):
    name: ClassVar[str] = "outline"
    layer: ClassVar[Any] = "narrative"
    tier: ClassVar[Any] = "judgment"
    needs: ClassVar[tuple[Need, ...]] = (Need("PREMISE"),)
    produces: ClassVar[tuple[str, ...]] = ("BEATS",)

    def produce(self, ctx: Context) -> list[Any]:
        premise = ctx.inputs.get("PREMISE")
        return [ctx.ask(Beats, "You outline.", "Outline: " + premise.logline)]
"""

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
    run_slate("init", str(tmp_path / "film"), check=True)
    root = tmp_path / "film"
    (root / "skills").mkdir()
    (root / "skills" / "story.py").write_text(SKILLS)
    config = root / "filmslate.toml"
    config.write_text(
        config.read_text()
        .replace('"replay:', '"handoff:')
        .replace("paths = []", 'paths = ["skills/story.py"]')
    )
    return root


def test_run_wait_submit_gate_next_step(film: Path, tmp_path: Path) -> None:
    waiting = run_slate("run", "pitch", cwd=film, check=True)
    assert "waiting" in waiting.stdout
    task = film / "inbox" / "pitch__PROJECT__1.task.json"
    assert task.is_file()
    body = json.loads(task.read_text())
    assert body["prompt"] == "Pitch one about a lighthouse." and "properties" in json.dumps(body)
    assert not (film / "narrative" / "PREMISE_v001.md").exists()

    bad = tmp_path / "pitch__PROJECT__1.answer.json"
    bad.write_text(json.dumps({"title": "x"}))
    refused = run_slate("submit", str(bad), cwd=film)
    assert refused.returncode == 2 and "logline" in refused.stderr
    assert not (film / "inbox" / "pitch__PROJECT__1.answer.json").exists()

    bad.write_text(json.dumps(PREMISE))
    done = run_slate("submit", str(bad), cwd=film, check=True)
    assert "PASS" in done.stdout and "PREMISE_v001.md" in done.stdout
    assert "A keeper relights" in (film / "narrative" / "PREMISE_v001.md").read_text()

    nxt = run_slate("run", "outline", cwd=film, check=True)
    assert "waiting" in nxt.stdout
    assert (film / "inbox" / "outline__PROJECT__1.task.json").is_file()
    assert run_slate("verify", cwd=film).returncode == 0
    log = run_slate("log", "--skill", "pitch", cwd=film, check=True)
    assert "WAITING" in log.stdout and "PASS" in log.stdout
