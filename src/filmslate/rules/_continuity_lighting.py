"""The set check: a scene's light agrees with its set lock (phase, colour temperature, drift)."""

from __future__ import annotations

import re

from ..schemas import Finding, LocationState, SetLock
from ._continuity_inputs import (
    PHASE_PATTERNS,
    PHASES,
    Locks,
    Policy,
    SceneFacts,
    by_key,
    diff_stem,
    finding,
    key,
    words,
)
from ._lock_drift import breaks, interior_of, parse_drift

_KELVIN = re.compile(r"(\d{3,5})\s*K\b")
_KELVIN_RANGE = re.compile(r"(\d{3,5})\s*K?\s*(?:-|–|to)\s*(\d{3,5})\s*K\b", re.IGNORECASE)
_KELVIN_PLUS_MINUS = re.compile(r"(?:±|\+/-|\+-)\s*(\d{2,5})\s*K\b")


def check_lighting(f: SceneFacts, locks: Locks, policy: Policy, phase: int | None) -> list[Finding]:
    """A scene's light agrees with its set lock (set).

    - The scene's phase (stated or inherited) must be one the lock's environment time of day
      or allowed variation names, when they name any: otherwise **Medium**.
    - The colour temperature of a ``lighting`` observation, and any ``NNNNK`` figure in the
      location's ``lighting_state`` after the scene, must lie in the lock's allowed range: a
      range the allowed variation states (``3000-3600K``, ``±300K`` around the lock's
      temperature), else the lock's temperature ± ``light_tolerance_k``. Outside it:
      **Medium**; more than ``light_fail_k`` from the lock's temperature: **High**.
    - A ``lighting`` observation breaking an item of the lock's forbidden-drift list, read
      with its negation (``_lock_drift``: "no daylight" bans daylight; "no daylight, only
      the lamp" described is not a break): **High**.
    - With or without a lock: a ``lighting`` observation showing a light source lit that the
      location's ``lighting_state`` records as out (smashed, off, extinguished ...) when the
      scene begins, and the scene's diff does not relight: **High** (``_lights_out``).
    """
    findings = _lights_out(f)
    lock = locks.set_for(f.location)
    if lock is None:
        return findings
    stem = f"SET_{lock.name}_LOCK"
    allowed = _lock_phases(lock)
    if phase is not None and allowed and phase not in allowed:
        names = "/".join(PHASES[p] for p in sorted(allowed))
        findings.append(
            finding(
                "set",
                "Medium",
                [f.scene_id],
                ["SCENES", stem],
                f"{f.scene_id} plays at {PHASES[phase]} but {stem} is locked to {names}",
                f"move {f.scene_id} to {names}, or add a justified {PHASES[phase]} variant to "
                f"{stem} (a new lock version)",
            )
        )
    for obs in f.seen("lighting"):
        if obs.kelvin is not None:
            findings += _kelvin(
                f,
                lock,
                policy,
                obs.kelvin,
                f"the observed light ({obs.detail})" if obs.detail else "the observed light",
                stem,
            )
        findings += [
            finding(
                "set",
                "High",
                [f.scene_id],
                [stem],
                f"the light in {f.scene_id} ({obs.detail}) is on {stem}'s "
                f"forbidden-drift list: {item!r}",
                f"relight {f.scene_id} within {stem}",
            )
            for item in lock.forbidden_drift
            if breaks(parse_drift(item), obs.detail, interior_of(f.location, _layout(lock)))
        ]
    state = by_key(f.after.locations, f.location)
    if isinstance(state, LocationState):
        for figure in _KELVIN.findall(state.lighting_state):
            findings += _kelvin(
                f,
                lock,
                policy,
                int(figure),
                f"the world state's lighting ({state.lighting_state})",
                stem,
            )
    return findings


