"""How an orchestrated run ends at a step that cannot pass (``Stop``), shared by the
orchestrator and the phases that run outside it (``_shots``)."""

from __future__ import annotations

from typing import Literal

__all__ = ["Refused", "Status", "Stop"]

Status = Literal["complete", "stopped", "waiting"]


class Stop(Exception):
    """Ends the run at a step that cannot pass; carries the outcome."""

    def __init__(self, status: Status, skill: str, target: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.skill, self.target, self.reason = status, skill, target, reason


class Refused(Stop):
    """The provider refused the shot's GenPack (RenderRefused): regen-analyzer rewords it."""
