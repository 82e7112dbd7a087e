"""Order that reads what it checks (issue 14, SPEC §5): per scene, world-state-tracker for the
previous scene runs before the psychology and dialogue checks of this one, and their inputs
include the state before the scene, so knowledge honestly carried over from an earlier scene
passes the gate.

A synthetic film (real runner, store, skills and media; the model answers come from
``filmslate.synthetic``) in which BRAM learns a fact in S01 that is in no lock, and acts on it
in S02.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from filmslate.engine._gateway import TextRequest
from filmslate.schemas import KnowledgeUse, StateDiff
from filmslate.skills.narrative import PsychAnswer
from filmslate.synthetic import SyntheticFilm, synthetic_project
from filmslate.workflow._orchestrator import Orchestrator
from routed_films import runner_answering

CARRIED = "Bram knows the relay cable was cut at the ferry quay"


def carried_over(film: SyntheticFilm) -> object:
    """The film's answers, except that BRAM learns CARRIED in S01 and acts on it in S02."""

    def answer(request: TextRequest) -> BaseModel:
        reply = film.answer(request)
        if request.skill == "world-state-tracker" and request.target == "S01":
            assert isinstance(reply, StateDiff)
            update = reply.character_updates["BRAM"]
            learned = update.model_copy(update={"learn": [*update.learn, CARRIED]})
            updates = {**reply.character_updates, "BRAM": learned}
            return reply.model_copy(update={"character_updates": updates})
        if request.skill == "character-psychology" and request.target == "S02":
            assert isinstance(reply, PsychAnswer)
            used = [KnowledgeUse(character="BRAM", fact=CARRIED)]
            return reply.model_copy(update={"knowledge_used": used})
        return reply

    return answer


def test_the_previous_scene_is_tracked_before_this_scenes_psychology(tmp_path: Path) -> None:
    root = tmp_path / "film"
    _, film = synthetic_project(root, 2, 1)
    runner, model = runner_answering(root, carried_over(film))
    outcome = Orchestrator(runner).run()
    assert outcome.status == "complete", outcome.describe()
    asked = [(q.skill, q.target) for q in model.requests]
    tracked_s01 = asked.index(("world-state-tracker", "S01"))
    assert tracked_s01 < asked.index(("character-psychology", "S02"))
    assert tracked_s01 > asked.index(("plausibility-auditor", "S01"))  # validated first
    psych_s02 = [
        q for q in model.requests if (q.skill, q.target) == ("character-psychology", "S02")
    ]
    assert len(psych_s02) == 1  # passed at once: the carried-over fact is known
    assert "## State before this scene" in psych_s02[0].prompt
    assert "relay cable was cut" in psych_s02[0].prompt
    store = runner.store
    psych = store.latest("PSYCH", "S02")
    state_after_s01 = store.state_after("S01")
    assert psych is not None and state_after_s01 is not None
    assert state_after_s01.name in store.lineage(psych.name)  # the state before the scene
    assert runner.project.verify() == []
