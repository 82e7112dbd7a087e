"""Validation skills with the scripted model, the real runner and the real store.

For each skill: a passing answer, every FAIL condition of its gate, a malformed answer (a
clear failure, nothing written) and the runner's loop revising after a FAIL with the gate's
reasons in the next prompt.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from filmslate import Project
from filmslate.core._errors import InputNotReady, NotApplicable, ProviderError
from filmslate.engine._runner import Runner, RunResult
from filmslate.engine._skill import Registry
from filmslate.schemas import (
    Appearance,
    Behavior,
    CharLock,
    Plausibility,
    SceneRow,
    Scenes,
    Truth,
    Wardrobe,
    WorldState,
)
from filmslate.skills.validation import SKILLS
from filmslate.testing import ScriptedTextModel, scripted_runner
from test_runtime import BEATS, configure

SCENES = [
    {
        "scene_id": "S01",
        "summary": "Nell climbs the dead lighthouse.",
        "goal": "relight it",
        "conflict": "the stairs are rotten",
        "outcome": "she reaches the lamp room",
        "location": "Lighthouse",
        "time_of_day": "dusk",
        "characters_present": ["NELL"],
    },
    {
        "scene_id": "S02",
        "summary": "The harbour master refuses oil.",
        "goal": "get oil",
        "conflict": "rationing rules",
        "outcome": "she steals a can",
        "location": "Harbour Office",
        "time_of_day": "night",
        "characters_present": ["NELL", "BOB"],
    },
    {
        "scene_id": "S03",
        "summary": "A storm rolls in.",
        "goal": "light the lamp",
        "conflict": "the wick is wet",
        "outcome": "the light turns",
        "location": "Lighthouse",
        "time_of_day": "night",
        "characters_present": ["NELL"],
    },
]
GOOD_TRUTH: dict[str, Any] = {
    "claims": [
        {
            "claim": "Fresnel lenses were used in 1950s lighthouses",
            "status": "Verified",
            "citation": "US Lighthouse Society, Fresnel lens history",
        },
        {
            "claim": "a keeper could relight a lamp alone",
            "status": "Creative License",
            "creative_license_note": "one keeper stands in for a crew of two; the film shows it",
        },
    ],
    "terminology_corrections": [],
    "realism_risk": "low",
    "creative_allowances": [],
    "cultural_context": False,
}
GOOD_PLAUS: dict[str, Any] = {
    "procedural": 2,
    "physical": 2,
    "emotional": 1,
    "logistical": 2,
    "internal_consistency": 1,
}
GOOD_CULTURE: dict[str, Any] = {
    "cultural_accuracy": "Fishing-village customs are right.",
    "dialect_language": "The Breton phrases fit.",
    "historical_alignment": "1952 fits.",
    "social_norms": "Rationing is shown as it was.",
    "stereotype_risk": "Low.",
    "authenticity_score": 4,
    "adjustments": ["let Bob speak Breton to his wife"],
}
GOOD_REDTEAM: dict[str, Any] = {
    "critical_failures": [],
    "hidden_weaknesses": ["the storm arrives on cue"],
    "coincidence_scan": [{"event": "the oil can is unguarded", "central": False}],
    "stakes_audit": "Stakes rise from pride to lives.",
    "tension_audit": "Act two sags.",
    "thematic_consistency": "Every act asks what duty costs.",
    "fix_conservative": "Seed the storm warning in scene one.",
    "fix_structural": "Make the harbour master cause the blackout.",
}
GOOD_AUDIENCE: dict[str, Any] = {
    "reactions": {
        "mainstream_viewer": "Moved by Nell.",
        "genre_fan": "Classic tension.",
        "critical_viewer": "Tidy but earnest.",
    },
    "confusion_points": [{"description": "why the light was dead", "impairs_story": False}],
    "engagement_dips": ["the office scene"],
    "emotional_peaks": ["the light turns"],
    "predictability": 3,
    "clarity": 4,
    "engagement": 4,
    "adjustments": ["trim S02"],
    "stakes_clear_after_act_one": True,
    "genre_mismatch": [],
}


def registry() -> Registry:
    reg = Registry()
    for skill in SKILLS:
        reg.register(skill)
    return reg


def make_runner(root: Path, script: Any) -> tuple[Runner, ScriptedTextModel]:
    return scripted_runner(root, script, registry())


@pytest.fixture
def film(tmp_path: Path) -> Path:
    with Project.init(tmp_path / "film", name="film") as p:
        root = p.root
        p.store.write("SCENES", None, Scenes(rows=[SceneRow.model_validate(r) for r in SCENES]))
    configure(root)
    return root


def write(root: Path, kind: str, subject: str | None, payload: Any) -> None:
    with Project(root) as p:
        p.store.write(kind, subject, payload)


def truth(scene: str = "S02", **changes: Any) -> Truth:
    return Truth.model_validate(
        {**GOOD_TRUTH, "scene_id": scene, "cultural_context": None, **changes}
    )


def char_lock(name: str, temperament: str = "stubborn") -> CharLock:
    return CharLock(
        name=name,
        appearance=Appearance(age_range="40-50", build="wiry", hair="grey", eyes="green"),
        wardrobe=Wardrobe(default_outfit="oilskin coat"),
        behavior=Behavior(
            speech_patterns="clipped",
            temperament=temperament,
            decision_style="acts first",
            stress_behavior="goes silent",
            default_emotional_tone="guarded",
        ),
        voice_profile="low and dry",
        knowledge_at_introduction=[f"{name} knows the coast"],
        forbidden_drift=["never cheerful"],
    )


def once(root: Path, skill: str, target: str, answer: Any) -> tuple[RunResult, Runner]:
    r, _ = make_runner(root, [answer])
    return r.run_once(skill, target), r


def reasons(result: RunResult) -> str:
    return " | ".join(result.gate.reasons)


def assert_revises(
    root: Path, skill: str, target: str, bad: Any, good: Any, expected_reason: str
) -> None:
    """The runner's loop: FAIL, then a revision whose prompt carries the gate's reasons."""
    r, model = make_runner(root, [bad, good])
    result = r.run(skill, target)
    assert result.gate.verdict == "PASS" and result.attempt == 2
    assert expected_reason not in model.requests[0].prompt
    assert "REVISION" in model.requests[1].prompt and expected_reason in model.requests[1].prompt
    versions = r.store.versions(result.records[0].name.kind, result.records[0].name.subject)
    assert [v.name.version for v in versions] == [1, 2]


def assert_routes(
    root: Path, skill: str, target: str, bad: Any, expected_reason: str, to: tuple[str, str]
) -> None:
    """A finding about the work is not revised by asking the auditor again (issue 14): the
    FAIL comes back at once, its gate routing the finding to the step that can fix it."""
    r, model = make_runner(root, [bad])
    result = r.run(skill, target)
    assert result.gate.verdict == "FAIL" and result.attempt == 1 and len(model.requests) == 1
    route = result.gate.route
    assert route is not None and (route.skill, route.target) == to
    assert any(expected_reason in finding for finding in route.findings)
    assert result.gate.goes_upstream


def assert_malformed_fails_clearly(
    root: Path, skill: str, target: str, answer: Any, kind: str
) -> None:
    r, _ = make_runner(root, [answer])
    with pytest.raises(ProviderError, match="does not match"):
        r.run(skill, target)
    assert r.store.versions(kind, target) == []
    assert r.ledger.open_reservations() == 0


# -- research-agent ---------------------------------------------------------------------------


def test_research_pass_writes_a_truth_packet_from_the_scene_row_only(film: Path) -> None:
    r, model = make_runner(film, [GOOD_TRUTH])
    result = r.run("research-agent", "S02")
    assert result.gate.verdict == "PASS"
    assert result.records[0].filename == "TRUTH_S02_v001.md"
    assert (result.route.tier if result.route else "") == "research"
    prompt = model.requests[0].prompt
    assert "The harbour master refuses oil." in prompt
    assert "A storm rolls in." not in prompt and "dead lighthouse" not in prompt
    packet = r.store.load("TRUTH_S02_v001.md")
    assert isinstance(packet, Truth) and packet.cultural_context is None


def _claim(**fields: Any) -> dict[str, Any]:
    return {"claim": "oil was rationed in 1952", **fields}


@pytest.mark.parametrize(
    "changes,expected",
    [
        ({"claims": [_claim(status="Verified")]}, "neither a citation nor a creative-license note"),
        (
            {"claims": [_claim(status="Verified", creative_license_note="we say so")]},
            "Verified without a citation",
        ),
        (
            {"claims": [_claim(status="Creative License", citation="a book")]},
            "Creative License without a note",
        ),
        (
            {"claims": [_claim(status="Disputed", citation="Ministry records disagree")]},
            "Disputed but no terminology correction or creative allowance",
        ),
        ({"realism_risk": "high"}, "realism risk is high"),
        ({"contradictions": ["paraffin does not burn underwater"]}, "contradicts reality"),
        (
            {"impossible_procedures": ["relighting a Fresnel lamp takes a crew"]},
            "impossible procedure",
        ),
        ({"claims": []}, "lists no claims"),
        ({"cultural_context": True}, "cultural context is flagged but not named"),
    ],
)
def test_research_fail_conditions(film: Path, changes: dict[str, Any], expected: str) -> None:
    result, r = once(film, "research-agent", "S02", {**GOOD_TRUTH, **changes})
    assert result.gate.verdict == "FAIL" and expected in reasons(result)
    assert r.store.latest("TRUTH", "S02") is not None  # the failed packet is kept, gated FAIL


@pytest.mark.parametrize(
    "changes",
    [
        {
            "claims": [_claim(status="Disputed", citation="records disagree")],
            "creative_allowances": ["the film keeps the popular version"],
        },
        {
            "claims": [_claim(status="Disputed", citation="records disagree")],
            "terminology_corrections": ["say 'paraffin', not 'kerosene'"],
        },
        {"claims": [_claim(status="Disputed", citation="x", creative_license_note="legend")]},
        {"realism_risk": "high", "creative_allowances": ["the storm is heightened on purpose"]},
    ],
)
def test_research_disputes_and_high_risk_pass_when_settled(
    film: Path, changes: dict[str, Any]
) -> None:
    result, _ = once(film, "research-agent", "S02", {**GOOD_TRUTH, **changes})
    assert result.gate.verdict == "PASS", reasons(result)


def test_research_records_cultural_context(film: Path) -> None:
    answer = {
        **GOOD_TRUTH,
        "cultural_context": True,
        "cultural_context_note": "a 1950s Breton fishing village",
    }
    result, r = once(film, "research-agent", "S02", answer)
    assert result.gate.verdict == "PASS"
    packet = r.store.load(result.records[0].name)
    assert isinstance(packet, Truth)
    assert packet.cultural_context == "a 1950s Breton fishing village"
    assert "Cultural Context" in r.store.read(result.records[0].name).decode()


def test_research_malformed_answer(film: Path) -> None:
    bad = {**GOOD_TRUTH, "claims": [_claim(status="Probably", citation="x")]}
    assert_malformed_fails_clearly(film, "research-agent", "S02", bad, "TRUTH")


def test_research_revises_after_fail(film: Path) -> None:
    bad = {**GOOD_TRUTH, "claims": [_claim(status="Verified")]}
    assert_revises(film, "research-agent", "S02", bad, GOOD_TRUTH, "neither a citation")


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"contradictions": ["paraffin does not burn underwater"]}, "contradicts reality"),
        ({"impossible_procedures": ["one keeper winches the lens"]}, "impossible procedure"),
    ],
)
def test_a_research_finding_goes_to_the_scene_revision(
    film: Path, changes: dict[str, Any], expected: str
) -> None:
    bad = {**GOOD_TRUTH, **changes}
    assert_routes(film, "research-agent", "S02", bad, expected, ("scene-revision", "S02"))


# -- plausibility-auditor -------------------------------------------------------------------


@pytest.fixture
def with_truth(film: Path) -> Path:
    for scene in ("S01", "S02", "S03"):
        write(film, "TRUTH", scene, truth(scene))
    return film


def test_plausibility_pass_total_computed_in_code(with_truth: Path) -> None:
    result, r = once(with_truth, "plausibility-auditor", "S02", {**GOOD_PLAUS, "total": 3})
    assert result.gate.verdict == "PASS"
    report = r.store.load(result.records[0].name)
    assert isinstance(report, Plausibility) and report.total == 8  # the model's 3 is ignored


@pytest.mark.parametrize(
    "changes,expected",
    [
        ({"physical": 0, "emotional": 2, "internal_consistency": 2}, "physical scores 0"),
        (
            {"procedural": 1, "physical": 1, "emotional": 1},
            "total 6 of 10 is below the threshold 7",
        ),
        (
            {"internal_consistency_conflicts": ["Nell has no oil in the world state"]},
            "internal consistency conflict: Nell has no oil",
        ),
        (
            {"logistical_impossibilities": ["the harbour is 40 km away and she walks in a minute"]},
            "logistical impossibility",
        ),
    ],
)
def test_plausibility_fail_conditions(
    with_truth: Path, changes: dict[str, Any], expected: str
) -> None:
    result, r = once(with_truth, "plausibility-auditor", "S02", {**GOOD_PLAUS, **changes})
    assert result.gate.verdict == "FAIL" and expected in reasons(result)
    if "impossib" in expected:  # the flag is kept in the report, not only in the log
        assert "logistical impossibility" in r.store.read(result.records[0].name).decode()


def test_plausibility_threshold_comes_from_config(with_truth: Path) -> None:
    configure(with_truth, **{"plausibility_total = 7": "plausibility_total = 9"})
    result, _ = once(with_truth, "plausibility-auditor", "S02", GOOD_PLAUS)
    assert result.gate.verdict == "FAIL" and "below the threshold 9" in reasons(result)


def test_plausibility_malformed_answer(with_truth: Path) -> None:
    assert_malformed_fails_clearly(
        with_truth, "plausibility-auditor", "S02", {**GOOD_PLAUS, "physical": 3}, "PLAUS"
    )


def test_a_plausibility_finding_goes_to_the_scene_revision(with_truth: Path) -> None:
    assert_routes(
        with_truth,
        "plausibility-auditor",
        "S02",
        {**GOOD_PLAUS, "physical": 0},
        "physical scores 0",
        ("scene-revision", "S02"),
    )


def test_plausibility_needs_the_truth_packet(film: Path) -> None:
    r, model = make_runner(film, [GOOD_PLAUS])
    with pytest.raises(
        Exception, match="missing input TRUTH_S02: run `slate run research-agent --scene S02`"
    ):
        r.run("plausibility-auditor", "S02")
    assert model.requests == []


def test_plausibility_prompt_holds_only_the_cast_and_the_prior_world(with_truth: Path) -> None:
    write(with_truth, "CHAR_LOCK", "NELL", char_lock("NELL", "stubborn"))
    write(with_truth, "CHAR_LOCK", "MARA", char_lock("MARA", "theatrical"))
    state = WorldState.model_validate(
        {
            "timeline": {"current_scene": "S01", "elapsed_time": "one night"},
            "characters": {
                "NELL": {"injuries": ["cut hand"], "knowledge": ["the lamp is dry"]},
                "MARA": {"knowledge": ["the secret code"]},
            },
            "props": {
                "OIL_CAN": {"owner": "BOB", "location": "Harbour Office"},
                "RADIO": {"owner": "MARA", "location": "Town"},
            },
            "rules": {"fictional_constraints": ["no electricity on the island"]},
        }
    )
    write(with_truth, "WORLD_STATE", None, state)
    r, model = make_runner(with_truth, [GOOD_PLAUS])
    r.run_once("plausibility-auditor", "S02")
    prompt = model.requests[0].prompt
    assert "stubborn" in prompt and "theatrical" not in prompt  # MARA is not in S02
    assert "cut hand" in prompt and "the secret code" not in prompt
    assert "OIL_CAN" in prompt and "RADIO" not in prompt
    assert "no electricity on the island" in prompt and "State after S01" in prompt
    assert "BOB: no character lock yet" in prompt


def test_plausibility_does_not_show_a_later_world_as_the_prior_one(with_truth: Path) -> None:
    write(
        with_truth,
        "WORLD_STATE",
        None,
        WorldState.model_validate(
            {"timeline": {"current_scene": "S03"}, "characters": {"NELL": {"injuries": ["burn"]}}}
        ),
    )
    r, model = make_runner(with_truth, [GOOD_PLAUS])
    # it reads the state before S02 (after S01), never a later one: none, so it is refused
    with pytest.raises(InputNotReady, match="no WORLD_STATE after S01"):
        r.run_once("plausibility-auditor", "S02")
    assert model.requests == []


def test_per_scene_prompt_does_not_grow_with_the_number_of_scenes(tmp_path: Path) -> None:
    rows = [
        SceneRow(
            scene_id=f"S{i:03d}",
            summary=f"Beat number {i:03d} happens.",
            goal="win",
            conflict="loss",
            outcome="draw",
            location="Lighthouse",
            time_of_day="night",
            characters_present=["NELL"],
        )
        for i in range(1, 301)
    ]
    with Project.init(tmp_path / "big", name="big") as p:
        root = p.root
        p.store.write("SCENES", None, Scenes(rows=rows))
        for scene in ("S003", "S300"):
            p.store.write("TRUTH", scene, truth(scene))
    configure(root)
    r, model = make_runner(root, [GOOD_PLAUS, GOOD_PLAUS])
    r.run_once("plausibility-auditor", "S003")
    r.run_once("plausibility-auditor", "S300")
    early, late = model.requests
    assert len(early.system + early.prompt) == len(late.system + late.prompt)
    assert "Beat number 003" in early.prompt and "Beat number 004" not in early.prompt
    assert len(late.prompt) < 2000  # one scene, not three hundred


# -- cultural-check ---------------------------------------------------------------------------


@pytest.fixture
def cultural(with_truth: Path) -> Path:
    write(
        with_truth,
        "TRUTH",
        "S02",
        truth(
            "S02",
            cultural_context="a 1950s Breton fishing village",
            claims=[
                {
                    "claim": "Breton was banned in schools",
                    "status": "Verified",
                    "citation": "Broudic, 1995",
                },
                {
                    "claim": "the harbour master spoke only French",
                    "status": "Disputed",
                    "citation": "village records disagree",
                },
                {
                    "claim": "the pardon festival is in August",
                    "status": "Disputed",
                    "citation": "dates vary",
                    "creative_license_note": "the film fixes it",
                },
            ],
            creative_allowances=["the festival date is fixed for the story"],
        ),
    )
    return with_truth


def test_cultural_check_skips_cleanly_when_not_applicable(with_truth: Path) -> None:
    r, model = make_runner(with_truth, [GOOD_CULTURE])
    with pytest.raises(
        NotApplicable, match="does not apply to S01: its truth packet records no real culture"
    ):
        r.run("cultural-check", "S01")
    assert model.requests == [] and r.store.versions("CULTURE", "S01") == []
    assert r.ledger.open_reservations() == 0


def test_cultural_check_pass(cultural: Path) -> None:
    r, model = make_runner(cultural, [{**GOOD_CULTURE, "claims_presented_as_fact": [1, 3]}])
    result = r.run("cultural-check", "S02")
    assert result.gate.verdict == "PASS", reasons(result)
    assert result.records[0].filename == "CULTURE_S02_v001.md"
    prompt = model.requests[0].prompt
    assert "2. [Disputed] the harbour master spoke only French" in prompt
    assert "a 1950s Breton fishing village" in prompt


@pytest.mark.parametrize(
    "changes,expected",
    [
        ({"authenticity_score": 2}, "authenticity 2 of 5 is below the threshold 3"),
        (
            {"harmful_misrepresentations": ["villagers shown as drunkards"]},
            "harmful misrepresentation",
        ),
        ({"major_historical_inaccuracies": ["the war ended in 1950"]}, "major historical"),
        ({"wrong_dialect": ["Bob speaks Parisian slang"]}, "clearly wrong dialect"),
        ({"claims_presented_as_fact": [2]}, "contradicts the truth packet: claim 2"),
        ({"claims_presented_as_fact": [9]}, "claim 9 presented as fact does not exist"),
        ({"social_norms": ""}, "section social norms is empty"),
    ],
)
def test_cultural_check_fail_conditions(
    cultural: Path, changes: dict[str, Any], expected: str
) -> None:
    result, _ = once(cultural, "cultural-check", "S02", {**GOOD_CULTURE, **changes})
    assert result.gate.verdict == "FAIL" and expected in reasons(result)


def test_cultural_threshold_comes_from_config(cultural: Path) -> None:
    configure(cultural, **{"culture_authenticity = 3": "culture_authenticity = 5"})
    result, _ = once(cultural, "cultural-check", "S02", GOOD_CULTURE)
    assert result.gate.verdict == "FAIL" and "below the threshold 5" in reasons(result)


def test_cultural_check_malformed_answer(cultural: Path) -> None:
    assert_malformed_fails_clearly(
        cultural, "cultural-check", "S02", {**GOOD_CULTURE, "authenticity_score": 6}, "CULTURE"
    )


def test_a_cultural_finding_goes_to_the_scene_revision(cultural: Path) -> None:
    assert_routes(
        cultural,
        "cultural-check",
        "S02",
        {**GOOD_CULTURE, "authenticity_score": 1},
        "authenticity 1 of 5",
        ("scene-revision", "S02"),
    )


# -- narrative-red-team -----------------------------------------------------------------------


@pytest.fixture
def story(film: Path) -> Path:
    from filmslate.schemas import Beats

    write(film, "BEATS", None, Beats.model_validate(BEATS))
    return film


def test_red_team_pass_at_the_premium_tier(story: Path) -> None:
    r, model = make_runner(story, [GOOD_REDTEAM])
    result = r.run("narrative-red-team", "PROJECT")
    assert result.gate.verdict == "PASS" and result.records[0].filename == "REDTEAM_PROJECT_v001.md"
    assert model.requests[0].model == "scripted:premium"
    assert all(row["summary"] in model.requests[0].prompt for row in SCENES)
    text = r.store.read(result.records[0].name).decode()
    assert "## Fix Option: Conservative" in text and "## Fix Option: Structural" in text


def test_red_team_light_pass_runs_at_the_judgment_tier(story: Path) -> None:
    r, model = make_runner(story, [GOOD_REDTEAM])
    result = r.run("narrative-red-team-light", "ACT_1")
    assert result.gate.verdict == "PASS" and result.records[0].filename == "REDTEAM_ACT_1_v001.md"
    assert model.requests[0].model == "scripted:judgment"
    assert "light pass" in model.requests[0].system and "ACT_1" in model.requests[0].prompt


def test_red_team_on_a_scene_reads_that_scene(story: Path) -> None:
    r, model = make_runner(story, [GOOD_REDTEAM])
    r.run("narrative-red-team", "S02")
    assert "refuses oil" in model.requests[0].prompt and "storm" not in model.requests[0].prompt


@pytest.mark.parametrize(
    "kind",
    [
        "major plot hole",
        "central coincidence",
        "stakes collapse",
        "antagonist incompetence",
        "unearned climax",
    ],
)
def test_red_team_fails_on_each_critical_failure(story: Path, kind: str) -> None:
    answer = {**GOOD_REDTEAM, "critical_failures": [{"kind": kind, "description": "x y z"}]}
    result, r = once(story, "narrative-red-team", "PROJECT", answer)
    assert result.gate.verdict == "FAIL" and f"{kind}: x y z" in reasons(result)
    assert f"- {kind}: x y z" in r.store.read(result.records[0].name).decode()


@pytest.mark.parametrize(
    "changes,expected",
    [
        (
            {"coincidence_scan": [{"event": "the storm hits exactly then", "central": True}]},
            "central event rests on coincidence",
        ),
        (
            {"fix_structural": "  seed the storm WARNING in scene one. "},
            "conservative and structural fix options are the same",
        ),
        ({"fix_conservative": ""}, "section fix option: conservative is empty"),
        ({"fix_structural": ""}, "section fix option: structural is empty"),
        ({"stakes_audit": ""}, "section stakes audit is empty"),
        ({"hidden_weaknesses": []}, "hidden weaknesses is empty"),
    ],
)
def test_red_team_fail_conditions(story: Path, changes: dict[str, Any], expected: str) -> None:
    result, _ = once(story, "narrative-red-team", "PROJECT", {**GOOD_REDTEAM, **changes})
    assert result.gate.verdict == "FAIL" and expected in reasons(result)


def test_red_team_malformed_answer(story: Path) -> None:
    bad = {**GOOD_REDTEAM, "critical_failures": [{"kind": "boring", "description": "x"}]}
    assert_malformed_fails_clearly(story, "narrative-red-team", "PROJECT", bad, "REDTEAM")


def test_red_team_answer_that_cannot_be_written_is_malformed(story: Path) -> None:
    bad = {**GOOD_REDTEAM, "stakes_audit": "fine\n## Crisis\nhidden heading"}
    assert_malformed_fails_clearly(story, "narrative-red-team", "PROJECT", bad, "REDTEAM")


def test_a_red_team_finding_goes_to_story_architect(story: Path) -> None:
    bad = {
        **GOOD_REDTEAM,
        "critical_failures": [
            {"kind": "unearned climax", "description": "the lamp relights itself"}
        ],
    }
    assert_routes(
        story,
        "narrative-red-team",
        "PROJECT",
        bad,
        "unearned climax: the lamp relights itself",
        ("story-architect", "PROJECT"),
    )


def test_red_team_revises_its_own_empty_section(story: Path) -> None:
    assert_revises(
        story,
        "narrative-red-team",
        "PROJECT",
        {**GOOD_REDTEAM, "hidden_weaknesses": []},
        GOOD_REDTEAM,
        "section hidden weaknesses is empty",
    )


# -- audience-simulator -----------------------------------------------------------------------


def test_audience_pass(story: Path) -> None:
    r, model = make_runner(story, [GOOD_AUDIENCE])
    result = r.run("audience-simulator", "PROJECT")
    assert result.gate.verdict == "PASS"
    assert result.records[0].filename == "AUDIENCE_PROJECT_v001.md"
    assert model.requests[0].model == "scripted:judgment"
    for persona in ("mainstream viewer", "genre fan", "critical viewer"):
        assert persona in model.requests[0].system


@pytest.mark.parametrize(
    "changes,expected",
    [
        ({"clarity": 2}, "clarity 2 is below 3"),
        ({"engagement": 2}, "engagement 2 is below 3"),
        ({"stakes_clear_after_act_one": False}, "stakes are unclear after act one"),
        (
            {"confusion_points": [{"description": "who the stranger is", "impairs_story": True}]},
            "confusion impairs the story: who the stranger is",
        ),
        ({"genre_mismatch": ["sold as a thriller, plays as a romance"]}, "genre mismatch"),
        (
            {"reactions": {**GOOD_AUDIENCE["reactions"], "genre_fan": ""}},
            "the genre fan reaction is missing",
        ),
    ],
)
def test_audience_fail_conditions(story: Path, changes: dict[str, Any], expected: str) -> None:
    result, _ = once(story, "audience-simulator", "PROJECT", {**GOOD_AUDIENCE, **changes})
    assert result.gate.verdict == "FAIL" and expected in reasons(result)


def test_audience_thresholds_come_from_config(story: Path) -> None:
    configure(
        story,
        **{
            "audience_clarity = 3": "audience_clarity = 5",
            "audience_engagement = 3": "audience_engagement = 5",
        },
    )
    result, _ = once(story, "audience-simulator", "PROJECT", GOOD_AUDIENCE)
    assert "clarity 4 is below 5" in reasons(result)
    assert "engagement 4 is below 5" in reasons(result)


def test_audience_malformed_answer(story: Path) -> None:
    bad = {**GOOD_AUDIENCE, "reactions": {"mainstream_viewer": "ok", "genre_fan": "ok"}}
    assert_malformed_fails_clearly(story, "audience-simulator", "PROJECT", bad, "AUDIENCE")


def test_an_audience_finding_goes_to_story_architect(story: Path) -> None:
    assert_routes(
        story,
        "audience-simulator",
        "PROJECT",
        {**GOOD_AUDIENCE, "clarity": 1},
        "clarity 1 is below 3",
        ("story-architect", "PROJECT"),
    )
