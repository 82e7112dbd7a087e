"""The demo series (examples/series, issue 16 "done when"): two episodes run end to end
offline through the real `slate` command and the replay answers: the world state carries
across the episodes, each episode has its cut and its export, and a revised lock of a
character in both episodes regenerates exactly her shots, in both."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import run_slate
from filmslate.schemas import ShotList, WorldState
from filmslate.store._project import Project

SERIES = Path(__file__).resolve().parents[1] / "examples" / "series"
IDS = ("E01_S01", "E01_S02", "E02_S01", "E02_S02")


def slate(root: Path, *args: str) -> str:
    return run_slate(*args, "-C", str(root), check=True, timeout=600).stdout


def takes(root: Path) -> dict[str, tuple[int, frozenset[str]]]:
    """Each shot's FINAL version and its characters."""
    with Project(root) as project:
        store, out = project.store, {}
        for scene in IDS:
            shots = store.load(store.latest("SHOTLIST", scene).name)  # type: ignore[union-attr]
            assert isinstance(shots, ShotList)
            for row in shots.rows:
                final = store.latest("FINAL", row.shot_id)
                out[row.shot_id] = (final.name.version if final else 0, frozenset(row.char_ids))
        return out


@pytest.mark.slow  # two full `slate run`s of the demo series
def test_the_demo_series_runs_end_to_end(tmp_path: Path) -> None:
    root = tmp_path / "series"
    run_slate("init", str(root), "--name", "harbour-signal", check=True)
    shutil.copyfile(SERIES / "filmslate.toml", root / "filmslate.toml")
    shutil.copytree(SERIES / "replay", root / "replay")
    for episode in ("E01", "E02"):
        slate(root, "episode", "add", episode)
    for source in sorted((SERIES / "inputs").iterdir()):
        slate(root, "add", str(source), "--reason", "demo source material")
    assert "production complete" in slate(root, "run")

    with Project(root) as project:
        store = project.store
        diff, before = store.latest("STATE_DIFF", "E02_S01"), store.state_after("E01_S02")
        assert diff is not None and before is not None
        assert before.name in store.lineage(diff.name)  # E02 starts where E01 ended
        end = store.load(store.state_after("E02_S02").name)  # type: ignore[union-attr]
        assert isinstance(end, WorldState) and "BRAM" in end.characters  # met in E01 only
        for episode in ("E01", "E02"):
            for kind in ("REDTEAM", "AUDIENCE", "CUT"):
                assert store.latest(kind, episode) is not None, f"{kind}_{episode}"
    for episode in ("E01", "E02"):
        assert f"EXPORT_{episode}_v001.otio" in slate(root, "export", "--episode", episode)

    first = takes(root)
    slate(root, "lock", "add", str(SERIES / "revisions" / "CHAR_ADA_LOCK.txt"), "--reason", "x")
    assert "production complete" in slate(root, "run")
    second = takes(root)
    redone = {shot for shot in first if second[shot][0] != first[shot][0]}
    hers = {shot for shot, (_, cast) in first.items() if "ADA" in cast}
    assert redone == hers and {shot[:3] for shot in hers} == {"E01", "E02"}
    listed = slate(root, "episode", "list")
    assert "E01: 2 scene(s)" in listed and "CUT_E02_v002.mp4" in listed
    assert run_slate("verify", "-C", str(root)).returncode == 0
