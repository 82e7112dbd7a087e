"""Lip sync in the render skills (issue 15 §3): a shot's dialogue audio goes with its job
where the routed model is driven by audio (``engine._lip_sync``).

render-proxy and render-final read the shot's AUDIO and its scene's DIALOGUE as history (their
age is judged here and by the render service, never by the loader, so a revised voice does not
block a take whose model takes no audio). Where the model takes audio and the shot has lines,
the AUDIO is sent and recorded in the take's lineage: revising a voice lock re-voices that
character's shots and makes exactly their takes stale. Anywhere else neither file is in the
take's lineage. A shot with lines but no AUDIO yet (or a scene without DIALOGUE) is refused
before anything is reserved, naming the step to run first.
"""

from __future__ import annotations

from ...core._errors import InputNotReady
from ...core._names import format_stem, scene_of
from ...engine._skill import Context, Need
from ...schemas import DialogueShots, ShotRow

__all__ = ["AUDIO_NEEDS", "dialogue_audio"]

AUDIO_NEEDS = (
    Need("AUDIO", "shot", optional=True, history=True),  # sent where the model takes audio
    Need("DIALOGUE", "scene", optional=True, history=True),  # whether the shot has lines
)


def dialogue_audio(
    ctx: Context, row: ShotRow, service: object
) -> tuple[bytes | None, tuple[str, ...]]:
    """(the dialogue audio to send with the shot's job, or None; the take's lineage)."""
    scene = scene_of(row.shot_id)
    audio_file = _named(ctx, format_stem("AUDIO", row.shot_id))
    heard = {audio_file, _named(ctx, format_stem("DIALOGUE", scene))} - {""}
    lineage = tuple(n for n in ctx.inputs.names if n not in heard)
    takes = getattr(service, "takes_audio", None)
    if not callable(takes) or not takes(row):
        return None, lineage
    dialogue = ctx.inputs.get("DIALOGUE")
    if not isinstance(dialogue, DialogueShots):
        raise _not_ready(row, f"{scene} has no DIALOGUE yet", "dialogue-shots", f"--scene {scene}")
    if not dialogue.lines_of(row.shot_id):
        return None, lineage  # nothing to lip-sync: the model animates the picture alone
    audio = ctx.inputs.get("AUDIO")
    if not isinstance(audio, bytes) or not audio_file:
        why = f"{row.shot_id} has lines but no AUDIO yet"
        raise _not_ready(row, why, "scratch-voices", f"--shot {row.shot_id}")
    return audio, (*lineage, audio_file)


def _named(ctx: Context, stem: str) -> str:
    """The file of the run's inputs with this stem ("" when the run read none)."""
    return next((n for n in ctx.inputs.names if n.startswith(f"{stem}_v")), "")


def _not_ready(row: ShotRow, why: str, skill: str, flag: str) -> InputNotReady:
    return InputNotReady(
        f"{row.shot_id}: its model is driven by the dialogue audio (lip sync), and {why}: run "
        f"{skill} (`slate run {skill} {flag}`) first",
        target=row.shot_id,
    )
