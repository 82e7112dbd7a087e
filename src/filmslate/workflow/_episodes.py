"""A series in the orchestrated run (issue 16 §1): what each episode gets beside the season.

A project holds episodes when its SCENES ids are scoped by them (``E01_S01``; ``slate episode
add`` declares one). Everything per scene runs as for a film, in SCENES order across episode
boundaries, so the world state after an episode's last scene is the state before the next
episode's first (the previous row of SCENES, ``core._scene_ids``); locks are project-wide.
On top of the film's whole-story passes (the season: ``PROJECT``) each episode gets its own:

- review (:func:`episode_reviews`, after the season's): narrative-red-team and
  audience-simulator on the episode (``REDTEAM_E01``, ``AUDIENCE_E01``), which read the
  episode's scenes within the season's beats;
- cut (:func:`episode_cuts`, before the season's): edit-planner and assemble-cut on the
  episode (``EDIT_E01``, ``CUT_E01``, its subtitles) from the episode's accepted takes only,
  so a revision in one episode remakes that episode's cut and the season's, not the others'.

``slate export --episode E01`` hands an episode's cut to an editor. A film has no episodes
and these passes do nothing.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..core._config import CONFIG_FILE, load_config, parse_config
from ..core._episodes import check_known_episode as known_episode
from ..core._episodes import check_new_episode, episodes_in, scenes_of
from ..engine._readiness import scene_rows
from ..engine._runner import Runner
from ..store._ledger import Ledger, committed
from ..store._project import Project
from ._edit import EDIT_SKILL, Editing
from ._pending import scene_ids, shot_rows

__all__ = [
    "REVIEWS",
    "add_episode",
    "check_known_episode",
    "episode_cuts",
    "episode_reviews",
    "episode_rows",
    "episodes",
    "review_targets",
]

REVIEWS = ("narrative-red-team", "audience-simulator")
_EPISODES_LINE = re.compile(r"(?m)^episodes\s*=\s*\[[^\]]*\]")


def episodes(runner: Runner) -> list[str]:
    """The project's episodes in story order ([] for a film)."""
    return episodes_in(scene_ids(runner))


def review_targets(runner: Runner, skill: str) -> list[str]:
    """The episodes a whole-story review also runs on (``slate run narrative``): each
    episode for the red team and the audience, none for a film or another skill."""
    return episodes(runner) if skill in REVIEWS else []


def episode_reviews(orch: Editing) -> None:
    """The red team and the audience on each episode (after the season's pass)."""
    found = episodes(orch.runner)
    if not found:
        return
    orch.progress.phase("episode review", len(found) * len(REVIEWS))
    for episode in found:
        for skill in REVIEWS:
            orch.step(skill, episode)


def episode_cuts(orch: Editing) -> None:
    """Each episode's edit plan and cut, from its own scenes' takes."""
    order = scene_ids(orch.runner)
    found = [e for e in episodes_in(order) if _has_shots(orch.runner, scenes_of(order, e))]
    if not found:
        return
    orch.progress.phase("episode cuts", 2 * len(found))
    for episode in found:
        orch.step(EDIT_SKILL, episode)
        orch.step("assemble-cut", episode)


def _has_shots(runner: Runner, scenes: list[str]) -> bool:
    return any(shot_rows(runner, s) for s in scenes)


def add_episode(project_root: Path, episode: str) -> list[str]:
    """Declare an episode in filmslate.toml's ``[series]`` table; the episodes after it.

    The file is validated as a whole before it is replaced, so a refusal writes nothing.
    """
    path = project_root / CONFIG_FILE
    text = path.read_text(encoding="utf-8")
    declared = load_config(path).series.episodes
    check_new_episode(episode, declared)
    episodes = [*declared, episode]
    line = "episodes = [" + ", ".join(f'"{e}"' for e in episodes) + "]"
    if _EPISODES_LINE.search(text):
        text = _EPISODES_LINE.sub(line, text, count=1)
    elif "\n[series]" in f"\n{text}":
        text = re.sub(r"(?m)^\[series\][^\n]*$", f"[series]\n{line}", text, count=1)
    else:
        text = text.rstrip("\n") + f"\n\n[series]\n# a series' episodes (docs/series.md)\n{line}\n"
    parse_config(text, str(path))  # refuses before anything is written
    staged = path.with_suffix(".toml.tmp")
    staged.write_text(text, encoding="utf-8")
    os.replace(staged, path)
    return episodes


def check_known_episode(project: Project, episode: str) -> str:
    """An episode of this project (declared or in SCENES), or a one-line UserError."""
    order = [row.scene_id for row in scene_rows(project)]
    return known_episode(episode, project.config.series.episodes, order)


def episode_rows(project: Project) -> list[str]:
    """One line per episode (declared or in SCENES): scenes, spend and cap, cut, export."""
    order = [row.scene_id for row in scene_rows(project)]
    found = list(dict.fromkeys([*episodes_in(order), *project.config.series.episodes]))
    ledger = Ledger(project.store, project.config)
    lines = []
    for episode in found:
        scenes = scenes_of(order, episode)
        cap = ledger.state("episode", episode)
        spend = (
            f"{cap.committed:.2f} of {cap.cap:.2f}"
            if cap
            else f"{committed(ledger, 'episode', episode):.2f} (no episode_cap)"
        )
        cut, export = (project.store.latest(k, episode) for k in ("CUT", "EXPORT"))
        lines.append(
            f"{episode}: {len(scenes)} scene(s) {', '.join(scenes) or '(none yet)'}; spend "
            f"{spend}; cut {cut.filename if cut else '-'}; export "
            f"{export.filename if export else '-'}"
        )
    return lines
