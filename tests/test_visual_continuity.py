"""Visual continuity through `slate run` (issue 13 §4): the vision tier reports what each
accepted take shows, code judges it against the world state, the locks and the shot before,
and a High finding sends that shot back to regen with the finding as its rule.

The film is the synthetic one (2 scenes of 3 shots; BRAM is in S01 and in S02_SH02-SH03),
answered in the ``slate`` child process by this module's ``text_provider`` (a
``filmslate.text_providers`` entry point): the synthetic film's answers, except that S01's
world-state diff gives BRAM a cut on the left cheek (so the world state records it before
S02), and visual-continuity's answers are scripted per scenario from the request itself (the
shot, its take and its characters are in the prompt).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from conftest import run_slate
from e2e_film import make_film, plugin_env, query
from filmslate import Project
from filmslate.engine._gateway import ProviderContext, TextProvider, TextRequest
from filmslate.rules._continuity import Locks, Policy, SceneFacts
from filmslate.rules._continuity_visual import visual_findings
from filmslate.schemas import RegenRules, ShotRow, StateDiff, WorldState
from filmslate.schemas._continuity import ShotSeen, VisualContinuity
from filmslate.skills.continuity import ShotAnswer
from filmslate.synthetic import SyntheticFilm
from filmslate.testing import ScriptedTextModel
from filmslate.testing.openai_server import OpenAIServer
from test_skills_production import shot as planned_shot

SLOW = pytest.mark.slow  # a whole synthetic production per test

SHAPE = (2, 3)
SCENARIO_ENV = "FILMSLATE_VC_SCENARIO"  # clean | injury | prop_jump
ASKED_ENV = "FILMSLATE_VC_ASKED"  # a file: each take the vision tier was asked about, a line
CUT = "cut on the left cheek"


# -- the child process's text models ----------------------------------------------------------


def text_provider(context: ProviderContext) -> TextProvider:
    """The synthetic film's answers, with BRAM's cut and the scenario's sightings."""
    film = SyntheticFilm(*SHAPE)
    scenario = os.environ.get(SCENARIO_ENV, "clean")

    def answer(request: TextRequest) -> BaseModel:
        if request.skill == "visual-continuity":
            with open(os.environ[ASKED_ENV], "a", encoding="utf-8") as asked:
                asked.write(_found(r"take (PROXY_\S+?\.mp4)", request.prompt) + "\n")
            return sighting(film, scenario, request.prompt)
        out = film.answer(request)
        if request.skill == "world-state-tracker" and request.target == "S01":
            assert isinstance(out, StateDiff)
            out.character_updates["BRAM"].add_injuries.append(CUT)
        return out

    return ScriptedTextModel(answer)


def sighting(film: SyntheticFilm, scenario: str, prompt: str) -> ShotAnswer:
    """Everyone of the shot visible in their locked outfit; BRAM with his cut from S02 on
    and his ledger in hand in S02_SH02; then what the scenario breaks."""
    shot = _found(r"Shot (S\d+_SH\d+) of scene", prompt)
    take = _found(r"take (PROXY_\S+?\.mp4)", prompt)
    cast = _found(r"Characters of the shot: (.*)\.\n", prompt)
    people = []
    for cid in [] if cast == "none" else cast.split(", "):
        seen: dict[str, Any] = {
            "character": cid,
            "wearing": film.char_lock(cid).wardrobe.default_outfit,
        }
        if cid == "BRAM" and shot.startswith("S02"):
            seen["injuries"] = [CUT]
            if shot == "S02_SH02":
                seen["holding"] = ["BRAM_LEDGER"]
            elif scenario != "prop_jump":  # the jump: the ledger gone from his hand in SH03
                seen["holding"] = ["the ledger"]
        if scenario == "injury" and shot == "S02_SH02" and take.endswith("_v001.mp4"):
            seen["injuries"] = []  # the first take shows BRAM without his cut
        people.append(seen)
    anchors = _found(r"Set anchors: (.*)\.\n", prompt)
    seen_anchors = [] if anchors == "none" else anchors.split("; ")
    return ShotAnswer.model_validate(
        {"characters": people, "light": "daylight", "anchors": seen_anchors}
    )


