"""What the orchestrator still has to do, read from the files and the log.

Each question here is answered from the project as it is now (never from memory of an
earlier run), which is what lets a killed ``slate run`` resume exactly where it stopped.
"""

from __future__ import annotations

from typing import Literal

from ..engine._readiness import output_problems, passed_and_fresh, scene_rows
from ..engine._runner import Runner
from ..engine._skill import Context
from ..engine._visual_switch import pack_model_changed
from ..schemas import GenPack, RegenRules, ShotList, ShotRow
from ..skills.continuity._locks import LockSkill, done_subjects
from ..skills.production._production import rules_missing

__all__ = [
    "QcState",
    "budget_moved",
    "locks_pending",
    "pack_pending",
    "qc_state",
    "scene_ids",
    "shot_rows",
    "tracked",
]

QcState = Literal["todo", "PASS", "FIX", "FAIL"]


def scene_ids(runner: Runner) -> list[str]:
    """The scenes of the latest SCENES, in order."""
    return [row.scene_id for row in scene_rows(runner.project)]


def shot_rows(runner: Runner, scene: str) -> list[ShotRow]:
    """The rows of the scene's latest shot list (none yet: empty)."""
    record = runner.store.latest("SHOTLIST", scene)
    shotlist = runner.store.load(record.name) if record else None
    return list(shotlist.rows) if isinstance(shotlist, ShotList) else []


def qc_state(runner: Runner, shot: str) -> QcState:
    """The QC verdict of the shot's current proxy ('todo' when it is not graded yet)."""
    verdict = runner.graded(runner.registry.get("qc-grader"), shot)
    return verdict or "todo"  # type: ignore[return-value]


def locks_pending(runner: Runner, skill_name: str, scene: str) -> bool:
    """True when the scene has a subject without a fresh, passed lock of this kind."""
    skill = runner.registry.get(skill_name)()
    assert isinstance(skill, LockSkill)
    inputs = runner.load_inputs(skill, scene)
    ctx = Context(
        target=scene,
        inputs=inputs,
        config=runner.config,
        params={"existing": runner.existing_outputs(skill)},
    )
    done = done_subjects(ctx, skill.lock_type.KIND)
    return any(subject not in done for subject in skill.subjects(ctx))


def tracked(runner: Runner, scene: str) -> bool:
    """The scene's STATE_DIFF is a fresh PASS and a WORLD_STATE after it exists."""
    return (
        not output_problems(runner.project, "STATE_DIFF", scene, scene)
        and runner.store.state_after(scene) is not None
    )


def pack_pending(runner: Runner, shot: str, row: ShotRow | None = None) -> bool:
    """The GenPack is missing, stale, failed, packed for another video model than the
    shot's tier names now (after `slate switch`), or lacks regen rules that now apply."""
    store = runner.store
    skill = runner.registry.get("prompt-packager")
    if not passed_and_fresh(runner.project, skill, shot):
        return True
    pack_record = store.latest("GENPACK", shot)
    assert pack_record is not None
    pack = store.load(pack_record.name)
    assert isinstance(pack, GenPack)
    if row is not None and pack_model_changed(runner.config, pack, row):
        return True
    rules_record = store.latest("REGEN_RULES")
    if rules_record is None:
        return False
    rules = store.load(rules_record.name)
    assert isinstance(rules, RegenRules)
    return bool(rules_missing(pack, rules, shot))


def budget_moved(runner: Runner, events: tuple[str, ...]) -> bool:
    """True when one of these log events happened since the latest BUDGET_STATUS (or there
    is none). A status lists every cap, so writing one per batch regardless would make a
    long production quadratic."""
    store = runner.store
    status = store.latest("BUDGET_STATUS")
    if status is None:
        return True
    written = store.written_at(status.filename)
    marks = ", ".join("?" * len(events))
    moved = store.conn.execute(
        f"SELECT 1 FROM runlog WHERE event IN ({marks}) AND seq > ? LIMIT 1", (*events, written)
    ).fetchone()
    return moved is not None
