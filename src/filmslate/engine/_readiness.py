"""Readiness: whether a step may run, read from the store and the log (SPEC §6).

``production_allowed(project, scene)`` says whether the narrative and validation loops passed
for a scene; the runner refuses production skills until they have, and the loops skip steps
whose latest output is a fresh PASS (``passed_and_fresh``).

Freshness here is lineage (``Store.stale_inputs``) with one refinement for context inputs
(see :func:`stale_reasons`): the world state moves forward as scenes are tracked, and locks of
characters who are not in a scene do not touch that scene, so neither reopens it.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..core._names import ArtifactName, kind, lock_subject, scene_of
from ..schemas import SceneRow, Scenes, Truth, WorldState, culture_applies
from ..store._project import Project
from ..store._store import Record
from ._skill import Skill
from ._stops import gate_of
from ._story_inputs import scene_set_subjects

# The light red-team pass writes REDTEAM too, but production needs the full pass.
LIGHT_RED_TEAM = "narrative-red-team-light"


def passed_and_fresh(project: Project, skill: type[Skill], target: str) -> bool:
    """The skill's last run on the target passed and its latest outputs are fresh PASSes."""
    row = project.store.conn.execute(
        "SELECT outcome FROM runlog WHERE skill_name = ? AND target = ? AND event = 'run' "
        "ORDER BY seq DESC LIMIT 1",
        (skill.name, target),
    ).fetchone()
    if row is None or row[0] != "PASS":
        return False
    return not any(
        output_problems(project, k, _subject(k, target), scene_of(target)) for k in skill.produces
    )


def _subject(kind_name: str, target: str) -> str | None:
    subject = kind(kind_name).subject
    if subject is None:
        return None
    return scene_of(target) or target if subject == "scene" else target


# -- freshness and the production gate --------------------------------------------------------


def output_problems(
    project: Project, kind_name: str, subject: str | None, scene: str = ""
) -> list[str]:
    """Why the latest version of a stem is not a fresh PASS (empty when it is)."""
    record = project.store.latest(kind_name, subject)
    stem = f"{kind_name}{'_' + subject if subject else ''}"
    if record is None:
        return [f"{stem} does not exist yet"]
    verdict = gate_of(project, record.filename)
    if verdict != "PASS":
        return [f"{record.filename} did not pass its gate ({verdict or 'no verdict'})"]
    problems = stale_reasons(project, record, scene)
    if kind_name == "REDTEAM" and _writer(project, record) == LIGHT_RED_TEAM:
        problems.append(
            f"{record.filename} is a light red-team pass: production needs the "
            "full narrative-red-team"
        )
    return problems


def _writer(project: Project, record: Record) -> str:
    row = project.store.conn.execute(
        "SELECT skill_name FROM runlog WHERE artifact_output = ? AND event = 'write' "
        "ORDER BY seq DESC LIMIT 1",
        (record.filename,),
    ).fetchone()
    return str(row[0]) if row else ""


def stale_reasons(project: Project, record: Record, scene: str = "") -> list[str]:
    """The inputs of ``record`` that moved on in a way that reopens it.

    Lineage says any newer input version makes an artifact stale. Two kinds of context input
    are judged by what changed instead: WORLD_STATE moves forward every time a scene is
    tracked, so it reopens a scene's artifact only when the state *before* that scene was
    rewritten (a newer version sits at an earlier scene), and never a whole-story review;
    CHAR/VOICE/SET locks reopen a scene's artifact only for the scene's own cast and set.
    """
    return [
        f"{record.filename} was made from {used.filename}; {newer.filename} is newer"
        for used, newer in reopened_by(project, record, scene)
    ]


def reopened_by(
    project: Project, record: Record, scene: str = ""
) -> list[tuple[ArtifactName, ArtifactName]]:
    """The (used, newer) input pairs of ``record`` that reopen it (see :func:`stale_reasons`)."""
    moved = project.store.stale_inputs(record.name)
    if not moved:
        return []
    row = _row(project, scene) if scene else None
    return [(used, newer) for used, newer in moved if _reopens(project, used, scene, row)]


def _reopens(project: Project, used: ArtifactName, scene: str, row: SceneRow | None) -> bool:
    if used.kind == "WORLD_STATE":
        return bool(scene) and _state_before_rewritten(project, used, scene)
    if used.kind in ("CHAR_LOCK", "VOICE_LOCK") and scene:
        return row is None or used.subject in {lock_subject(c) for c in row.characters_present}
    if used.kind == "SET_LOCK" and scene:
        return row is None or used.subject in scene_set_subjects(project.store, [row], scene)
    return True


def _state_before_rewritten(project: Project, used: ArtifactName, scene: str) -> bool:
    """True when a WORLD_STATE newer than ``used`` sits at a scene before ``scene``."""
    order = _scene_index(project)
    at = order.get(scene, len(order))
    earliest = _earliest_newer(project, order)
    return used.version < len(earliest) and earliest[used.version] < at


