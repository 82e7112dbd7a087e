"""The narrative and validation loops of SPEC §6, and the production gate they guard.

``run_loop(runner, "narrative")`` runs story-architect -> script-breakdown ->
character-psychology (each scene with characters) -> narrative-red-team -> audience-simulator;
``run_loop(runner, "validation", "S03")`` runs research-agent -> plausibility-auditor ->
cultural-check (when the truth packet names a real culture) for one scene, or for every scene
in SCENES order with ``"PROJECT"``. Each step goes through ``Runner.run``, which revises on
FAIL with the gate's reasons, escalates and hard-stops; the loop stops at the first step that
cannot pass and says where. Steps whose latest output is a fresh PASS are skipped.

``production_allowed(project, scene)`` says whether both loops passed for a scene.

Freshness here is lineage (``Store.stale_inputs``) with one refinement for context inputs
(see :func:`stale_reasons`): the world state moves forward as scenes are tracked, and locks of
characters who are not in a scene do not touch that scene, so neither reopens it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from ..core._errors import RunError, UserError
from ..core._names import SCENE_RE, ArtifactName, kind, lock_subject
from ..store._project import Project
from ..engine._runner import Runner, RunResult
from ..engine._skill import Registry, Skill, scene_of
from ..engine._stops import gate_of
from ..store._store import Record
from ..schemas import SceneRow, Scenes, Truth, WorldState
from ..skills.validation._validation import NarrativeRedTeamLight, culture_applies

LOOPS: dict[str, tuple[str, ...]] = {
    "narrative": ("story-architect", "script-breakdown", "character-psychology",
                  "narrative-red-team", "audience-simulator"),
    "validation": ("research-agent", "plausibility-auditor", "cultural-check"),
}
Status = Literal["passed", "up_to_date", "skipped", "stopped", "waiting"]


@dataclass(frozen=True)
class StepResult:
    """One step of a loop: a skill on a target, and how it ended."""

    skill: str
    target: str
    status: Status
    detail: str = ""
    run: RunResult | None = None

    @property
    def ok(self) -> bool:
        """True when the loop may go on past this step."""
        return self.status in ("passed", "up_to_date", "skipped")

    def describe(self) -> str:
        """``plausibility-auditor S03: stopped (hard stop ...)``."""
        return f"{self.skill} {self.target}: {self.status}" + (f" ({self.detail})"
                                                                 if self.detail else "")


@dataclass
class LoopResult:
    """A loop's steps in order; it passed when every step did."""

    loop: str
    target: str
    steps: list[StepResult] = field(default_factory=list)

    @property
    def stopped_at(self) -> StepResult | None:
        """The step that could not pass (the last step when the loop stopped), else None."""
        return next((s for s in self.steps if not s.ok), None)

    @property
    def passed(self) -> bool:
        """True when every step passed, was up to date or did not apply."""
        return bool(self.steps) and self.stopped_at is None

    def describe(self) -> str:
        """A few lines for the CLI: every step, then the verdict and where it stopped."""
        lines = [step.describe() for step in self.steps]
        stop = self.stopped_at
        verdict = (f"{self.loop} loop on {self.target}: PASS" if stop is None else
                   f"{self.loop} loop on {self.target}: stopped at {stop.skill} on {stop.target}")
        return "\n".join([*lines, verdict])


def run_loop(runner: Runner, name: str, target: str = "PROJECT") -> LoopResult:
    """Run a named loop to PASS or to the first step that cannot pass."""
    if name not in LOOPS:
        raise UserError(f"no loop named {name!r}; loops: {', '.join(LOOPS)}", loop=name)
    skills = _loop_skills(runner.registry, name)
    result = LoopResult(name, target)
    if name == "narrative":
        _narrative(runner, skills, target, result)
    else:
        _validation(runner, skills, target, result)
    return result


