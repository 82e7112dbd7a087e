"""Narrative skills through the real runner and store, with the scripted model.

story-architect, script-breakdown, character-psychology and dialogue-consistency-check: a
passing answer, every FAIL condition of each gate, malformed answers, the revise loop, code-only
dialogue drift detection, and bounded prompts (scene 3 and scene 300 of a generated project).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from filmslate import Project
from filmslate.core._errors import ProviderError
from filmslate.engine._gateway import TextRequest
from filmslate.engine._runner import Runner
from filmslate.engine._skill import REGISTRY
from filmslate.rules._stylometry import profile
from filmslate.schemas import (
    Breakdown,
    CharLock,
    DialogueCheck,
    Premise,
    Scenes,
    ScriptScene,
    StateDiff,
    VoiceLock,
    WorldState,
)
from filmslate.skills._prompts import system_prompt
from filmslate.skills.narrative import (
    HISTORY_WORDS,
    merge_profiles,
    row_profile,
    running_profiles,
    same_fact,
    voice_expectation,
)
from filmslate.testing import ScriptedTextModel, scripted_runner
from filmslate.workflow._importer import import_screenplay
from test_runtime import configure

# -- harness ----------------------------------------------------------------------------------


@pytest.fixture
def film(tmp_path: Path) -> Path:
    with Project.init(tmp_path / "film", name="film") as p:
        root = p.root
    configure(root)
    return root


def make_runner(root: Path, script: Any) -> tuple[Runner, ScriptedTextModel]:
    return scripted_runner(root, script, REGISTRY)


def put(r: Runner, kind: str, subject: str | None, payload: Any) -> None:
    r.store.write(kind, subject, payload)


def reasons(result: Any) -> str:
    return " | ".join(result.gate.reasons)


def test_every_skill_has_its_prompt_with_role_process_and_checklist() -> None:
    for name in (
        "story-architect",
        "script-breakdown",
        "character-psychology",
        "dialogue-consistency-check",
    ):
        text = system_prompt("filmslate.skills.narrative", name)
        assert all(part in text for part in ("ROLE", "PROCESS", "CHECKLIST")), name
        skill = REGISTRY.get(name)
        assert skill.loop == "narrative" and skill.uses_model


# =============================================================================================
# story-architect
# =============================================================================================

PREMISE = Premise(
    title="The Last Keeper",
    logline="An old keeper relights a dead lighthouse before a storm.",
    genre="drama",
    tone="tense",
    length="short",
    characters=["Nell, the keeper", "TOM"],
)


def scene(n: int, **over: Any) -> dict[str, Any]:
    row = {
        "scene_id": f"S{n:02d}",
        "summary": f"Nell works on the lamp, part {n}.",
        "goal": "Nell wants the lamp lit by dusk",
        "conflict": "Tom wants to sell the lens",
        "outcome": "Nell hides the lens in the cellar",
        "location": "lighthouse lamp room",
        "time_of_day": "NIGHT",
        "characters_present": ["Nell", "TOM"],
    }
    return {**row, **over}


def story(**over: Any) -> dict[str, Any]:
    answer = {
        "central_dramatic_question": "Will Nell relight the lighthouse before the storm?",
        "inciting_incident": "The lamp dies as the storm warning comes in.",
        "escalation_sequence": ["Tom plans to sell the lens", "The oil is stolen"],
        "midpoint_shift": "Nell learns Tom sold the oil to pay her debts.",
        "crisis": "The storm hits and the ship's lights appear.",
        "climax": "Nell relights the lighthouse with the last lamp oil as the storm peaks.",
        "climax_answers": "Yes: she relights it, at the cost of her savings.",
        "resolution": "The ship passes safely; Tom stays.",
        "escalation": [
            {"beat": "inciting incident", "level": 3},
            {"beat": "escalation 1", "level": 5},
            {"beat": "midpoint shift", "level": 6},
            {"beat": "crisis", "level": 8},
            {"beat": "climax", "level": 10},
        ],
        "midpoint_changes_trajectory": True,
        "midpoint_explanation": "Tom turns from obstacle to ally.",
        "scenes": [scene(1), scene(2), scene(3, characters_present=["NELL", "Harbour Master"])],
        "new_characters": ["HARBOUR_MASTER"],
    }
    answer.update(over)
    return answer


def architect(film: Path, script: Any) -> tuple[Runner, ScriptedTextModel]:
    r, model = make_runner(film, script)
    put(r, "PREMISE", None, PREMISE)
    return r, model


def test_story_architect_passes_and_writes_beats_and_canonical_scenes(film: Path) -> None:
    r, model = architect(film, [story()])
    result = r.run("story-architect", "PROJECT")
    assert result.gate.verdict == "PASS", reasons(result)
    assert [rec.filename for rec in result.records] == ["BEATS_v001.md", "SCENES_v001.csv"]
    scenes = r.store.load("SCENES_v001.csv")
    assert isinstance(scenes, Scenes)
    assert scenes.rows[0].location == "LIGHTHOUSE_LAMP_ROOM"
    assert scenes.rows[2].characters_present == ["NELL", "HARBOUR_MASTER"]
    beats = r.store.load("BEATS_v001.md")
    assert beats.title == "The Last Keeper"  # type: ignore[attr-defined]
    prompt = model.requests[0].prompt
    assert "An old keeper relights" in prompt and "CHECKLIST" in model.requests[0].system


def _stakes(*levels: int) -> list[dict[str, Any]]:
    names = ["inciting incident", "escalation", "midpoint", "crisis", "climax"]
    return [{"beat": names[i], "level": lv} for i, lv in enumerate(levels)]


STORY_FAILS: list[tuple[dict[str, Any], str]] = [
    ({"scenes": [scene(1, goal=""), scene(2)]}, "S01: the scene has no goal"),
    ({"scenes": [scene(1), scene(2, conflict="something happens")]}, "S02: the conflict is vague"),
    ({"scenes": [scene(1, outcome="she wins")]}, "S01: the outcome is vague"),
    ({"crisis": ""}, "the crisis is empty"),
    ({"escalation_sequence": []}, "the escalation sequence has no steps"),
    ({"central_dramatic_question": "Nell and the lighthouse."}, "is not a question"),
    (
        {"climax": "Everything explodes in a blaze of fireworks."},
        "does not name the central dramatic question",
    ),
    ({"climax_answers": ""}, "climax_answers is empty"),
    ({"escalation": _stakes(3, 6, 4, 8, 9)}, "stakes do not escalate: they fall at"),
    ({"escalation": _stakes(5, 5, 5, 5, 5)}, "no higher than they start"),
    ({"escalation": _stakes(3, 5)}, "stakes not assessed"),
    (
        {"midpoint_changes_trajectory": False, "midpoint_explanation": "Nothing changes."},
        "the midpoint does not change the trajectory",
    ),
    ({"scenes": [scene(1), scene(2, scene_id="S002")]}, "found S002 where S02 belongs"),
    (
        {"scenes": [scene(1, scene_id="S001"), scene(2, scene_id="S002")]},
        "found S001 where S01 belongs",
    ),
    (
        {"scenes": [scene(1, characters_present=["NELL", "STRANGER"])]},
        "S01: STRANGER not in the premise",
    ),
    ({"scenes": [scene(1, location="???")]}, "S01: the location is missing"),
]


@pytest.mark.parametrize(("change", "expected"), STORY_FAILS)
def test_story_architect_fail_conditions(film: Path, change: dict[str, Any], expected: str) -> None:
    r, _ = architect(film, [story(**change)])
    result = r.run_once("story-architect", "PROJECT")
    assert result.gate.verdict == "FAIL"
    assert expected in reasons(result)


def test_story_architect_malformed_answers_fail_clearly(film: Path) -> None:
    missing = story()
    del missing["scenes"], missing["midpoint_changes_trajectory"]
    r, _ = architect(film, [missing])
    with pytest.raises(ProviderError, match=r"(?s)does not match StoryAnswer.*scenes"):
        r.run("story-architect", "PROJECT")
    r, _ = architect(film, [story(scenes=[scene(1), scene(1)])])
    with pytest.raises(ProviderError, match="scene ids must be unique; repeated: S01"):
        r.run("story-architect", "PROJECT")
    r, _ = architect(film, [story(crisis="The storm hits.\n## Act Three")])
    with pytest.raises(ProviderError, match="cannot be written as BEATS"):
        r.run("story-architect", "PROJECT")
    r, _ = architect(film, [ProviderError("schema retries exhausted: the answer never fit")])
    with pytest.raises(ProviderError, match="schema retries exhausted"):
        r.run("story-architect", "PROJECT")
    assert r.store.latest("BEATS") is None and r.ledger.open_reservations() == 0


def test_story_architect_loop_revises_with_the_gate_reasons(film: Path) -> None:
    bad = story(midpoint_changes_trajectory=False, midpoint_explanation="It only delays her.")
    r, model = architect(film, [bad, story()])
    result = r.run("story-architect", "PROJECT")
    assert result.gate.verdict == "PASS" and result.attempt == 2
    assert (
        "the midpoint does not change the trajectory: It only delays her."
        in model.requests[1].prompt
    )
    assert "Revision" not in model.requests[0].prompt
    assert [v.filename for v in r.store.versions("SCENES")] == [
        "SCENES_v001.csv",
        "SCENES_v002.csv",
    ]


# =============================================================================================
# script-breakdown
# =============================================================================================

SCREENPLAY = """\
INT. LIGHTHOUSE - NIGHT

