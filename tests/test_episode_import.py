"""`slate import --episode E02` (issue 16 §1): a screenplay becomes one declared episode's
scenes (ids E02_S01, ...), beside the other episodes' scenes, in the declared order; first
appearances count the episodes before; a re-import replaces that episode's scenes only; an
undeclared episode (or a film) is refused in one line with nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import run_slate
from filmslate import Project
from filmslate.schemas import Breakdown, Scenes

PILOT = """INT. HARBOUR OFFICE - NIGHT

NELL ADAIR (34) bends over the signal LOGBOOK. GUS (60) stamps in from the rain.

GUS
The lamp is out again.

NELL
Then we go up.

EXT. SIGNAL TOWER - NIGHT

Nell and Gus climb the iron stairs into the wind.

NELL
Hold the light steady.
"""

SECOND = """INT. NET LOFT - DAY

NELL mends a net beside CORA VANCE (40), the ferry pilot.

CORA
The ferry will not sail without the signal.

NELL
It will burn tonight.
"""


def _series(root: Path, *episodes: str) -> Path:
    run_slate("init", str(root), "--name", "series", check=True)
    for episode in episodes:
        run_slate("episode", "add", episode, "-C", str(root), check=True)
    return root


def _script(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def _tables(root: Path) -> tuple[Scenes, Breakdown, int]:
    with Project(root) as p:
        latest = p.store.latest("SCENES")
        assert latest is not None
        scenes, breakdown = (
            p.store.load(latest.name),
            p.store.load(p.store.latest("BREAKDOWN").name),
        )  # type: ignore[union-attr]
        assert isinstance(scenes, Scenes) and isinstance(breakdown, Breakdown)
        return scenes, breakdown, latest.name.version


def test_each_episode_imports_its_own_screenplay(tmp_path: Path) -> None:
    root = _series(tmp_path / "series", "E01", "E02")
    second = _script(tmp_path, "e02.fountain", SECOND)
    done = run_slate("import", second, "--episode", "E02", "-C", str(root), check=True)
    assert "imported 1 scenes as E02" in done.stdout
    assert "narrative/SCRIPT_E02_S01_v001.txt" in done.stdout
    pilot = _script(tmp_path, "e01.fountain", PILOT)
    run_slate("import", pilot, "--episode", "E01", "-C", str(root), check=True)

    scenes, breakdown, _ = _tables(root)
    assert [r.scene_id for r in scenes.rows] == ["E01_S01", "E01_S02", "E02_S01"]  # declared order
    assert [r.scene_id for r in breakdown.rows] == ["E01_S01", "E01_S02", "E02_S01"]
    assert scenes.rows[2].location == "NET_LOFT" and "CORA" in scenes.rows[2].characters_present
    loft = breakdown.rows[2]  # NELL was met in E01: not new in E02, no lock of her own there
    assert loft.new_characters_introduced == ["CORA"]
    assert "CHAR_NELL_LOCK" not in loft.lock_requirements
    assert "CHAR_CORA_LOCK" in loft.lock_requirements
    assert "CHAR_NELL_LOCK" in breakdown.rows[0].lock_requirements
    assert run_slate("verify", "-C", str(root)).returncode == 0


def test_a_reimport_replaces_that_episodes_scenes_only(tmp_path: Path) -> None:
    root = _series(tmp_path / "series", "E01", "E02")
    pilot = _script(tmp_path, "e01.fountain", PILOT)
    run_slate("import", pilot, "--episode", "E01", "-C", str(root), check=True)
    second = _script(tmp_path, "e02.fountain", SECOND)
    run_slate("import", second, "--episode", "E02", "-C", str(root), check=True)
    _, _, version = _tables(root)

    again = run_slate("import", second, "--episode", "E02", "-C", str(root), check=True)
    assert "replaced" not in again.stdout and _tables(root)[2] == version  # nothing new

    revised = _script(tmp_path, "e02b.fountain", SECOND + "\n" + PILOT.split("\n\n", 1)[0] + "\n")
    done = run_slate("import", revised, "--episode", "E02", "-C", str(root), check=True)
    assert "E02's earlier scenes (E02_S01) are replaced by the screenplay's" in done.stdout
    scenes, _, now = _tables(root)
    assert now == version + 1
    assert [r.scene_id for r in scenes.rows] == ["E01_S01", "E01_S02", "E02_S01", "E02_S02"]
    assert scenes.rows[0].location == "HARBOUR_OFFICE"  # E01 kept as it was


@pytest.mark.parametrize(
    ("episode", "message"),
    [
        ("E03", "--episode E03: not an episode of this project (E01, E02)"),
        ("E3", "'E3' is not an episode id"),
        ("E01_S01", "'E01_S01' is not an episode id"),
    ],
)
def test_an_undeclared_episode_is_refused_and_nothing_written(
    tmp_path: Path, episode: str, message: str
) -> None:
    root = _series(tmp_path / "series", "E01", "E02")
    pilot = _script(tmp_path, "e01.fountain", PILOT)
    result = run_slate("import", pilot, "--episode", episode, "-C", str(root))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not list((root / "narrative").iterdir())


def test_a_series_import_without_an_episode_names_the_option(tmp_path: Path) -> None:
    root = _series(tmp_path / "series", "E01")
    result = run_slate("import", _script(tmp_path, "e01.fountain", PILOT), "-C", str(root))
    assert result.returncode == 2 and "slate import SCRIPT --episode E01" in result.stderr
    assert not list((root / "narrative").iterdir())


def test_a_film_refuses_an_episode_import(tmp_path: Path) -> None:
    root = tmp_path / "film"
    run_slate("init", str(root), "--name", "film", check=True)
    pilot = _script(tmp_path, "e01.fountain", PILOT)
    result = run_slate("import", pilot, "--episode", "E01", "-C", str(root))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "this project is a single film" in result.stderr and "slate episode add E01" in (
        result.stderr
    )
    assert not list((root / "narrative").iterdir())
    done = run_slate("import", pilot, "-C", str(root), check=True)  # a film's import: as before
    assert "imported 2 scenes, " in done.stdout and "SCENES_v001.csv" in done.stdout