def _loop_skills(registry: Registry, name: str) -> dict[str, type[Skill]]:
    """Every skill of a loop, or one error naming all that are missing."""
    found, missing = {}, []
    for skill in LOOPS[name]:
        try:
            found[skill] = registry.get(skill)
        except UserError:
            missing.append(skill)
    if missing:
        raise UserError(f"the {name} loop needs {', '.join(missing)}, which "
                        f"{'is' if len(missing) == 1 else 'are'} not registered: install or "
                        "register the skill (see `slate skills`)", loop=name, missing=missing)
    return found


def _narrative(runner: Runner, skills: dict[str, type[Skill]], target: str,
               out: LoopResult) -> None:
    if target != "PROJECT":
        raise UserError(f"the narrative loop runs on the whole story, not {target!r}: use "
                        "PROJECT", target=target)
    for name in LOOPS["narrative"]:
        skill = skills[name]
        if skill.target_scope != "scene":
            if not _record(out, _step(runner, skill, "PROJECT")):
                return
            continue
        for row in scene_rows(runner.project):  # read after story-architect passed
            step = (_step(runner, skill, row.scene_id) if row.characters_present else
                    StepResult(name, row.scene_id, "skipped", "no characters in the scene"))
            if not _record(out, step):
                return


def _validation(runner: Runner, skills: dict[str, type[Skill]], target: str,
                out: LoopResult) -> None:
    ids = [row.scene_id for row in scene_rows(runner.project)]
    if not ids:
        raise UserError("there are no scenes yet: run `slate run narrative` (or import a "
                        "screenplay) first")
    if target != "PROJECT" and not (SCENE_RE.fullmatch(target) and target in ids):
        raise UserError(f"the validation loop runs on a scene of SCENES or on PROJECT, not "
                        f"{target!r}", target=target)
    for scene in ids if target == "PROJECT" else [target]:
        for name in LOOPS["validation"]:
            if name == "cultural-check" and not culture_required(runner.project, scene):
                out.steps.append(StepResult(name, scene, "skipped", "the truth packet names "
                                            "no real culture, period or community"))
                continue
            if not _record(out, _step(runner, skills[name], scene)):
                return


def _record(out: LoopResult, step: StepResult) -> bool:
    out.steps.append(step)
    return step.ok


def _step(runner: Runner, skill: type[Skill], target: str) -> StepResult:
    """One step: skip when already passed and fresh, else run to PASS or report the stop."""
    if passed_and_fresh(runner.project, skill, target):
        return StepResult(skill.name, target, "up_to_date")
    try:
        result = runner.run(skill.name, target)
        if result.status == "up_to_date":
            # The runner trusts the skill's own last output; a newer version (a light pass,
            # a failed hand edit) may have replaced it since, so run again for real.
            result = runner.run(skill.name, target, force=True)
    except RunError as stop:
        return StepResult(skill.name, target, "stopped",
                          f"{stop}{_last_failure(runner.project, skill.name, target)}")
    if result.status == "waiting":
        return StepResult(skill.name, target, "waiting",
                          f"answer the handoff task {result.task_path} and run again", result)
    return StepResult(skill.name, target, "passed", f"attempt {result.attempt}", result)


def _last_failure(project: Project, skill: str, target: str) -> str:
    """' Last gate: <reasons>' when the skill's last run on the target failed, else ''."""
    row = project.store.conn.execute(
        "SELECT outcome, notes FROM runlog WHERE skill_name = ? AND target = ? AND "
        "event = 'run' ORDER BY seq DESC LIMIT 1", (skill, target)).fetchone()
    return f" Last gate: {row[0]}: {row[1]}" if row and row[0] in ("FAIL", "FIX") else ""


def passed_and_fresh(project: Project, skill: type[Skill], target: str) -> bool:
    """The skill's last run on the target passed and its latest outputs are fresh PASSes."""
    row = project.store.conn.execute(
        "SELECT outcome FROM runlog WHERE skill_name = ? AND target = ? AND event = 'run' "
        "ORDER BY seq DESC LIMIT 1", (skill.name, target)).fetchone()
    if row is None or row[0] != "PASS":
        return False
    return not any(output_problems(project, k, _subject(k, target), scene_of(target))
                   for k in skill.produces)