NELL (60s) climbs the stairs with a BRASS KEY.

NELL
The lamp's out again.

TOM
I'll fetch the oil.

EXT. HARBOUR - DAWN

Tom gives Nell a LANTERN.

TOM
Take it.

INT. LIGHTHOUSE - LATER

Nell bleeds from a cut on her palm.

NELL
It's nothing.
"""

GOOD_BREAKDOWN: dict[str, dict[str, Any]] = {
    "S01": {
        "prop_owners": [{"prop": "brass key", "owner": "NELL"}],
        "continuity_risks": ["the brass key stays on Nell's belt"],
        "added_characters": ["GULL_KEEPER"],
        "lock_requirements": ["char gull keeper"],
    },
    "S02": {
        "prop_owners": [{"prop": "LANTERN", "owner": "TOM"}],
        "state_changes": ["TOM gives the LANTERN to NELL"],
        "continuity_risks": ["the lantern is now Nell's"],
    },
    "S03": {
        "state_changes": ["NELL is wounded: cut palm"],
        "continuity_risks": ["bandage on Nell's left hand from here on"],
    },
}


def scene_of_prompt(request: TextRequest) -> str:
    return request.prompt.split("scene: ", 1)[1][:3]


def by_scene(
    answers: dict[str, dict[str, Any]], revised: dict[str, dict[str, Any]] | None = None
) -> Callable[[TextRequest], Any]:
    def answer(request: TextRequest) -> Any:
        table = revised if revised is not None and request.attempt > 1 else answers
        return table[scene_of_prompt(request)]

    return answer


def imported(film: Path, script: Any) -> tuple[Runner, ScriptedTextModel]:
    r, model = make_runner(film, script)
    path = film.parent / "keeper.fountain"
    path.write_text(SCREENPLAY)
    import_screenplay(r.project, path)
    return r, model


def test_script_breakdown_passes_and_keeps_what_code_extracted(film: Path) -> None:
    r, model = imported(film, by_scene(GOOD_BREAKDOWN))
    result = r.run("script-breakdown", "PROJECT")
    assert result.gate.verdict == "PASS", reasons(result)
    assert result.records[0].filename == "BREAKDOWN_v002.csv"
    before = r.store.load("BREAKDOWN_v001.csv")
    after = r.store.load("BREAKDOWN_v002.csv")
    assert isinstance(before, Breakdown) and isinstance(after, Breakdown)
    for old, new in zip(before.rows, after.rows, strict=True):
        for column in ("characters_present", "locations_used", "props_used"):
            assert getattr(new, column)[: len(getattr(old, column))] == getattr(old, column)
        assert set(old.lock_requirements) <= set(new.lock_requirements)
        assert set(old.continuity_risks) <= set(new.continuity_risks)
    s01, s02, s03 = after.rows
    assert s01.characters_present == ["NELL", "TOM", "GULL_KEEPER"]
    assert s01.new_characters_introduced == ["NELL", "TOM", "GULL_KEEPER"]
    assert "CHAR_GULL_KEEPER_LOCK" in s01.lock_requirements
    assert s01.new_props_introduced == ["BRASS_KEY"]
    assert "BRASS_KEY enters the story, owned by NELL" in s01.state_changes
    assert s02.new_characters_introduced == [] and s02.new_props_introduced == ["LANTERN"]
    assert s03.new_locations_introduced == [] and s03.state_changes == ["NELL is wounded: cut palm"]
    assert len(model.requests) == 3  # one bounded call per scene
    assert "LANTERN" not in model.requests[0].prompt  # scene 1's prompt holds scene 1 only


def test_a_new_prop_enters_with_its_first_owner_not_its_last(film: Path) -> None:
    answers = _breakdown_with(
        "S03",
        prop_owners=[{"prop": "brass key", "owner": "TOM"}],
        state_changes=["NELL is wounded: cut palm", "NELL gives the BRASS_KEY to TOM"],
    )
    r, _ = imported(film, by_scene(answers))
    result = r.run("script-breakdown", "PROJECT")
    assert result.gate.verdict == "PASS", reasons(result)
    after = r.store.load(result.records[0].name)
    assert isinstance(after, Breakdown)
    assert "BRASS_KEY enters the story, owned by NELL" in after.rows[0].state_changes


def _breakdown_with(scene_id: str, **change: Any) -> dict[str, dict[str, Any]]:
    answers = copy.deepcopy(GOOD_BREAKDOWN)
    answers[scene_id].update(change)
    return answers


BREAKDOWN_FAILS: list[tuple[dict[str, dict[str, Any]], str]] = [
    (_breakdown_with("S02", added_characters=["STRANGER"]), "S02: undefined character STRANGER"),
    (_breakdown_with("S02", state_changes=[]), "S02: state changes are not listed"),
    (_breakdown_with("S01", prop_owners=[]), "S01: prop BRASS_KEY is used without clear ownership"),
    (
        _breakdown_with("S02", prop_owners=[{"prop": "LANTERN", "owner": "someone"}]),
        "S02: prop LANTERN is used without clear ownership",
    ),
    (
        _breakdown_with("S03", added_locations=["ROOF"]),
        "S03: location ROOF appears without introduction",
    ),
    (
        _breakdown_with("S02", continuity_risks=[]),
        "S02: continuity risks are not acknowledged for new props (LANTERN)",
    ),
    (
        _breakdown_with("S03", continuity_risks=[]),
        "S03: continuity risks are not acknowledged for an injury",
    ),
    (_breakdown_with("S03", lock_requirements=["NELL"]), "S03: lock requirements must name locks"),
]


@pytest.mark.parametrize(("answers", "expected"), BREAKDOWN_FAILS)
def test_script_breakdown_fail_conditions(
    film: Path, answers: dict[str, dict[str, Any]], expected: str
) -> None:
    r, _ = imported(film, by_scene(answers))
    result = r.run_once("script-breakdown", "PROJECT")
    assert result.gate.verdict == "FAIL"
    assert expected in reasons(result)


def test_script_breakdown_defined_additions_pass(film: Path) -> None:
    answers = _breakdown_with("S03", added_locations=["roof"], lock_requirements=["SET_ROOF"])
    r, _ = imported(film, by_scene(answers))
    result = r.run_once("script-breakdown", "PROJECT")
    assert result.gate.verdict == "PASS", reasons(result)
    row = r.store.load(result.records[0].name).rows[2]  # type: ignore[attr-defined]
    assert row.locations_used == ["LIGHTHOUSE", "ROOF"] and "SET_ROOF_LOCK" in row.lock_requirements


def test_script_breakdown_malformed_answer_fails_clearly(film: Path) -> None:
    answers = _breakdown_with("S01", state_changes=["Nell takes the key; Tom leaves"])
    r, _ = imported(film, by_scene(answers))
    with pytest.raises(ProviderError, match=r"(?s)does not match BreakdownAnswer.*';'"):
        r.run("script-breakdown", "PROJECT")
    assert r.store.latest("BREAKDOWN").filename == "BREAKDOWN_v001.csv"  # type: ignore[union-attr]


def test_script_breakdown_loop_revises_the_failing_scene(film: Path) -> None:
    first = _breakdown_with("S01", prop_owners=[])
    r, model = imported(film, by_scene(first, GOOD_BREAKDOWN))
    result = r.run("script-breakdown", "PROJECT")
    assert result.gate.verdict == "PASS" and result.attempt == 2
    revised = {scene_of_prompt(q): q.prompt for q in model.requests if q.attempt == 2}
    assert "S01: prop BRASS_KEY is used without clear ownership" in revised["S01"]
    assert set(revised) == {"S01"}  # only the failing scene is asked again (issue 14 §5)


# =============================================================================================
# character-psychology
# =============================================================================================


def char_lock(name: str, knows: list[str]) -> CharLock:
    return CharLock.model_validate(
        {
            "name": name,
            "appearance": {"age_range": "60s", "build": "wiry", "hair": "grey", "eyes": "blue"},
            "wardrobe": {"default_outfit": "oilskin coat"},
            "behavior": {
                "speech_patterns": "clipped",
                "temperament": "stubborn",
                "decision_style": "alone and fast",
                "stress_behavior": "goes quiet",
                "default_emotional_tone": "guarded",
            },
            "voice_profile": "low and dry",
            "knowledge_at_introduction": knows,
            "forbidden_drift": ["never begs"],
        }
    )


def scenes_table(count: int, width: int = 2) -> Scenes:
    return Scenes.model_validate(
        {
            "rows": [
                {
                    "scene_id": f"S{n:0{width}d}",
                    "summary": f"Nell and Tom argue over the lens ({n:03d}).",
                    "goal": "Nell wants to keep the lens",
                    "conflict": "Tom needs the money",
                    "outcome": "Nell locks the lens away",
                    "location": "LIGHTHOUSE",
                    "time_of_day": "NIGHT",
                    "characters_present": ["NELL", "TOM"],
                }
                for n in range(1, count + 1)
            ]
        }
    )


def breakdown_table(count: int, width: int = 2) -> Breakdown:
    return Breakdown.model_validate(
        {
            "rows": [
                {
                    "scene_id": f"S{n:0{width}d}",
                    "characters_present": ["NELL", "TOM"],
                    "locations_used": ["LIGHTHOUSE"],
                    "state_changes": [f"lens moved ({n:03d})"],
                }
                for n in range(1, count + 1)
            ]
        }
    )


WORLD = WorldState.model_validate(
    {
        "timeline": {"current_scene": "S01"},
        "characters": {
            "NELL": {
                "knowledge": ["the lamp oil is hidden in the cellar"],
                "emotional_state": "wary",
                "location": "LIGHTHOUSE",
            },
            "TOM": {"knowledge": ["the buyer arrives at dawn"]},
        },
    }
)


def psych_project(film: Path, script: Any) -> tuple[Runner, ScriptedTextModel]:
    r, model = make_runner(film, script)
    put(r, "SCENES", None, scenes_table(2))
    put(r, "BREAKDOWN", None, breakdown_table(2))
    put(r, "WORLD_STATE", None, WORLD)
    put(r, "CHAR_LOCK", "NELL", char_lock("NELL", ["the lighthouse has been dark a year"]))
    put(
        r,
        "STATE_DIFF",
        "S02",
        StateDiff.model_validate(
            {"scene_id": "S02", "character_updates": {"NELL": {"learn": ["Tom sold the lens"]}}}
        ),
    )
    return r, model


def judgment(character: str, **over: Any) -> dict[str, Any]:
    return {
        "character": character,
        "motivation_alignment": "wants the light back, as ever",
        "emotional_continuity": "still wary after the theft",
        "trauma_history_influence": "the wreck years ago drives her",
        "arc_progression_status": "begins to trust Tom",
        "broken_lock_trait": "",
        "reaction_proportionate": True,
        "arc_change_has_catalyst": True,
        "drift_warning": "NO",
        "recommended_correction": "",
        **over,
    }


def psych(**over: Any) -> dict[str, Any]:
    return {
        "characters": [judgment("NELL"), judgment("Tom")],
        "knowledge_used": [
            {"character": "NELL", "fact": "lamp oil hidden in the cellar"},
            {"character": "Nell", "fact": "the lighthouse has been dark a year"},
            {"character": "NELL", "fact": "Tom sold the lens"},
            {"character": "TOM", "fact": "the buyer arrives at dawn"},
        ],
        **over,
    }


def test_character_psychology_passes_with_knowledge_from_every_source(film: Path) -> None:
    r, model = psych_project(film, [psych()])
    result = r.run("character-psychology", "S02")
    assert result.gate.verdict == "PASS", reasons(result)
    assert result.records[0].filename == "PSYCH_S02_v001.md"
    prompt = model.requests[0].prompt
    assert "stubborn" in prompt and "Tom sold the lens" in prompt and "wary" in prompt


PSYCH_FAILS: list[tuple[dict[str, Any], str]] = [
    (
        {
            "characters": [
                judgment("NELL", drift_warning="YES", recommended_correction="let her hesitate"),
                judgment("TOM"),
            ]
        },
        "NELL: drift warning YES: the model flags drift (correction: let her hesitate)",
    ),
    (
        {"characters": [judgment("NELL", broken_lock_trait="she begs Tom"), judgment("TOM")]},
        "NELL: drift warning YES: behavior contradicts the lock (she begs Tom)",
    ),
    (
        {"characters": [judgment("NELL", reaction_proportionate=False), judgment("TOM")]},
        "the reaction is disproportionate",
    ),
    (
        {"characters": [judgment("NELL"), judgment("TOM", arc_change_has_catalyst=False)]},
        "TOM: drift warning YES: the arc jumps without a catalyst",
    ),
    (
        {"knowledge_used": [{"character": "TOM", "fact": "Nell hid the oil in the cellar"}]},
        "TOM uses knowledge the world state does not give them",
    ),
    ({"characters": [judgment("NELL")]}, "no psychology for TOM"),
    (
        {"characters": [judgment("NELL"), judgment("TOM"), judgment("GUS")]},
        "GUS is assessed but not present",
    ),
    (
        {"characters": [judgment("NELL", motivation_alignment=""), judgment("TOM")]},
        "NELL: motivation_alignment missing",
    ),
]


@pytest.mark.parametrize(("change", "expected"), PSYCH_FAILS)
def test_character_psychology_fail_conditions(
    film: Path, change: dict[str, Any], expected: str
) -> None:
    r, _ = psych_project(film, [psych(**change)])
    result = r.run_once("character-psychology", "S02")
    assert result.gate.verdict == "FAIL"
    assert expected in reasons(result)


def test_drift_is_recorded_in_the_artifact_even_when_the_model_says_no(film: Path) -> None:
    change = {"characters": [judgment("NELL", broken_lock_trait="she begs"), judgment("TOM")]}
    r, _ = psych_project(film, [psych(**change)])
    result = r.run_once("character-psychology", "S02")
    report = r.store.load(result.records[0].name)
    assert [c.drift_warning for c in report.characters] == ["YES", "NO"]  # type: ignore[attr-defined]


def test_none_markers_in_an_answer_mean_empty(film: Path) -> None:
    r, _ = psych_project(
        film,
        [
            psych(
                characters=[
                    judgment("NELL", recommended_correction="(none)", broken_lock_trait="(none)"),
                    judgment("TOM"),
                ]
            )
        ],
    )
    result = r.run_once("character-psychology", "S02")
    assert result.gate.verdict == "PASS", reasons(result)


def test_knowledge_learned_only_later_is_refused(film: Path) -> None:
    # S01 has no state diff: what Nell learns in S02 is not hers yet in S01.
    r, _ = psych_project(film, [psych()])
    result = r.run_once("character-psychology", "S01")
    assert "NELL uses knowledge the world state does not give them: 'Tom sold the lens'" in reasons(
        result
    )


def test_character_psychology_malformed_answer_fails_clearly(film: Path) -> None:
    bad = psych()
    del bad["characters"][0]["reaction_proportionate"]
    r, _ = psych_project(film, [bad])
    with pytest.raises(ProviderError, match=r"(?s)PsychAnswer.*reaction_proportionate"):
        r.run("character-psychology", "S02")


def test_a_psychology_finding_goes_to_the_scene_revision(film: Path) -> None:
    # drift is about the scene, not the answer: asking again is no fix (issue 14)
    first = psych(characters=[judgment("NELL", reaction_proportionate=False), judgment("TOM")])
    r, model = psych_project(film, [first])
    result = r.run("character-psychology", "S02")
    assert result.gate.verdict == "FAIL" and len(model.requests) == 1
    route = result.gate.route
    assert route is not None and (route.skill, route.target) == ("scene-revision", "S02")
    assert route.findings == (
        "NELL: drift warning YES: the reaction is disproportionate (no correction proposed)",
    )


def test_character_psychology_revises_a_missing_assessment(film: Path) -> None:
    r, model = psych_project(film, [psych(characters=[judgment("NELL")]), psych()])
    result = r.run("character-psychology", "S02")
    assert result.gate.verdict == "PASS" and result.attempt == 2
    assert "no psychology for TOM, who is present in S02" in model.requests[1].prompt


# =============================================================================================
# dialogue-consistency-check
# =============================================================================================

TERSE = [
    "Lamp's out.",
    "Get the oil.",
    "No. Not tonight.",
    "Stairs are wet. Watch it.",
    "I said no.",
    "Close the door.",
    "We wait. Storm's coming.",
    "Fine. Go.",
]
FLORID = [
    "The lamp, my dear, has surrendered its luminous vigil to the encroaching darkness, "
    "as inevitably as the tide surrenders to the pull of the indifferent moon.",
    "Fetch the oil, if you would be so considerate, and bring it up the spiralling "
    "staircase with the utmost circumspection.",
    "Tonight, regrettably, we cannot entertain any possibility of departure, for the "
    "tempest approaches with magnificent and terrible determination.",
]
RURAL = [
    "Ain't no use fussin', the lamp's gone dark agin.",
    "Y'all best fetch the oil 'fore the storm gets here.",
    "I reckon we was lucky last night, weren't we.",
    "Gonna be a long one, I tell ya.",
    "Ol' Nell don't like waitin' round.",
    "Dunno what we're gonna do 'bout them rocks.",
]
STANDARD = [
    "There is no use fussing, the lamp has gone dark again.",
    "You had better fetch the oil before the storm arrives.",
    "I believe we were lucky last night, were we not.",
    "It is going to be a long one, I promise you.",
    "Nell does not enjoy waiting around.",
    "I do not know what we shall do about those rocks.",
]
ALIKE_A = [
    "I think we should check the lamp tonight.",
    "The oil is in the cellar, I think.",
    "We could go up after supper.",
    "It might be a long night for us.",
    "I will bring the lantern with me.",
]
ALIKE_B = [
    "I think we should look at the boat today.",
    "The rope is in the shed, I think.",
    "We could go down after lunch.",
    "It might be a cold day for us.",
    "I will bring the bucket with me.",
]


def fountain(scene_id: str, *speeches: tuple[str, list[str]]) -> ScriptScene:
    lines = ["INT. LIGHTHOUSE - NIGHT", "", "The wind howls."]
    for speaker, said in speeches:
        for line in said:
            lines += ["", speaker, line]
    return ScriptScene(scene_id=scene_id, text="\n".join(lines))


def voice_lock(name: str, **over: Any) -> VoiceLock:
    data: dict[str, Any] = {
        "name": name,
        "tone": {"pitch": "low", "timbre": "gravel", "energy": "low"},
        "cadence": {
            "sentence_length": "short",
            "pauses": "long",
            "speed": "slow",
            "hesitations": "none",
        },
        "accent": {
            "region": "none",
            "strength": "none",
            "vocabulary": "plain",
            "slang_level": "low",
        },
        "emotional_range": {
            "default": "flat",
            "upper_limit": "sharp",
            "baseline": "calm",
            "stress_reaction": "goes quiet",
        },
        "constraints": {
            "vocabulary_level": "simple",
            "swearing": "never",
            "figurative_language": "none, literal",
            "directness": "blunt",
        },
        "forbidden_drift": ["no speeches"],
    }
    for key, value in over.items():
        section, field = key.split("__")
        data[section][field] = value
    return VoiceLock.model_validate(data)


TOM_RURAL = {
    "cadence__sentence_length": "medium",
    "accent__strength": "strong",
    "accent__region": "rural coast",
    "accent__slang_level": "none",
    "constraints__vocabulary_level": "everyday",
    "constraints__directness": "direct",
}


def speaker(character: str, **over: Any) -> dict[str, Any]:
    return {
        "character": character,
        "voice_assessment": "sounds like the lock",
        "vocabulary_consistency": "plain words",
        "tone_alignment": "flat, as locked",
        "emotional_authenticity": "rings true",
        "distinctiveness": 4,
        "drift_flags": [],
        **over,
    }


def nuance(*characters: str, **over: Any) -> dict[str, Any]:
    return {
        "characters": [speaker(c) for c in characters],
        "knowledge_stated": [],
        "recommended_adjustments": [],
        **over,
    }


def dialogue_project(
    film: Path, script: Any, *scripts: ScriptScene, locks: bool = True
) -> tuple[Runner, ScriptedTextModel]:
    r, model = make_runner(film, script)
    for item in scripts:
        put(r, "SCRIPT", item.scene_id, item)
    if locks:
        put(r, "VOICE_LOCK", "NELL", voice_lock("NELL"))
        put(r, "VOICE_LOCK", "TOM", voice_lock("TOM", **TOM_RURAL))
    put(r, "WORLD_STATE", None, state_after(None))  # the state before S01: the initial one
    return r, model


def state_after(scene: str | None) -> WorldState:
    """WORLD as the state after ``scene`` (None: the initial state, before the first)."""
    return WORLD.model_copy(
        update={"timeline": WORLD.timeline.model_copy(update={"current_scene": scene})}
    )


def flags_of(r: Runner, result: Any) -> dict[str, list[str]]:
    report = r.store.load(result.records[0].name)
    assert isinstance(report, DialogueCheck)
    return {c.character: c.drift_flags for c in report.characters}


def test_consistent_dialogue_passes_without_code_flags(film: Path) -> None:
    r, model = dialogue_project(
        film, [nuance("NELL", "TOM")], fountain("S01", ("NELL", TERSE), ("TOM", RURAL))
    )
    result = r.run("dialogue-consistency-check", "S01")
    assert result.gate.verdict == "PASS", reasons(result)
    assert all(
        not any(f.startswith(("Medium", "High")) for f in flags)
        for flags in flags_of(r, result).values()
    )
    report = r.store.load(result.records[0].name)
    assert [c.distinctiveness for c in report.characters] == [4, 4]  # type: ignore[attr-defined]
    assert [p.character for p in report.voice_profiles] == ["NELL", "TOM"]  # type: ignore[attr-defined]
    assert "Measured by code" in model.requests[0].prompt


def test_terse_character_turning_florid_is_flagged_by_code_alone(film: Path) -> None:
    r, _ = dialogue_project(
        film, [nuance("NELL", "TOM")], fountain("S01", ("NELL", FLORID), ("TOM", RURAL))
    )
    result = r.run_once("dialogue-consistency-check", "S01")
    assert result.gate.verdict == "FAIL"
    nell = " ".join(flags_of(r, result)["NELL"])
    assert "High (code)" in nell and "sentence length 'short'" in nell
    assert "vocabulary level 'simple'" in nell


def test_dropped_accent_is_flagged_by_code_alone(film: Path) -> None:
    r, _ = dialogue_project(
        film, [nuance("NELL", "TOM")], fountain("S01", ("NELL", TERSE), ("TOM", STANDARD))
    )
    result = r.run_once("dialogue-consistency-check", "S01")
    assert result.gate.verdict == "FAIL"
    assert "TOM: drift: High (code): TOM: voice lock says accent strength 'strong'" in reasons(
        result
    )


def test_characters_who_speak_alike_are_flagged_by_code_alone(film: Path) -> None:
    r, _ = dialogue_project(
        film,
        [nuance("ANNA", "BEN")],
        fountain("S01", ("ANNA", ALIKE_A), ("BEN", ALIKE_B)),
        locks=False,
    )
    result = r.run_once("dialogue-consistency-check", "S01")
    assert result.gate.verdict == "FAIL"
    assert "ANNA: distinctiveness 1 is below the minimum 3" in reasons(result)
    assert "BEN: distinctiveness 1 is below the minimum 3" in reasons(result)


def test_the_distinctiveness_minimum_comes_from_config(film: Path) -> None:
    configure(film, **{"dialogue_distinctiveness = 3": "dialogue_distinctiveness = 5"})
    r, _ = dialogue_project(
        film, [nuance("NELL", "TOM")], fountain("S01", ("NELL", TERSE), ("TOM", RURAL))
    )
    result = r.run_once("dialogue-consistency-check", "S01")
    assert "NELL: distinctiveness 4 is below the minimum 5" in reasons(result)


DIALOGUE_FAILS: list[tuple[dict[str, Any], str]] = [
    (
        {
            "characters": [
                speaker(
                    "NELL",
                    drift_flags=[{"severity": "Medium", "description": "sarcasm she never uses"}],
                ),
                speaker("TOM"),
            ]
        },
        "NELL: drift: Medium (model): sarcasm she never uses",
    ),
    (
        {"knowledge_stated": [{"character": "NELL", "fact": "the buyer arrives at dawn"}]},
        "NELL uses knowledge the world state does not give them",
    ),
    ({"characters": [speaker("NELL")]}, "TOM: no voice assessment"),
]


@pytest.mark.parametrize(("change", "expected"), DIALOGUE_FAILS)
def test_dialogue_check_fail_conditions(film: Path, change: dict[str, Any], expected: str) -> None:
    r, _ = dialogue_project(
        film, [nuance("NELL", "TOM", **change)], fountain("S01", ("NELL", TERSE), ("TOM", RURAL))
    )
    result = r.run_once("dialogue-consistency-check", "S01")
    assert result.gate.verdict == "FAIL"
    assert expected in reasons(result)


def test_known_facts_stated_in_dialogue_pass(film: Path) -> None:
    stated = [{"character": "TOM", "fact": "the buyer comes at dawn"}]
    r, _ = dialogue_project(
        film,
        [nuance("NELL", "TOM", knowledge_stated=stated)],
        fountain("S01", ("NELL", TERSE), ("TOM", RURAL)),
    )
    assert r.run_once("dialogue-consistency-check", "S01").gate.verdict == "PASS"


def test_model_cannot_remove_code_flags_and_low_model_flags_do_not_fail(film: Path) -> None:
    low = {
        "characters": [
            speaker("NELL", drift_flags=[{"severity": "Low", "description": "a touch warm"}]),
            speaker("TOM"),
        ]
    }
    r, _ = dialogue_project(
        film, [nuance("NELL", "TOM", **low)], fountain("S01", ("NELL", FLORID), ("TOM", RURAL))
    )
    result = r.run_once("dialogue-consistency-check", "S01")
    flags = flags_of(r, result)["NELL"]
    assert "Low (model): a touch warm" in flags
    assert any(f.startswith("High (code)") for f in flags)
    assert result.gate.verdict == "FAIL"


def test_dialogue_check_malformed_answer_fails_clearly(film: Path) -> None:
    r, _ = dialogue_project(
        film,
        [nuance("NELL", "TOM", characters=[speaker("NELL", distinctiveness=7), speaker("TOM")])],
        fountain("S01", ("NELL", TERSE), ("TOM", RURAL)),
    )
    with pytest.raises(ProviderError, match=r"(?s)DialogueAnswer.*distinctiveness"):
        r.run("dialogue-consistency-check", "S01")


def test_a_dialogue_finding_goes_to_the_scene_revision(film: Path) -> None:
    first = nuance(
        "NELL",
        "TOM",
        characters=[
            speaker("NELL"),
            speaker(
                "TOM", drift_flags=[{"severity": "High", "description": "speaks like a lawyer"}]
            ),
        ],
    )
    r, model = dialogue_project(
        film, [first, nuance("NELL", "TOM")], fountain("S01", ("NELL", TERSE), ("TOM", RURAL))
    )
    result = r.run("dialogue-consistency-check", "S01")
    assert result.gate.verdict == "FAIL" and len(model.requests) == 1  # the lines must change
    route = result.gate.route
    assert route is not None and (route.skill, route.target) == ("scene-revision", "S01")
    assert any("speaks like a lawyer" in finding for finding in route.findings)


def test_a_scene_without_dialogue_needs_no_model(film: Path) -> None:
    silent = ScriptScene(scene_id="S01", text="EXT. HARBOUR - DAWN\n\nGulls circle.")
    r, model = dialogue_project(film, [], silent)
    result = r.run("dialogue-consistency-check", "S01")
    assert result.gate.verdict == "PASS" and model.requests == []


def test_voice_lock_free_text_fields_map_to_measurable_bands() -> None:
    lock = voice_lock(
        "NELL",
        constraints__figurative_language="rarely, never florid",
        constraints__directness="indirect, diplomatic",
        cadence__hesitations="frequent stammering",
    )
    expectation = voice_expectation(lock)
    assert (expectation.figurative_language, expectation.directness, expectation.hesitations) == (
        "rare",
        "indirect",
        "frequent",
    )
    assert voice_expectation(voice_lock("TOM", **TOM_RURAL)).accent_strength == "strong"


def test_running_profile_round_trips_and_stays_bounded() -> None:
    terse = profile(TERSE)
    rows = running_profiles({}, {"NELL": terse})
    report = DialogueCheck(scene_id="S01", characters=[], voice_profiles=rows)
    back = DialogueCheck.parse(report.render())
    history = row_profile(back.voice_profiles[0])
    assert (history.words, history.count("contraction_rate")) == (
        terse.words,
        terse.count("contraction_rate"),
    )
    merged = history
    for _ in range(40):  # forty scenes of terse lines never grow the history past the cap
        merged = merge_profiles(merged, terse)
    assert merged.words <= HISTORY_WORDS
    assert merged.mean_sentence_words == pytest.approx(terse.mean_sentence_words, rel=0.05)
    tom = running_profiles({"NELL": merged}, {"TOM": profile(RURAL)})
    assert [row.character for row in tom] == ["NELL", "TOM"]  # silent speakers are carried


def test_drift_against_the_characters_own_earlier_scenes(film: Path) -> None:
    answers = [nuance("NELL", "TOM")] * 3
    r, _ = dialogue_project(
        film,
        answers,
        fountain("S01", ("NELL", TERSE), ("TOM", RURAL)),
        fountain("S02", ("NELL", TERSE), ("TOM", RURAL)),
        fountain("S03", ("NELL", FLORID), ("TOM", RURAL)),
        locks=False,
    )
    for before in ("S01", "S02"):  # the states the later scenes are checked against
        put(r, "WORLD_STATE", None, state_after(before))
    assert r.run("dialogue-consistency-check", "S01").gate.verdict == "PASS"
    assert r.run("dialogue-consistency-check", "S02").gate.verdict == "PASS"
    result = r.run_once("dialogue-consistency-check", "S03")
    assert "NELL: sentences longer than in earlier scenes" in reasons(result)


# =============================================================================================
# bounded prompts: scene 3 and scene 300 of a 300-scene project
# =============================================================================================


def test_per_scene_prompts_do_not_grow_with_the_number_of_scenes(film: Path) -> None:
    def answer(request: TextRequest) -> Any:
        if request.skill == "character-psychology":
            return {"characters": [judgment("NELL"), judgment("TOM")], "knowledge_used": []}
        return nuance("NELL", "TOM")

    r, model = make_runner(film, answer)
    put(r, "SCENES", None, scenes_table(300, width=3))
    put(r, "BREAKDOWN", None, breakdown_table(300, width=3))
    for before in ("S002", "S299"):  # each check reads the state before its scene
        put(r, "WORLD_STATE", None, state_after(before))
    put(r, "CHAR_LOCK", "NELL", char_lock("NELL", ["the lighthouse has been dark a year"]))
    put(r, "VOICE_LOCK", "NELL", voice_lock("NELL"))
    put(r, "VOICE_LOCK", "TOM", voice_lock("TOM", **TOM_RURAL))
    for scene_id in ("S003", "S300"):
        put(r, "SCRIPT", scene_id, fountain(scene_id, ("NELL", TERSE), ("TOM", RURAL)))
    for skill in ("character-psychology", "dialogue-consistency-check"):
        for scene_id in ("S003", "S300"):
            assert r.run(skill, scene_id).gate.verdict == "PASS"
    by = {(q.skill, q.target): q.prompt for q in model.requests}
    for skill in ("character-psychology", "dialogue-consistency-check"):
        early, late = by[(skill, "S003")], by[(skill, "S300")]
        assert len(early) == len(late), skill
        assert "S150" not in late and "(150)" not in late
    assert "(300)" in by[("character-psychology", "S300")]


def test_same_fact_matching() -> None:
    assert same_fact("lamp oil hidden in the cellar", "the lamp oil is hidden in the cellar")
    assert same_fact("Tom sold the lens", "TOM SOLD THE LENS.")
    assert not same_fact("the lamp is broken", "the lamp is dark")
    assert not same_fact("key", "the key is under the mat")
