"""The narrative and validation loops, and the production gate they guard.

The narrative loop's first three skills belong to another module; these tests register small
TEST STAND-INS under the same names in a test-local registry, so the loops are exercised with
the real runner, the real store and the real validation skills.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import pytest

from filmslate import Project
from filmslate.core._errors import UserError
from filmslate.core._gate import Gate
from filmslate.engine._gateway import TextRequest
from filmslate.engine._readiness import production_allowed
from filmslate.engine._runner import Runner
from filmslate.engine._skill import Context, Need, Registry, Skill
from filmslate.schemas import Beats, Breakdown, BreakdownRow, Psych, SceneRow, Scenes, WorldState
from filmslate.skills.narrative import SceneRevision
from filmslate.skills.validation import SKILLS
from filmslate.testing import ScriptedTextModel, scripted_runner
from filmslate.workflow._loops import LoopResult, run_loop
from test_runtime import BEATS, configure
from test_skills_validation import (
    GOOD_AUDIENCE,
    GOOD_CULTURE,
    GOOD_PLAUS,
    GOOD_REDTEAM,
    GOOD_TRUTH,
    SCENES,
    char_lock,
)

# -- TEST STAND-INS for the narrative module's skills (not the real ones) ---------------------


class StandInStoryArchitect(Skill):
    """TEST STAND-IN for story-architect: asks for beats, writes the fixed scene list."""

    name: ClassVar[str] = "story-architect"
    layer: ClassVar[Any] = "narrative"
    tier: ClassVar[Any] = "judgment"
    loop: ClassVar[str] = "narrative"
    produces: ClassVar[tuple[str, ...]] = ("BEATS", "SCENES")

    def produce(self, ctx: Context) -> list[Any]:
        beats = ctx.ask(Beats, "stand-in", "beats" + "; ".join(ctx.feedback))
        return [beats, Scenes(rows=[SceneRow.model_validate(r) for r in [*SCENES, QUIET]])]

    def gate(self, outputs: list[Any], ctx: Context) -> Gate:
        return Gate.from_failures(
            [] if len(outputs[0].escalation_sequence) >= 2 else ["stakes do not escalate"]
        )


class StandInBreakdown(Skill):
    """TEST STAND-IN for script-breakdown: deterministic, one row per scene."""

    name: ClassVar[str] = "script-breakdown"
    layer: ClassVar[Any] = "narrative"
    loop: ClassVar[str] = "narrative"
    needs: ClassVar[tuple[Need, ...]] = (Need("SCENES"),)
    produces: ClassVar[tuple[str, ...]] = ("BREAKDOWN",)
    uses_model: ClassVar[bool] = False

    def produce(self, ctx: Context) -> list[Any]:
        return [
            Breakdown(
                rows=[
                    BreakdownRow(scene_id=r.scene_id, characters_present=r.characters_present)
                    for r in ctx.inputs.get("SCENES").rows
                ]
            )
        ]


class StandInPsychology(Skill):
    """TEST STAND-IN for character-psychology: per scene; FAIL when drift warning is YES."""

    name: ClassVar[str] = "character-psychology"
    layer: ClassVar[Any] = "narrative"
    tier: ClassVar[Any] = "judgment"
    loop: ClassVar[str] = "narrative"
    needs: ClassVar[tuple[Need, ...]] = (Need("SCENES"),)
    produces: ClassVar[tuple[str, ...]] = ("PSYCH",)
    target_scope: ClassVar[Any] = "scene"

    def produce(self, ctx: Context) -> list[Any]:
        psych = ctx.ask(Psych, "stand-in", f"psych {ctx.target}" + "; ".join(ctx.feedback))
        return [psych.model_copy(update={"scene_id": ctx.scene_id})]

    def gate(self, outputs: list[Any], ctx: Context) -> Gate:
        drift = [c.character for c in outputs[0].characters if c.drift_warning == "YES"]
        return Gate.from_failures([f"drift warning for {c}" for c in drift])


STAND_INS = (StandInStoryArchitect, StandInBreakdown, StandInPsychology)
QUIET = {
    "scene_id": "S04",
    "summary": "The lamp turns over an empty sea.",
    "location": "Lighthouse",
    "time_of_day": "dawn",
    "goal": "show the light",
    "conflict": "nobody sees it",
    "outcome": "a ship answers",
    "characters_present": [],
}


def psych(drift: str = "NO") -> dict[str, Any]:
    return {
        "scene_id": "S01",
        "characters": [
            {
                "character": "NELL",
                "motivation_alignment": "fits",
                "emotional_continuity": "fits",
                "trauma_history_influence": "her father's wreck",
                "arc_progression_status": "rising",
                "drift_warning": drift,
            }
        ],
    }


# -- harness ------------------------------------------------------------------------------------

Answers = dict[str, list[Any]]


class BySkill:
    """A script that answers each skill from its own queue (the loop's order may vary)."""

    def __init__(self, answers: Answers) -> None:
        self.answers = {k: list(v) for k, v in answers.items()}

    def __call__(self, request: TextRequest) -> Any:
        queue = self.answers.get(request.skill) or []
        if not queue:
            raise AssertionError(f"unexpected call: {request.skill} {request.target}")
        return queue.pop(0)


def narrative_answers(**overrides: list[Any]) -> Answers:
    return {
        "story-architect": [BEATS],
        "character-psychology": [psych()] * 3,
        "narrative-red-team": [GOOD_REDTEAM],
        "audience-simulator": [GOOD_AUDIENCE],
        **overrides,
    }


def validation_answers(scenes: int = 4, culture: tuple[str, ...] = ()) -> Answers:
    truths = [
        {**GOOD_TRUTH, "cultural_context": True, "cultural_context_note": "Breton village"}
        if f"S0{i}" in culture
        else GOOD_TRUTH
        for i in range(1, scenes + 1)
    ]
    return {
        "research-agent": truths,
        "plausibility-auditor": [GOOD_PLAUS] * scenes,
        "cultural-check": [GOOD_CULTURE] * len(culture),
    }


def registry(with_stand_ins: bool = True) -> Registry:
    reg = Registry()
    for skill in (*SKILLS, *(STAND_INS if with_stand_ins else ())):
        reg.register(skill)
    return reg


@pytest.fixture
def film(tmp_path: Path) -> Path:
    with Project.init(tmp_path / "film", name="film") as p:
        root = p.root
    configure(root)
    return root


def make_runner(
    root: Path, answers: Answers | Callable[[TextRequest], Any], reg: Registry | None = None
) -> tuple[Runner, ScriptedTextModel]:
    return scripted_runner(
        root, answers if callable(answers) else BySkill(answers), reg or registry()
    )


def statuses(result: LoopResult) -> list[tuple[str, str, str]]:
    return [(s.skill, s.target, s.status) for s in result.steps]


# -- narrative loop -------------------------------------------------------------------------------


def test_narrative_loop_runs_every_step_then_skips_what_is_up_to_date(film: Path) -> None:
    r, model = make_runner(film, narrative_answers())
    result = run_loop(r, "narrative")
    assert result.passed, result.describe()
    assert statuses(result) == [
        ("story-architect", "PROJECT", "passed"),
        ("script-breakdown", "PROJECT", "passed"),
        ("character-psychology", "S01", "passed"),
        ("character-psychology", "S02", "passed"),
        ("character-psychology", "S03", "passed"),
        ("character-psychology", "S04", "skipped"),  # nobody on screen
        ("narrative-red-team", "PROJECT", "passed"),
        ("audience-simulator", "PROJECT", "passed"),
    ]
    assert [q.model for q in model.requests if q.skill == "narrative-red-team"] == [
        "scripted:premium"
    ]
    calls = len(model.requests)
    again = run_loop(r, "narrative")
    assert again.passed and len(model.requests) == calls
    assert {s.status for s in again.steps} == {"up_to_date", "skipped"}
    assert again.describe().endswith("narrative loop on PROJECT: PASS")


def test_narrative_fail_mid_loop_revises_with_the_reasons_and_passes(film: Path) -> None:
    hole = {
        **GOOD_REDTEAM,
        "critical_failures": [
            {"kind": "major plot hole", "description": "where does the oil come from"}
        ],
    }
    r, model = make_runner(
        film,
        narrative_answers(
            **{
                "story-architect": [BEATS, BEATS],
                "narrative-red-team": [hole, GOOD_REDTEAM],
                "character-psychology": [psych(), psych("YES"), psych(), psych()],
            }
        ),
    )
    result = run_loop(r, "narrative")
    assert result.passed, result.describe()
    finding = "major plot hole: where does the oil come from"
    red = [q for q in model.requests if q.skill == "narrative-red-team"]
    assert len(red) == 2 and finding not in red[1].prompt  # the red team is not re-asked...
    story = [q for q in model.requests if q.skill == "story-architect"]
    assert len(story) == 2 and finding in story[1].prompt  # ...the story is revised
    assert ("narrative-red-team", "PROJECT", "sent_back") in statuses(result)
    s02 = [q for q in model.requests if q.skill == "character-psychology" and q.target == "S02"]
    assert len(s02) == 2 and "drift warning for NELL" in s02[1].prompt
    latest = r.store.latest("REDTEAM", "PROJECT")
    assert latest is not None and latest.filename == "REDTEAM_PROJECT_v002.md"


def test_hard_stop_ends_the_loop_and_says_where(film: Path) -> None:
    configure(film, **{"max_revisions = 2": "max_revisions = 0"})
    dull = {**GOOD_AUDIENCE, "engagement": 1}
    r, model = make_runner(film, narrative_answers(**{"audience-simulator": [dull, dull]}))
    result = run_loop(r, "narrative")
    assert not result.passed
    stop = result.stopped_at
    assert stop is not None and (stop.skill, stop.target, stop.status) == (
        "audience-simulator",
        "PROJECT",
        "stopped",
    )
    # a finding goes upstream, not to a bigger auditor; with no revisions allowed it stops
    assert "after 0 revision(s) by story-architect" in stop.detail
    assert "engagement 1 is below 3" in stop.detail
    assert result.steps[-1] is stop and result.steps[-2].status == "passed"
    assert "stopped at audience-simulator on PROJECT" in result.describe()
    assert [q.model for q in model.requests if q.skill == "audience-simulator"] == [
        "scripted:judgment"
    ]
    again = run_loop(r, "narrative")  # the stop holds until a person overrides it
    assert again.stopped_at is not None and "hard stop" in again.stopped_at.detail


def test_missing_skills_fail_clearly(film: Path) -> None:
    r, _ = make_runner(film, {}, registry(with_stand_ins=False))
    with pytest.raises(
        UserError,
        match="the narrative loop needs story-architect, "
        "script-breakdown, character-psychology, which are "
        "not registered",
    ):
        run_loop(r, "narrative")
    with pytest.raises(UserError, match="no loop named 'continuity'"):
        run_loop(r, "continuity")


def test_narrative_loop_runs_on_the_project_only(film: Path) -> None:
    r, _ = make_runner(film, {})
    with pytest.raises(UserError, match="use PROJECT"):
        run_loop(r, "narrative", "S01")


# -- validation loop ------------------------------------------------------------------------------


def _story(film: Path) -> Runner:
    r, _ = make_runner(film, narrative_answers())
    assert run_loop(r, "narrative").passed
    return r


def test_validation_loop_runs_every_scene_in_order(film: Path) -> None:
    _story(film)
    r, model = make_runner(film, validation_answers(culture=("S02",)))
    result = run_loop(r, "validation", "PROJECT")
    assert result.passed, result.describe()
    assert statuses(result) == [
        ("research-agent", "S01", "passed"),
        ("plausibility-auditor", "S01", "passed"),
        ("cultural-check", "S01", "skipped"),
        ("research-agent", "S02", "passed"),
        ("plausibility-auditor", "S02", "passed"),
        ("cultural-check", "S02", "passed"),
        ("research-agent", "S03", "passed"),
        ("plausibility-auditor", "S03", "passed"),
        ("cultural-check", "S03", "skipped"),
        ("research-agent", "S04", "passed"),
        ("plausibility-auditor", "S04", "passed"),
        ("cultural-check", "S04", "skipped"),
    ]
    assert [q.model for q in model.requests if q.skill == "research-agent"] == [
        "scripted:research"
    ] * 4


def test_validation_loop_on_one_scene_revises_and_stops_at_a_hard_stop(film: Path) -> None:
    _story(film)
    configure(film, **{"max_revisions = 2": "max_revisions = 1"})
    weak = {**GOOD_PLAUS, "logistical": 0}
    revised = {"row": {**SCENES[2], "summary": "Nell carries the oil up by the stair."}}
    reg = registry()
    reg.register(SceneRevision)
    r, model = make_runner(
        film,
        {
            "research-agent": [GOOD_TRUTH, GOOD_TRUTH],
            "plausibility-auditor": [weak, weak],
            "scene-revision": [{**revised, "changes": ["the oil goes up by the stair"] * 2}],
        },
        reg,
    )
    result = run_loop(r, "validation", "S03")
    assert [(s.skill, s.status) for s in result.steps] == [
        ("research-agent", "passed"),
        ("plausibility-auditor", "sent_back"),  # a finding: sent to the scene's revision
        ("research-agent", "passed"),  # the truth packet updated for the revised scene
        ("plausibility-auditor", "stopped"),  # past loops.max_revisions: a hard stop
    ]
    assert result.stopped_at is not None and result.stopped_at.target == "S03"
    assert "logistical scores 0" in result.stopped_at.detail
    [revision] = [q for q in model.requests if q.skill == "scene-revision"]
    assert "logistical scores 0" in revision.prompt  # the revision carried the findings
    scenes = r.store.latest("SCENES")
    assert scenes is not None and scenes.filename == "SCENES_v002.csv"
    assert r.store.versions("TRUTH", "S01") == []  # one scene only


def test_validation_loop_refuses_unknown_scenes(film: Path) -> None:
    _story(film)
    r, _ = make_runner(film, {})
    with pytest.raises(UserError, match="runs on a scene of SCENES or on PROJECT"):
        run_loop(r, "validation", "S09")


# -- production gate ------------------------------------------------------------------------------


def _validate(film: Path, scene: str, culture: bool = False) -> None:
    truth = (
        {**GOOD_TRUTH, "cultural_context": True, "cultural_context_note": "Breton village"}
        if culture
        else GOOD_TRUTH
    )
    r, _ = make_runner(
        film,
        {
            "research-agent": [truth],
            "plausibility-auditor": [GOOD_PLAUS],
            "cultural-check": [GOOD_CULTURE],
        },
    )
    assert run_loop(r, "validation", scene).passed


def test_production_is_blocked_until_both_loops_pass(film: Path) -> None:
    project = Project(film)
    allowed, why = production_allowed(project, "S01")
    assert not allowed and "S01 is not in the latest SCENES" in why[0]
    _story(film)
    allowed, why = production_allowed(project, "S01")
    assert not allowed and all(w.startswith("validation loop not passed") for w in why)
    assert any(
        "TRUTH_S01 does not exist yet" in w and "slate run validation --scene S01" in w for w in why
    )
    _validate(film, "S01")
    assert production_allowed(project, "S01") == (True, [])
    assert not production_allowed(project, "S02")[0]
    _validate(film, "S02", culture=True)
    assert production_allowed(project, "S02") == (True, [])
    # a light red-team pass on PROJECT replaces the full one: production waits for the full
    quick = {**GOOD_REDTEAM, "tension_audit": "Quick look: fine."}
    light, _ = make_runner(film, {"narrative-red-team-light": [quick]})
    light.run("narrative-red-team-light", "PROJECT")
    allowed, why = production_allowed(project, "S01")
    assert not allowed and "light red-team pass" in why[0]
    again, model = make_runner(film, {"narrative-red-team": [GOOD_REDTEAM]})
    assert run_loop(again, "narrative").passed
    assert [q.skill for q in model.requests] == ["narrative-red-team"]
    assert production_allowed(project, "S01") == (True, [])


def test_a_revised_story_reopens_production(film: Path) -> None:
    project = Project(film)
    _story(film)
    _validate(film, "S01")
    assert production_allowed(project, "S01")[0]
    r, _ = make_runner(film, {"story-architect": [{**BEATS, "crisis": "the lamp cracks"}]})
    r.run("story-architect", "PROJECT", force=True)
    allowed, why = production_allowed(project, "S01")
    assert not allowed and any("is newer" in w for w in why)


def test_world_state_moving_on_does_not_reopen_a_validated_scene(film: Path) -> None:
    project = Project(film)
    _story(film)
    state = WorldState.model_validate({"characters": {"NELL": {"emotional_state": "calm"}}})
    project.store.write("WORLD_STATE", None, state)  # the initial state, before S01
    _validate(film, "S01")
    assert production_allowed(project, "S01")[0]
    for scene in ("S01", "S02"):  # the tracker moves on through S01 and S02
        project.store.write(
            "WORLD_STATE",
            None,
            state.model_copy(
                update={"timeline": state.timeline.model_copy(update={"current_scene": scene})}
            ),
        )
    assert production_allowed(project, "S01") == (True, [])
    project.store.write(
        "WORLD_STATE",
        None,
        state.model_copy(  # the state before S01, redone
            update={"characters": {}}
        ),
    )
    allowed, why = production_allowed(project, "S01")
    assert not allowed and any(
        "WORLD_STATE_v001.json; WORLD_STATE_v004.json is newer" in w for w in why
    )


def test_only_locks_of_the_scene_cast_reopen_it(film: Path) -> None:
    project = Project(film)
    _story(film)
    for name in ("NELL", "BOB"):
        project.store.write("CHAR_LOCK", name, char_lock(name))
    _validate(film, "S01")  # S01: NELL alone
    assert production_allowed(project, "S01")[0]
    project.store.write("CHAR_LOCK", "BOB", char_lock("BOB", "gruff"))
    assert production_allowed(project, "S01") == (True, [])
    project.store.write("CHAR_LOCK", "NELL", char_lock("NELL", "reckless"))
    allowed, why = production_allowed(project, "S01")
    assert not allowed and any("CHAR_NELL_LOCK_v001.txt" in w for w in why)
