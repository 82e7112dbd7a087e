"""The demo short film (examples/demo_short_film) still fits the code, without running it.

The demo is driven by authored replay answers and hand-made inputs. A schema or lock-gate
change that breaks one of them would only show in the slow end-to-end demo; these checks read
every file the way the run will, in a second or two: each answer parses as its skill's output,
and the story steps (story-architect, script-breakdown, the lock skills and
dialogue-consistency-check) run for real, offline, on the demo's inputs, asking the replay
provider exactly the questions a run asks, in the same order.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from filmslate import parse_config
from filmslate.engine._gateway import ProviderContext, ProviderSettings, TextRequest
from filmslate.engine._skill import Context, Inputs, Skill
from filmslate.providers.replay import ReplayProvider
from filmslate.rules._fountain import parse_fountain
from filmslate.rules._locks import lock_gate
from filmslate.schemas import (
    Artifact,
    Breakdown,
    CharLock,
    DialogueCheck,
    Premise,
    Scenes,
    ScriptScene,
    SetLock,
    ShotList,
    StateDiff,
    StyleLock,
    VoiceLock,
)
from filmslate.skills.continuity._locks import (
    CharacterLock,
    LockSkill,
    SetLockSkill,
    VoiceLockSkill,
)
from filmslate.skills.continuity._supervisor import SupervisorAnswer
from filmslate.skills.narrative import (
    BreakdownAnswer,
    DialogueAnswer,
    DialogueConsistencyCheck,
    PsychAnswer,
    ScriptBreakdown,
    StoryAnswer,
    StoryArchitect,
)
from filmslate.skills.production._qc import RubricAnswer
from filmslate.skills.validation import (
    AudienceAnswer,
    PlausibilityAnswer,
    RedTeamAnswer,
    ResearchAnswer,
)

DEMO = Path(__file__).resolve().parents[1] / "examples" / "demo_short_film"
REPLAY = DEMO / "replay"
CONFIG = parse_config((DEMO / "filmslate.toml").read_text(encoding="utf-8"))

# The structured answer each model-backed skill asks for (what ctx.ask is given).
OUTPUT_TYPES: dict[str, type[BaseModel]] = {
    "story-architect": StoryAnswer,
    "script-breakdown": BreakdownAnswer,
    "character-psychology": PsychAnswer,
    "dialogue-consistency-check": DialogueAnswer,
    "character-lock": CharLock,
    "set-lock": SetLock,
    "voice-lock": VoiceLock,
    "narrative-red-team": RedTeamAnswer,
    "audience-simulator": AudienceAnswer,
    "research-agent": ResearchAnswer,
    "plausibility-auditor": PlausibilityAnswer,
    "world-state-tracker": StateDiff,
    "continuity-supervisor": SupervisorAnswer,
    "shot-planner": ShotList,
    "qc-grader": RubricAnswer,
}
ANSWERS = sorted(REPLAY.rglob("*.json"))
SCRIPTS = sorted((DEMO / "inputs").glob("SCRIPT_*.txt"))
#: Replay file names: ``<attempt>.json``, ``<attempt>-<call>.json`` (the call-th question of
#: one run) or ``any.json``.
ANSWER_NAME = re.compile(r"(?P<attempt>\d+)(?:-(?P<call>\d+))?|any")


def request_for(path: Path) -> TextRequest:
    """The request that the replay provider answers with ``path``."""
    parts = path.relative_to(REPLAY).parts
    skill = parts[0]
    target = parts[1] if len(parts) == 3 else "S99_SH99"  # <skill>/any.json: any target
    name = ANSWER_NAME.fullmatch(path.stem)
    assert name is not None, f"{path.name}: not <attempt>.json, <attempt>-<call>.json or any.json"
    return TextRequest(
        skill=skill,
        target=target,
        attempt=int(name["attempt"] or 1),
        call=int(name["call"] or 1),
        model="replay:demo",
        system="",
        prompt="",
        output_type=OUTPUT_TYPES[skill],
    )


@pytest.fixture(scope="module")
def provider() -> Iterator[ReplayProvider]:
    """The replay provider, reading the demo's answers where a project would keep them."""
    with httpx.Client() as client:
        yield ReplayProvider(
            ProviderContext(
                project_root=DEMO,
                settings=ProviderSettings(replay_dir="replay"),
                env={},
                http_client=client,
            )
        )


