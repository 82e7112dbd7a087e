"""World-state benchmark: build_states and world-state-tracker over 50 and 500 scenes.

Synthetic story: several characters, props changing hands every scene, injuries gained and
healed, knowledge learned, moves, notes and rules. Prints the time per scene and the 500/50
ratio of total time (linear = 10x). The tracker part runs each scene through the real runner
and store with an offline scripted model, and prints the prompt size of the first and last
scenes (a bounded prompt does not grow with the scene number).
Usage: python benchmarks/bench_worldstate.py [--sizes 50 500] [--no-runner]
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from filmslate import Project
from filmslate.core._errors import InputNotReady
from filmslate.engine._gateway import Gateway, TextRequest
from filmslate.engine._runner import Runner, provider_settings
from filmslate.engine._skill import Registry
from filmslate.rules._worldstate import build_states
from filmslate.schemas import Breakdown, Scenes, StateDiff, WorldState
from filmslate.skills.continuity._world import WorldStateTracker
from filmslate.testing import ScriptedTextModel

CHARACTERS = [f"CHAR_{n:02d}" for n in range(1, 9)]
PROPS = [f"PROP_{n:02d}" for n in range(1, 13)]
PLACES = [f"SET_{n}" for n in range(1, 6)]


class Story:
    """Generates valid diffs scene by scene, tracking just enough state to stay valid."""

    def __init__(self, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.owner = {p: CHARACTERS[i % len(CHARACTERS)] for i, p in enumerate(PROPS)}
        self.injuries: dict[str, list[str]] = {c: [] for c in CHARACTERS}

    def scene(self, n: int) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        """(scene row, breakdown row, diff) of scene ``n`` (1-based)."""
        sid = f"S{n:03d}"
        if n == 1:
            return self._opening(sid)
        rng = self.rng
        who = rng.choice(CHARACTERS)
        prop = rng.choice(PROPS)
        giver = self.owner[prop]
        taker = rng.choice([c for c in CHARACTERS if c != giver])
        self.owner[prop] = taker
        place = rng.choice(PLACES)
        update: dict[str, Any] = {
            "learn": [f"fact learned in {sid}"],
            "location": place,
            "emotional_state": rng.choice(["calm", "tense", "angry"]),
        }
        if n % 7 == 0:
            update["add_injuries"] = [f"wound from {sid}"]
            self.injuries[who].append(f"wound from {sid}")
        updates = {who: update}
        if n % 11 == 0 and (hurt := [c for c in CHARACTERS if self.injuries[c]]):
            patient = rng.choice(hurt)
            updates.setdefault(patient, {})["heal_injuries"] = [self.injuries[patient].pop(0)]
        diff = {
            "scene_id": sid,
            "character_updates": updates,
            "prop_updates": {
                prop: {"owner": taker, "location": place, "via": f"{giver} hands {prop} to {taker}"}
            },
            "timeline_update": {
                "elapsed_time": f"day {n // 10 + 1}",
                "notes": [f"event of {sid}"] if n % 10 == 0 else [],
            },
            "location_updates": {place: {"lighting_state": f"light of {sid}"}}
            if n % 25 == 0
            else {},
            "rule_updates": {"add_constraints": [f"rule from {sid}"]} if n % 50 == 0 else {},
        }
        cast = sorted({who, giver, taker, *updates})
        scene = {
            "scene_id": sid,
            "summary": f"{giver} gives {prop} to {taker}.",
            "location": place,
            "time_of_day": "DAY",
            "characters_present": cast,
        }
        breakdown = {
            "scene_id": sid,
            "characters_present": cast,
            "locations_used": [place],
            "props_used": [prop],
            "state_changes": [f"{prop} changes hands"],
        }
        return scene, breakdown, diff

    def _opening(self, sid: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        diff = {
            "scene_id": sid,
            "character_updates": {c: {"location": PLACES[0]} for c in CHARACTERS},
            "prop_updates": {
                p: {"owner": o, "location": PLACES[0], "via": f"{o} brings {p} to the meeting"}
                for p, o in self.owner.items()
            },
        }
        scene = {
            "scene_id": sid,
            "summary": "Everyone meets.",
            "location": PLACES[0],
            "time_of_day": "DAY",
            "characters_present": CHARACTERS,
        }
        breakdown = {
            "scene_id": sid,
            "characters_present": CHARACTERS,
            "new_characters_introduced": CHARACTERS,
            "locations_used": [PLACES[0]],
            "new_locations_introduced": [PLACES[0]],
            "props_used": PROPS,
            "new_props_introduced": PROPS,
            "state_changes": ["props are handed out"],
        }
        return scene, breakdown, diff


def story(n: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[StateDiff]]:
    """Scene rows, breakdown rows and diffs of an ``n``-scene story."""
    teller = Story()
    parts = [teller.scene(k) for k in range(1, n + 1)]
    return (
        [p[0] for p in parts],
        [p[1] for p in parts],
        [StateDiff.model_validate(p[2]) for p in parts],
    )


def time_engine(sizes: tuple[int, int], repeats: int = 9) -> tuple[dict[int, float], float]:
    """Best total seconds of build_states per size, and the median ratio large/small.

    The sizes alternate within each repetition (with the garbage collector paused while
    timing), so a busy machine slows both sides of a ratio alike.
    """
    stories = {n: story(n)[2] for n in sizes}
    best = {n: float("inf") for n in sizes}
    ratios = []
    for _ in range(repeats):
        took = {}
        for n in sizes:
            gc.collect()
            gc.disable()
            start = time.perf_counter()
            for _state in build_states(WorldState(), stories[n]):
                pass
            took[n] = time.perf_counter() - start
            gc.enable()
            best[n] = min(best[n], took[n])
        ratios.append(took[sizes[1]] / took[sizes[0]])
    return best, statistics.median(ratios)


class Loads:
    """Times the store's loads of SCENES and BREAKDOWN (whole-project tables read per run)."""

    def __init__(self, store: Any) -> None:
        self.seconds = 0.0
        self._load = store.load
        store.load = self  # instance attribute: every call still goes to the real load

    def __call__(self, name: Any) -> Any:
        began = time.perf_counter()
        try:
            return self._load(name)
        finally:
            if str(name).startswith(("SCENES_", "BREAKDOWN_")):
                self.seconds += time.perf_counter() - began


