"""Episodes (issue 16): the names of a series, beside SPEC §3's scene and shot ids.

A project may hold episodes ``E01``, ``E02``, ... (two digits or more, widened like scene
ids). In a series every scene id is scoped by its episode, ``E02_S03``, and shot ids follow,
``E02_S03_SH01``; scene numbers restart per episode. An episode is itself a target
(``REDTEAM_E02``, ``CUT_E02``, ``EXPORT_E02``), beside ``PROJECT`` (the season). Locks stay
project-wide (``CHAR_ALEX_LOCK``): one look of a character across every episode. A single
film has no episodes and keeps plain ids (``S03``). Order is never read from a number:
episodes come in the order of their first scene in SCENES (``core._scene_ids``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import pairwise

from ._errors import ArtifactNameError, UserError
from ._scene_ids import EPISODE_RE, SCENE_RE

__all__ = [
    "EPISODE_RE",
    "beats_roster_failures",
    "check_episode",
    "check_film_import",
    "check_known_episode",
    "check_new_episode",
    "episode_of",
    "episode_scene",
    "episodes_in",
    "local_scene",
    "scenes_of",
    "series_failures",
]


def check_episode(name: str) -> str:
    """An episode id as given (``E02``), or an ArtifactNameError showing the form."""
    if not EPISODE_RE.fullmatch(name):
        raise ArtifactNameError(
            f"{name!r} is not an episode id: episodes are E01, E02, ... (uppercase E, two "
            "digits or more)",
            subject=name,
        )
    return name


def episode_of(target: str) -> str:
    """The episode a target belongs to: ``E02`` for ``E02``, ``E02_S03`` or
    ``E02_S03_SH01``; '' for a film's ``S03``, an act or PROJECT."""
    head = target.split("_", 1)[0]
    return head if EPISODE_RE.fullmatch(head) else ""


def local_scene(scene: str) -> str:
    """A scene's id within its episode: ``E02_S03`` -> ``S03`` (a film's ``S03`` as is)."""
    return scene.split("_", 1)[1] if episode_of(scene) and SCENE_RE.fullmatch(scene) else scene


def episode_scene(episode: str, scene: str) -> str:
    """``E02`` and ``S03`` -> ``E02_S03``."""
    return f"{check_episode(episode)}_{scene}"


def episodes_in(order: Iterable[str]) -> list[str]:
    """The episodes of scene ids, in story order (first scene first); [] for a film."""
    return list(dict.fromkeys(e for e in map(episode_of, order) if e))


def scenes_of(order: Iterable[str], episode: str) -> list[str]:
    """The scenes of one episode, in story order."""
    return [s for s in order if episode_of(s) == episode]


def check_known_episode(episode: str, declared: Sequence[str], order: Iterable[str]) -> str:
    """An episode of the project (declared, or with scenes in SCENES ``order``), else a
    one-line UserError naming the episodes it has: a report, export or review of an episode
    the project lacks would be one of nothing."""
    check_episode(episode)
    known = list(dict.fromkeys([*declared, *episodes_in(order)]))
    if episode not in known:
        raise UserError(
            f"{episode} is not an episode of this project (its episodes: "
            f"{', '.join(known) or 'none, it is a film'}; `slate episode add {episode}`)",
            target=episode,
        )
    return episode


def check_new_episode(name: str, declared: Sequence[str]) -> str:
    """An episode id that may join ``declared``: well formed, not one of them padded another
    way (``E001`` beside ``E01``), padded like them (SPEC §3 widens ids consistently)."""
    check_episode(name)
    if name in declared:
        raise UserError(f"{name} is already an episode of this project (filmslate.toml [series])")
    same = next((e for e in declared if int(e[1:]) == int(name[1:])), None)
    if same is not None:
        raise UserError(f"{name} is episode {same} padded another way: it is already declared")
    widths = sorted({len(e) - 1 for e in declared})
    if widths and len(name) - 1 not in widths:
        raise UserError(
            f"{name} has {len(name) - 1} digits but {', '.join(declared)} have {widths[0]}: pad "
            "every episode id alike (SPEC §3: a series of more than 99 episodes widens them all)"
        )
    return name


def series_failures(ids: Sequence[str], declared: Sequence[str]) -> list[str]:
    """What is wrong with SCENES ids (story order) for the declared episodes: a scene of an
    undeclared episode, a plain id in a series, an episode's scenes split by another's, or
    episodes out of their declared order. Empty when the ids fit (a film's plain ids do)."""
    for scene in ids:
        episode = episode_of(scene)
        if episode and episode not in declared:
            return [
                f"{scene}: episode {episode} is not declared (`slate episode add {episode}`, or "
                f"name the scene after a declared episode: {', '.join(declared) or 'none yet'})"
            ]
        if declared and not episode:
            return [
                f"{scene}: in a series every scene id names its episode "
                f"({', '.join(declared)}), e.g. {declared[0]}_S01"
            ]
    seen: set[str] = set()  # a set: one pass over the rows, whatever their number
    for before, scene in pairwise(ids):
        episode = episode_of(scene)
        if episode != episode_of(before) and episode in seen:
            return [f"{episode}'s scenes are split by {before}: keep an episode's rows together"]
        seen.add(episode_of(before))
    found = episodes_in(ids)
    if found != [e for e in declared if e in found]:
        return [
            f"the episodes run {', '.join(found)}: keep them in the declared order "
            f"{', '.join(declared)}"
        ]
    return []


def check_film_import(declared: Sequence[str]) -> None:
    """A Fountain import makes a film's scenes (S01, ...): refused in a declared series,
    whose scenes name their episode, before anything is written."""
    if declared:
        raise UserError(
            "slate import makes a film's scenes (S01, ...) but this project is a series "
            f"({', '.join(declared)}: filmslate.toml [series]); its scenes are named "
            f"{declared[0]}_S01, ...: import an episode's screenplay with `slate import "
            f"SCRIPT --episode {declared[0]}`, or write them with story-architect or `slate "
            "add SCENES.csv`"
        )


def beats_roster_failures(given: Sequence[str], declared: Sequence[str]) -> list[str]:
    """What is wrong with the episodes a BEATS gives beats for (``given``, in its order):
    one of them undeclared, given twice, a declared one without beats, out of the declared
    order; in a film, any. Story-architect's gate and a hand-written BEATS both ask."""
    if not declared:
        return (
            [
                f"episode beats for {', '.join(dict.fromkeys(given))}, but this project is a "
                "single film (no [series] episodes): leave episode_beats empty, or declare the "
                "episodes first (`slate episode add E01`)"
            ]
            if given
            else []
        )
    listed = ", ".join(declared)
    failures = [
        f"beats for {e}, which is not a declared episode ({listed}): give beats to the "
        "declared episodes only"
        for e in dict.fromkeys(given)
        if e not in declared
    ]
    failures += [
        f"{e}'s beats are given twice: one row of beats per episode"
        for e in dict.fromkeys(given)
        if given.count(e) > 1
    ]
    failures += [
        f"{e} has no beats: give it its own inciting incident, escalation, midpoint shift, "
        "crisis, climax and resolution"
        for e in declared
        if e not in given
    ]
    order = [e for e in dict.fromkeys(given) if e in declared]
    if order != [e for e in declared if e in order]:
        failures.append(
            f"the episode beats run {', '.join(order)}: keep them in the declared order {listed}"
        )
    return failures