def test_the_demo_has_answers_for_known_skills_only() -> None:
    assert ANSWERS, f"no replay answers under {REPLAY}"
    unknown = sorted({p.relative_to(REPLAY).parts[0] for p in ANSWERS} - set(OUTPUT_TYPES))
    assert not unknown, f"replay answers for skills this test does not know: {unknown}"


@pytest.mark.parametrize("path", ANSWERS, ids=lambda p: str(p.relative_to(REPLAY)))
def test_every_replay_answer_fits_its_skill(provider: ReplayProvider, path: Path) -> None:
    request = request_for(path)
    chosen = next(p for p in provider.candidates(request) if p.is_file())
    assert chosen == path  # the file is the one a run reads at this attempt and question
    result = provider.complete(request)  # raises ProviderError when the answer does not fit
    assert isinstance(result.output, OUTPUT_TYPES[request.skill])
    assert 0 <= result.cost < 1, "a demo call should cost cents, not dollars"


@pytest.mark.parametrize(
    "path",
    [p for p in ANSWERS if p.parts[-3].endswith("-lock")],
    ids=lambda p: str(p.relative_to(REPLAY)),
)
def test_every_lock_answer_passes_the_lock_gate(provider: ReplayProvider, path: Path) -> None:
    lock = provider.complete(request_for(path)).output
    gate = lock_gate(lock, CONFIG)  # type: ignore[arg-type]
    assert gate.passed, gate.reasons


def test_numbered_questions_have_no_gaps() -> None:
    """``1-1.json`` ... ``1-n.json`` with none missing: a gap would send that question to the
    ``1.json`` fallback (or fail the run) instead of its own answer."""
    calls: dict[tuple[Path, str], list[int]] = defaultdict(list)
    for path in ANSWERS:
        name = ANSWER_NAME.fullmatch(path.stem)
        if name is not None and name["call"]:
            calls[(path.parent, name["attempt"])].append(int(name["call"]))
    for (folder, attempt), numbers in calls.items():
        assert sorted(numbers) == list(range(1, len(numbers) + 1)), (folder, attempt, numbers)


def test_the_hand_made_inputs_parse_and_pass() -> None:
    inputs = sorted((DEMO / "inputs").iterdir())
    scripts = [f"SCRIPT_S0{n}.txt" for n in range(1, 6)]
    assert [p.name for p in inputs] == ["PREMISE.md", *scripts, "STYLE_LAMPLIGHT_LOCK.txt"]
    premise = Premise.parse((DEMO / "inputs" / "PREMISE.md").read_bytes())
    assert premise.length == "short" and len(premise.characters) == 3
    style = StyleLock.parse((DEMO / "inputs" / "STYLE_LAMPLIGHT_LOCK.txt").read_bytes())
    assert lock_gate(style, CONFIG).passed
    revised = CharLock.parse((DEMO / "revisions" / "CHAR_SAUL_LOCK.txt").read_bytes())
    assert lock_gate(revised, CONFIG).passed


def test_the_config_routes_qc_to_the_model_and_prices_the_animatic() -> None:
    assert CONFIG.qc.rubric_source == "model"
    assert set(CONFIG.prices.video["animatic"]) == {"proxy", "final"}
    assert CONFIG.budget.scene_cap is not None


def test_the_planned_failures_are_in_place() -> None:
    tracker = sorted(p.name for p in (REPLAY / "world-state-tracker" / "S04").iterdir())
    assert tracker == ["1.json", "2.json"]
    qc = sorted(p.name for p in (REPLAY / "qc-grader" / "S04_SH03").iterdir())
    assert qc == ["1.json", "2.json", "3.json"]
    shots = json.loads((REPLAY / "shot-planner" / "S04" / "1.json").read_text())["output"]
    hero = next(r for r in shots["rows"] if r["shot_id"] == "S04_SH03")
    assert hero["hero_tier"] == "A" and "SAUL" not in hero["char_ids"]


# ── the story steps, run for real on the demo's inputs and answers ─────────────────────────


