"""The demo short film (examples/demo_short_film) still fits the code, without running it.

The demo is driven by authored replay answers and hand-made inputs. A schema or lock-gate
change that breaks one of them would only show in the slow end-to-end demo; these checks read
every file the way the run will, in well under a second.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import BaseModel

from filmslate import parse_config
from filmslate._gateway import ProviderContext, ProviderSettings, TextRequest
from filmslate._locks import lock_gate
from filmslate.providers.replay import ReplayProvider
from filmslate.schemas import (
    CharLock,
    Premise,
    SetLock,
    ShotList,
    StateDiff,
    StyleLock,
    VoiceLock,
)
from filmslate.skills_narrative import BreakdownAnswer, PsychAnswer, StoryAnswer
from filmslate.skills_qc import RubricAnswer
from filmslate.skills_supervisor import SupervisorAnswer
from filmslate.skills_validation import (
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


def request_for(path: Path) -> TextRequest:
    """The request that the replay provider answers with ``path``."""
    parts = path.relative_to(REPLAY).parts
    skill = parts[0]
    target = parts[1] if len(parts) == 3 else "S99_SH99"  # <skill>/any.json: any target
    attempt = int(path.stem) if path.stem.isdigit() else 1
    return TextRequest(skill=skill, target=target, attempt=attempt, model="replay:demo",
                       system="", prompt="", output_type=OUTPUT_TYPES[skill])


@pytest.fixture(scope="module")
def provider() -> Iterator[ReplayProvider]:
    """The replay provider, reading the demo's answers where a project would keep them."""
    with httpx.Client() as client:
        yield ReplayProvider(ProviderContext(
            project_root=DEMO, settings=ProviderSettings(replay_dir="replay"), env={},
            http_client=client))


def test_the_demo_has_answers_for_known_skills_only() -> None:
    assert ANSWERS, f"no replay answers under {REPLAY}"
    unknown = sorted({p.relative_to(REPLAY).parts[0] for p in ANSWERS} - set(OUTPUT_TYPES))
    assert not unknown, f"replay answers for skills this test does not know: {unknown}"


@pytest.mark.parametrize("path", ANSWERS, ids=lambda p: str(p.relative_to(REPLAY)))
def test_every_replay_answer_fits_its_skill(provider: ReplayProvider, path: Path) -> None:
    request = request_for(path)
    chosen = next(p for p in provider.candidates(request) if p.is_file())
    assert chosen == path  # the file is the one a run at this attempt reads
    result = provider.complete(request)  # raises ProviderError when the answer does not fit
    assert isinstance(result.output, OUTPUT_TYPES[request.skill])
    assert 0 <= result.cost < 1, "a demo call should cost cents, not dollars"


@pytest.mark.parametrize("path", [p for p in ANSWERS if p.parts[-3].endswith("-lock")],
                         ids=lambda p: str(p.relative_to(REPLAY)))
def test_every_lock_answer_passes_the_lock_gate(provider: ReplayProvider, path: Path) -> None:
    lock = provider.complete(request_for(path)).output
    gate = lock_gate(lock, CONFIG)  # type: ignore[arg-type]
    assert gate.passed, gate.reasons


def test_the_hand_made_inputs_parse_and_pass() -> None:
    inputs = sorted((DEMO / "inputs").iterdir())
    assert [p.name for p in inputs] == ["PREMISE.md", "STYLE_LAMPLIGHT_LOCK.txt"]
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
