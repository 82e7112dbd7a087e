"""A gate that still fails at the top tier stops for a person, and the stop says what to do
and why: the command names the real target (not a placeholder) and the last FAIL's reasons
are in the message the CLI prints and in the hard stop the run log keeps."""

from __future__ import annotations

from pathlib import Path

import pytest

from filmslate import Project
from filmslate.core._errors import HardStop
from filmslate.engine._revision import top_tier_stop
from test_runtime import CLICHE, film, runner

__all__ = ["film"]  # the fixture, used by name


def test_the_top_tier_stop_names_the_target_and_what_still_fails(film: Path) -> None:
    r, _ = runner(film, [CLICHE] * 10)
    with pytest.raises(HardStop) as caught:
        r.run("pitch", "PROJECT")
    message = str(caught.value)
    assert "slate override PROJECT --reason" in message and "TARGET" not in message
    assert "Still failing: " in message and "the logline is a cliché" in message
    with Project(film) as project:
        (notes,) = project.store.conn.execute(
            "SELECT notes FROM runlog WHERE event = 'hard_stop' ORDER BY seq DESC LIMIT 1"
        ).fetchone()
    assert notes.startswith("pitch: ") and "the logline is a cliché" in notes


def test_long_reasons_are_shortened() -> None:
    stop = top_tier_stop("top. record `slate override TARGET --reason ...`", "S03", "x" * 900)
    assert "slate override S03 --reason" in stop
    assert stop.endswith("...") and len(stop) < 700