_SOURCES = frozenset({
    "lamp", "lantern", "candle", "fire", "bulb", "torch", "chandelier", "neon", "tube",
    "streetlight", "headlight", "hearth", "fireplace", "sconce", "spotlight", "floodlight",
})  # fmt: skip
_OUT = frozenset({
    "smashed", "broken", "shattered", "extinguished", "blown", "dead", "out", "off", "unlit",
    "doused", "snuffed", "gone", "no", "without",
})  # fmt: skip
_CLAUSE = re.compile(r"[,;:.()]|\bbut\b|\bwhile\b", re.IGNORECASE)


def _sources(text: str) -> tuple[set[str], set[str]]:
    """The light sources a text shows lit, and those it says are out (clause by clause)."""
    lit: set[str] = set()
    out: set[str] = set()
    for clause in _CLAUSE.split(text):
        said = words(clause)
        (out if said & _OUT else lit).update(said & _SOURCES)
    return lit, out


def _lights_out(f: SceneFacts) -> list[Finding]:
    """A source the world state records as out, seen lit (unless the scene relights)."""
    state = by_key(f.before.locations, f.location)
    if not isinstance(state, LocationState) or not state.lighting_state:
        return []
    relit = f.diff is not None and any(
        key(place) == key(f.location) and update.lighting_state is not None
        for place, update in f.diff.location_updates.items()
    )
    _, out = _sources(state.lighting_state)
    if relit or not out:
        return []
    findings = []
    for obs in f.seen("lighting"):
        shown = sorted(_sources(obs.detail)[0] & out)
        if shown:
            findings.append(
                finding(
                    "set",
                    "High",
                    [f.scene_id],
                    ["WORLD_STATE", diff_stem(f.scene_id)],
                    f"the light in {f.scene_id} ({obs.detail}) shows the {shown[0]} lit, but "
                    f"the world state records {state.lighting_state!r}",
                    f"relight {f.scene_id} without the {shown[0]}, or restore it in a diff "
                    "with the event that does",
                )
            )
    return findings


def _layout(lock: SetLock) -> str:
    return f"{lock.layout.geometry} {lock.layout.windows}"


def _lock_phases(lock: SetLock) -> set[int]:
    text = f"{lock.environment.time_of_day} {lock.lighting.allowed_variation}"
    upper = " ".join(re.findall(r"[A-Z]+", text.upper().replace("PRE-DAWN", "PREDAWN")))
    if re.search(r"\b(?:ANY|ALL)\b", upper):
        return set()
    return {phase for phase, pattern in enumerate(PHASE_PATTERNS) if pattern.search(upper)}


def allowed_kelvin(lock: SetLock, policy: Policy) -> tuple[int, int]:
    """The colour-temperature range a set lock allows (see ``check_lighting``)."""
    base = lock.lighting.temperature_k
    variation = lock.lighting.allowed_variation
    if match := _KELVIN_RANGE.search(variation):
        low, high = sorted((int(match[1]), int(match[2])))
        return min(low, base), max(high, base)
    if match := _KELVIN_PLUS_MINUS.search(variation):
        return base - int(match[1]), base + int(match[1])
    return base - policy.light_tolerance_k, base + policy.light_tolerance_k


def _kelvin(
    f: SceneFacts, lock: SetLock, policy: Policy, kelvin: int, what: str, stem: str
) -> list[Finding]:
    low, high = allowed_kelvin(lock, policy)
    if low <= kelvin <= high:
        return []
    far = abs(kelvin - lock.lighting.temperature_k) > policy.light_fail_k
    return [
        finding(
            "set",
            "High" if far else "Medium",
            [f.scene_id],
            [stem, "WORLD_STATE", diff_stem(f.scene_id)],
            f"{what} in {f.scene_id} is {kelvin}K; {stem} allows {low}-{high}K",
            f"relight {f.scene_id} to about {lock.lighting.temperature_k}K, or record "
            f"a justified variation in {stem} (a new lock version)",
        )
    ]
