"""The ``[series]`` table of filmslate.toml (issue 16): the episodes a project declares.

A film has none. ``slate episode add E02`` appends to ``episodes``; an episode's scenes are
the SCENES rows whose ids it scopes (``E02_S01``). Its cap is ``[budget] episode_cap``.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from ._config_base import Section
from ._scene_ids import EPISODE_RE

__all__ = ["SeriesSection"]


class SeriesSection(Section):
    """The declared episodes, in story order (``["E01", "E02"]``)."""

    episodes: list[str] = Field(default_factory=list)

    @field_validator("episodes")
    @classmethod
    def _episode_ids(cls, value: list[str]) -> list[str]:
        bad = [e for e in value if not EPISODE_RE.fullmatch(e)]
        if bad:
            raise ValueError(f"{', '.join(bad)}: episodes are E01, E02, ... (uppercase E, digits)")
        if len(set(value)) != len(value):
            raise ValueError("an episode is listed twice")
        return value
