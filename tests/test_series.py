"""A series end to end (issue 16 §1): two episodes of two scenes each, offline, through the
real orchestrator, runner, store and skills (synthetic answers), `slate episode`, `slate lock
add` and `slate export --episode`.

- the world state carries across the episode boundary: E02_S01 is tracked from the state
  after E01_S02 (the previous row of SCENES), and what a character learned in E01 is known;
- each episode has its own review (REDTEAM_E01, AUDIENCE_E01), edit plan, cut made from its
  own takes only, and export; the season (PROJECT) keeps its cut;
- a revised character lock regenerates exactly the shots that character is in, in both
  episodes, and no other shot;
- a per-episode cap (``[budget] episode_cap``) is a cap of its own in the ledger.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import run_slate
from filmslate.core._errors import BudgetExceeded
from filmslate.core._names import scene_of
from filmslate.engine._stops import open_hard_stops
from filmslate.schemas import CharLock, Scenes, ShotList, WorldState
from filmslate.skills.narrative._story import episode_failures
from filmslate.store._ledger import Ledger, scopes_of
from filmslate.synthetic import synthetic_project
from filmslate.synthetic._project import synthetic_runner
from filmslate.workflow._episodes import add_episode
from filmslate.workflow._loops import run_loop
from filmslate.workflow._orchestrator import Orchestrator
from routed_films import runner_answering

IDS = ("E01_S01", "E01_S02", "E02_S01", "E02_S02")


def _shots_with(store: object, character: str) -> set[str]:
    found = set()
    for scene in IDS:
        record = store.latest("SHOTLIST", scene)  # type: ignore[attr-defined]
        shots = store.load(record.name)  # type: ignore[attr-defined]
        assert isinstance(shots, ShotList)
        found |= {r.shot_id for r in shots.rows if character in r.char_ids}
    return found


def _versions(store: object, kind: str) -> dict[str, int]:
    out = {}
    for scene in IDS:
        record = store.latest("SHOTLIST", scene)  # type: ignore[attr-defined]
        for row in store.load(record.name).rows:  # type: ignore[attr-defined]
            take = store.latest(kind, row.shot_id)  # type: ignore[attr-defined]
            out[row.shot_id] = take.name.version if take else 0
    return out


@pytest.mark.slow  # about a minute: two full runs of a four-scene series
def test_a_two_episode_series_runs_end_to_end(tmp_path: Path) -> None:
    root = tmp_path / "series"
    runner, film = synthetic_project(root, 4, 2, ids=IDS)
    for episode in ("E01", "E02"):
        run_slate("episode", "add", episode, "-C", str(root), check=True)
    assert "E02 is already an episode" in run_slate("episode", "add", "E02", "-C", str(root)).stderr
    runner, model = runner_answering(root, film.answer)  # the config declares the episodes
    outcome = Orchestrator(runner).run()
    assert outcome.status == "complete", outcome.describe()
    store = runner.store
    # an episode's red team and audience read that episode's scenes (the season's read all)
    for skill in ("narrative-red-team", "audience-simulator"):
        asked = {q.target: q.prompt for q in model.requests if q.skill == skill}
        assert set(asked) == {"PROJECT", "E01", "E02"}
        assert "E01_S02" in asked["E01"] and "E02_S01" not in asked["E01"]
        assert "E02_S01" in asked["E02"] and "E01_S02" not in asked["E02"]
        assert "E01_S01" in asked["PROJECT"] and "E02_S02" in asked["PROJECT"]
    narrative = run_loop(runner, "narrative")  # `slate run narrative`: the same reviews
    assert narrative.passed, narrative.describe()
    reviewed = {(s.skill, s.target) for s in narrative.steps}
    assert {("narrative-red-team", "E02"), ("audience-simulator", "E01")} <= reviewed

    # the world state carries from the last scene of E01 to the first of E02
    diff = store.latest("STATE_DIFF", "E02_S01")
    before = store.state_after("E01_S02")
    assert diff is not None and before is not None
    assert before.name in store.lineage(diff.name)
    last = store.load(store.state_after("E02_S02").name)  # type: ignore[union-attr]
    assert isinstance(last, WorldState)
    for character in film.scene_cast(0):  # met in E01, still known at the end of E02
        assert film.fact_of(character) in last.characters[character].knowledge

    # each episode: its review, its cut from its own takes, its export
    for episode in ("E01", "E02"):
        for kind in ("REDTEAM", "AUDIENCE", "EDIT", "CUT"):
            assert store.latest(kind, episode) is not None, f"{kind}_{episode}"
        cut = store.latest("CUT", episode)
        takes = [n for n in store.lineage(cut.name) if n.kind in ("PROXY", "FINAL")]  # type: ignore[union-attr]
        assert takes and {scene_of(n.subject or "")[:3] for n in takes} == {episode}
        done = run_slate("export", "--episode", episode, "-C", str(root), check=True)
        assert f"EXPORT_{episode}_v001.otio" in done.stdout
    assert store.latest("CUT", "PROJECT") is not None  # the season's cut
    listed = run_slate("episode", "list", "-C", str(root), check=True).stdout
    assert "E01: 2 scene(s) E01_S01, E01_S02" in listed and "EXPORT_E02_v001.otio" in listed

    # a revised lock of a character in both episodes: exactly their shots are redone
    character = film.scene_cast(0)[0]
    affected = _shots_with(store, character)
    assert {s[:3] for s in affected} == {"E01", "E02"}
    finals = _versions(store, "FINAL")
    lock = store.load(store.latest("CHAR_LOCK", character).name)  # type: ignore[union-attr]
    assert isinstance(lock, CharLock)
    wardrobe = lock.wardrobe.model_copy(update={"accessories": ["a brass whistle on a cord"]})
    source = tmp_path / f"CHAR_{character}_LOCK.txt"
    source.write_bytes(lock.model_copy(update={"wardrobe": wardrobe}).render())
    run_slate("lock", "add", str(source), "-C", str(root), "--reason", "whistle", check=True)
    runner = synthetic_runner(root, film)
    outcome = Orchestrator(runner).run()
    assert outcome.status == "complete", outcome.describe()
    after = _versions(runner.store, "FINAL")
    redone = {shot for shot in finals if after[shot] != finals[shot]}
    assert redone == affected
    assert runner.project.verify() == []


def test_an_episode_has_a_cap_of_its_own(tmp_path: Path) -> None:
    assert scopes_of("E02_S01", "E02_S01_SH01") == [
        ("project", "PROJECT"),
        ("episode", "E02"),
        ("scene", "E02_S01"),
        ("shot", "E02_S01_SH01"),
    ]
    assert scopes_of("S03", "") == [("project", "PROJECT"), ("scene", "S03")]  # a film's
    ids = ("E01_S01", "E02_S01", "E02_S02")
    runner, _ = synthetic_project(tmp_path / "capped", 3, 1, ids=ids)
    runner.config.budget.episode_cap = 0.5
    ledger = Ledger(runner.store, runner.config)
    ledger.reserve("R1", "E02_S01", "", 0.3, "first call")
    with pytest.raises(BudgetExceeded, match="episode cap for E02 would be exceeded"):
        ledger.reserve("R2", "E02_S02", "", 0.3, "second call")  # another scene, same episode
    ledger.reserve("R3", "E01_S01", "", 0.3, "the other episode")  # its own cap
    state = ledger.state("episode", "E02")
    assert state is not None and state.cap == 0.5 and state.committed == pytest.approx(0.3)
    # the stop blocks the episode's work, not the other episode's
    assert open_hard_stops(runner.project, "E02_S01_SH01")
    assert not open_hard_stops(runner.project, "E01_S01")


def test_story_architect_writes_a_season_when_episodes_are_declared(tmp_path: Path) -> None:
    root = tmp_path / "season"
    _, film = synthetic_project(root, 4, 1, ids=IDS)
    add_episode(root, "E01")
    add_episode(root, "E02")
    runner, model = runner_answering(root, film.answer)
    result = runner.run("story-architect", "PROJECT")
    assert result.gate.verdict == "PASS", result.gate.reasons
    asked = model.requests[-1].prompt
    assert "## Series" in asked and "E01_S01, E01_S02" in asked
    scenes = runner.store.load(runner.store.latest("SCENES").name)  # type: ignore[union-attr]
    assert isinstance(scenes, Scenes) and [r.scene_id for r in scenes.rows] == list(IDS)


def test_a_declared_series_refuses_scenes_outside_its_episodes() -> None:
    assert episode_failures(["S01", "S02"], ["E01"]) == [
        "S01, S02: in a series every scene id names its episode (E01), e.g. E01_S01"
    ]
    assert episode_failures(["E01_S01"], ["E01", "E02"]) == [
        "E02 has no scene: give it its scenes (E02_S01, ...)"
    ]
    assert (
        "keep them in order E01, E02" in episode_failures(["E02_S01", "E01_S01"], ["E01", "E02"])[0]
    )
    assert episode_failures(["S01", "S03", "S10"], []) == []  # a film: unchanged


def test_slate_episode_add_refuses_a_bad_id_and_writes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "film"
    run_slate("init", str(root), "--name", "film", check=True)
    config = (root / "filmslate.toml").read_bytes()
    listed = run_slate("episode", "list", "-C", str(root), check=True).stdout
    assert "no episodes: this project is a single film" in listed
    bad = run_slate("episode", "add", "E3", "-C", str(root))
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "'E3' is not an episode id" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    assert (root / "filmslate.toml").read_bytes() == config
    run_slate("episode", "add", "E01", "-C", str(root), check=True)
    assert 'episodes = ["E01"]' in (root / "filmslate.toml").read_text(encoding="utf-8")
