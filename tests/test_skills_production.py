"""shot-planner, prompt-packager and storyboard-generator through the real runner and store."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from filmslate import Project
from filmslate.core._errors import InputNotReady, ProviderError
from filmslate.engine._runner import Runner
from filmslate.engine._skill import Context, Registry
from filmslate.rules._storyboard import FramePlan, draw_storyboard, kelvin_to_rgb, light_direction
from filmslate.rules._takes import shot_seed
from filmslate.schemas import (
    GENPACK_SECTIONS,
    AdjustmentRule,
    Artifact,
    Breakdown,
    BreakdownRow,
    CharLock,
    Check,
    ContinuityReport,
    GenPack,
    RegenRules,
    SceneRow,
    Scenes,
    SetLock,
    ShotList,
    ShotRow,
    StoryboardReport,
    StyleLock,
)
from filmslate.skills.production import (
    PromptPackager,
    ShotPlanner,
    StoryboardGenerator,
    build_genpack,
    genpack_changed,
    genpack_failures,
)
from filmslate.store._runlog import LogEntry, new_run_id
from filmslate.testing import ScriptedTextModel, scripted_runner
from test_runtime import configure

# -- fixtures: a one-scene project with locks, written through the store ----------------------


def _char(name: str, palette: list[str], drift: str) -> CharLock:
    return CharLock.model_validate(
        {
            "name": name,
            "appearance": {
                "age_range": "30-35",
                "build": "lean",
                "hair": "short black",
                "eyes": "brown",
                "distinguishing_marks": ["scar over left eyebrow"],
            },
            "wardrobe": {"default_outfit": "navy peacoat", "palette": palette},
            "behavior": {
                "speech_patterns": "short declaratives",
                "temperament": "guarded",
                "decision_style": "fast",
                "stress_behavior": "goes quiet",
                "default_emotional_tone": "wry",
            },
            "voice_profile": "Low and measured.",
            "knowledge_at_introduction": ["the mill is closed"],
            "visual_anchors": [f"{name.lower()} anchor"],
            "forbidden_drift": [drift],
        }
    )


MILL = SetLock.model_validate(
    {
        "name": "OLD_MILL",
        "layout": {
            "geometry": "one long room",
            "entries_exits": "front door, back door",
            "windows": "two tall windows on the left wall",
            "spatial_relations": "desk under the windows",
        },
        "visual_anchors": ["millstone", "rusted gear wall", "cracked skylight"],
        "lighting": {
            "temperature_k": 3200,
            "primary_source": "window light from the left",
            "shadow": "hard",
            "contrast": "high",
            "allowed_variation": "none",
        },
        "environment": {
            "weather": "rain",
            "ambient_sound": "dripping water",
            "time_of_day": "dusk",
            "cleanliness_decay": "dusty",
        },
        "palette": ["#5A4632"],
        "prop_anchors": ["leather ledger"],
        "forbidden_drift": ["no modern light fixtures"],
    }
)
NOIR = StyleLock.model_validate(
    {
        "name": "NOIR",
        "medium": "35mm film",
        "palette": ["#101010"],
        "lens_film_look": "anamorphic, heavy grain",
        "grading": "crushed blacks",
        "forbidden_drift": ["no saturated colour"],
    }
)
ALEX = _char("ALEX", ["#1B2A41", "#C0392B"], "no beard")
MIRA = _char("MIRA", ["#2E8B57"], "no glasses")
BEN = _char("BEN", ["#8A8D91"], "no hat")
SCENES = Scenes(
    rows=[
        SceneRow(
            scene_id="S01",
            summary="Alex confronts Mira at the mill. Ben interrupts.",
            goal="get the ledger",
            conflict="Mira hides it",
            outcome="Alex leaves empty-handed",
            location="Old Mill",
            time_of_day="dusk",
            characters_present=["ALEX", "MIRA", "BEN"],
        )
    ]
)
BREAKDOWN = Breakdown(
    rows=[
        BreakdownRow(
            scene_id="S01",
            characters_present=["ALEX", "MIRA", "BEN"],
            locations_used=["OLD_MILL"],
            props_used=["LEDGER"],
        )
    ]
)


def _report(status: str = "PASS") -> ContinuityReport:
    check = Check(status=status)  # type: ignore[arg-type]
    return ContinuityReport(
        target="S01",
        character_check=check,
        set_check=Check(status="PASS"),
        prop_inventory_check=Check(status="PASS"),
        injury_emotional_check=Check(status="PASS"),
        knowledge_check=Check(status="PASS"),
        timeline_check=Check(status="PASS"),
        corrections=["Mira keeps the ledger in her coat"],
    )


def put(
    project: Project, kind: str, subject: str | None, payload: Artifact, outcome: str = "PASS"
) -> str:
    """Store a hand-made artifact with a gate verdict (like `slate add`)."""
    record = project.store.write(
        kind,
        subject,
        payload,
        entry=LogEntry(
            run_id=new_run_id(),
            skill_name="manual",
            event="write",
            outcome=outcome,
            model_used="human",
            tier="manual",
        ),
    )
    return record.filename


@pytest.fixture
def film(tmp_path: Path) -> Path:
    with Project.init(tmp_path / "film", name="film") as project:
        root = project.root
    configure(root)
    project = Project(root)
    put(project, "SCENES", None, SCENES)
    put(project, "BREAKDOWN", None, BREAKDOWN)
    put(project, "CONTINUITY_REPORT", "S01", _report())
    for lock in (ALEX, MIRA, BEN):
        put(project, "CHAR_LOCK", lock.name, lock)
    put(project, "SET_LOCK", "OLD_MILL", MILL)
    return root


def registry() -> Registry:
    reg = Registry()
    for skill in (ShotPlanner, PromptPackager, StoryboardGenerator):
        reg.register(skill)
    return reg


def runner(root: Path, script: Any = ()) -> tuple[Runner, ScriptedTextModel]:
    return scripted_runner(root, script, registry())


def shot(n: int, **change: Any) -> dict[str, Any]:
    row = {
        "shot_id": f"S01_SH{n:02d}",
        "scene_id": "S01",
        "duration_s": 4.0,
        "camera_type": "medium",
        "blocking_summary": f"Alex steps toward Mira ({n}).",
        "set_id": "OLD_MILL",
        "char_ids": ["ALEX", "MIRA"],
        "hero_tier": "B",
        "complexity_level": "low",
        "regen_risk_estimate": "low",
        "notes": "",
    }
    return {**row, **change}


GOOD = {
    "rows": [
        shot(
            1,
            camera_type="establishing",
            hero_tier="C",
            char_ids=[],
            duration_s=3.0,
            blocking_summary="The mill at dusk, rain on the skylight.",
        ),
        shot(2),
        shot(
            3,
            camera_type="close_up",
            hero_tier="A",
            char_ids=["MIRA"],
            blocking_summary="Mira holds Alex's gaze and says nothing.",
            regen_risk_estimate="medium",
        ),
        shot(
            4,
            char_ids=["ALEX", "MIRA", "BEN"],
            complexity_level="high",
            duration_s=5.0,
            regen_risk_estimate="high",
            blocking_summary="Ben walks in between them.",
        ),
    ]
}


def plan(root: Path, answer: dict[str, Any] = GOOD) -> Runner:
    r, _ = runner(root, [answer])
    assert r.run("shot-planner", "S01").gate.passed
    return r


# -- shot-planner --------------------------------------------------------------------------


def test_a_good_shot_list_passes_with_a_bounded_prompt(film: Path) -> None:
    r, model = runner(film, [GOOD])
    result = r.run("shot-planner", "S01")
    assert result.gate.verdict == "PASS"
    assert result.records[0].filename == "SHOTLIST_S01_v001.csv"
    prompt = model.requests[0].prompt
    assert "Alex confronts Mira at the mill" in prompt
    assert "- MIRA: mira anchor" in prompt and "- OLD_MILL: millstone" in prompt
    assert "clip limit: 10s" in prompt and "at most 5s" in prompt and "at most 8 shots" in prompt
    assert "Mira keeps the ledger in her coat" in prompt  # continuity notes for the scene
    assert model.requests[0].model == "scripted:judgment"


def _bad(*rows: dict[str, Any]) -> dict[str, Any]:
    return {"rows": list(rows)}


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (_bad(shot(1, camera_type="wide", hero_tier="A")), "hero-A moment is buried in a wide"),
        (_bad(shot(1, camera_type="establishing", hero_tier="A")), "buried in a establishing"),
        (_bad(shot(1, duration_s=11)), "11s exceeds the 10s clip limit"),
        (_bad(shot(1, complexity_level="high", duration_s=6)), "high complexity in 6s"),
        (_bad(shot(1, char_ids=["ALEX", "MIRA", "BEN"], duration_s=6)), "3 characters in 6s"),
        (_bad(shot(1), shot(3)), "not sequential: expected S01_SH01, S01_SH02"),
        (_bad(shot(2)), "not sequential: expected S01_SH01"),
        (_bad(shot(1), {**shot(2), "shot_id": "S01_SH002"}), "mix paddings"),
        (_bad(shot(1, set_id="LIGHTHOUSE")), "set LIGHTHOUSE has no SET lock"),
        (_bad(shot(1, char_ids=["ALEX", "ZOE"])), "character ZOE is not in S01's cast"),
        (_bad(*(shot(n) for n in range(1, 10))), "bloated: 9 shots, at most 8"),
        (_bad(), "the shot list is empty"),
    ],
)
def test_each_planner_rule_fails(film: Path, answer: dict[str, Any], reason: str) -> None:
    r, _ = runner(film, [answer])
    result = r.run_once("shot-planner", "S01")
    assert result.gate.verdict == "FAIL"
    assert any(reason in text for text in result.gate.reasons), result.gate.reasons


def test_a_locked_character_outside_the_scene_fails(film: Path) -> None:
    # NELL has a lock but is not in S01's cast
    put(Project(film), "CHAR_LOCK", "NELL", _char("NELL", ["#FFFFFF"], "no cape"))
    r, _ = runner(film, [_bad(shot(1, char_ids=["NELL"]))])
    result = r.run_once("shot-planner", "S01")
    assert any("NELL is not in S01's cast" in text for text in result.gate.reasons)


def test_a_shot_without_regen_risk_or_hero_tier_is_refused_as_unreadable(film: Path) -> None:
    row = shot(1)
    del row["regen_risk_estimate"]
    r, _ = runner(film, [_bad(row)])
    with pytest.raises(ProviderError, match="regen_risk_estimate"):
        r.run_once("shot-planner", "S01")


def test_a_failed_list_is_revised_with_the_reasons(film: Path) -> None:
    r, model = runner(film, [_bad(shot(1, camera_type="wide", hero_tier="A")), GOOD])
    result = r.run("shot-planner", "S01")
    assert result.gate.passed and result.attempt == 2
    assert result.records[0].filename == "SHOTLIST_S01_v002.csv"
    assert "YOUR PREVIOUS SHOT LIST WAS REFUSED" in model.requests[1].prompt
    assert "S01_SH01: a hero-A moment is buried" in model.requests[1].prompt


def test_planning_waits_for_a_passing_continuity_report(film: Path) -> None:
    put(Project(film), "CONTINUITY_REPORT", "S01", _report("FAIL"), outcome="FAIL")
    r, _ = runner(film, [GOOD])
    with pytest.raises(InputNotReady, match="failed its gate"):
        r.run_once("shot-planner", "S01")


# -- prompt-packager -----------------------------------------------------------------------


def _sections(text: str) -> dict[str, str]:
    """Section bodies of a stored GenPack, by heading."""
    out: dict[str, list[str]] = {}
    current = ""
    for line in text.split("\n")[1:]:
        if line in GENPACK_SECTIONS.values():
            current = line
            out[current] = []
        elif current:
            out[current].append(line)
    return {h: "\n".join(body).strip("\n") for h, body in out.items()}


def _lock_bytes(r: Runner, kind: str, subject: str) -> str:
    record = r.store.latest(kind, subject)
    assert record is not None
    return r.store.read(record.name).decode().removesuffix("\n")


def test_the_packager_pastes_locks_verbatim_in_section_order(film: Path) -> None:
    put(Project(film), "STYLE_LOCK", "NOIR", NOIR)
    r = plan(film)
    result = r.run("prompt-packager", "S01_SH02")
    assert result.gate.verdict == "PASS" and result.route is not None
    assert result.route.model == "builtin" and result.actual_cost == 0
    text = r.store.read(result.records[0].name).decode()
    headings = [line for line in text.split("\n") if line in GENPACK_SECTIONS.values()]
    assert headings == [
        "[STYLE]",
        "[SET]",
        "[CHARACTERS]",
        "[ACTION]",
        "[NEGATIVES / NO-DRIFT]",
        "[SETTINGS]",
    ]
    body = _sections(text)
    assert body["[STYLE]"] == _lock_bytes(r, "STYLE_LOCK", "NOIR")
    assert body["[SET]"] == _lock_bytes(r, "SET_LOCK", "OLD_MILL")
    assert body["[CHARACTERS]"] == (
        _lock_bytes(r, "CHAR_LOCK", "ALEX") + "\n\n" + _lock_bytes(r, "CHAR_LOCK", "MIRA")
    )
    assert "BEN" not in body["[CHARACTERS]"]
    assert body["[ACTION]"].startswith("Alex steps toward Mira (2).\ncamera: medium\nduration: 4s")
    assert r.project.verify() == []


def test_negatives_hold_drift_lists_and_the_rules_that_apply(film: Path) -> None:
    project = Project(film)
    put(project, "STYLE_LOCK", "NOIR", NOIR)
    put(
        project,
        "REGEN_RULES",
        None,
        RegenRules(
            failure_pattern_summary="face drift on S01_SH02",
            root_cause_hypothesis="weak anchors",
            prompt_adjustment_rules=[
                AdjustmentRule(
                    type="anchor_reinforcement",
                    scope="S01_SH02",
                    rule="repeat the scar over the left eyebrow",
                ),
                AdjustmentRule(type="constraint_tightening", scope="S01", rule="no rain indoors"),
                AdjustmentRule(type="constraint_tightening", scope="ALL", rule="no lens flares"),
                AdjustmentRule(type="duration_reduction", scope="S01_SH03", rule="other shot"),
                AdjustmentRule(type="duration_reduction", scope="S02", rule="other scene"),
            ],
        ),
    )
    r = plan(film)
    text = r.store.read(r.run("prompt-packager", "S01_SH02").records[0].name).decode()
    negatives = _sections(text)["[NEGATIVES / NO-DRIFT]"].split("\n")
    assert negatives == [
        "- STYLE NOIR: no saturated colour",
        "- SET OLD_MILL: no modern light fixtures",
        "- CHAR ALEX: no beard",
        "- CHAR MIRA: no glasses",
        "- regen rule (anchor_reinforcement, S01_SH02): repeat the scar over the left eyebrow",
        "- regen rule (constraint_tightening, S01): no rain indoors",
        "- regen rule (constraint_tightening, ALL): no lens flares",
    ]


def _context(r: Runner, skill: Any, target: str, **params: Any) -> Context:
    inputs = r.load_inputs(skill(), target)
    return Context(target=target, inputs=inputs, config=r.config, params=dict(params))


def test_settings_follow_the_resolution_tier(film: Path) -> None:
    r = plan(film)
    text = r.store.read(r.run("prompt-packager", "S01_SH03").records[0].name).decode()
    assert _sections(text)["[SETTINGS]"] == (
        f"resolution_tier: proxy\nwidth: 640\nheight: 360\nfps: 12\nduration_s: 4\n"
        f"camera_type: close_up\nseed: {shot_seed('S01_SH03')}"
    )
    final = build_genpack(_context(r, PromptPackager, "S01_SH03", resolution_tier="final"))
    assert final.settings.startswith("resolution_tier: final\nwidth: 1920\nheight: 1080\nfps: 24\n")


def test_genpack_changed_refuses_an_identical_regeneration(film: Path) -> None:
    r = plan(film)
    ctx = _context(r, PromptPackager, "S01_SH02")
    first = build_genpack(ctx)
    assert genpack_changed(None, first)
    assert not genpack_changed(first, build_genpack(ctx))
    put(
        r.project,
        "REGEN_RULES",
        None,
        RegenRules(
            failure_pattern_summary="drift",
            root_cause_hypothesis="weak anchors",
            prompt_adjustment_rules=[
                AdjustmentRule(type="anchor_reinforcement", scope="ALL", rule="repeat the peacoat")
            ],
        ),
    )
    assert genpack_changed(first, build_genpack(_context(r, PromptPackager, "S01_SH02")))


def test_the_packager_gate_catches_altered_or_missing_locks(film: Path) -> None:
    r = plan(film)
    ctx = _context(r, PromptPackager, "S01_SH02")
    pack = build_genpack(ctx)
    assert genpack_failures(pack, ctx) == []
    altered = pack.model_copy(update={"set": pack.set.replace("millstone", "grindstone")})
    assert any(
        "[SET] is not the SET OLD_MILL lock verbatim" in f for f in genpack_failures(altered, ctx)
    )
    swapped = pack.model_copy(
        update={"characters": "\n\n".join(reversed(pack.characters.split("\n\nCHARACTER LOCK")))}
    )
    assert any("lacks the CHAR" in f for f in genpack_failures(swapped, ctx))


def test_a_shot_on_an_unlocked_set_fails_and_stops(film: Path) -> None:
    r = plan(film, {"rows": [shot(1)]})
    # the shot list passed against the locks of its time; the packager re-checks them
    shotlist = r.store.load("SHOTLIST_S01_v001.csv")
    assert isinstance(shotlist, ShotList)
    rows = [row.model_copy(update={"set_id": "LIGHTHOUSE"}) for row in shotlist.rows]
    put(r.project, "SHOTLIST", "S01", shotlist.model_copy(update={"rows": rows}))
    # the runner loads only the shot's own set and cast locks, and refuses a missing one
    with pytest.raises(InputNotReady, match="missing input SET_LIGHTHOUSE_LOCK"):
        r.run("prompt-packager", "S01_SH01")


def test_no_packaging_without_a_continuity_report(film: Path) -> None:
    r, _ = runner(film)
    # a hand-made shot list for a scene that never passed continuity
    row = {**shot(1), "shot_id": "S02_SH01", "scene_id": "S02"}
    put(r.project, "SHOTLIST", "S02", ShotList.model_validate({"rows": [row]}))
    with pytest.raises(InputNotReady, match="missing input CONTINUITY_REPORT_S02"):
        r.run_once("prompt-packager", "S02_SH01")
    with pytest.raises(InputNotReady, match="missing input CONTINUITY_REPORT_S02"):
        r.run_once("storyboard-generator", "S02_SH01")


# -- storyboard-generator ------------------------------------------------------------------


def test_the_storyboard_is_a_deterministic_proxy_png_with_a_computed_report(film: Path) -> None:
    r = plan(film)
    result = r.run("storyboard-generator", "S01_SH02")
    assert result.gate.verdict == "PASS"
    names = [rec.filename for rec in result.records]
    assert names == ["STORYBOARD_S01_SH02_v001.png", "STORYBOARD_REPORT_S01_SH02_v001.md"]
    png = r.store.read(result.records[0].name)
    image = Image.open(io.BytesIO(png))
    assert image.size == (640, 360) and image.format == "PNG"
    assert not set(image.info) - {"dpi"}  # no timestamps or text chunks
    again = r.run("storyboard-generator", "S01_SH02", force=True)
    assert again.records[0].filename == "STORYBOARD_S01_SH02_v001.png"  # same bytes: no v002
    report = r.store.load(result.records[1].name)
    assert isinstance(report, StoryboardReport)
    assert report.character_placement.split("\n")[1:] == [
        "1. ALEX at x=160: palette #1B2A41, #C0392B",
        "2. MIRA at x=480: palette #2E8B57",
    ]
    assert report.set_anchor_presence.startswith("3 of 3 visual anchors of OLD_MILL")
    assert "key light from left" in report.lighting_compliance
    assert "3200K" in report.lighting_compliance
    assert "shotlist v001" in report.composition
    assert (report.drift_risk, report.recommendation) == ("low", "Proceed")


def test_crowded_complex_shots_are_simplified_and_risky_ones_adjusted(film: Path) -> None:
    r = plan(film)
    crowded = r.run("storyboard-generator", "S01_SH04")
    report = r.store.load(crowded.records[1].name)
    assert isinstance(report, StoryboardReport)
    assert (report.drift_risk, report.recommendation) == ("high", "Simplify")
    assert "Simplification: split into shots of at most 2 characters" in report.composition
    assert crowded.gate.verdict == "PASS"
    risky = r.store.load(r.run("storyboard-generator", "S01_SH03").records[1].name)
    assert isinstance(risky, StoryboardReport)
    assert (risky.drift_risk, risky.recommendation) == ("medium", "Adjust")
    ctx = _context(r, StoryboardGenerator, "S01_SH04")
    silent = report.model_copy(update={"composition": "three people"})
    gate = StoryboardGenerator().gate([silent], ctx)
    assert gate.verdict == "FAIL" and "no simplification is named" in gate.reasons[0]


def test_a_storyboard_with_an_unlocked_character_fails(film: Path) -> None:
    r = plan(film)
    shotlist = r.store.load("SHOTLIST_S01_v001.csv")
    assert isinstance(shotlist, ShotList)
    rows = [row.model_copy(update={"char_ids": ["ALEX", "ZOE"]}) for row in shotlist.rows]
    put(r.project, "SHOTLIST", "S01", shotlist.model_copy(update={"rows": rows}))
    with pytest.raises(InputNotReady, match="missing input CHAR_ZOE_LOCK"):
        r.run_once("storyboard-generator", "S01_SH02")


@pytest.mark.parametrize(
    "camera",
    [
        "close_up",
        "extreme_close_up",
        "medium",
        "two_shot",
        "over_shoulder",
        "wide",
        "establishing",
        "tracking",
        "insert",
        "pov",
    ],
)
def test_every_camera_type_draws(camera: str) -> None:
    row = ShotRow.model_validate(shot(1, camera_type=camera))
    frame_plan = FramePlan(row, MILL, (("ALEX", ALEX), ("MIRA", MIRA)), "shotlist v001")
    png, frame = draw_storyboard(frame_plan)
    assert png == draw_storyboard(frame_plan)[0]
    assert Image.open(io.BytesIO(png)).size == (640, 360)
    assert [f.name for f in frame.figures] == ["ALEX", "MIRA"]
    assert frame.anchors == list(MILL.visual_anchors)
    assert frame.slate == "S01 | S01_SH01 | shotlist v001 | 4s | " + camera + " | hero B"


def test_kelvin_and_light_direction() -> None:
    assert min(kelvin_to_rgb(6600)) >= 250  # daylight is near white
    warm, cool = kelvin_to_rgb(2700), kelvin_to_rgb(9000)
    assert warm[0] > warm[2] and cool[2] > cool[0]
    assert light_direction("window light from the left") == "left"
    assert light_direction("practical lamp on the right") == "right"
    assert light_direction("overhead fluorescent tubes") == "above"
    assert light_direction("a candle") == "front"


def test_genpack_sections_are_the_schema_order() -> None:
    assert list(GENPACK_SECTIONS.values()) == [
        "[STYLE]",
        "[SET]",
        "[CHARACTERS]",
        "[ACTION]",
        "[NEGATIVES / NO-DRIFT]",
        "[SETTINGS]",
    ]
    assert GenPack.model_fields["style"].default == ""
