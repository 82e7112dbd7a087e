"""Voices before pictures where a model lip-syncs (issue 15 §3).

A video model driven by the dialogue audio (the catalogue's ``input.audio``) needs each shot's
AUDIO before its take is rendered, so when any ``[visual]`` tier renders with such a model the
scratch dialogue of a scene comes before its shots: dialogue-shots on the scene (a table a
person added is judged first, as in ``_audio``), then scratch-voices on each of its shots, each
only when missing, failed or stale. Every shot is voiced, not only those routed to the model
now: the premium quota may route a shot differently when it is rendered. The orchestrator
calls :func:`voices_first` once a batch's routing is planned; the dialogue pass after the
shots then finds these fresh. A revised voice lock re-voices exactly its speakers' shots here,
whose takes (made from that AUDIO) are then stale and rendered again.
"""

from __future__ import annotations

from ..engine._lip_sync import any_takes_audio
from ._audio import DIALOGUE_SKILL, VOICE_SKILL, Voicing, hand_made
from ._pending import shot_rows

__all__ = ["voices_first"]


def voices_first(orch: Voicing, scene: str) -> None:
    """dialogue-shots and scratch-voices for the scene's shots, before their takes, when a
    ``[visual]`` model takes the dialogue audio (nothing otherwise)."""
    runner = orch.runner
    if not any_takes_audio(runner.project.config):
        return
    rows = shot_rows(runner, scene)
    if not rows:
        return
    if hand_made(runner, scene):
        orch._run(DIALOGUE_SKILL, scene)  # judged like its own table before it is voiced
    orch.step(DIALOGUE_SKILL, scene, advance=False)
    for row in rows:
        orch.step(VOICE_SKILL, row.shot_id, advance=False)
