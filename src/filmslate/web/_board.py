"""The production board's facts: every scene x step as PASS / FAIL / STALE / waiting, the
open hard stops with what lifts each, and each lock's impact (`slate impact`'s report).

A step's state is what the runner's readiness check sees (``engine._readiness``): the latest
version's recorded verdict and whether an input moved on since. A shot step (storyboard,
GenPack, take, final, audio) shows the worst state of the scene's shots, with a count.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core._names import scene_of
from ..engine._readiness import culture_required, scene_rows, stale_reasons
from ..engine._skill import load_skills
from ..engine._stops import HardStopRow, all_open_hard_stops, gate_of
from ..providers.handoff import ANSWER_SUFFIX, TASK_SUFFIX
from ..rules._takes import last_qc_verdict
from ..schemas import QcBatch, ShotList
from ..store._project import Project
from ..workflow._locks import ImpactReport, impact

__all__ = ["LOCK_KINDS", "SCENES_PER_PAGE", "STEPS", "Board", "Cell", "board", "page_of"]

# (column label, kind, per shot?) in loop order
STEPS: tuple[tuple[str, str, bool], ...] = (
    ("script", "SCRIPT", False),
    ("psych", "PSYCH", False),
    ("dialogue check", "DIALOGUE_CHECK", False),
    ("truth", "TRUTH", False),
    ("plausibility", "PLAUS", False),
    ("culture", "CULTURE", False),
    ("state diff", "STATE_DIFF", False),
    ("continuity", "CONTINUITY_REPORT", False),
    ("shot list", "SHOTLIST", False),
    ("cost report", "COST_REPORT", False),
    ("storyboards", "STORYBOARD", True),
    ("genpacks", "GENPACK", True),
    ("takes (QC)", "PROXY", True),
    ("finals", "FINAL", True),
    ("audio", "AUDIO", True),
    ("dialogue", "DIALOGUE", False),
    ("edit", "EDIT", False),
)
LOCK_KINDS = ("STYLE_LOCK", "CHAR_LOCK", "SET_LOCK", "VOICE_LOCK")
SCENES_PER_PAGE = 25
ORDER = {"FAIL": 0, "FIX": 1, "STALE": 2, "waiting": 3, "PASS": 4, "n/a": 5}


@dataclass(frozen=True)
class Cell:
    """One scene x step: its state, and what it says (a file, a reason, a count)."""

    state: str  # PASS, FIX, FAIL, STALE, waiting, n/a
    detail: str
    label: str = ""  # what the cell says, when more than its state


@dataclass(frozen=True)
class Stop:
    """An open hard stop and the command that lifts it."""

    stop: HardStopRow
    lift: str


@dataclass(frozen=True)
class Board:
    """The production board (one page of its scenes)."""

    steps: list[str]
    rows: list[tuple[str, list[Cell]]]
    stops: list[Stop]
    impacts: list[ImpactReport]  # only the lock asked for (`impact` walks its dependents)
    page: int = 1
    pages: int = 1
    locks: list[tuple[str, str, int]] = field(default_factory=list)  # stem, latest, version


def page_of(count: int, page: int) -> tuple[int, int]:
    """(the page shown, clamped; the number of pages) for ``count`` scenes."""
    pages = max(1, -(-count // SCENES_PER_PAGE))
    return min(max(1, page), pages), pages


def board(project: Project, page: int = 1, impact_of: str = "") -> Board:
    """Every scene x step (SCENES_PER_PAGE scenes a page: a cell costs a few lookups, so a
    long film's board is read a page at a time), the open hard stops, the locks, and the
    impact of the one lock named by ``impact_of`` (a walk of its dependents: only on asking)."""
    scenes = scene_rows(project)
    page, pages = page_of(len(scenes), page)
    shown = scenes[(page - 1) * SCENES_PER_PAGE : page * SCENES_PER_PAGE]
    tasks = open_tasks(project)
    rows = [
        (
            scene.scene_id,
            [
                _answering(
                    _cell(project, scene.scene_id, kind, per_shot), kind, scene.scene_id, tasks
                )
                for _, kind, per_shot in STEPS
            ],
        )
        for scene in shown
    ]
    stops = [
        Stop(s, f"resolve it, or `slate override {s.target} --reason ... --cost-impact AMOUNT`")
        for s in all_open_hard_stops(project)
    ]
    locks = [
        (record.name.stem, record.filename, record.name.version)
        for kind in LOCK_KINDS
        for record in project.store.latest_of_each(kind)
    ]
    impacts = [impact(project, impact_of)] if impact_of else []
    steps = [label for label, _, _ in STEPS]
    return Board(steps, rows, stops, impacts, page, pages, locks)


def open_tasks(project: Project) -> dict[tuple[str, str], str]:
    """(skill, target) -> its handoff task not answered yet, from one listing of the inbox."""
    inbox = project.root / project.config.providers.inbox_dir
    names = {path.name for path in inbox.iterdir()} if inbox.is_dir() else set()
    tasks: dict[tuple[str, str], str] = {}
    for name in sorted(names):
        stem = name.removesuffix(TASK_SUFFIX)
        if stem != name and stem + ANSWER_SUFFIX not in names and stem.count("__") >= 2:
            skill, target, _ = stem.split("__", 2)
            tasks.setdefault((skill, target), f"{project.config.providers.inbox_dir}/{name}")
    return tasks


def _answering(cell: Cell, kind_name: str, scene: str, tasks: dict[tuple[str, str], str]) -> Cell:
    """A waiting step whose skill asked a person (a handoff task in the inbox) says so."""
    producer = load_skills().producer_of(kind_name) if cell.state == "waiting" and tasks else None
    if producer is None:
        return cell
    for (skill, target), task in tasks.items():
        if skill == producer.name and (target == scene or target.startswith(scene + "_")):
            return Cell("waiting", cell.detail, f"waiting for an answer ({task})")
    return cell


def _cell(project: Project, scene: str, kind_name: str, per_shot: bool) -> Cell:
    if not per_shot:
        if kind_name == "CULTURE" and not culture_required(project, scene):
            return Cell("n/a", "no real culture, period or community in the truth packet")
        return _state(project, kind_name, scene, scene)
    shots = _shots(project, scene)
    if not shots:
        return Cell("waiting", "no shot list yet")
    batch = _qc(project, scene) if kind_name == "PROXY" else None
    cells = [
        _take(project, shot, batch)
        if kind_name == "PROXY"
        else _state(project, kind_name, shot, scene)
        for shot in shots
    ]
    worst = min(cells, key=lambda c: ORDER[c.state])
    passed = sum(c.state == "PASS" for c in cells)
    detail = f"{passed}/{len(cells)} PASS" + ("" if worst.state == "PASS" else f"; {worst.detail}")
    return Cell(worst.state, detail)


def _state(project: Project, kind_name: str, subject: str, scene: str) -> Cell:
    record = project.store.latest(kind_name, subject)
    if record is None:
        return Cell("waiting", f"{kind_name}_{subject} not made yet")
    verdict = gate_of(project, record.filename) or "waiting"
    if verdict != "PASS":
        return Cell(verdict if verdict in ORDER else "FAIL", f"{record.filename}: {verdict}")
    stale = stale_reasons(project, record, scene)
    if stale:
        return Cell("STALE", stale[0])
    return Cell("PASS", record.filename)


def _take(project: Project, shot: str, batch: QcBatch | None) -> Cell:
    """A take's state is its QC verdict (a proxy has no gate of its own)."""
    cell = _state(project, "PROXY", shot, scene_of(shot))
    if cell.state != "PASS":
        return cell
    verdict = last_qc_verdict(batch, shot)
    if verdict is None:
        return Cell("waiting", f"{cell.detail}: not graded yet")
    return Cell(verdict, f"{cell.detail}: QC {verdict}")


def _shots(project: Project, scene: str) -> list[str]:
    record = project.store.latest("SHOTLIST", scene)
    shotlist = project.store.load(record.name) if record else None
    return [r.shot_id for r in shotlist.rows] if isinstance(shotlist, ShotList) else []


def _qc(project: Project, scene: str) -> QcBatch | None:
    record = project.store.latest("QC_BATCH", scene)
    batch = project.store.load(record.name) if record else None
    return batch if isinstance(batch, QcBatch) else None
