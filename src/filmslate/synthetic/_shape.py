"""The shape of a synthetic film: its scenes, shots, cast and sets, and the deterministic
choices every answer is built from (a function of the film and its seed, never of chance)."""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..core._errors import ProviderError
from ..core._names import SCENE_RE

CLIP_PALETTE = ("#3C5064", "#5A6E82", "#788CA0")
"""The colours of the synthetic clips: a slow blue-grey wave (every set lock carries them)."""
TITLE = "The Harbour Signal"
STYLE_NAME = "GREY_HARBOUR"
TIME_OF_DAY = "DAY"

_FIRST_NAMES = (
    "ADA",
    "BRAM",
    "CORA",
    "DESMOND",
    "ELKE",
    "FARID",
    "GRETA",
    "HUGO",
    "ILSE",
    "JONAS",
    "KAIA",
    "LEON",
    "MIRA",
    "NILS",
    "ORLA",
    "PIET",
)
_SET_NAMES = (
    "HARBOUR_OFFICE",
    "SIGNAL_TOWER",
    "NET_LOFT",
    "TRAM_DEPOT",
    "GLASSHOUSE",
    "SALT_MARKET",
    "FERRY_QUAY",
    "CHART_ROOM",
)
_OBJECTS = (
    "LEDGER",
    "LANTERN",
    "COMPASS",
    "KEYRING",
    "SATCHEL",
    "SPYGLASS",
    "NOTEBOOK",
    "TOOLROLL",
)
_MOODS = ("focused", "wary", "hopeful", "determined", "tired but steady", "resolved")


def pick(options: tuple[Any, ...], *keys: int | str) -> Any:
    """A deterministic choice from ``options`` for the given keys (no global randomness)."""
    digest = zlib.crc32(":".join(str(k) for k in keys).encode("utf-8"))
    return options[digest % len(options)]


def title(character: str) -> str:
    """A character id as a name in prose (``ADA_2`` -> ``Ada 2``)."""
    return character.replace("_", " ").title()


@dataclass(frozen=True)
class FilmShape:
    """A film of ``scenes`` scenes and ``shots_per_scene`` shots each: who is in which scene,
    where, and what each character owns, knows and feels. ``qc_failures`` maps a shot id to
    how many of its first QC attempts the vision model fails. ``ids`` names the scenes in
    story order when they are not ``S01``, ``S02``, ... (gaps, renumbering, a series'
    ``E01_S01``); there must be one per scene."""

    scenes: int
    shots_per_scene: int
    characters: int = 4
    sets: int = 3
    seed: int = 0
    qc_failures: Mapping[str, int] = field(default_factory=dict)
    ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.ids and len(self.ids) != self.scenes:
            raise ValueError(f"{len(self.ids)} scene ids for {self.scenes} scenes")
        if self.scenes < 1 or self.shots_per_scene < 1:
            raise ValueError("a synthetic film needs at least one scene and one shot per scene")
        if self.characters < 1 or self.sets < 1:
            raise ValueError("a synthetic film needs at least one character and one set")

    @property
    def cast(self) -> list[str]:
        """Every character id, in order."""
        out = []
        for i in range(self.characters):
            base = _FIRST_NAMES[i % len(_FIRST_NAMES)]
            out.append(base if i < len(_FIRST_NAMES) else f"{base}_{i // len(_FIRST_NAMES) + 1}")
        return out

    @property
    def set_names(self) -> list[str]:
        """Every set id, in order."""
        out = []
        for i in range(self.sets):
            base = _SET_NAMES[i % len(_SET_NAMES)]
            out.append(base if i < len(_SET_NAMES) else f"{base}_{i // len(_SET_NAMES) + 1}")
        return out

    def scene_id(self, index: int) -> str:
        """``S01`` for index 0 (three digits from 100 scenes on, as SPEC §3 widens them), or
        the index-th of ``ids``."""
        if self.ids:
            return self.ids[index]
        return f"S{index + 1:0{max(2, len(str(self.scenes)))}d}"

    def shot_id(self, index: int, shot: int) -> str:
        """``S01_SH01`` for scene 0, shot 0."""
        width = max(2, len(str(self.shots_per_scene)))
        return f"{self.scene_id(index)}_SH{shot + 1:0{width}d}"

    def scene_index(self, scene_id: str) -> int:
        """The index of ``S03`` (2)."""
        index = self.ids.index(scene_id) if scene_id in self.ids else -1
        if not self.ids and SCENE_RE.fullmatch(scene_id):
            index = int(scene_id[1:]) - 1
        if not 0 <= index < self.scenes:
            raise ProviderError(
                f"{scene_id} is not a scene of this synthetic film ({self.scenes} scenes)",
                target=scene_id,
            )
        return index

    def scene_cast(self, index: int) -> list[str]:
        """The characters of a scene: two neighbours in the cast, rotating scene by scene."""
        cast = self.cast
        first = (index + self.seed) % len(cast)
        return list(dict.fromkeys([cast[first], cast[(first + 1) % len(cast)]]))

    def location(self, index: int) -> str:
        """The set of a scene."""
        sets = self.set_names
        return sets[(index + self.seed) % len(sets)]

    def first_scene_of(self, character: str) -> int:
        """The index of the scene where a character first appears."""
        return next(i for i in range(self.scenes) if character in self.scene_cast(i))

    def prop_of(self, character: str) -> str:
        """The prop a character owns (``ADA_LEDGER``)."""
        return f"{character}_{pick(_OBJECTS, self.seed, character)}"

    def fact_of(self, character: str) -> str:
        """The one fact a character learns when first seen (and knows from their lock)."""
        return (
            f"{character.replace('_', ' ').title()} knows the harbour signal has failed "
            "three nights running"
        )

    def mood(self, index: int, character: str) -> str:
        """A character's emotional state in a scene."""
        return str(pick(_MOODS, self.seed, index, character))
