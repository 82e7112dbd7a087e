"""Budget facts as values: the cap levels, the state of one cap, and the read-only view of
them that the runner prepares for governance skills (which never touch the ledger)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Level = Literal["project", "episode", "scene", "shot"]  # episode: a series' (issue 16)


@dataclass(frozen=True)
class CapState:
    """One cap: what is committed against it and what state that puts it in."""

    level: Level
    scope: str
    cap: float
    settled: float
    reserved: float
    state: Literal["ok", "warning", "stopped"]

    @property
    def committed(self) -> float:
        """Settled plus held."""
        return self.settled + self.reserved

    @property
    def percent(self) -> float:
        """Share of the cap committed, in percent."""
        return 100.0 * self.committed / self.cap if self.cap else 0.0


@dataclass(frozen=True)
class BudgetView:
    """A read-only snapshot of budget facts, prepared by the runner for governance skills."""

    caps: list[CapState]
    spend_by_tier: dict[str, float] = field(default_factory=dict)
    runs_by_tier: dict[str, int] = field(default_factory=dict)
    regens_by_shot: dict[str, int] = field(default_factory=dict)
    open_stops: list[str] = field(default_factory=list)
    projected_remaining: float = 0.0
    reviews_pending: set[str] = field(default_factory=set)  # "level:scope" warned, unreviewed
