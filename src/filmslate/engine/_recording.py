"""What a run leaves behind: its artifacts with their lineage, and its one ``run`` log row.

The runner decides; this writes. An output identical to the latest version (same bytes,
inputs and verdict) is not written again, so a rerun that changes nothing adds nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from ..core._errors import RunError
from ..core._gate import Gate
from ..core._names import kind, scene_of, target_fields
from ..schemas import Artifact
from ..store import _runlog
from ..store._ledger import Ledger
from ..store._project import Project
from ..store._store import Batch, Record, Staged
from ._metering import Meter
from ._router import Route
from ._skill import Inputs, Media, Skill
from ._stops import gate_of

__all__ = ["RunFacts", "log_run", "write_outputs"]


@dataclass(frozen=True)
class RunFacts:
    """Who ran what, where: the fields every row of one run shares."""

    skill: Skill
    target: str
    route: Route
    run_id: str


def write_outputs(
    project: Project, facts: RunFacts, outputs: list[Any], inputs: Inputs, gate: Gate
) -> list[Record]:
    """Write each output as a new version with its lineage (or reuse an identical one).

    The outputs are published together or not at all (a story-architect run never leaves
    BEATS without its SCENES).
    """
    records: list[Record | Staged] = []
    with project.store.batch() as batch:
        for payload in outputs:
            records.append(_stage_output(project, facts, batch, payload, inputs, gate))
    return [r if isinstance(r, Record) else r.published for r in records]


def _stage_output(
    project: Project, facts: RunFacts, batch: Batch, payload: Any, inputs: Inputs, gate: Gate
) -> Record | Staged:
    store, skill = project.store, facts.skill
    if payload.KIND not in skill.produces:
        raise RunError(
            f"{skill.name} produced a {payload.KIND}, which it does not "
            f"declare ({', '.join(skill.produces)})"
        )
    entry = _runlog.LogEntry(
        run_id=facts.run_id,
        skill_name=skill.name,
        event="write",
        **target_fields(facts.target),
        model_used=facts.route.model,
        tier=facts.route.tier,
        outcome=gate.verdict,
        notes="; ".join(gate.reasons),
    )
    data = payload.data if isinstance(payload, Media) else payload
    subject = _output_subject(payload, facts.target)
    lineage = _lineage(payload, inputs, skill.name)
    same = store.same_as_latest(payload.KIND, subject, data, lineage)
    if same is not None and gate_of(project, same.filename) == gate.verdict:
        return same  # identical bytes, inputs and verdict: nothing new
    return batch.add(payload.KIND, subject, data, inputs=lineage, entry=entry)


def _lineage(payload: Artifact | Media, inputs: Inputs, skill: str) -> list[str]:
    """The run's inputs, or the subset a Media output names (never one the run did not read)."""
    if not isinstance(payload, Media) or payload.inputs is None:
        return inputs.names
    unread = [name for name in payload.inputs if name not in inputs.names]
    if unread:
        raise RunError(f"{skill} names {', '.join(unread)} as an input it did not read")
    return list(payload.inputs)


def log_run(
    project: Project,
    ledger: Ledger,
    facts: RunFacts,
    *,
    parent: str,
    meter: Meter,
    started: float,
    outcome: str,
    attempt: int,
    records: list[Record],
    notes: str,
) -> None:
    """The run's ``run`` row: its route, cost, duration, outcome, first output, budget."""
    project_cap = ledger.state("project", "PROJECT")
    budget = f"{project_cap.state} {project_cap.percent:.1f}%" if project_cap else ""
    first = records[0] if records else None
    project.store.log(
        _runlog.LogEntry(
            run_id=facts.run_id,
            parent_run_id=parent,
            skill_name=facts.skill.name,
            event="run",
            **target_fields(facts.target),
            model_used=facts.route.model,
            tier=facts.route.tier,
            estimated_cost=meter.estimated,
            actual_cost=meter.actual,
            duration_s=time.monotonic() - started,
            outcome=outcome,
            regen_count=attempt - 1,
            artifact_output=first.filename if first else "",
            artifact_sha256=first.sha256 if first else "",
            budget_status=budget,
            notes=notes,
        )
    )


def _output_subject(payload: Artifact | Media, target: str) -> str | None:
    """Document kinds name their subject; row kinds (SHOTLIST, QC_BATCH) take the target's."""
    if payload.subject is not None or kind(payload.KIND).subject is None:
        return payload.subject
    subject_type = kind(payload.KIND).subject
    return scene_of(target) if subject_type in ("scene", "scene_or_run") else target
