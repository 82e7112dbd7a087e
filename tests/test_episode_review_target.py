"""`slate run narrative-red-team --target E03` (issue 16 §1, an episode's review): the red
team and the audience of an episode the series does not have (no scene of SCENES is its)
are refused in one line, exit 2, before the paid call, with nothing written, as its edit
plan and cut are; a declared episode's review still runs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import run_slate
from test_episode_beats_add import _beats
from test_episode_cost_target import _files, _series

SERIES = Path(__file__).resolve().parents[1] / "examples" / "series" / "replay"


@pytest.mark.parametrize("skill", ["narrative-red-team", "audience-simulator"])
def test_the_review_of_an_episode_without_scenes_is_refused(tmp_path: Path, skill: str) -> None:
    root = _series(tmp_path)
    run_slate("add", _beats(tmp_path, "E01", "E02"), "-C", str(root), check=True)
    answers = root / "replay" / skill
    answers.mkdir(parents=True)
    shutil.copy(SERIES / skill / "E01" / "1-1.json", answers / "any.json")  # any target
    before = _files(root)
    for target in ("E03", "E01_S09"):
        result = run_slate("run", skill, "--target", target, "-C", str(root))
        assert result.returncode == 2, result.stdout + result.stderr
        assert f"{target} " in result.stderr and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert _files(root) == before  # no report, no spend row
    done = run_slate("run", skill, "--target", "E01", "-C", str(root), check=True)
    assert "E01: PASS" in done.stdout