def _found(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not in the prompt:\n{text}"
    return match.group(1)


# -- the production ---------------------------------------------------------------------------


def produce(
    tmp_path: Path, scenario: str, extra: dict[tuple[str, str], str] | None = None, toml: str = ""
) -> tuple[Path, Any]:
    """A synthetic film with the visual pass on, produced by `slate run` (child process)."""
    root = tmp_path / "film"
    settings = {("visual", tier): '"animatic"' for tier in ("premium", "mid", "low")}
    make_film(root, *SHAPE, {**settings, ("qc", "visual_continuity"): "true", **(extra or {})})
    config = root / "filmslate.toml"
    config.write_text(config.read_text(encoding="utf-8") + toml, encoding="utf-8")
    asked = {ASKED_ENV: str(tmp_path / "asked.txt")}
    env = plugin_env(tmp_path / "site", *SHAPE, {SCENARIO_ENV: scenario, **asked})
    info = tmp_path / "site" / "e2e_film_text-0.1.dist-info" / "entry_points.txt"
    info.write_text("[filmslate.text_providers]\nscripted = test_visual_continuity:text_provider\n")
    return root, run_slate("run", "-C", str(root), env=env)


def runs(root: Path, skill: str, target: str) -> list[str]:
    rows = query(
        root,
        "SELECT outcome FROM runlog WHERE skill_name = ? AND target = ? AND event = 'run' "
        "ORDER BY seq",
        skill,
        target,
    )
    return [outcome for (outcome,) in rows]


def loop_backs(root: Path) -> list[tuple[str, str]]:
    return query(
        root,
        "SELECT target, notes FROM runlog WHERE event = 'loop_back' AND "
        "skill_name = 'visual-continuity' ORDER BY seq",
    )


def latest(root: Path, kind: str, subject: str | None = None) -> Any:
    with Project(root) as project:
        record = project.store.latest(kind, subject)
        assert record is not None
        return project.store.load(record.name), record.name.version


@SLOW
def test_clean_takes_pass_the_visual_pass(tmp_path: Path) -> None:
    root, result = produce(tmp_path, "clean")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "production complete" in result.stdout
    for scene in ("S01", "S02"):
        assert runs(root, "visual-continuity", scene) == ["PASS"]
        report, _ = latest(root, "VISUAL_CONTINUITY", scene)
        assert isinstance(report, VisualContinuity)
        assert [s.shot_id for s in report.shots] == [f"{scene}_SH0{n}" for n in (1, 2, 3)]
        assert report.findings == []
    assert loop_backs(root) == []
    assert query(root, "SELECT count(*) FROM runlog WHERE skill_name = 'regen-analyzer'") == [(0,)]


def texts(body: dict[str, Any]) -> str:
    """Every text part of a chat request, in order."""
    out = []
    for message in body["messages"]:
        content = message.get("content")
        parts = content if isinstance(content, list) else [{"type": "text", "text": content}]
        out += [str(p["text"]) for p in parts if p.get("type") == "text" and p.get("text")]
    return "\n".join(out)


def image_labels(body: dict[str, Any]) -> list[str]:
    """The label (the text part just before) of every image part of a chat request."""
    labels, label = [], ""
    for message in body["messages"]:
        content = message.get("content")
        for part in content if isinstance(content, list) else []:
            if part["type"] == "text":
                label = part["text"]
            elif part["type"] == "image_url":
                labels.append(label)
    return labels


def the_vision_model(film: SyntheticFilm, scenario: str) -> Any:
    """The local server's answers: the sightings, and every storyboard item seen."""

    def answer(body: dict[str, Any]) -> dict[str, Any]:
        text = texts(body)
        if "Storyboard frame of shot" in text:
            listed = text.split("copying its text exactly:\n", 1)[1].split("\n\n", 1)[0]
            items = [line[2:] for line in listed.split("\n") if line.startswith("- ")]
            return {"items": [{"item": i, "seen": True} for i in items], "notes": ""}
        return sighting(film, scenario, text).model_dump()

    return answer


@SLOW
def test_a_take_without_the_recorded_injury_goes_back_to_regen(tmp_path: Path) -> None:
    vision = "compat:local-vl"
    config = {
        ("tiers", "vision"): f'"{vision}"',
        ("prices", "text"): f'{{ "{vision}" = [1.0, 4.0] }}',
        ("providers", "vision_models"): f'["{vision}"]',
    }
    with OpenAIServer(the_vision_model(SyntheticFilm(*SHAPE), "injury")) as server:
        root, result = produce(tmp_path, "injury", config, "\n" + server.providers_toml())
        looks = [r.body for r in server.completions() if "Shot S0" in texts(r.body)]
    assert result.returncode == 0, result.stdout + result.stderr
    # the vision tier saw each take: its frames, then the shot's sheets, as image parts
    first = next(b for b in looks if "take PROXY_S02_SH02_v001.mp4" in texts(b))
    labels = image_labels(first)
    assert labels[0].startswith("[take frame 1 of ") and len(labels) >= 4
    assert labels[-3:] == [
        "[reference: CHAR_BRAM_REF_v001]",
        "[reference: CHAR_CORA_REF_v001]",
        f"[reference: SET_{SyntheticFilm(*SHAPE).location(1)}_REF_v001]",
    ]
    # it saw BRAM without the cut the world state records on S02_SH02: a High finding there
    assert runs(root, "visual-continuity", "S02") == ["FAIL", "PASS"]
    ((target, notes),) = loop_backs(root)
    assert target == "S02_SH02"
    assert notes.startswith("to regen-analyzer on S02_SH02: S02_SH02: injury_emotional High")
    assert f"BRAM appears without {CUT!r}" in notes
    # regen-analyzer made the finding the shot's rule; the new GenPack carries it; a new take
    assert runs(root, "regen-analyzer", "S02_SH02") == ["PASS"]
    rules, _ = latest(root, "REGEN_RULES")
    assert isinstance(rules, RegenRules)
    (rule,) = [r for r in rules.prompt_adjustment_rules if r.scope == "S02_SH02"]
    assert CUT in rule.rule and rule.type == "constraint_tightening"
    pack, _ = latest(root, "GENPACK", "S02_SH02")
    assert rule.rule in pack.negatives
    assert query(
        root, "SELECT max(version) FROM artifacts WHERE kind = 'PROXY' AND subject = 'S02_SH02'"
    ) == [(2,)]
    # the failing report names the shot, the take and the world state it contradicts
    with Project(root) as project:
        report = project.store.load("VISUAL_CONTINUITY_S02_v001.json")
    assert isinstance(report, VisualContinuity)
    (high,) = [f for f in report.findings if f.severity == "High"]
    assert (high.shot_id, high.category) == ("S02_SH02", "injury_emotional")
    assert any(a.startswith("PROXY_S02_SH02_v001") for a in high.artifacts)
    # the second look asked only about the new take: the others were seen already
    asked = [re.findall(r"take (PROXY_\S+?\.mp4)", texts(b))[0] for b in looks]
    takes = [f"PROXY_S0{s}_SH0{n}_v001.mp4" for s in (1, 2) for n in (1, 2, 3)]
    assert asked == [*takes, "PROXY_S02_SH02_v002.mp4"]
    # S01 was clean: looked at once, nothing sent back; the calls were paid for
    assert runs(root, "visual-continuity", "S01") == ["PASS"]
    assert runs(root, "regen-analyzer", "S01_SH02") == []
    spent = query(
        root,
        "SELECT sum(actual_cost) FROM runlog WHERE event = 'spend' "
        "AND skill_name = 'visual-continuity'",
    )
    assert spent[0][0] == pytest.approx(len(looks) * (100 * 1.0 + 20 * 4.0) / 1e6)


@SLOW
def test_a_prop_gone_between_two_shots_goes_back_until_the_regen_limit(tmp_path: Path) -> None:
    root, result = produce(tmp_path, "prop_jump")
    assert result.returncode == 1, result.stdout + result.stderr
    sent = loop_backs(root)
    assert sent and {target for target, _ in sent} == {"S02_SH03"}
    assert "BRAM holds BRAM_LEDGER in S02_SH02, the shot before, but not here" in sent[0][1]
    assert len(sent) == 2  # [regen] limit_b of the synthetic project's hero-B shot
    assert "hard stop (regen_limit) on S02_SH03" in result.stdout
    assert "slate override S02_SH03" in result.stdout
    assert not query(root, "SELECT 1 FROM artifacts WHERE kind = 'FINAL' AND subject LIKE 'S02%'")


@SLOW
def test_a_vision_tier_that_cannot_see_is_refused_before_anything_is_sent(
    tmp_path: Path,
) -> None:
    blind = "compat:local-llm"  # not a vision model, and not listed in vision_models
    with OpenAIServer([]) as server:
        root, result = produce(
            tmp_path,
            "clean",
            {
                ("tiers", "vision"): f'"{blind}"',
                ("prices", "text"): f'{{ "{blind}" = [1.0, 1.0] }}',
            },
            "\n" + server.providers_toml("compat"),
        )
        assert server.completions() == []
    assert result.returncode == 2, result.stdout + result.stderr
    assert "visual-continuity sends images" in result.stderr and blind in result.stderr
    assert "vision_models" in result.stderr
    assert query(root, "SELECT count(*) FROM runlog WHERE skill_name = 'visual-continuity'") == [
        (0,)
    ]
    assert not query(root, "SELECT 1 FROM artifacts WHERE kind = 'FINAL'")


# -- the checks alone (rules._continuity_visual) -------------------------------------------------


def facts(diff: dict[str, Any] | None = None) -> SceneFacts:
    """S02 at the office: NELL comes in with a cut on her cheek and her lantern in hand."""
    before = WorldState.model_validate(
        {
            "characters": {"NELL": {"injuries": [CUT], "inventory": ["NELL_LANTERN"]}},
            "props": {"NELL_LANTERN": {"owner": "NELL", "location": "OFFICE"}},
        }
    )
    return SceneFacts(
        scene_id="S02",
        location="OFFICE",
        characters=("NELL", "TOM"),
        diff=StateDiff.model_validate({"scene_id": "S02", **(diff or {})}),
        before=before,
    )


def shot(n: int, **nell: Any) -> ShotSeen:
    seen = {"character": "NELL", "wearing": "grey wool coat", "injuries": [CUT], **nell}
    take = f"PROXY_S02_SH0{n}_v001.mp4"
    return ShotSeen.model_validate({"shot_id": f"S02_SH0{n}", "take": take, "characters": [seen]})


def planned(shot_id: str, camera: str = "medium", cast: tuple[str, ...] = ("NELL",)) -> ShotRow:
    row = planned_shot(1, shot_id=shot_id, scene_id="S02", set_id="OFFICE", char_ids=list(cast))
    return ShotRow.model_validate({**row, "camera_type": camera})


def judged(*shots: ShotSeen, diff: dict[str, Any] | None = None) -> list[tuple[str, str, str]]:
    rows = {s.shot_id: planned(s.shot_id) for s in shots}
    found = visual_findings(facts(diff), shots, rows, Locks(), Policy())
    return [(f.shot_id, f.severity, f.category) for f in found]


def test_consistent_shots_have_no_findings() -> None:
    held = {"holding": ["NELL_LANTERN"]}
    assert judged(shot(1, **held), shot(2, **held)) == []


def test_the_framing_that_hides_an_injury_is_not_judged() -> None:
    assert judged(shot(1, injuries=[], hidden=["her left cheek out of frame"])) == []
    assert judged(shot(1, injuries=[], hidden=["hands below the frame"])) == [
        ("S02_SH01", "High", "injury_emotional")
    ]


def test_an_injury_the_diff_heals_is_not_required() -> None:
    healed = {"character_updates": {"NELL": {"heal_injuries": [CUT]}}}
    assert judged(shot(1, injuries=[]), diff=healed) == []


def test_a_wardrobe_change_between_shots_is_high_on_the_later_shot() -> None:
    assert judged(shot(1), shot(2, wearing="red raincoat")) == [("S02_SH02", "High", "character")]
    assert judged(shot(1), shot(2, wearing="grey coat")) == []  # said differently, the same coat


def test_a_prop_handed_over_in_the_diff_may_leave_the_hand() -> None:
    held = {"holding": ["the lantern"]}
    assert judged(shot(1, **held), shot(2)) == [("S02_SH02", "High", "prop_inventory")]
    handed = {"character_updates": {"NELL": {"lose_items": ["NELL_LANTERN"]}}}
    assert judged(shot(1, **held), shot(2), diff=handed) == []


def test_a_character_of_the_shot_nobody_sees_is_medium() -> None:
    rows = {"S02_SH01": planned("S02_SH01", cast=("NELL", "TOM"))}
    found = visual_findings(facts(), [shot(1)], rows, Locks(), Policy())
    assert [(f.severity, f.category, f.description) for f in found] == [
        ("Medium", "character", "TOM is in the shot list but not seen in the take")
    ]


def test_a_wide_take_showing_none_of_the_set_anchors_is_medium() -> None:
    any_set = SyntheticFilm(*SHAPE).set_lock(SyntheticFilm(*SHAPE).location(0))
    office = any_set.model_copy(
        update={"name": "OFFICE", "visual_anchors": ["brass ship's bell", "tide chart"]}
    )
    locks = Locks(sets={"OFFICE": office})
    rows = {"S02_SH01": planned("S02_SH01", camera="wide")}
    found = visual_findings(facts(), [shot(1)], rows, locks, Policy())
    assert [(f.severity, f.category) for f in found] == [("Medium", "set")]
    assert "SET_OFFICE_LOCK's anchors (brass ship's bell; tide chart)" in found[0].description
    seen = shot(1).model_copy(update={"anchors": ["the tide chart"]})
    assert visual_findings(facts(), [seen], rows, locks, Policy()) == []
    close = {"S02_SH01": planned("S02_SH01", camera="close_up")}
    assert visual_findings(facts(), [shot(1)], close, locks, Policy()) == []