def time_tracker(n: int) -> tuple[float, float, float, int, int, float]:
    """(total s, first-tenth s/scene, last-tenth s/scene, first prompt, last prompt chars,
    seconds spent loading SCENES and BREAKDOWN)."""
    scenes, breakdown, diffs = story(n)
    answers = {d.scene_id: d for d in diffs}
    with tempfile.TemporaryDirectory() as folder:
        root = _project(Path(folder), scenes, breakdown)
        model = ScriptedTextModel(lambda request: _answer(answers, request))
        project = Project(root)
        gateway = Gateway(project.root, provider_settings(project))
        gateway.register("scripted", model)
        registry = Registry()
        registry.register(WorldStateTracker)
        runner = Runner(project, registry, gateway)
        loads = Loads(runner.store)
        per_scene = []
        start = time.perf_counter()
        for row in scenes:
            began = time.perf_counter()
            result = runner.run("world-state-tracker", row["scene_id"])
            assert result.gate.passed, result.gate.reasons
            per_scene.append(time.perf_counter() - began)
        total = time.perf_counter() - start
        project.close()
    tenth = max(1, n // 10)
    return (
        total,
        sum(per_scene[1 : tenth + 1]) / tenth,
        sum(per_scene[-tenth:]) / tenth,
        len(model.requests[1].prompt),
        len(model.requests[-1].prompt),
        loads.seconds,
    )


def _answer(answers: dict[str, StateDiff], request: TextRequest) -> StateDiff:
    return answers[request.target]


def _project(folder: Path, scenes: list[dict[str, Any]], breakdown: list[dict[str, Any]]) -> Path:
    with Project.init(folder / "film", name="bench") as project:
        root = project.root
        config = root / "filmslate.toml"
        # Offline model on every tier; the tracker alone, without the validation loop first.
        config.write_text(
            config.read_text()
            .replace('"replay:', '"scripted:')
            .replace("enforce_order = true", "enforce_order = false")
        )
    with Project(root) as project:
        for artifact in (
            Scenes.model_validate({"rows": scenes}),
            Breakdown.model_validate({"rows": breakdown}),
        ):
            path = folder / f"{artifact.KIND}.csv"
            path.write_bytes(artifact.render())
            project.add(path)
    return root


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=(50, 500))
    parser.add_argument("--no-runner", action="store_true", help="time the engine only")
    args = parser.parse_args()
    small, large = args.sizes
    engine, ratio = time_engine((small, large))
    for n, seconds in engine.items():
        print(
            f"build_states {n:>4} scenes: {seconds * 1000:8.1f} ms total (best), "
            f"{seconds / n * 1e6:7.1f} us/scene",
            flush=True,
        )
    print(
        f"build_states {large}/{small} ratio: {ratio:.1f}x median of paired runs, "
        f"{engine[large] / engine[small]:.1f}x best to best (linear = {large / small:.0f}x)",
        flush=True,
    )
    if args.no_runner:
        return
    tracked = {}
    for n in (small, large):
        try:
            tracked[n] = time_tracker(n)
        except InputNotReady as exc:
            print(f"tracker through the runner stopped: {exc}")
            return
        total, early, late, first, last, tables = tracked[n]
        print(
            f"tracker {n:>4} scenes: {total:7.2f} s total, {total / n * 1000:6.1f} ms/scene "
            f"(first tenth {early * 1000:.1f} ms, last tenth {late * 1000:.1f} ms); "
            f"loading SCENES+BREAKDOWN {tables:.2f} s; prompt {first} chars at S002, "
            f"{last} at S{n:03d}",
            flush=True,
        )
    ratio = tracked[large][0] / tracked[small][0]
    rest = (tracked[large][0] - tracked[large][5]) / (tracked[small][0] - tracked[small][5])
    print(
        f"tracker {large}/{small} ratio: {ratio:.1f}x (linear = {large / small:.0f}x); "
        f"without loading SCENES+BREAKDOWN: {rest:.1f}x"
    )


if __name__ == "__main__":
    main()
