"""EDIT: edit-planner's plan of a cut (``EDIT_<TARGET>_v###.csv``, issue 15 §4).

One row per shot, in the order the cut plays them. ``take`` is the file of the accepted take
the row was planned on and ``source_s`` its real length; the cut shows it from ``in_s`` to
``out_s`` (seconds into the take), which leaves ``handle_in_s`` / ``handle_out_s`` of unused
picture on either side for an editor to roll the cut into. ``record_in_s`` is where the shot
starts on the cut's timeline. ``audio_lead_s`` is a J cut (the shot's sound starts that long
before its picture), ``audio_lag_s`` an L cut (its sound runs on that long over the next
shot). ``target_runtime_s`` is the runtime the plan aims for, the same on every row.

The schema checks each value alone; how the rows fit together (positions, handles, the
timeline, the runtime) is the gate's (``filmslate.rules._edit``), which names the shot at fault.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from ._csv import CsvArtifact, CsvRow
from ._types import ShotId, Text

Seconds = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class EditRow(CsvRow):
    """One shot of the cut: its take, trims, handles, place on the timeline and sound overlaps."""

    position: Annotated[int, Field(ge=1)]
    shot_id: ShotId
    take: Text
    source_s: Positive
    in_s: Seconds
    out_s: Positive
    handle_in_s: Seconds
    handle_out_s: Seconds
    record_in_s: Seconds
    audio_lead_s: Seconds = 0.0
    audio_lag_s: Seconds = 0.0
    target_runtime_s: Positive
    notes: Text = ""

    @property
    def length_s(self) -> float:
        """How long the shot plays in the cut."""
        return self.out_s - self.in_s


class EditPlan(CsvArtifact):
    """edit-planner's plan of one cut (a scene's or the whole film's)."""

    KIND: ClassVar[str] = "EDIT"

    rows: list[EditRow] = Field(default_factory=list)

    @property
    def runtime_s(self) -> float:
        """The cut's planned length."""
        return sum(row.length_s for row in self.rows)

    @property
    def target_s(self) -> float:
        """The runtime the plan aims for (0 for an empty plan)."""
        return self.rows[0].target_runtime_s if self.rows else 0.0


__all__ = ["EditPlan", "EditRow"]
