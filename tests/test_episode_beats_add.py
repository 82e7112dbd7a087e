"""`slate add BEATS.md` in a series (issue 16 §1): an imported series has no premise for
story-architect, so its BEATS is written by hand. Its Episode Beats table is checked as
story-architect's gate checks the episodes: beats for an undeclared episode, an episode's
beats given twice or missing, or out of the declared order (and any episode beats in a film)
are refused in one line naming the file, exit 2, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import run_slate

HEAD = """# BEATS

## Title

Two Nights

## Logline

A keeper follows a dark boat from the tower to the harbour.

## Central Dramatic Question

Will Mara learn who runs the dark boat?

## Inciting Incident

The lighthouse lamp goes dark on a stormy night.

## Escalation Sequence

- A boat without lights passes the tower.
- Nobody on the quay will name its crew.

## Midpoint Shift

Mara sees that someone wants the coast dark.

## Crisis

Eli will not talk on the open quay.

## Climax

Eli warns Mara to keep the lamp lit.

## Resolution

Mara goes back to keep the light.

## Episode Beats

"""
COLUMNS = (
    "episode",
    "inciting incident",
    "escalation sequence",
    "midpoint shift",
    "crisis",
    "climax",
    "resolution",
)
HEAD += "| " + " | ".join(COLUMNS) + " |\n" + "| --- " * len(COLUMNS) + "|\n"
BEAT = (
    "The lamp goes dark.",
    "Tom swore he checked it.",
    "A boat runs dark.",
    "Tom fears smugglers.",
    "Mara sees the boat.",
    "They watch it pass.",
)
ROW = "| {e} | " + " | ".join(BEAT) + " |\n"


def _beats(folder: Path, *episodes: str) -> str:
    path = folder / "BEATS.md"
    path.write_text(HEAD + "".join(ROW.format(e=e) for e in episodes), encoding="utf-8")
    return str(path)


def _project(tmp_path: Path, *episodes: str) -> Path:
    root = tmp_path / "project"
    run_slate("init", str(root), "--name", "p", check=True)
    for episode in episodes:
        run_slate("episode", "add", episode, "-C", str(root), check=True)
    return root


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (("E01", "E02", "E03"), "beats for E03, which is not a declared episode"),
        (("E01",), "E02 has no beats"),
        (("E01", "E01", "E02"), "E01's beats are given twice"),
        (("E02", "E01"), "the episode beats run E02, E01"),
    ],
)
def test_hand_written_episode_beats_that_do_not_fit_are_refused(
    tmp_path: Path, rows: tuple[str, ...], message: str
) -> None:
    root = _project(tmp_path, "E01", "E02")
    result = run_slate("add", _beats(tmp_path, *rows), "-C", str(root))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "BEATS.md was refused, nothing was written" in result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not list((root / "narrative").glob("BEATS_*"))


def test_fitting_episode_beats_are_stored_and_a_film_refuses_any(tmp_path: Path) -> None:
    root = _project(tmp_path, "E01", "E02")
    run_slate("add", _beats(tmp_path, "E01", "E02"), "-C", str(root), check=True)
    assert (root / "narrative" / "BEATS_v001.md").exists()
    film = _project(tmp_path / "film")
    result = run_slate("add", _beats(tmp_path, "E01"), "-C", str(film))
    assert result.returncode == 2 and "this project is a single film" in result.stderr
    run_slate("add", _beats(tmp_path), "-C", str(film), check=True)  # no episode beats: fine