@dataclass
class Story:
    """What the story steps of a demo run produce, and which replay files they read."""

    scenes: Scenes
    scripts: dict[str, ScriptScene]
    breakdown: Breakdown
    breakdown_failures: list[str]
    breakdown_calls: int
    locks: dict[str, dict[str, Artifact]] = field(default_factory=dict)
    lock_subjects: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    lock_failures: list[str] = field(default_factory=list)
    dialogue: dict[str, DialogueCheck] = field(default_factory=dict)
    dialogue_failures: dict[str, list[str]] = field(default_factory=dict)
    read: set[Path] = field(default_factory=set)


def asker(
    provider: ReplayProvider, skill: str, target: str, read: set[Path]
) -> Callable[[type[BaseModel], str, str], BaseModel]:
    """``ctx.ask`` as the runner wires it: the n-th question of the run is call n."""
    calls = count(1)

    def ask(output_type: type[BaseModel], system: str, prompt: str) -> BaseModel:
        request = TextRequest(
            skill=skill,
            target=target,
            attempt=1,
            call=next(calls),
            model="replay:demo",
            system=system,
            prompt=prompt,
            output_type=output_type,
        )
        read.add(next(p for p in provider.candidates(request) if p.is_file()))
        return provider.complete(request).output

    return ask


def run_skill(
    skill: Skill,
    target: str,
    provider: ReplayProvider,
    read: set[Path],
    one: dict[str, Any],
    many: dict[str, dict[str, Any]] | None = None,
    params: dict[str, Any] | None = None,
) -> tuple[Context, list[Any]]:
    """One attempt of ``skill`` on ``target`` with the given inputs; returns its outputs."""
    ctx = Context(
        target=target,
        inputs=Inputs(one=one, many=many or {}),
        config=CONFIG,
        ask_model=asker(provider, skill.name, target, read),
        params=params or {},
    )
    return ctx, skill.produce(ctx)


def lock_round(
    story: Story,
    provider: ReplayProvider,
    scene: str,
    skill: LockSkill,
    styles: dict[str, StyleLock],
) -> None:
    """One lock skill on one scene, skipping subjects whose lock already passed."""
    kind = skill.lock_type.KIND
    done = {s: "PASS" for s in story.locks.get(kind, {})}
    one = {"SCENES": story.scenes, "BREAKDOWN": story.breakdown, "SCRIPT": story.scripts.get(scene)}
    ctx = Context(
        target=scene,
        inputs=Inputs(one=one, many={"STYLE_LOCK": styles}),
        config=CONFIG,
        params={"existing": {kind: done}},
    )
    asked = [s for s in skill.subjects(ctx) if s not in done]
    story.lock_subjects[(skill.name, scene)] = asked
    ctx.ask_model = asker(provider, skill.name, scene, story.read)
    outputs = skill.produce(ctx)
    story.lock_failures += list(skill.gate(outputs, ctx).reasons)
    for lock in outputs:
        story.locks.setdefault(kind, {})[lock.subject] = lock


def dialogue_round(story: Story, provider: ReplayProvider, scene: str) -> None:
    """dialogue-consistency-check on one scene, reading the previous scene's check."""
    previous = next(reversed(story.dialogue.values()), None)
    skill = DialogueConsistencyCheck()
    many = {
        "VOICE_LOCK": story.locks.get("VOICE_LOCK", {}),
        "CHAR_LOCK": story.locks.get("CHAR_LOCK", {}),
    }
    ctx, outputs = run_skill(
        skill,
        scene,
        provider,
        story.read,
        {"SCRIPT": story.scripts[scene], "DIALOGUE_CHECK": previous},
        many,
    )
    story.dialogue[scene] = outputs[0]
    story.dialogue_failures[scene] = list(skill.gate(outputs, ctx).reasons)


