"""The RUN_LOG's columns (SPEC §4 and ours), named in one place; ``core._names`` re-exports
them (they lived there first)."""

from __future__ import annotations

# SPEC §4 RUN_LOG columns, then ours: what happened (event), the artifact's hash, the exact
# input versions (lineage, so the index can be rebuilt), the row's signature with the project
# key ('' without one, see store._chain), and the chain.
RUN_LOG_SPEC_COLUMNS = (
    "run_id",
    "parent_run_id",
    "timestamp",
    "skill_name",
    "scene_id",
    "shot_id",
    "model_used",
    "tier",
    "estimated_cost",
    "actual_cost",
    "duration_s",
    "outcome",
    "regen_count",
    "artifact_output",
    "notes",
    "budget_status",
)
RUN_LOG_COLUMNS = (
    "seq",
    *RUN_LOG_SPEC_COLUMNS,
    "event",
    "target",
    "artifact_sha256",
    "inputs",
    "row_mac",
    "prev_hash",
    "row_hash",
)
