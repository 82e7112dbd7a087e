"""continuity-supervisor: the deterministic checks, category by category, and the skill."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from filmslate import Project
from filmslate.core._errors import UserError
from filmslate.engine._runner import Runner
from filmslate.engine._skill import Registry
from filmslate.rules._continuity import (
    Locks,
    Observation,
    Policy,
    SceneFacts,
    allowed_kelvin,
    check_continuity,
    gate_failures,
    merge,
    phase_of,
    report,
    scene_facts,
    time_join,
    with_observations,
)
from filmslate.schemas import ContinuityReport, Finding, SetLock, StateDiff, WorldState
from filmslate.skills.continuity._supervisor import ContinuitySupervisor
from filmslate.testing import ScriptedTextModel, scripted_runner
from fixtures.continuity.lighthouse import Production, corrected, planted
from test_runtime import configure

Row = tuple[str, str, tuple[str, ...]]


def findings_of(prod: Production, world_at: str | None = "S06") -> list[Finding]:
    """Every finding over the whole production, with its observations."""
    world = prod.states()[world_at] if world_at else prod.initial
    facts, problems = scene_facts(prod.scenes, prod.breakdown, prod.diffs, world)
    return problems + check_continuity(with_observations(facts, prod.observations), prod.locks)


def rows(findings: list[Finding], category: str | None = None) -> set[Row]:
    return {
        (f.category, f.severity, tuple(f.scenes))
        for f in findings
        if category is None or f.category == category
    }


@pytest.fixture(scope="module")
def planted_findings() -> list[Finding]:
    return findings_of(planted())


# -- the planted errors, category by category -------------------------------------------------


def test_prop_teleport_is_high(planted_findings: list[Finding]) -> None:
    found = [f for f in planted_findings if f.category == "prop_inventory"]
    assert rows(found) == {("prop_inventory", "High", ("S03",))}
    assert "BEA uses BRASS_KEY" in found[0].description and "NELL holds it" in found[0].description
    assert found[0].artifacts == ["BREAKDOWN", "STATE_DIFF_S03", "WORLD_STATE"]
    assert "hand-over" in found[0].correction


def test_unhealed_injury_is_high(planted_findings: list[Finding]) -> None:
    found = [f for f in planted_findings if f.category == "injury_emotional"]
    assert rows(found) == {("injury_emotional", "High", ("S05",))}
    assert "'cut left palm'" in found[0].description


def test_unlearned_knowledge_is_high(planted_findings: list[Finding]) -> None:
    assert rows(planted_findings, "knowledge") == {("knowledge", "High", ("S04",))}


def test_two_places_at_once_is_high(planted_findings: list[Finding]) -> None:
    two = [f for f in planted_findings if "two places" in f.description]
    assert {(f.category, f.severity, tuple(f.scenes)) for f in two} == {
        ("timeline", "High", ("S04", "S05"))
    }
    assert sorted(f.description.split()[0] for f in two) == ["BEA", "NELL"]


def test_time_of_day_backwards_is_high_and_a_jump_is_medium(
    planted_findings: list[Finding],
) -> None:
    times = [f for f in planted_findings if "time of day" in f.description]
    assert rows(times) == {
        ("timeline", "High", ("S05", "S06")),
        ("timeline", "Medium", ("S01", "S02")),
    }
    assert any("goes backwards from NIGHT in S05 to DAY in S06" in f.description for f in times)


def test_lighting_against_the_set_lock(planted_findings: list[Finding]) -> None:
    assert rows(planted_findings, "set") == {("set", "High", ("S02",)), ("set", "Medium", ("S06",))}
    kelvin = next(f for f in planted_findings if f.category == "set" and f.severity == "High")
    assert "6500K" in kelvin.description and "2400-3000K" in kelvin.description


def test_wardrobe_against_the_character_lock(planted_findings: list[Finding]) -> None:
    assert rows(planted_findings, "character") == {
        ("character", "Medium", ("S04",)),
        ("character", "High", ("S06",)),
    }
    forbidden = next(
        f for f in planted_findings if f.category == "character" and f.severity == "High"
    )
    assert "'modern sneakers'" in forbidden.description


def test_every_planted_error_and_nothing_else(planted_findings: list[Finding]) -> None:
    assert len(planted_findings) == 11
    gate = report("PROJECT", planted_findings, []).model_copy()
    assert all(
        getattr(gate, f"{c}_check").status == "FAIL"
        for c in ("character", "set", "prop_inventory", "injury_emotional", "knowledge", "timeline")
    )
    assert len(gate_failures(planted_findings)) == 8


def test_the_corrected_production_passes() -> None:
    prod = corrected()
    findings = findings_of(prod)
    assert findings == []
    names = ["SCENES_v001.csv", "CHAR_NELL_LOCK_v001.txt", "SET_HARBOUR_LOCK_v001.txt"]
    made = report("PROJECT", findings, names)
    assert gate_failures(made.findings) == []
    assert {
        made.character_check.status,
        made.set_check.status,
        made.timeline_check.status,
        made.knowledge_check.status,
    } == {"PASS"}


@pytest.mark.parametrize("world_at", [None, "S01", "S03", "S06"])
def test_findings_do_not_depend_on_where_the_world_state_stands(
    world_at: str | None, planted_findings: list[Finding]
) -> None:
    assert rows(findings_of(planted(), world_at)) == rows(planted_findings)


def test_scene_by_scene_finds_what_the_whole_pass_finds(planted_findings: list[Finding]) -> None:
    from filmslate.rules._continuity import phase_at

    prod = planted()
    order = [r.scene_id for r in prod.scenes.rows]
    world = prod.states()["S03"]
    found: list[Finding] = []
    for i in range(len(order)):
        facts, problems = scene_facts(
            prod.scenes, prod.breakdown, prod.diffs, world, order[max(0, i - 1) : i + 1]
        )
        facts = with_observations(facts, prod.observations)
        previous = facts[0] if len(facts) == 2 else None
        phase = phase_at(prod.scenes.rows, i - 1) if i else None
        found += problems + check_continuity(facts[-1:], prod.locks, None, previous, phase)
    assert sorted(f.description for f in found) == sorted(f.description for f in planted_findings)


# -- single rules ----------------------------------------------------------------------------


def scene(
    sid: str = "S02",
    location: str = "LIGHTHOUSE",
    time: str = "NIGHT",
    cast: tuple[str, ...] = ("NELL",),
    before: dict[str, Any] | None = None,
    diff: dict[str, Any] | None = None,
    **extra: Any,
) -> SceneFacts:
    state = WorldState.model_validate(before or {})
    return SceneFacts(
        scene_id=sid,
        location=location,
        time_of_day=time,
        characters=cast,
        before=state,
        after=state,
        diff=StateDiff.model_validate({"scene_id": sid, **(diff or {})}),
        **extra,
    )


def obs(kind: str, **fields: Any) -> Observation:
    return Observation.model_validate({"kind": kind, **fields})


HELD = {"characters": {"NELL": {}, "BEA": {}}, "props": {"KEY": {"owner": "BEA"}}}


def test_a_prop_held_by_someone_present_is_medium_and_one_given_in_the_scene_is_fine() -> None:
    use = (obs("uses_prop", character="NELL", subject="KEY"),)
    borrowed = scene(cast=("NELL", "BEA"), before=HELD, observations=use)
    assert rows(check_continuity([borrowed])) == {("prop_inventory", "Medium", ("S02",))}
    given = scene(
        cast=("NELL", "BEA"),
        before=HELD,
        observations=use,
        diff={"prop_updates": {"KEY": {"owner": "NELL", "via": "Bea hands Nell the key"}}},
    )
    assert check_continuity([given]) == []


def test_props_where_they_are_not_gone_or_untracked() -> None:
    away = {"props": {"LANTERN": {"location": "HARBOUR"}}}
    assert rows(check_continuity([scene(before=away, props_used=("LANTERN",))])) == {
        ("prop_inventory", "High", ("S02",))
    }
    inside = {"props": {"LANTERN": {"location": "LIGHTHOUSE LAMP ROOM"}}}
    assert check_continuity([scene(before=inside, props_used=("LANTERN",))]) == []
    sunk = {"props": {"LANTERN": {"location": "LIGHTHOUSE", "status": "smashed on the rocks"}}}
    assert rows(check_continuity([scene(before=sunk, props_used=("LANTERN",))])) == {
        ("prop_inventory", "High", ("S02",))
    }
    assert rows(check_continuity([scene(props_used=("ROPE",))])) == {
        ("prop_inventory", "Low", ("S02",))
    }
    assert check_continuity([scene(props_used=("ROPE",), new_props=("ROPE",))]) == []


def test_injuries_heal_only_through_a_diff_and_new_ones_must_be_recorded() -> None:
    hurt = {"characters": {"NELL": {"injuries": ["sprained ankle"]}}}
    runs = obs("uninjured", character="NELL", subject="ankle", detail="sprints up the stair")
    assert rows(check_continuity([scene(before=hurt, observations=(runs,))])) == {
        ("injury_emotional", "High", ("S02",))
    }
    healed = scene(
        before=hurt,
        observations=(runs,),
        diff={"character_updates": {"NELL": {"heal_injuries": ["sprained ankle"]}}},
    )
    assert check_continuity([healed]) == []
    other = obs("uninjured", character="NELL", subject="black eye")
    assert check_continuity([scene(before=hurt, observations=(other,))]) == []
    scar = obs("shows_injury", character="NELL", subject="burn scar on the cheek")
    assert rows(check_continuity([scene(before=hurt, observations=(scar,))])) == {
        ("injury_emotional", "Medium", ("S02",))
    }


def test_knowledge_from_the_lock_or_learned_in_the_scene_counts() -> None:
    prod = corrected()
    says = obs("states_fact", character="QUILL", detail="who paid for the sabotage")
    assert check_continuity([scene(cast=("QUILL",), observations=(says,))], prod.locks) == []
    learned = WorldState.model_validate(
        {"characters": {"NELL": {"knowledge": ["Quill paid the wrecker"]}}}
    )
    fact = obs("states_fact", character="NELL", detail="Quill paid the wrecker")
    told = replace_after(scene(observations=(fact,)), learned)
    assert check_continuity([told]) == []
    assert rows(check_continuity([scene(observations=(fact,))])) == {
        ("knowledge", "High", ("S02",))
    }


def replace_after(facts: SceneFacts, after: WorldState) -> SceneFacts:
    from dataclasses import replace

    return replace(facts, after=after)


def test_two_places_depend_on_the_join_and_on_the_set_locks() -> None:
    prod = corrected()
    quay = scene("S04", "HARBOUR", "NIGHT", ("NELL",))
    same = scene("S05", "LIGHTHOUSE", "SAME TIME", ("NELL",))
    assert rows(check_continuity([quay, same], prod.locks)) == {
        ("timeline", "High", ("S04", "S05"))
    }
    unlocked = scene("S05", "LIGHTHOUSE", "CONTINUOUS", ("NELL",))
    assert rows(check_continuity([quay, unlocked])) == {("timeline", "Medium", ("S04", "S05"))}
    connected = _lighthouse_facing_harbour(prod)
    assert check_continuity([quay, unlocked], connected) == []
    walked = scene(
        "S05",
        "LIGHTHOUSE",
        "CONTINUOUS",
        ("NELL",),
        diff={
            "character_updates": {
                "NELL": {"location": "LIGHTHOUSE", "via": "runs up the cliff path"}
            }
        },
    )
    assert check_continuity([quay, walked], prod.locks) == []
    elsewhere = scene(observations=(obs("at_location", character="NELL", subject="COTTAGE"),))
    assert rows(check_continuity([elsewhere])) == {("timeline", "High", ("S02",))}


def _lighthouse_facing_harbour(prod: Production) -> Locks:
    lock = prod.set_locks["LIGHTHOUSE"]
    layout = lock.layout.model_copy(
        update={"spatial_relations": "the stair door gives onto the harbour below"}
    )
    return Locks(sets={**prod.set_locks, "LIGHTHOUSE": lock.model_copy(update={"layout": layout})})


def test_time_of_day_rules() -> None:
    dusk = scene("S01", time="DUSK")
    assert rows(check_continuity([dusk, scene("S02", time="NIGHT (CONTINUOUS)")])) == {
        ("timeline", "Low", ("S01", "S02"))
    }
    day = scene("S01", time="DAY")
    assert check_continuity([day, scene("S02", time="LATER THAT NIGHT")]) == []
    assert (
        check_continuity(
            [
                day,
                scene("S02", time="NIGHT", diff={"timeline_update": {"elapsed_time": "six hours"}}),
            ]
        )
        == []
    )
    assert rows(check_continuity([day, scene("S02", time="NIGHT")])) == {
        ("timeline", "Medium", ("S01", "S02"))
    }
    night = scene("S01", time="NIGHT")
    assert check_continuity([night, scene("S02", time="DAWN")]) == []  # the day wraps


@pytest.mark.parametrize(
    ("text", "join", "phase"),
    [
        ("DAY", "", "DAY"),
        ("CONTINUOUS", "continuous", None),
        ("MOMENTS LATER", "continuous", None),
        ("SAME", "simultaneous", None),
        ("LATER", "cut", None),
        ("LATER THAT NIGHT", "cut", "NIGHT"),
        ("THE NEXT MORNING", "cut", "MORNING"),
        ("PRE-DAWN", "", "DAWN"),
        ("NIGHT (CONTINUOUS)", "continuous", "NIGHT"),
        ("SUNSET", "", "DUSK"),
    ],
)
def test_time_of_day_texts(text: str, join: str, phase: str | None) -> None:
    from filmslate.rules._continuity import PHASES

    assert time_join(text) == join
    found = phase_of(text)
    assert (PHASES[found] if found is not None else None) == phase


def test_lighting_state_in_the_world_state_against_the_lock() -> None:
    prod = corrected()
    harbour = prod.set_locks["HARBOUR"]
    assert allowed_kelvin(harbour, Policy()) == (3600, 4400)
    assert allowed_kelvin(prod.set_locks["LIGHTHOUSE"], Policy()) == (2400, 3000)
    plain = harbour.model_copy(
        update={"lighting": harbour.lighting.model_copy(update={"allowed_variation": "steady"})}
    )
    assert allowed_kelvin(plain, Policy(light_tolerance_k=250)) == (3750, 4250)
    lamps = WorldState.model_validate(
        {"locations": {"HARBOUR": {"lighting_state": "sodium quay lamps 3000K"}}}
    )
    quay = replace_after(scene(location="HARBOUR"), lamps)
    assert rows(check_continuity([quay], prod.locks)) == {("set", "Medium", ("S02",))}
    assert rows(check_continuity([quay], prod.locks, Policy(light_fail_k=900))) == {
        ("set", "High", ("S02",))
    }
    tube = obs("lighting", detail="modern fluorescent fittings buzzing overhead")
    assert rows(check_continuity([scene(observations=(tube,))], prod.locks)) == {
        ("set", "High", ("S02",))
    }


def test_wardrobe_variants_and_changes_the_scene_justifies() -> None:
    prod = corrected()
    indoors = obs("wears", character="NELL", subject="outfit", detail="navy jumper")
    assert check_continuity([scene(observations=(indoors,))], prod.locks) == []
    red = obs("wears", character="NELL", subject="outfit", detail="borrowed grey parka")
    assert rows(check_continuity([scene(observations=(red,))], prod.locks)) == {
        ("character", "Medium", ("S02",))
    }
    changed = scene(observations=(red,), state_changes=("NELL puts on a borrowed grey parka",))
    assert check_continuity([changed], prod.locks) == []
    hair = obs("wears", character="NELL", subject="hair", detail="short bob")
    assert rows(check_continuity([scene(observations=(hair,))], prod.locks)) == {
        ("character", "Medium", ("S02",))
    }
    colour = obs("wears", character="NELL", subject="colour", detail="#FF0000")
    assert rows(check_continuity([scene(observations=(colour,))], prod.locks)) == {
        ("character", "Medium", ("S02",))
    }


def test_a_diff_that_breaks_a_world_rule_and_a_missing_diff_are_high() -> None:
    prod = corrected()
    bad = StateDiff.model_validate(
        {"scene_id": "S03", "character_updates": {"BEA": {"heal_injuries": ["broken wrist"]}}}
    )
    diffs = {**prod.diffs, "S03": bad}
    diffs.pop("S05")
    _, problems = scene_facts(prod.scenes, prod.breakdown, diffs, prod.initial)
    assert rows(problems) == {
        ("injury_emotional", "High", ("S03",)),
        ("timeline", "High", ("S05",)),
    }
    assert "injury_persists" in problems[0].description


# -- merge and report ------------------------------------------------------------------------


def test_the_model_can_add_a_finding_but_never_remove_or_soften_one(
    planted_findings: list[Finding],
) -> None:
    code = planted_findings
    softened = [f.model_copy(update={"severity": "Low"}) for f in code[:3]]
    extra = Finding(
        category="injury_emotional",
        severity="Medium",
        scenes=["S06"],
        description="Bea is calm minutes after learning of the betrayal",
        correction="play her anger",
    )
    merged = merge(code, [*softened, extra, code[0]])
    assert merged[: len(code)] == code  # every code finding, verbatim and first
    assert merged[-1] == extra and len(merged) == len(code) + 4
    assert len(gate_failures(merged)) == len(gate_failures(code))
    assert merge(code, []) == code


def test_the_report_renders_and_parses_back(planted_findings: list[Finding]) -> None:
    names = ["SCENES_v001.csv", "STATE_DIFF_S03_v001.json", "WORLD_STATE_v003.json"]
    made = report("S03", planted_findings[:3], names)
    assert ContinuityReport.parse(made.render()) == made
    assert made.character_check.status == "N/A"  # no character lock was checked
    assert made.set_check.status == "FAIL" and made.timeline_check.status == "FAIL"
    assert made.knowledge_check.status == "PASS"
    assert "STATE_DIFF_S03_v001.json" in made.knowledge_check.notes
    assert made.corrections == [f.correction for f in planted_findings[:3]]


# -- the skill through the runner -------------------------------------------------------------


@pytest.fixture
def film(tmp_path: Path) -> Path:
    with Project.init(tmp_path / "film", name="film") as p:
        root = p.root
    configure(root)
    return root


def supervisor(root: Path, script: Any) -> tuple[Runner, ScriptedTextModel]:
    registry = Registry()
    registry.register(ContinuitySupervisor)
    return scripted_runner(root, script, registry, cost=0.01, worst_case=0.05)


def load(r: Runner, prod: Production, tmp: Path) -> None:
    for path in prod.write(tmp / "artifacts"):
        r.project.add(path)


EXTRA = {
    "category": "injury_emotional",
    "severity": "Medium",
    "scenes": ["S03"],
    "artifacts": ["SCENES"],
    "description": "Bea is calm in a ransacked house",
    "correction": "let her fear show",
}


def test_the_skill_writes_a_failing_report_for_a_planted_teleport(
    film: Path, tmp_path: Path
) -> None:
    softened = {
        "category": "prop_inventory",
        "severity": "Low",
        "scenes": ["S03"],
        "description": "the key is probably fine",
    }
    r, model = supervisor(film, [{"observations": [], "findings": [EXTRA, softened]}])
    load(r, planted(), tmp_path)
    result = r.run_once("continuity-supervisor", "S03")
    assert result.records[0].filename == "CONTINUITY_REPORT_S03_v001.md"
    assert result.gate.verdict == "FAIL"
    assert "High prop_inventory finding in S03" in result.gate.reasons[0]
    written = ContinuityReport.parse(r.store.read(result.records[0].name))
    kept = [f for f in written.findings if f.category == "prop_inventory"]
    assert [f.severity for f in kept] == ["High", "Low"]  # the model could not soften it
    assert kept[0].artifacts == [
        "BREAKDOWN_v001.csv",
        "STATE_DIFF_S03_v001.json",
        "WORLD_STATE_v003.json",
    ]  # the state after S02
    assert any(f.description == EXTRA["description"] for f in written.findings)
    assert written.prop_inventory_check.status == "FAIL"
    prompt = model.requests[0].prompt
    assert "Bea searches the cottage" in prompt and "SET COTTAGE" in prompt
    assert "CHAR BEA" in prompt and "CHAR NELL" not in prompt  # only the scene's locks
    assert "reads the logbook aloud" not in prompt  # later scenes stay out
    assert "BRASS_KEY" in prompt and "NELL holds it" in prompt


def test_the_skill_passes_a_corrected_scene_and_checks_the_models_observations(
    film: Path, tmp_path: Path
) -> None:
    r, model = supervisor(
        film,
        [
            {"observations": [{"kind": "uses_prop", "character": "BEA", "subject": "LOGBOOK"}]},
            {
                "observations": [
                    {
                        "kind": "wears",
                        "character": "BEA",
                        "subject": "outfit",
                        "detail": "white modern sneakers",
                    }
                ]
            },
        ],
    )
    load(r, corrected(), tmp_path)
    passed = r.run("continuity-supervisor", "S03")
    assert (
        passed.gate.verdict == "PASS"
        and passed.records[0].filename == "CONTINUITY_REPORT_S03_v001.md"
    )
    r.project.add(_rewritten_breakdown(tmp_path))  # a new BREAKDOWN makes the report stale
    flagged = r.run_once("continuity-supervisor", "S03")
    assert (
        flagged.gate.verdict == "FAIL"
        and flagged.records[0].filename == "CONTINUITY_REPORT_S03_v002.md"
    )
    assert "modern sneakers" in flagged.gate.reasons[0]
    assert len(model.requests) == 2


def _rewritten_breakdown(tmp: Path) -> Path:
    prod = corrected()
    rows_ = [
        r.model_copy(update={"continuity_risks": ["BEA's boots in the wet"]})
        if r.scene_id == "S03"
        else r
        for r in prod.breakdown.rows
    ]
    path = tmp / "BREAKDOWN.csv"
    path.write_bytes(prod.breakdown.model_copy(update={"rows": rows_}).render())
    return path


def test_the_skill_checks_the_whole_project(film: Path, tmp_path: Path) -> None:
    r, model = supervisor(film, [{"findings": [{**EXTRA, "scenes": ["S03", "S99"]}]}])
    load(r, planted(), tmp_path)
    result = r.run_once("continuity-supervisor", "PROJECT")
    assert result.records[0].filename == "CONTINUITY_REPORT_PROJECT_v001.md"
    written = ContinuityReport.parse(r.store.read(result.records[0].name))
    # without observations, code still sees what the structured artifacts say:
    assert rows(written.findings) >= {
        ("prop_inventory", "High", ("S03",)),
        ("timeline", "Medium", ("S01", "S02")),
        ("timeline", "High", ("S04", "S05")),
    }
    assert written.findings[-1].scenes == ["S03"]  # unknown scene ids are dropped
    assert result.gate.verdict == "FAIL"
    assert "S06 |" in model.requests[0].prompt


def test_the_skill_runs_on_a_scene_or_the_project_only() -> None:
    with pytest.raises(UserError, match="scene or PROJECT"):
        ContinuitySupervisor().check_target("ACT_1")
    assert ContinuitySupervisor().check_target("S03") == "S03"


def test_set_lock_lookup_falls_back_to_the_containing_place() -> None:
    prod = corrected()
    locks = prod.locks
    assert isinstance(locks.set_for("LIGHTHOUSE_LAMP_ROOM"), SetLock)
    assert locks.set_for("LIGHT") is None


def test_the_policy_reads_the_config_and_defaults_without_it() -> None:
    from filmslate.core._config import Config

    policy = Policy.from_config(Config.model_validate({"project": {"name": "film"}}))
    assert (policy.light_tolerance_k, policy.light_fail_k) == (500, 1500)
