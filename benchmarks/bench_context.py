"""Context benchmark (issue 14 §8): the whole-story reviews' prompt at growing story lengths.

For each length, a project holding the synthetic film's SCENES (about 420 characters a scene
as a review's line) and BEATS; story-digest, narrative-red-team and
audience-simulator run through the real runner and store with an offline scripted model, and
the prompt each request carried is measured:

- before: every scene line in full (the path small stories keep; forced here at every length
  by lifting ``FULL_STORY_CHARS``, which is how the reviews read the story before the digest);
- after: what the reviews send now (the full list while it fits ``FULL_STORY_CHARS``, past it
  the digest and the scenes the digest flags);
- rerun: the next review after a report whose findings named eight scenes spread over the
  story (those scenes come in full too).

Tokens are the gateway's reservation estimate (one per three characters, pessimistic); the
ratio is against the same column at the smallest length (the target: 500 scenes within 1.5x
of 50). System prompts are fixed text and not counted.
Usage: python benchmarks/bench_context.py [--sizes 50 150 300 500]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from filmslate import Project
from filmslate.engine._gateway import TextRequest, estimate_tokens
from filmslate.engine._skill import Registry
from filmslate.rules._digest import FULL_STORY_CHARS
from filmslate.schemas import Beats, SceneRow, Scenes
from filmslate.skills.validation import SKILLS
from filmslate.skills.validation import _common as review_common
from filmslate.synthetic._narrative import scene_row
from filmslate.synthetic._shape import FilmShape
from filmslate.testing import scripted_runner

REVIEWS = ("narrative-red-team", "audience-simulator")
BEATS = {
    "title": "The Harbour Signal",
    "logline": "When the harbour signal fails before the winter storm, the keepers of a small "
    "port work scene by scene to find the fault and light it again.",
    "central_dramatic_question": "Will the keepers relight the signal before the storm?",
    "inciting_incident": "The harbour signal goes dark three nights before the storm is due.",
    "escalation_sequence": [
        "The spare lamp in the store is cracked.",
        "The supply ferry is cancelled until after the storm.",
        "The tower's wiring fails its first test.",
    ],
    "midpoint_shift": "The fault is in the town's own cable, not the lamp.",
    "crisis": "The only working cable runs through the flooded depot.",
    "climax": "The keepers relight the signal an hour before the storm reaches the quay.",
    "resolution": "The ferry comes home on the signal's light.",
}
RED_TEAM: dict[str, Any] = {
    "critical_failures": [],
    "hidden_weaknesses": ["the storm arrives on cue"],
    "coincidence_scan": [{"event": "the cable is found at once", "central": False}],
    "stakes_audit": "Stakes rise from pride to lives.",
    "tension_audit": "The middle sags.",
    "thematic_consistency": "Every act asks what keeping a town costs.",
    "fix_conservative": "Seed the storm warning early.",
    "fix_structural": "Make the cable's fault someone's choice.",
}
AUDIENCE: dict[str, Any] = {
    "reactions": {
        "mainstream_viewer": "Warm.",
        "genre_fan": "Familiar beats.",
        "critical_viewer": "Earnest.",
    },
    "confusion_points": [],
    "engagement_dips": ["the repeated readings"],
    "emotional_peaks": ["the light turns"],
    "predictability": 3,
    "clarity": 4,
    "engagement": 4,
    "adjustments": [],
    "stakes_clear_after_act_one": True,
    "genre_mismatch": [],
}
CONFIG_EDITS = {'"replay:': '"scripted:', "enforce_order = true": "enforce_order = false"}


def story(scenes: int) -> list[SceneRow]:
    """The synthetic film's scene list."""
    film = FilmShape(scenes=scenes, shots_per_scene=1)
    return [scene_row(film, i) for i in range(scenes)]


def project(root: Path, scenes: int) -> None:
    with Project.init(root, name="bench") as p:
        p.store.write("SCENES", None, Scenes(rows=story(scenes)))
        p.store.write("BEATS", None, Beats.model_validate(BEATS))
    config = root / "filmslate.toml"
    text = config.read_text()
    for old, new in CONFIG_EDITS.items():
        text = text.replace(old, new)
    config.write_text(text)


def naming(scenes: int) -> dict[str, dict[str, Any]]:
    """Answers whose findings name eight scenes spread over the story."""
    named = [f"S{(scenes * k) // 8 + 1}" for k in range(8)]  # ids match by number
    return {
        "narrative-red-team": {**RED_TEAM, "hidden_weaknesses": [f"{s} repeats" for s in named]},
        "audience-simulator": {**AUDIENCE, "engagement_dips": [f"{s} drags" for s in named]},
    }


def measure(scenes: int, work: Path) -> dict[str, dict[str, int]]:
    """Prompt characters per review: before, after, and the rerun after a naming report."""
    root = work / f"film_{scenes}"
    project(root, scenes)
    registry = Registry()
    for skill in SKILLS:
        registry.register(skill)
    named = naming(scenes)
    prompts: dict[str, list[TextRequest]] = {}

    def answer(request: TextRequest) -> Any:
        prompts.setdefault(request.skill, []).append(request)
        first = len(prompts[request.skill]) == 2  # the "after" run names scenes
        good = RED_TEAM if request.skill == "narrative-red-team" else AUDIENCE
        return named[request.skill] if first else good

    runner, _ = scripted_runner(root, answer, registry)
    runner.run("story-digest", "PROJECT")
    for skill in REVIEWS:
        full_always(lambda skill=skill: runner.run(skill, "PROJECT", force=True))
        runner.run(skill, "PROJECT", force=True)  # after
        runner.run(skill, "PROJECT", force=True)  # rerun: the scenes the last report named
    runner.close()
    return {
        skill: dict(zip(("before", "after", "rerun"), (len(q.prompt) for q in asked), strict=True))
        for skill, asked in prompts.items()
    }


def full_always(run: Any) -> None:
    """Run with the full-story path at any length (the reviews before the digest)."""
    bound = review_common.FULL_STORY_CHARS
    review_common.FULL_STORY_CHARS = 10**9
    try:
        run()
    finally:
        review_common.FULL_STORY_CHARS = bound


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 150, 300, 500])
    sizes = parser.parse_args().sizes
    with tempfile.TemporaryDirectory(prefix="bench_context_") as tmp:
        results = {n: measure(n, Path(tmp)) for n in sizes}
    print(f"full scene list kept while it fits {FULL_STORY_CHARS:,} characters")
    header = f"{'skill':<20}{'scenes':>7}" + "".join(
        f"{col + ' chars':>15}{'tokens':>9}{'x':>6}" for col in ("before", "after", "rerun")
    )
    print(header)
    for skill in REVIEWS:
        base = results[sizes[0]][skill]
        for n in sizes:
            row = results[n][skill]
            cells = "".join(
                f"{row[c]:>15,}{estimate_tokens('x' * row[c]):>9,}{row[c] / base[c]:>6.2f}"
                for c in ("before", "after", "rerun")
            )
            print(f"{skill:<20}{n:>7}{cells}")


if __name__ == "__main__":
    main()
