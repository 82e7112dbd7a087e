"""A voice lock's stated speaking rate (issue 15 §2, bad input): `cadence.speed` given in
words a minute is spoken as written, and one no voice can speak is refused by `slate add`
in one line naming the file, line and field, with nothing stored.

It was read as words only: "2000 words per minute" was stored and spoken at 165.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import SRC, run_slate
from filmslate import Project
from filmslate.schemas import VoiceLock
from filmslate.skills.production import voice_settings

GOOD = SRC.parent / "examples" / "locks" / "good" / "VOICE_NELL_LOCK.txt"


def with_speed(tmp_path: Path, speed: str) -> Path:
    text = GOOD.read_text(encoding="utf-8").replace("- speed: slow and even", f"- speed: {speed}")
    path = tmp_path / "VOICE_NELL_LOCK.txt"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("speed", ["2000 words per minute", "30 wpm"])
def test_slate_add_refuses_a_rate_no_voice_speaks(
    project: Project, tmp_path: Path, speed: str
) -> None:
    root = project.root
    project.close()
    result = run_slate("add", str(with_speed(tmp_path, speed)), "-C", str(root), "--reason", "x")
    assert result.returncode == 2, result.stdout + result.stderr
    error = " ".join(result.stderr.split())
    assert "VOICE_NELL_LOCK.txt" in error and "line 9, field 'cadence.speed'" in error, error
    assert "outside what a voice speaks (80-450)" in error and "Traceback" not in error
    with Project(root) as again:
        assert again.store.latest("VOICE_LOCK", "NELL") is None


@pytest.mark.parametrize(
    ("speed", "rate"), [("a brisk 210 wpm", 210), ("150 words a minute", 150), ("slow", 140)]
)
def test_a_stated_rate_is_spoken_as_stated(tmp_path: Path, speed: str, rate: int) -> None:
    lock = VoiceLock.parse(with_speed(tmp_path, speed).read_bytes())
    assert voice_settings(lock).rate == rate
