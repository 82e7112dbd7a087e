"""Episode beats (issue 16 §1): story-architect for a series writes the season's arc and each
declared episode's own beats (a section of BEATS: SPEC §4 names BEATS without a subject); its
gate refuses an episode without beats, beats for an undeclared episode and beats out of the
declared order; an episode's red team and audience read that episode's beats. A film's BEATS
is unchanged."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import BaseModel

from filmslate.core._errors import HardStop
from filmslate.engine._gateway import TextRequest
from filmslate.schemas import Beats, EpisodeBeats
from filmslate.skills.narrative import StoryAnswer
from filmslate.synthetic import synthetic_project
from filmslate.workflow._episodes import add_episode
from routed_films import runner_answering

IDS = ("E01_S01", "E01_S02", "E02_S01", "E02_S02")
Edit = Callable[[list[EpisodeBeats]], list[EpisodeBeats]]


def _season(root: Path, edit: Edit | None = None) -> tuple[object, object]:
    """A two-episode project whose story-architect answer's episode beats pass ``edit``."""
    _, film = synthetic_project(root, 4, 1, ids=IDS)
    add_episode(root, "E01")
    add_episode(root, "E02")

    def answer(request: TextRequest) -> BaseModel:
        given = film.answer(request)
        if edit is not None and isinstance(given, StoryAnswer):
            return given.model_copy(update={"episode_beats": edit(list(given.episode_beats))})
        return given

    return runner_answering(root, answer)


def _beats(runner: object) -> Beats:
    store = runner.store  # type: ignore[attr-defined]
    beats = store.load(store.latest("BEATS").name)
    assert isinstance(beats, Beats)
    return beats


def test_a_season_has_each_episodes_own_beats(tmp_path: Path) -> None:
    runner, model = _season(tmp_path / "season")
    result = runner.run("story-architect", "PROJECT")  # type: ignore[attr-defined]
    assert result.gate.verdict == "PASS", result.gate.reasons
    assert "episode_beats: one row per episode, in this order (E01, E02)" in (
        model.requests[-1].prompt  # type: ignore[attr-defined]
    )
    beats = _beats(runner)
    assert [b.episode for b in beats.episode_beats] == ["E01", "E02"]
    last = beats.of_episode("E02")
    assert last is not None and "relight the harbour signal" in last.climax
    store = runner.store  # type: ignore[attr-defined]
    text = (store.root / store.latest("BEATS").name.relpath).read_text(encoding="utf-8")
    assert "## Episode Beats" in text and "| E02 | The keepers take up the repair" in text


def _drop_second(beats: list[EpisodeBeats]) -> list[EpisodeBeats]:
    return beats[:1]


def _add_third(beats: list[EpisodeBeats]) -> list[EpisodeBeats]:
    return [*beats, beats[1].model_copy(update={"episode": "E03"})]


def _reverse(beats: list[EpisodeBeats]) -> list[EpisodeBeats]:
    return beats[::-1]


def _twice(beats: list[EpisodeBeats]) -> list[EpisodeBeats]:
    return [*beats, beats[0]]


def _vague_crisis(beats: list[EpisodeBeats]) -> list[EpisodeBeats]:
    return [beats[0].model_copy(update={"crisis": "something happens"}), beats[1]]


def _no_steps(beats: list[EpisodeBeats]) -> list[EpisodeBeats]:
    return [beats[0], beats[1].model_copy(update={"escalation_sequence": [], "climax": ""})]


@pytest.mark.parametrize(
    ("edit", "reasons"),
    [
        (_drop_second, ["E02 has no beats: give it its own inciting incident"]),
        (_add_third, ["beats for E03, which is not a declared episode (E01, E02)"]),
        (_reverse, ["the episode beats run E02, E01: keep them in the declared order E01, E02"]),
        (_twice, ["E01's beats are given twice"]),
        (_vague_crisis, ["E01: the episode's crisis is vague ('something happens')"]),
        (
            _no_steps,
            ["E02: the episode's climax is empty", "E02: the episode's escalation sequence has"],
        ),
        (lambda beats: [], ["E01 has no beats", "E02 has no beats"]),
    ],
)
def test_the_gate_refuses_a_season_whose_episode_beats_do_not_fit(
    tmp_path: Path, edit: Edit, reasons: list[str]
) -> None:
    runner, _ = _season(tmp_path / "season", edit)
    with pytest.raises(HardStop) as stop:  # every revision and tier gave the same answer
        runner.run("story-architect", "PROJECT")  # type: ignore[attr-defined]
    for reason in reasons:
        assert reason in str(stop.value)


def test_a_film_gives_no_episode_beats(tmp_path: Path) -> None:
    root = tmp_path / "film"
    _, film = synthetic_project(root, 3, 1)
    runner, _ = runner_answering(root, film.answer)
    result = runner.run("story-architect", "PROJECT")
    assert result.gate.verdict == "PASS", result.gate.reasons
    beats = _beats(runner)
    assert beats.episode_beats == []
    assert b"Episode Beats" not in beats.render()  # a film's BEATS renders as before

    stray = EpisodeBeats(episode="E01", inciting_incident="The keepers find the fault again.")

    def answer(request: TextRequest) -> BaseModel:
        given = film.answer(request)
        if isinstance(given, StoryAnswer):
            return given.model_copy(update={"episode_beats": [stray]})
        return given

    other = tmp_path / "film2"
    synthetic_project(other, 3, 1)
    runner, _ = runner_answering(other, answer)
    with pytest.raises(HardStop, match="this project is a single film"):
        runner.run("story-architect", "PROJECT")


def test_a_beats_file_without_episode_beats_reads_as_before() -> None:
    season = Beats(
        title="T",
        logline="L",
        central_dramatic_question="Will it?",
        inciting_incident="a",
        escalation_sequence=["b"],
        midpoint_shift="c",
        crisis="d",
        climax="e",
        resolution="f",
    )
    assert Beats.parse(season.render()) == season and season.of_episode("E01") is None
    full = Beats.model_validate(
        {**season.model_dump(), "episode_beats": [{"episode": "E01", "climax": "x | y"}]}
    )
    assert Beats.parse(full.render()) == full


@pytest.mark.parametrize("skill", ["narrative-red-team", "audience-simulator"])
def test_an_episodes_review_reads_that_episodes_beats(tmp_path: Path, skill: str) -> None:
    runner, model = _season(tmp_path / "season")
    assert runner.run("story-architect", "PROJECT").gate.verdict == "PASS"  # type: ignore[attr-defined]
    beats = _beats(runner)
    for episode, other in (("E01", "E02"), ("E02", "E01")):
        runner.run(skill, episode)  # type: ignore[attr-defined]
        asked = [q.prompt for q in model.requests if q.skill == skill][-1]  # type: ignore[attr-defined]
        own, theirs = beats.of_episode(episode), beats.of_episode(other)
        assert own is not None and theirs is not None
        assert f"EPISODE BEATS ({episode})" in asked and own.climax in asked
        assert f"EPISODE BEATS ({other})" not in asked and theirs.climax not in asked
        assert beats.climax in asked  # within the season's arc