def _earliest_newer(project: Project, order: dict[str, int]) -> list[int]:
    """For each WORLD_STATE version v (a list index), the earliest scene position any version
    newer than v is at (-1 when one is at no known scene). Asked once per artifact checked, so
    it is built once per new state version (a suffix minimum), not per question: the scan
    over every version per check made a 500-scene production quadratic."""
    latest = project.store.latest("WORLD_STATE")
    if latest is None:
        return []
    key = (latest.sha256, _scenes_sha(project))
    if key not in _EARLIEST:
        records = project.store.versions("WORLD_STATE")
        earliest = [len(order) + 1] * (records[-1].name.version + 1)
        running = len(order) + 1
        for record in reversed(records):
            earliest[record.name.version] = running
            current = _current_scene(project, record)
            running = min(running, order.get(current, -1) if current else -1)
        _EARLIEST.clear()  # only the newest state matters
        _EARLIEST[key] = earliest
    return _EARLIEST[key]


def _scenes_sha(project: Project) -> str:
    record = project.store.latest("SCENES")
    return record.sha256 if record else ""


def _scene_index(project: Project) -> dict[str, int]:
    """Scene id -> its position in the latest SCENES."""
    sha = _scenes_sha(project)
    if sha not in _INDEX:
        _INDEX[sha] = {row.scene_id: i for i, row in enumerate(scene_rows(project))}
    return _INDEX[sha]


# Artifact versions never change, so what is read from one can be kept by its sha256.
_CURRENT: dict[str, str | None] = {}  # WORLD_STATE sha256 -> timeline.current_scene
_ROWS: dict[str, list[SceneRow]] = {}  # SCENES sha256 -> rows
_INDEX: dict[str, dict[str, int]] = {}  # SCENES sha256 -> scene id -> position
_EARLIEST: dict[tuple[str, str], list[int]] = {}  # (latest state, SCENES) -> suffix minima


def _current_scene(project: Project, record: Record) -> str | None:
    if record.sha256 not in _CURRENT:
        state = project.store.load(record.name)
        assert isinstance(state, WorldState)
        _CURRENT[record.sha256] = state.timeline.current_scene
    return _CURRENT[record.sha256]


def scene_rows(project: Project) -> list[SceneRow]:
    """The rows of the latest SCENES, in order ([] when there is none)."""
    record = project.store.latest("SCENES")
    if record is None:
        return []
    if record.sha256 not in _ROWS:
        scenes = project.store.load(record.name)
        assert isinstance(scenes, Scenes)
        _ROWS[record.sha256] = list(scenes.rows)
    return list(_ROWS[record.sha256])


def _row(project: Project, scene: str) -> SceneRow | None:
    index = _scene_index(project).get(scene)
    return None if index is None else _ROWS[_scenes_sha(project)][index]


def culture_required(project: Project, scene: str) -> bool:
    """True when the scene's latest truth packet names a real culture, period or community."""
    record = project.store.latest("TRUTH", scene)
    if record is None:
        return False
    truth = project.store.load(record.name)
    assert isinstance(truth, Truth)
    return culture_applies(truth)


def production_allowed(project: Project, scene: str) -> tuple[bool, list[str]]:
    """Whether production may start on a scene, and every reason it may not.

    Needs the narrative loop passed (latest BEATS, SCENES, BREAKDOWN, the scene's PSYCH when
    it has characters, REDTEAM_PROJECT from the full pass and AUDIENCE_PROJECT: PASS and
    fresh) and the scene's validation passed (TRUTH, PLAUS, and CULTURE when the truth packet
    names a culture: PASS and fresh).
    """
    row = _row(project, scene)
    if row is None:
        return False, [f"{scene} is not in the latest SCENES"]
    narrative: list[tuple[str, str | None, str]] = [
        ("BEATS", None, ""),
        ("SCENES", None, ""),
        ("BREAKDOWN", None, ""),
        ("REDTEAM", "PROJECT", ""),
        ("AUDIENCE", "PROJECT", ""),
    ]
    if row.characters_present:
        narrative.insert(3, ("PSYCH", scene, scene))
    validation = [("TRUTH", scene, scene), ("PLAUS", scene, scene)]
    if culture_required(project, scene):
        validation.append(("CULTURE", scene, scene))
    reasons = [
        *_loop_reasons(project, "narrative", narrative, "slate run narrative"),
        *_loop_reasons(project, "validation", validation, f"slate run validation --scene {scene}"),
    ]
    return not reasons, reasons


def _loop_reasons(
    project: Project, loop: str, checks: Iterable[tuple[str, str | None, str]], command: str
) -> list[str]:
    return [
        f"{loop} loop not passed: {problem} (run `{command}`)"
        for kind_name, subject, scene in checks
        for problem in output_problems(project, kind_name, subject, scene)
    ]
