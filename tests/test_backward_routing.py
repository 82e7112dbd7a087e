"""Backward routing as data (issue 14 §1, SPEC §1.4 and §6): a gate's findings go to the step
that can fix them, with the findings as revision notes; the new upstream version is made and
everything it made stale reruns, bounded by loops.max_revisions.

Synthetic films (real runner, store, skills and media; answers from ``filmslate.synthetic``)
with one finding changed: a red-team FAIL goes to story-architect (new BEATS and SCENES), a
plausibility FAIL to scene-revision (the scene's new SCENES row).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel

from filmslate.engine._gateway import TextRequest
from filmslate.engine._runner import Runner
from filmslate.skills.narrative import SceneRevisionAnswer
from filmslate.skills.validation import CriticalFailure
from filmslate.synthetic import SyntheticFilm, synthetic_project
from filmslate.testing import ScriptedTextModel
from filmslate.workflow._orchestrator import Orchestrator
from routed_films import runner_answering

HOLE = "nobody says who cut the relay cable"
Answerer = Callable[[TextRequest], BaseModel]


def failing_first(film: SyntheticFilm, skill: str, target: str, times: int = 1) -> Answerer:
    """The film's answers, except the first ``times`` answers of ``skill`` on ``target``,
    which carry a finding about the work."""
    asked: list[int] = []

    def answer(request: TextRequest) -> BaseModel:
        reply = revise_or_answer(film, request)
        if (request.skill, request.target) != (skill, target) or len(asked) >= times:
            return reply
        asked.append(1)
        if skill == "narrative-red-team":
            hole = CriticalFailure(kind="major plot hole", description=HOLE)
            return reply.model_copy(update={"critical_failures": [hole]})
        return reply.model_copy(update={"logistical": 0})

    return answer


def revise_or_answer(film: SyntheticFilm, request: TextRequest) -> BaseModel:
    """scene-revision (which the synthetic film does not play): the scene's own row, its
    summary saying how the cable reaches the quay, one change per finding."""
    if request.skill != "scene-revision":
        return film.answer(request)
    row = film.scene_row(film.scene_index(request.target))
    summary = f"{row.summary} The cable drum is winched down the quay on the harbour cart."
    findings = request.prompt.split("## Findings to fix", 1)[1].count("\n- ")
    return SceneRevisionAnswer(
        row=row.model_copy(update={"summary": summary}),
        changes=["the cable drum now travels by the harbour cart"] * findings,
    )


def produced(root: Path, answer: Answerer) -> tuple[Runner, ScriptedTextModel]:
    runner, model = runner_answering(root, answer)
    outcome = Orchestrator(runner).run()
    assert outcome.status == "complete", outcome.describe()
    assert runner.project.verify() == []
    return runner, model


def loop_backs(runner: Runner) -> list[tuple[str, str, str, str]]:
    return [
        tuple(row)
        for row in runner.store.conn.execute(
            "SELECT skill_name, target, artifact_output, notes FROM runlog "
            "WHERE event = 'loop_back' ORDER BY seq"
        ).fetchall()
    ]


def asked(model: ScriptedTextModel, skill: str, target: str) -> list[TextRequest]:
    return [q for q in model.requests if (q.skill, q.target) == (skill, target)]


def test_a_red_team_fail_revises_the_structure_and_the_story_reruns_to_pass(
    tmp_path: Path,
) -> None:
    root = tmp_path / "film"
    _, film = synthetic_project(root, 2, 1)
    runner, model = produced(root, failing_first(film, "narrative-red-team", "PROJECT"))
    store = runner.store
    finding = f"major plot hole: {HOLE}"
    assert loop_backs(runner) == [
        (
            "narrative-red-team",
            "PROJECT",
            "REDTEAM_PROJECT_v001.md",
            f"to story-architect on PROJECT: {finding}",
        )
    ]
    red = asked(model, "narrative-red-team", "PROJECT")
    assert len(red) == 2  # the auditor is not re-asked about its own finding
    assert "REVISION" not in red[1].prompt
    story = asked(model, "story-architect", "PROJECT")
    assert len(story) == 2 and finding in story[1].prompt  # the findings as revision notes
    for kind in ("BEATS", "SCENES"):
        latest = store.latest(kind)
        assert latest is not None and latest.name.version == 2
        assert "REDTEAM_PROJECT_v001.md" in [n.filename for n in store.lineage(latest.name)]
        assert not store.is_stale(latest.name)  # the passing review does not reopen it
    report = store.latest("REDTEAM", "PROJECT")
    assert report is not None and report.filename == "REDTEAM_PROJECT_v002.md"
    assert "BEATS_v002.md" in [n.filename for n in store.lineage(report.name)]
    # the story reran from the new structure: breakdown, scenes, world state, shots
    breakdown = store.latest("BREAKDOWN")
    assert breakdown is not None and breakdown.name.version == 2
    assert len(asked(model, "plausibility-auditor", "S01")) == 2


def test_a_plausibility_fail_revises_the_scene_and_the_rerun_passes(tmp_path: Path) -> None:
    root = tmp_path / "film"
    _, film = synthetic_project(root, 2, 1)
    runner, model = produced(root, failing_first(film, "plausibility-auditor", "S02"))
    store = runner.store
    [(skill, target, report, notes)] = loop_backs(runner)
    assert (skill, target, report) == ("plausibility-auditor", "S02", "PLAUS_S02_v001.md")
    assert notes.startswith("to scene-revision on S02: logistical scores 0")
    assert len(asked(model, "plausibility-auditor", "S02")) == 2
    [revision] = asked(model, "scene-revision", "S02")
    assert "logistical scores 0" in revision.prompt
    scenes = store.latest("SCENES")
    assert scenes is not None and scenes.name.version == 2
    lineage = [n.filename for n in store.lineage(scenes.name)]
    assert "PLAUS_S02_v001.md" in lineage and "TRUTH_S02_v001.md" in lineage
    rows = store.load(scenes.name).rows  # type: ignore[attr-defined]
    assert "harbour cart" in rows[1].summary and "harbour cart" not in rows[0].summary
    plaus = store.latest("PLAUS", "S02")
    assert plaus is not None and plaus.filename == "PLAUS_S02_v002.md"
    assert not store.is_stale(scenes.name)  # the passing audit does not reopen it
