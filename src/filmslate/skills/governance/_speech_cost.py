"""The scratch voices' share of a cost projection (issue 15): every dialogue line of the
target's scenes, spoken once by the ``[audio]`` model.

The lines are the ones dialogue-shots will place (``_dialogue_shots.scene_lines``: each scene's
SCRIPT slice, else its SCENES quotations), so the projection is known before any shot is
voiced. A line costs what the speech service reserves for it: nothing offline (espeak), else
``[audio] price_per_1k_chars`` for its characters. The seconds are the lines' spoken length as
shot-planner sizes shots for them (``_dialogue_timing``), with the speakers' voice locks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ...core._config import Config
from ...engine._speech_service import speech_price
from ...schemas import SceneRow, Scenes, ScriptScene, VoiceLock
from ..production._dialogue_shots import scene_lines, spoken_seconds
from ..production._dialogue_timing import LineClock
from ..production._voices import voice_settings

__all__ = ["SpeechCost", "speech_cost"]


@dataclass(frozen=True)
class SpeechCost:
    """The target's dialogue: how many lines, their seconds and characters, and the cost."""

    model: str
    lines: int
    seconds: float
    characters: int
    cost: float

    @property
    def tier(self) -> str:
        """The cost report's row name: the speech tier and its model."""
        return f"speech ({self.model})"


def speech_cost(
    target: str,
    scenes: Scenes | None,
    scripts: Mapping[str, ScriptScene],
    locks: Mapping[str, VoiceLock],
    config: Config,
) -> SpeechCost:
    """The projected cost of voicing every line of the target (a scene, or PROJECT)."""
    rows: list[SceneRow] = [
        r for r in (scenes.rows if scenes else []) if target in ("PROJECT", r.scene_id)
    ]
    clock = LineClock({c: voice_settings(lock) for c, lock in locks.items()})
    lines = [line for row in rows for line in scene_lines(scripts.get(row.scene_id), row)]
    characters = sum(len(line.text) for line in lines)
    price = speech_price(config)  # the catalogue's for a hosted voice, 0 offline
    return SpeechCost(
        model=config.audio.model,
        lines=len(lines),
        seconds=round(sum(spoken_seconds(line, clock) for line in lines), 3),
        characters=characters,
        cost=round(characters * price / 1000, 4),
    )
