"""run-logger (SPEC §5): the seed's observability skill, built into the store.

Every write, run, routing decision, generation, QC verdict and budget decision is a row of
the hash-chained run log in the same transaction as the change it records (``Store.write``,
the ledger, the runner). ``logs/RUN_LOG_v001.csv`` is its human view. The gate is the chain:
a missing, edited or reordered row makes ``slate verify`` fail and puts a hard stop on every
further run until the log is repaired (``slate reindex``) or explained.
"""

from __future__ import annotations

from typing import ClassVar

from ...engine._skill import REGISTRY, AutomaticSkill, Layer, Tier


@REGISTRY.register
class RunLogger(AutomaticSkill):
    """The run log: one chained row per event, written with the event itself."""

    name: ClassVar[str] = "run-logger"
    layer: ClassVar[Layer] = "observability"
    tier: ClassVar[Tier] = "throughput"
    produces: ClassVar[tuple[str, ...]] = ("RUN_LOG",)
    summary: ClassVar[str] = "logs every event in the hash-chained RUN_LOG; a gap hard-stops"
    how: ClassVar[str] = (
        "every change is logged with the change itself. Read it with "
        "`slate log`, check the chain with `slate verify`, and see derived "
        "metrics with `slate metrics`"
    )


__all__ = ["RunLogger"]
