"""The planted-error set (issue 16 §6): cases read from tests/planted/*.json, each run through
the continuity supervisor's code path (``scene_facts`` replaying the diffs, the model's
observations attached, ``check_continuity`` over the scenes with the locks).

A case is a tiny production: scenes in SCENES order (place, time, cast, story position), each
with its breakdown (props used, new props, state changes), its STATE_DIFF, its observations
(what the scene shows) and any recorded claim judgments; an initial WORLD_STATE; character
and set locks as overrides of a plain base lock. ``expect`` names the report category the
planted error must be flagged in (a Medium or High finding on the checked scene); a control
(``expect`` null) must get no Medium or High finding at all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filmslate.rules._continuity import (
    Locks,
    Observation,
    check_continuity,
    scene_facts,
    with_observations,
)
from filmslate.rules._continuity_inputs import ClaimJudgment
from filmslate.schemas import (
    Breakdown,
    CharLock,
    Finding,
    Scenes,
    SetLock,
    StateDiff,
    WorldState,
)

PLANTED = Path(__file__).parent / "planted"
FLAGGED = ("Medium", "High")


@dataclass(frozen=True)
class Outcome:
    """One case run: what was expected and what the checks found."""

    case: str
    category: str
    planted: bool
    flagged: bool
    findings: tuple[Finding, ...]


def load_cases() -> list[tuple[str, dict[str, Any]]]:
    """(category, case) for every case of every file, in file order."""
    out = []
    for path in sorted(PLANTED.glob("*.json")):
        data = json.loads(path.read_text())
        out += [(data["category"], case) for case in data["cases"]]
    return out


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


BASE_CHAR = {
    "appearance": {
        "age_range": "30-35",
        "build": "lean",
        "hair": "short black hair",
        "eyes": "brown eyes",
        "distinguishing_marks": [],
    },
    "wardrobe": {
        "default_outfit": "grey wool coat, black boots",
        "palette": ["#333333"],
        "accessories": [],
        "justified_variants": [],
    },
    "behavior": {
        "speech_patterns": "short sentences",
        "temperament": "guarded",
        "decision_style": "cautious",
        "stress_behavior": "goes quiet",
        "default_emotional_tone": "wary",
    },
    "voice_profile": "low and even",
    "knowledge_at_introduction": [],
    "visual_anchors": ["grey wool coat"],
    "forbidden_drift": [],
}
BASE_SET = {
    "layout": {
        "geometry": "rectangular room",
        "entries_exits": "one door",
        "windows": "none",
        "spatial_relations": "a table in the middle",
    },
    "visual_anchors": ["a long table"],
    "lighting": {
        "temperature_k": 3000,
        "primary_source": "tungsten lamp",
        "shadow": "soft",
        "contrast": "medium",
        "allowed_variation": "none",
    },
    "environment": {
        "weather": "none",
        "ambient_sound": "a clock",
        "time_of_day": "any",
        "cleanliness_decay": "swept",
    },
    "palette": [],
    "prop_anchors": [],
    "tone_rules": [],
    "forbidden_drift": [],
    "places": [],
}


def _scene_rows(case: dict[str, Any]) -> tuple[Scenes, Breakdown]:
    rows, breakdown = [], []
    for s in case["scenes"]:
        rows.append(
            {
                "scene_id": s["id"],
                "summary": s.get("summary", "A scene."),
                "location": s["at"],
                "time_of_day": s.get("time", ""),
                "characters_present": s.get("cast", []),
                "story_position": s.get("story", ""),
            }
        )
        breakdown.append(
            {
                "scene_id": s["id"],
                "characters_present": s.get("cast", []),
                "locations_used": [s["at"]],
                "props_used": s.get("props", []),
                "new_props_introduced": s.get("new_props", []),
                "state_changes": s.get("changes", []),
            }
        )
    return Scenes.model_validate({"rows": rows}), Breakdown.model_validate({"rows": breakdown})


def _locks(case: dict[str, Any]) -> Locks:
    chars = {
        cid: CharLock.model_validate(_merge({"name": cid, **BASE_CHAR}, over))
        for cid, over in case.get("char_locks", {}).items()
    }
    sets = {
        name: SetLock.model_validate(_merge({"name": name, **BASE_SET}, over))
        for name, over in case.get("set_locks", {}).items()
    }
    return Locks(characters=chars, sets=sets)


def run_case(category: str, case: dict[str, Any]) -> Outcome:
    """Run one case through the supervisor's code path."""
    scenes, breakdown = _scene_rows(case)
    diffs = {
        s["id"]: StateDiff.model_validate({"scene_id": s["id"], **s.get("diff", {})})
        for s in case["scenes"]
    }
    world = WorldState.model_validate(case.get("world", {}))
    facts, problems = scene_facts(
        scenes, breakdown, diffs, world, [s["id"] for s in case["scenes"]]
    )
    observations = [
        Observation.model_validate({**o, "scene_id": s["id"]})
        for s in case["scenes"]
        for o in s.get("obs", [])
    ]
    judged = {
        s["id"]: tuple(ClaimJudgment.model_validate(j) for j in s.get("judged", []))
        for s in case["scenes"]
    }
    facts = [f.__class__(**{**f.__dict__, "judgments": judged[f.scene_id]}) for f in facts]
    facts = with_observations(facts, observations)
    findings = problems + check_continuity(facts, _locks(case))
    target = case.get("check") or case["scenes"][-1]["id"]
    expect = case.get("expect")
    if expect:
        flagged = any(
            f.severity in FLAGGED and f.category == expect and target in f.scenes for f in findings
        )
    else:
        flagged = any(f.severity in FLAGGED for f in findings)
    return Outcome(case["id"], category, bool(expect), flagged, tuple(findings))