def _subject(kind_name: str, target: str) -> str | None:
    subject = kind(kind_name).subject
    if subject is None:
        return None
    return scene_of(target) or target if subject == "scene" else target


# -- freshness and the production gate --------------------------------------------------------


def output_problems(project: Project, kind_name: str, subject: str | None,
                    scene: str = "") -> list[str]:
    """Why the latest version of a stem is not a fresh PASS (empty when it is)."""
    record = project.store.latest(kind_name, subject)
    stem = f"{kind_name}{'_' + subject if subject else ''}"
    if record is None:
        return [f"{stem} does not exist yet"]
    verdict = gate_of(project, record.filename)
    if verdict != "PASS":
        return [f"{record.filename} did not pass its gate ({verdict or 'no verdict'})"]
    problems = stale_reasons(project, record, scene)
    if kind_name == "REDTEAM" and _writer(project, record) == NarrativeRedTeamLight.name:
        problems.append(f"{record.filename} is a light red-team pass: production needs the "
                        "full narrative-red-team")
    return problems


def _writer(project: Project, record: Record) -> str:
    row = project.store.conn.execute(
        "SELECT skill_name FROM runlog WHERE artifact_output = ? AND event = 'write' "
        "ORDER BY seq DESC LIMIT 1", (record.filename,)).fetchone()
    return str(row[0]) if row else ""


def stale_reasons(project: Project, record: Record, scene: str = "") -> list[str]:
    """The inputs of ``record`` that moved on in a way that reopens it.

    Lineage says any newer input version makes an artifact stale. Two kinds of context input
    are judged by what changed instead: WORLD_STATE moves forward every time a scene is
    tracked, so it reopens a scene's artifact only when the state *before* that scene was
    rewritten (a newer version sits at an earlier scene), and never a whole-story review;
    CHAR/VOICE/SET locks reopen a scene's artifact only for the scene's own cast and set.
    """
    moved = project.store.stale_inputs(record.name)
    if not moved:
        return []
    row = _row(project, scene) if scene else None
    return [f"{record.filename} was made from {used.filename}; {newer.filename} is newer"
            for used, newer in moved if _reopens(project, used, scene, row)]


def _reopens(project: Project, used: ArtifactName, scene: str, row: SceneRow | None) -> bool:
    if used.kind == "WORLD_STATE":
        return bool(scene) and _state_before_rewritten(project, used, scene)
    if used.kind in ("CHAR_LOCK", "VOICE_LOCK") and scene:
        return row is None or used.subject in {lock_subject(c) for c in row.characters_present}
    if used.kind == "SET_LOCK" and scene:
        return row is None or used.subject == lock_subject(row.location)
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
        ("BEATS", None, ""), ("SCENES", None, ""), ("BREAKDOWN", None, ""),
        ("REDTEAM", "PROJECT", ""), ("AUDIENCE", "PROJECT", "")]
    if row.characters_present:
        narrative.insert(3, ("PSYCH", scene, scene))
    validation = [("TRUTH", scene, scene), ("PLAUS", scene, scene)]
    if culture_required(project, scene):
        validation.append(("CULTURE", scene, scene))
    reasons = [*_loop_reasons(project, "narrative", narrative, "slate run narrative"),
               *_loop_reasons(project, "validation", validation,
                              f"slate run validation --scene {scene}")]
    return not reasons, reasons


def _loop_reasons(project: Project, loop: str, checks: Iterable[tuple[str, str | None, str]],
                  command: str) -> list[str]:
    return [f"{loop} loop not passed: {problem} (run `{command}`)"
            for kind_name, subject, scene in checks
            for problem in output_problems(project, kind_name, subject, scene)]
