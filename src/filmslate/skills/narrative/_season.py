"""story-architect for a series (issue 16 §1): a season arc plus each episode's own beats.

With ``[series] episodes`` declared, BEATS holds the season's arc (the film's six beats, from
the inciting incident in the first episode to the resolution in the last) and a table of
episode beats: one row per declared episode, in the declared order, each with its own
inciting incident, escalation, midpoint shift, crisis, climax and resolution. SCENES gives
each episode its scenes, ids scoped by it (``E02_S01``). Code checks both; a film declares no
episodes and gives no episode beats.
"""

from __future__ import annotations

from collections.abc import Sequence

from ...core._episodes import beats_roster_failures, episode_of, episodes_in
from ...schemas import EpisodeBeats
from ._common import is_vague

__all__ = [
    "EPISODE_BEAT_FIELDS",
    "episode_beat_failures",
    "episode_failures",
    "series_lines",
]

#: An episode's beats that are prose (the escalation is a list of steps).
EPISODE_BEAT_FIELDS = ("inciting_incident", "midpoint_shift", "crisis", "climax", "resolution")


def series_lines(episodes: Sequence[str]) -> list[str]:
    """What a series asks of the structure (issue 16 §1), for the prompt."""
    first = episodes[0]
    return [
        f"episodes: {', '.join(episodes)}",
        "the beats are the season's arc, from the inciting incident in the first episode to "
        "the resolution in the last",
        f"every scene id is scoped by its episode ({first}_S01, {first}_S02, ...; numbers "
        "restart per episode), episodes in this order, each with at least one scene",
        "each episode's scenes carry its own beats: the episode's goal, conflict and outcome",
        f"episode_beats: one row per episode, in this order ({', '.join(episodes)}), each with "
        "the episode's own inciting incident, escalation steps, midpoint shift, crisis, climax "
        "and resolution (its part of the season's arc, concrete enough to stage)",
    ]


def episode_failures(ids: Sequence[str], episodes: Sequence[str]) -> list[str]:
    """A declared series' scenes: each scoped by a declared episode, every episode with a
    scene, episodes in the declared order (empty for a film)."""
    if not episodes:
        return []
    loose = [s for s in ids if episode_of(s) not in episodes]
    if loose:
        return [
            f"{', '.join(loose[:3])}: in a series every scene id names its episode "
            f"({', '.join(episodes)}), e.g. {episodes[0]}_S01"
        ]
    found = episodes_in(ids)
    failures = [
        f"{e} has no scene: give it its scenes ({e}_S01, ...)" for e in episodes if e not in found
    ]
    if not failures and found != list(episodes):
        failures.append(
            f"the episodes run {', '.join(found)}: keep them in order {', '.join(episodes)}"
        )
    return failures


def episode_beat_failures(beats: Sequence[EpisodeBeats], episodes: Sequence[str]) -> list[str]:
    """Every declared episode has its own beats, once, in the declared order, no beats for
    an undeclared one, each beat concrete (empty for a film that gives none)."""
    failures = beats_roster_failures([b.episode for b in beats], episodes)
    seen: set[str] = set()
    for row in beats:
        if row.episode in episodes and row.episode not in seen:
            seen.add(row.episode)
            failures += _beat_failures(row)
    return failures


def _beat_failures(row: EpisodeBeats) -> list[str]:
    failures = []
    for name in EPISODE_BEAT_FIELDS:
        text, label = getattr(row, name), name.replace("_", " ")
        if not text:
            failures.append(f"{row.episode}: the episode's {label} is empty")
        elif is_vague(text):
            failures.append(
                f"{row.episode}: the episode's {label} is vague ({text!r}); say who does what"
            )
    if not row.escalation_sequence:
        failures.append(f"{row.episode}: the episode's escalation sequence has no steps")
    return failures
