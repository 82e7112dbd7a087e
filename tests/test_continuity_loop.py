"""The continuity loop of SPEC §6 through the orchestrator: a continuity-supervisor FAIL goes
back to world-state-tracker with its findings, the revised diff makes a new WORLD_STATE, and
the supervisor passes; a finding no revision fixes stops the run with the reasons."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel

from filmslate.engine._gateway import TextRequest
from filmslate.engine._stops import gate_of
from filmslate.skills.continuity._supervisor import SupervisorAnswer
from filmslate.synthetic import SyntheticFilm, synthetic_project, synthetic_runner
from filmslate.workflow._orchestrator import Orchestrator

FINDING = {
    "category": "injury_emotional",
    "severity": "High",
    "scenes": ["S02"],
    "description": "the diff forgets the limp the scene shows",
    "correction": "record the limp in S02's diff",
}


@dataclass(frozen=True)
class StrictSupervisor(SyntheticFilm):
    """The synthetic film, except that the supervisor finds a High problem in S02 the first
    ``fails`` times it looks."""

    fails: int = 1
    asked: list[TextRequest] = field(default_factory=list)

    def answer(self, request: TextRequest) -> BaseModel:
        if request.target == "S02":
            self.asked.append(request)
            looked = sum(1 for r in self.asked if r.skill == "continuity-supervisor")
            if request.skill == "continuity-supervisor" and looked <= self.fails:
                return SupervisorAnswer.model_validate({"findings": [FINDING]})
        return super().answer(request)

    def tracker_requests(self) -> list[TextRequest]:
        return [r for r in self.asked if r.skill == "world-state-tracker"]


def run(tmp_path: Path, fails: int) -> tuple[Orchestrator, StrictSupervisor]:
    synthetic_project(tmp_path / "film", 2, 1)[0].project.close()
    film = StrictSupervisor(2, 1, fails=fails)
    return Orchestrator(synthetic_runner(tmp_path / "film", film)), film


def test_a_supervisor_fail_is_fixed_by_a_revised_diff(tmp_path: Path) -> None:
    orchestrator, film = run(tmp_path, fails=1)
    outcome = orchestrator.run()
    assert outcome.status == "complete", outcome.describe()
    trackers = film.tracker_requests()
    assert [r.attempt for r in trackers] == [1, 2]
    assert "forgets the limp" in trackers[1].prompt  # the findings went back
    store = orchestrator.store
    reports = store.versions("CONTINUITY_REPORT", "S02")
    assert [gate_of(orchestrator.project, r.filename) for r in reports] == ["FAIL", "PASS"]
    assert orchestrator.project.verify() == []


def test_a_finding_no_revision_fixes_stops_the_run(tmp_path: Path) -> None:
    orchestrator, _ = run(tmp_path, fails=99)
    outcome = orchestrator.run()
    assert outcome.status == "stopped" and outcome.skill == "continuity-supervisor"
    assert "forgets the limp" in outcome.reason and "revised diff" in outcome.reason
    assert orchestrator.store.latest("SHOTLIST", "S02") is None  # nothing downstream ran
