"""Governance and observability: COST_REPORT, ROUTING_DECISION, BUDGET_STATUS, OVERRIDE,
RUN_LOG (SPEC §4, §6, §8)."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import AfterValidator, Field, create_model, model_validator

from ..core._names import RUN_LOG_COLUMNS
from ._csv import CsvArtifact, CsvRow
from ._document import DocumentArtifact
from ._types import (
    Currency,
    Id,
    Item,
    Money,
    Name,
    NonNegative,
    Paragraphs,
    ShotId,
    SubModel,
    Target,
    Text,
    YesNo,
    check_chars,
)


class TierCost(SubModel):
    """Seconds and cost falling on one tier."""

    tier: Id
    seconds: NonNegative
    cost: NonNegative


class CostReport(DocumentArtifact):
    """cost-optimizer's projection: duration x cost per second x regen multiplier."""

    KIND: ClassVar[str] = "COST_REPORT"
    EXTENSION: ClassVar[str] = "md"
    SUBJECT_FIELD: ClassVar[str | None] = "target"

    target: Target
    currency: Currency = "USD"
    total_duration_s: NonNegative = Field(title="total duration (s)")
    cost_per_tier: list[TierCost] = Field(default_factory=list)
    regen_multiplier: Annotated[float, Field(ge=1, allow_inf_nan=False)]
    projected_total: NonNegative
    high_risk_shots: list[ShotId] = Field(default_factory=list)
    reduction_recommendations: list[Item] = Field(default_factory=list)
    tier_reallocation_suggestions: list[Item] = Field(default_factory=list)


class RoutingDecision(DocumentArtifact):
    """model-router's choice of tier and model for one task."""

    KIND: ClassVar[str] = "ROUTING_DECISION"
    EXTENSION: ClassVar[str] = "md"
    SUBJECT_FIELD: ClassVar[str | None] = "task"

    task: Name
    task_type: Text
    required_capability: Text
    tier_selected: Text
    model: Text
    justification: Paragraphs
    cost_impact: Money
    escalation_conditions: list[Item] = Field(default_factory=list)


class Cap(SubModel):
    """One budget cap and where spending stands against it."""

    level: Literal["project", "episode", "scene", "shot"]  # episode: a series' (issue 16)
    target: Id
    cap: NonNegative
    spent: NonNegative
    state: Literal["ok", "warning", "hard_stop"]


class RegenCount(SubModel):
    """Regenerations of one shot so far."""

    shot_id: ShotId
    regens: Annotated[int, Field(ge=0)]


class TierUsage(SubModel):
    """Runs and spend on one tier."""

    tier: Id
    runs: Annotated[int, Field(ge=0)]
    spend: NonNegative


class BudgetStatus(DocumentArtifact):
    """budget-gates' snapshot of spend against caps."""

    KIND: ClassVar[str] = "BUDGET_STATUS"
    EXTENSION: ClassVar[str] = "md"

    current_spend: NonNegative
    projected_spend: NonNegative
    percent_used: NonNegative = Field(title="percent of budget used")
    caps: list[Cap] = Field(default_factory=list)
    regen_count_by_shot: list[RegenCount] = Field(default_factory=list)
    tier_usage: list[TierUsage] = Field(default_factory=list)
    violations: YesNo
    enforcement_actions: list[Item] = Field(default_factory=list)


class Override(DocumentArtifact):
    """A logged human override of a hard stop (SPEC §1.8, §6): never silent."""

    KIND: ClassVar[str] = "OVERRIDE"
    EXTENSION: ClassVar[str] = "md"
    SUBJECT_FIELD: ClassVar[str | None] = "target"

    target: Target | ShotId  # hard stops on a shot (its cap, its regen limit) are overridden there
    hard_stop: Item = Field(description="the hard stop this override lifts")
    reason: Paragraphs
    cost_impact: Money
    approved_by: Item

    @model_validator(mode="after")
    def _reason_given(self) -> Self:
        if not self.reason:
            raise ValueError("reason: an override must say why")
        return self


def _raw_cell(value: str) -> str:
    # Run-log cells are hash-chained, so they are kept exactly (no stripping).
    check_chars(value)
    return value


def _raw_key(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return _raw_cell(value)


Cell = Annotated[str, AfterValidator(_raw_cell)]
KeyCell = Annotated[str, AfterValidator(_raw_key)]


def _run_log_row() -> type[CsvRow]:
    # The run log owns its columns (SPEC's plus its chain); follow them rather than copy them.
    fields: dict[str, Any] = {name: (Cell, "") for name in RUN_LOG_COLUMNS}
    fields[RUN_LOG_COLUMNS[0]] = (KeyCell, ...)
    return create_model(
        "RunLogRow",
        __base__=CsvRow,
        __module__=__name__,
        __doc__="One run-log row, as text cells; ``filmslate.store._runlog`` owns their meaning.",
        **fields,
    )


RunLogRow = _run_log_row()


class RunLog(CsvArtifact):
    """The human view of the append-only, hash-chained run log."""

    KIND: ClassVar[str] = "RUN_LOG"

    rows: list[RunLogRow] = Field(default_factory=list)  # type: ignore[valid-type]
