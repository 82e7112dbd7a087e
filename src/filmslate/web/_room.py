"""The review room's facts: per scene its shots, per shot its storyboard, takes, GenPack, QC
rows and regen rules, read from the store (the verdicts are written by ``workflow._review``)."""

from __future__ import annotations

from dataclasses import dataclass

from ..core._errors import ArtifactNotFound
from ..core._names import SCENE_RE, SHOT_RE, scene_of
from ..engine._readiness import scene_rows
from ..rules._takes import last_qc_verdict
from ..schemas import AdjustmentRule, QcBatch, QcRow, RegenRules, ShotList, ShotRow
from ..store._project import Project
from ..workflow._review import take_cost_impact

__all__ = ["SceneShots", "ShotView", "room_scenes", "shot_view"]


@dataclass(frozen=True)
class ShotLine:
    """One shot in a scene's list: its plan and where its takes stand."""

    row: ShotRow
    verdict: str  # the last QC row's verdict, or "waiting"
    proxies: int
    final: bool


@dataclass(frozen=True)
class SceneShots:
    """A scene of the review room."""

    scene: str
    summary: str
    shots: list[ShotLine]


@dataclass(frozen=True)
class ShotView:
    """Everything the review room shows for one shot."""

    row: ShotRow
    storyboard: str | None  # STORYBOARD png filename
    storyboard_report: str
    proxies: list[str]  # PROXY filenames, oldest first
    finals: list[str]
    genpack_name: str
    genpack: str
    qc_name: str
    qc_rows: list[QcRow]
    verdict: str
    rules_name: str
    rules: list[AdjustmentRule]
    approve_cost: float
    reject_cost: float
    currency: str


def room_scenes(project: Project, page: int = 1) -> tuple[list[SceneShots], int, int]:
    """One page of scenes (the board's pages) with their shots and the state of their
    takes; with the page shown and the number of pages."""
    from ._board import SCENES_PER_PAGE, page_of

    scenes = scene_rows(project)
    page, pages = page_of(len(scenes), page)
    out = []
    for scene in scenes[(page - 1) * SCENES_PER_PAGE : page * SCENES_PER_PAGE]:
        batch = _batch(project, scene.scene_id)
        shots = [
            ShotLine(
                row,
                last_qc_verdict(batch, row.shot_id) or "waiting",
                len(project.store.versions("PROXY", row.shot_id)),
                project.store.latest("FINAL", row.shot_id) is not None,
            )
            for row in _rows(project, scene.scene_id)
        ]
        out.append(SceneShots(scene.scene_id, scene.summary, shots))
    return out, page, pages


def shot_view(project: Project, shot_id: str) -> ShotView:
    """One shot's review (ArtifactNotFound for a shot no shot list has)."""
    scene = scene_of(shot_id) if SHOT_RE.fullmatch(shot_id) else ""
    row = next((r for r in _rows(project, scene) if r.shot_id == shot_id), None) if scene else None
    if row is None:
        raise ArtifactNotFound(f"no shot {shot_id!r} in any shot list", shot=shot_id)
    store = project.store
    board = store.latest("STORYBOARD", shot_id)
    pack = store.latest("GENPACK", shot_id)
    batch_record = store.latest("QC_BATCH", scene)
    batch = _batch(project, scene)
    rules_record = store.latest("REGEN_RULES")
    rules = store.load(rules_record.name) if rules_record else None
    return ShotView(
        row=row,
        storyboard=board.filename if board else None,
        storyboard_report=_text(project, "STORYBOARD_REPORT", shot_id),
        proxies=[r.filename for r in store.versions("PROXY", shot_id)],
        finals=[r.filename for r in store.versions("FINAL", shot_id)],
        genpack_name=pack.filename if pack else "",
        genpack=store.read(pack.name).decode("utf-8") if pack else "",
        qc_name=batch_record.filename if batch_record else "",
        qc_rows=[r for r in batch.rows if r.shot_id == shot_id] if batch else [],
        verdict=last_qc_verdict(batch, shot_id) or "waiting",
        rules_name=rules_record.filename if rules_record else "",
        rules=[
            rule
            for rule in (rules.prompt_adjustment_rules if isinstance(rules, RegenRules) else [])
            if rule.scope in (shot_id, scene, "ALL")
        ],
        approve_cost=take_cost_impact(project, row, "approve"),
        reject_cost=take_cost_impact(project, row, "reject"),
        currency=project.config.budget.currency,
    )


def is_scene(value: str) -> bool:
    """A scene id (S01)."""
    return SCENE_RE.fullmatch(value) is not None


def _rows(project: Project, scene: str) -> list[ShotRow]:
    record = project.store.latest("SHOTLIST", scene)
    shotlist = project.store.load(record.name) if record else None
    return list(shotlist.rows) if isinstance(shotlist, ShotList) else []


def _batch(project: Project, scene: str) -> QcBatch | None:
    record = project.store.latest("QC_BATCH", scene)
    batch = project.store.load(record.name) if record else None
    return batch if isinstance(batch, QcBatch) else None


def _text(project: Project, kind_name: str, subject: str) -> str:
    record = project.store.latest(kind_name, subject)
    return project.store.read(record.name).decode("utf-8") if record else ""
