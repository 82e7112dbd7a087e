"""A series as a new user makes one (issue 16 §1), through `slate`: the episode caps in
`slate status` agree with the run log, and bad episode and scene ids are refused in one line
with nothing written."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from conftest import run_slate
from filmslate import Project
from filmslate.store._ledger import Ledger
from filmslate.store._runlog import LogEntry

HEADER = "scene_id,summary,goal,conflict,outcome,location,time_of_day,characters_present\n"


def _series(root: Path, *episodes: str) -> Path:
    run_slate("init", str(root), "--name", "series", check=True)
    config = root / "filmslate.toml"
    config.write_text(config.read_text().replace("[budget]\n", "[budget]\nepisode_cap = 0.5\n"))
    for episode in episodes:
        run_slate("episode", "add", episode, "-C", str(root), check=True)
    return root


def _spend(root: Path, scene: str, amount: float) -> None:
    with Project(root) as p:
        ledger = Ledger(p.store, p.config)
        hold = ledger.reserve("R1", scene, f"{scene}_SH01", amount, "a render")
        shot = f"{scene}_SH01"
        entry = LogEntry(
            run_id="R1", skill_name="render-proxy", target=shot, scene_id=scene, shot_id=shot
        )
        ledger.settle(hold, amount, entry)


def test_status_shows_the_episode_caps_and_trusts_them(tmp_path: Path) -> None:
    root = _series(tmp_path / "series", "E01", "E02")
    _spend(root, "E02_S01", 0.2)
    status = run_slate("status", "-C", str(root), check=True).stdout
    assert "disagree" not in status  # the episode's total is mirrored like the scene's
    assert "│ episode │ E02" in status
    assert run_slate("verify", "-C", str(root)).returncode == 0
    with sqlite3.connect(root / ".filmslate" / "index.sqlite") as conn:  # edited behind our back
        conn.execute("UPDATE spend_totals SET settled = 0 WHERE scope = 'E02'")
    edited = run_slate("status", "-C", str(root), check=True).stdout
    assert "disagree with its run-log rows for E02" in edited


def _scenes(tmp_path: Path, *ids: str) -> Path:
    rows = "".join(
        f"{i},A scene.,A goal.,A conflict.,An outcome.,HARBOUR_OFFICE,DAY,ADA\n" for i in ids
    )
    source = tmp_path / "src" / "SCENES.csv"
    source.parent.mkdir(exist_ok=True)
    source.write_text(HEADER + rows, encoding="utf-8")
    return source


@pytest.mark.parametrize(
    ("ids", "message"),
    [
        (("E01_S01", "E03_S01"), "E03_S01: episode E03 is not declared"),
        (("E01_S01", "S02"), "S02: in a series every scene id names its episode"),
        (("E02_S01", "E01_S01"), "keep them in the declared order E01, E02"),
        (("E01_S01", "E02_S01", "E01_S02"), "E01's scenes are split by E02_S01"),
        (("E001_S01",), "E001_S01: episode E001 is not declared"),
    ],
)
def test_slate_add_refuses_scenes_outside_the_declared_episodes(
    tmp_path: Path, ids: tuple[str, ...], message: str
) -> None:
    root = _series(tmp_path / "series", "E01", "E02")
    result = run_slate("add", str(_scenes(tmp_path, *ids)), "-C", str(root))
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not list((root / "narrative").glob("SCENES_*"))  # nothing written


def test_slate_add_takes_a_series_scenes_and_a_film_keeps_its_own(tmp_path: Path) -> None:
    root = _series(tmp_path / "series", "E01", "E02")
    run_slate("add", str(_scenes(tmp_path, "E01_S01", "E01_S03", "E02_S01")), "-C", str(root))
    assert (root / "narrative" / "SCENES_v001.csv").is_file()
    film = tmp_path / "film"
    run_slate("init", str(film), "--name", "film", check=True)
    done = run_slate("add", str(_scenes(tmp_path, "S01", "S03", "S10")), "-C", str(film))
    assert done.returncode == 0, done.stderr
    loose = run_slate("add", str(_scenes(tmp_path, "E01_S01")), "-C", str(film))
    assert loose.returncode == 2 and "slate episode add E01" in loose.stderr


@pytest.mark.parametrize(
    ("episode", "message"),
    [
        ("E001", "E001 is episode E01 padded another way"),
        ("E100", "pad every episode id alike"),
        ("e03", "'e03' is not an episode id"),
    ],
)
def test_slate_episode_add_refuses_an_id_that_clashes(
    tmp_path: Path, episode: str, message: str
) -> None:
    root = _series(tmp_path / "series", "E01", "E02")
    config = (root / "filmslate.toml").read_bytes()
    result = run_slate("episode", "add", episode, "-C", str(root))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert (root / "filmslate.toml").read_bytes() == config


def test_verify_reports_an_episode_removed_while_its_scenes_stay(tmp_path: Path) -> None:
    root = _series(tmp_path / "series", "E01", "E02")
    run_slate("add", str(_scenes(tmp_path, "E01_S01", "E02_S01")), "-C", str(root), check=True)
    assert run_slate("verify", "-C", str(root)).returncode == 0
    config = root / "filmslate.toml"
    config.write_text(config.read_text().replace('["E01", "E02"]', '["E01"]'))  # by hand
    result = run_slate("verify", "-C", str(root))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "narrative/SCENES_v001.csv: E02_S01: episode E02 is not declared" in result.stdout


def test_slate_import_refuses_a_film_screenplay_in_a_series(tmp_path: Path) -> None:
    root = _series(tmp_path / "series", "E01")
    script = Path(__file__).resolve().parents[1] / "examples" / "heist_at_the_lighthouse.fountain"
    result = run_slate("import", str(script), "-C", str(root))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "this project is a series (E01" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not list((root / "narrative").iterdir())  # nothing written


@pytest.mark.parametrize(
    ("episode", "message"),
    [
        ("E03", "E03 is not an episode of this project (its episodes: E01, E02"),
        ("E01_S01", "'E01_S01' is not an episode id"),
        ("PROJECT", "'PROJECT' is not an episode id"),
    ],
)
def test_slate_export_episode_takes_only_an_episode(
    tmp_path: Path, episode: str, message: str
) -> None:
    root = _series(tmp_path / "series", "E01", "E02")
    result = run_slate("export", "--episode", episode, "-C", str(root))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (root / "exports").exists() or not list((root / "exports").iterdir())


def test_a_new_project_shows_where_the_episode_cap_goes(tmp_path: Path) -> None:
    run_slate("init", str(tmp_path / "p"), "--name", "p", check=True)
    text = (tmp_path / "p" / "filmslate.toml").read_text(encoding="utf-8")
    assert "# episode_cap = " in text and "docs/series.md" in text
    assert run_slate("config", "check", "-C", str(tmp_path / "p")).returncode == 0