@pytest.fixture(scope="module")
def story(provider: ReplayProvider) -> Story:
    """story-architect, script-breakdown, the lock skills (scene by scene, as the
    orchestrator runs them) and dialogue-consistency-check, on the demo's own files."""
    read: set[Path] = set()
    premise = Premise.parse((DEMO / "inputs" / "PREMISE.md").read_bytes())
    style = StyleLock.parse((DEMO / "inputs" / "STYLE_LAMPLIGHT_LOCK.txt").read_bytes())
    scripts = {s.scene_id: s for s in (ScriptScene.parse(p.read_bytes()) for p in SCRIPTS)}
    _, (_, scenes) = run_skill(StoryArchitect(), "PROJECT", provider, read, {"PREMISE": premise})
    breakdown_skill = ScriptBreakdown()
    ctx, (breakdown,) = run_skill(
        breakdown_skill, "PROJECT", provider, read, {"SCENES": scenes}, {"SCRIPT": scripts}
    )
    story = Story(
        scenes=scenes,
        scripts=scripts,
        breakdown=breakdown,
        breakdown_failures=list(breakdown_skill.gate([breakdown], ctx).reasons),
        breakdown_calls=len(breakdown_skill.answers),
        read=read,
    )
    for row in scenes.rows:
        for skill in (CharacterLock(), SetLockSkill(), VoiceLockSkill()):
            lock_round(story, provider, row.scene_id, skill, {style.subject: style})
    for row in scenes.rows:
        if row.scene_id in scripts:
            dialogue_round(story, provider, row.scene_id)
    return story


def test_every_scene_has_a_script_that_fits_its_scene_row(story: Story) -> None:
    assert set(story.scripts) == {r.scene_id for r in story.scenes.rows}
    for row in story.scenes.rows:
        (scene,) = parse_fountain(story.scripts[row.scene_id].text, source=row.scene_id).scenes
        assert scene.location.replace(" ", "_") == row.location, row.scene_id
        assert set(scene.characters) <= set(row.characters_present), row.scene_id
        # a name in the action adds a character: the breakdown's cast must stay the scene's
        bd = next(r for r in story.breakdown.rows if r.scene_id == row.scene_id)
        assert bd.characters_present == row.characters_present, row.scene_id
        assert set(bd.props_used) <= {"CASSETTE", "SHOP_KEYS"}, row.scene_id


def test_script_breakdown_asks_once_per_scene_and_passes(story: Story) -> None:
    assert not story.breakdown_failures
    files = sorted((REPLAY / "script-breakdown" / "PROJECT").iterdir())
    assert [p.name for p in files] == [f"1-{n}.json" for n in range(1, story.breakdown_calls + 1)]
    assert story.breakdown_calls == len(story.scenes.rows)
    for row in story.breakdown.rows:
        assert row.state_changes and row.continuity_risks, row.scene_id


def test_the_lock_answers_are_for_the_subjects_a_run_asks_about(
    provider: ReplayProvider, story: Story
) -> None:
    assert not story.lock_failures
    for (skill, scene), subjects in story.lock_subjects.items():
        for call, subject in enumerate(subjects, start=1):
            request = TextRequest(
                skill=skill,
                target=scene,
                attempt=1,
                call=call,
                model="replay:demo",
                system="",
                prompt="",
                output_type=OUTPUT_TYPES[skill],
            )
            path = next(p for p in provider.candidates(request) if p.is_file())
            answer = json.loads(path.read_text(encoding="utf-8"))["output"]
            assert answer["name"] == subject, (skill, scene, call)  # the run files it so
    assert {s for kind in story.locks.values() for s in kind} == {
        "NICO",
        "IDA",
        "SAUL",
        "SHOP_FRONT",
        "REPAIR_SHOP",
        "REPAIR_SHOP_BACK_ROOM",
    }


def test_every_scripted_scene_passes_the_dialogue_check(story: Story) -> None:
    assert set(story.dialogue) == set(story.scripts)
    for scene, failures in story.dialogue_failures.items():
        assert not failures, (scene, failures)
    minimum = CONFIG.thresholds.dialogue_distinctiveness
    for scene, check in story.dialogue.items():
        assert check.characters, f"{scene}: nobody speaks"
        assert all(c.distinctiveness >= minimum for c in check.characters), scene
    # the voices really differ: scenes with two or more speakers are measured in code
    measured = [s for s, check in story.dialogue.items() if len(check.characters) > 1]
    assert len(measured) == 4


def test_every_story_answer_is_read_by_the_story_steps(story: Story) -> None:
    story_skills = {
        "story-architect",
        "script-breakdown",
        "character-lock",
        "set-lock",
        "voice-lock",
        "dialogue-consistency-check",
    }
    authored = {p for p in ANSWERS if p.relative_to(REPLAY).parts[0] in story_skills}
    assert authored == story.read, sorted(str(p.relative_to(REPLAY)) for p in authored ^ story.read)
