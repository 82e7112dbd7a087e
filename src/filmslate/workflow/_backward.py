"""Backward routing (SPEC §1.4, §6; issue 14): a gate's findings go to the step that can fix
them, never back to the auditor that found them.

A FAIL whose gate carries a route (``core._gate.FixRoute``: the skill and target that revise
the upstream work, and the findings) is sent there: a ``loop_back`` row in the run log names
where it came from, where it goes and the findings; the route's skill runs with the findings
as its revision notes and writes the new upstream version (story-architect: new BEATS and
SCENES; scene-revision: the scene's new SCENES row and script slice); everything made from
the old version is then stale, and the orchestrator reruns it. Each route is bounded by
``loops.max_revisions`` revisions since the auditor last passed; past it the auditor's
target hard-stops for a person (``slate override``).

A loop-back is resumable (SPEC: a kill -9 loses nothing): the row is the record of the
revision owed, and the fixing step always runs from it (:func:`revise_open`), with the notes
as the row holds them (:func:`noted`). A ``loop_back`` row with no graded run of its route's
skill on its route's target after it is open: the next ``slate run`` makes that revision with
exactly those notes before anything else, and logs no new row, so it is the same revision
against ``loops.max_revisions``, not one more. Only the latest ``loop_back`` row is read (the
orchestrator closes each one before it can log another); a round of several rows (imported
scenes, below) killed between two of them is finished from it (:func:`rest_of_round`).

A cost overrun may force narrative simplification (SPEC §6 cross-loop triggers): when even
every reduction the cost plan may make (cheaper routing, shorter and split shots) cannot fit
a projection under its cap, :func:`simplify_story` sends the cost report's overrun to
story-architect as a "simplify" revision (fewer or shorter scenes, fewer shots, the costliest
named), logged and bounded like any other route; past the bound the budget hard-stops.

On an imported screenplay (SCENES and no PREMISE) story-architect cannot run, so a route to
it is re-routed (:func:`reroute`, from :func:`send_back` and ``_loops``): each scene the
findings name goes to scene-revision with the findings naming it, one row a scene, one round
against the bound; a finding naming no scene is a hard stop saying what the person can do.
"""

from __future__ import annotations

import re
from typing import Protocol

from ..core._gate import FixRoute, Gate
from ..core._names import target_fields
from ..core._reasons import join_reasons, recorded, split_reasons
from ..engine._readiness import scene_rows
from ..engine._runner import Runner, RunResult
from ..engine._stops import record_hard_stop
from ..rules._digest import named_scenes
from ..store import _runlog
from ..store._index import crash_point
from ..store._store import Record

__all__ = [
    "CRASH_AFTER_LOOP_BACK",
    "LoopBack",
    "log_loop_back",
    "loop_backs_since_pass",
    "noted",
    "open_loop_back",
    "record_loop_back",
    "reroute",
    "rest_of_round",
    "revise_open",
    "revise_row",
    "send_back",
    "sent_from",
    "simplify_story",
]

EVENT = "loop_back"
STORY = "story-architect"  # the step that can make the story cheaper: fewer, shorter scenes
CRASH_AFTER_LOOP_BACK = "loop_back_recorded"  # FILMSLATE_CRASH_AT checkpoint (crash tests)
SEP = "; "  # between findings in a stop's text (a row's notes: core._reasons)
ROUTED = re.compile(r"to (\S+) on (\S+): (.*)")  # a loop_back row's notes
GRADED = ("PASS", "FAIL", "FIX")  # a run that made (or judged) a version: not a WAITING


class LoopBack(Exception):
    """A step's FAIL that goes upstream: the failing run and where its findings go."""

    def __init__(self, failed: RunResult, route: FixRoute) -> None:
        super().__init__(failed.skill)
        self.failed, self.route = failed, route

    def __str__(self) -> str:
        return (
            f"{self.failed.skill} {self.failed.target} -> {self.route.skill} "
            f"{self.route.target}: " + "; ".join(self.route.findings)
        )


def loop_backs_since_pass(runner: Runner, skill: str, target: str, besides: str = "") -> int:
    """How many times the skill's findings on the target went upstream since it last passed:
    rounds, one a failed run however many targets its findings went to (imported scenes: one
    row a scene), not counting the round of the failed run ``besides``."""
    conn = runner.store.conn
    passed = conn.execute(
        "SELECT coalesce(max(seq), 0) FROM runlog WHERE skill_name = ? AND target = ? AND "
        "event = 'run' AND outcome = 'PASS'",
        (skill, target),
    ).fetchone()[0]
    return int(
        conn.execute(
            "SELECT count(DISTINCT coalesce(nullif(parent_run_id, ''), run_id)) FROM runlog "
            "WHERE event = ? AND skill_name = ? AND target = ? AND seq > ? "
            "AND (? = '' OR parent_run_id != ?)",
            (EVENT, skill, target, passed, besides, besides),
        ).fetchone()[0]
    )


def record_loop_back(runner: Runner, back: LoopBack) -> str | None:
    """Log the route (from, to, the findings) and return None, or, past the bound, record a
    hard stop on the auditor's target and return why."""
    failed, route = back.failed, back.route
    bound = runner.config.loops.max_revisions
    if loop_backs_since_pass(runner, failed.skill, failed.target, failed.run_id) >= bound:
        reason = (
            f"{failed.skill} on {failed.target} still FAILs after {bound} revision(s) by "
            f"{route.skill} on {route.target}: " + "; ".join(route.findings)
        )
        record_hard_stop(runner.project, failed.target, "gate", reason, failed.skill)
        return reason + ". Revise the work by hand, or record `slate override`."
    report = failed.records[0].filename if failed.records else ""
    log_loop_back(
        runner,
        _runlog.LogEntry(
            run_id=_runlog.new_run_id(),
            parent_run_id=failed.run_id,
            skill_name=failed.skill,
            event=EVENT,
            **target_fields(failed.target),
            outcome="FAIL",
            artifact_output=report,
            notes=f"to {route.skill} on {route.target}: " + join_reasons(route.findings),
        ),
    )
    return None


def log_loop_back(runner: Runner, entry: _runlog.LogEntry) -> None:
    """Write a ``loop_back`` row: from here on the revision it names is owed (resumable)."""
    runner.store.log(entry)
    crash_point(CRASH_AFTER_LOOP_BACK)


def noted(findings: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The findings as a ``loop_back`` row records them (whitespace folded, joined as a run
    row's gate reasons are: ``core._reasons``, so a finding holding ``"; "`` stays one):
    what the fixing step gets as its notes, so a run and its resume after a kill send the
    same prompt."""
    return recorded(findings)


def open_loop_back(runner: Runner) -> FixRoute | None:
    """The route of the latest ``loop_back`` row when its revision was not made yet: no
    graded run of the route's skill on its target after the row (a kill -9 between the two,
    or a handoff still waiting). Reads the last row of that event and the runs of one skill
    on one target, never the whole log."""
    conn = runner.store.conn
    row = conn.execute(
        "SELECT seq, notes FROM runlog WHERE event = ? ORDER BY seq DESC LIMIT 1", (EVENT,)
    ).fetchone()
    routed = ROUTED.fullmatch(row[1]) if row else None
    if row is None or routed is None:
        return None
    skill, target, notes = routed.groups()
    marks = ", ".join("?" * len(GRADED))
    made = conn.execute(
        "SELECT 1 FROM runlog WHERE skill_name = ? AND target = ? AND event = 'run' "
        f"AND outcome IN ({marks}) AND seq > ? LIMIT 1",
        (skill, target, *GRADED, row[0]),
    ).fetchone()
    return None if made else FixRoute(skill, target, split_reasons(notes))


def sent_from(runner: Runner, report: str) -> set[str] | None:
    """The targets a report's findings were sent to so far (its ``loop_back`` rows), when
    its sends may be unfinished (a pass killed between two of them); None when none was sent
    or a hard stop came after the first (the sending stopped there for a person)."""
    conn = runner.store.conn
    rows = conn.execute(  # by the report (a few rows name it), not by every loop_back row
        "SELECT seq, target FROM runlog WHERE artifact_output = ? AND +event = ?", (report, EVENT)
    ).fetchall()
    if not rows:
        return None
    stopped = conn.execute(
        "SELECT 1 FROM runlog WHERE event = 'hard_stop' AND seq > ? LIMIT 1",
        (min(seq for seq, _ in rows),),
    ).fetchone()
    return None if stopped else {str(target) for _, target in rows}


class Fixer(Protocol):
    """What :func:`revise_open` needs of the orchestrator: its step."""

    runner: Runner

    def _run(
        self, skill: str, target: str, *, stop_on_fail: bool = True, feedback: tuple[str, ...] = ()
    ) -> RunResult:
        """Run a skill to PASS, or stop the run (the orchestrator's step)."""


def revise_open(orch: Fixer) -> bool:
    """Make the revision an open ``loop_back`` row owes (its skill on its target, the row's
    notes as the revision notes), then send and revise the rest of its round a kill cut
    short (:func:`rest_of_round`); False when nothing was owed."""
    owed = revise_row(orch)
    rest = rest_of_round(orch.runner)
    for back in rest:
        if record_loop_back(orch.runner, back) is not None:
            break  # cannot be past the bound within a round; a stop ends the run anyway
        revise_row(orch)
    return owed or bool(rest)


def revise_row(orch: Fixer) -> bool:
    """The revision an open ``loop_back`` row owes, made; False when none is open."""
    route = open_loop_back(orch.runner)
    if route is None:
        return False
    orch._run(route.skill, route.target, feedback=route.findings)
    return True


def rest_of_round(runner: Runner) -> list[LoopBack]:
    """The routes of the latest ``loop_back`` row's round with no row yet. A review of
    imported scenes goes to each scene it names, one row a scene (:func:`reroute`); a kill
    between two rows leaves the rest unsent. The round is rebuilt from the review's run row
    (its findings) while that run is still the reviewer's latest; empty otherwise."""
    conn = runner.store.conn
    row = conn.execute(
        "SELECT parent_run_id, skill_name, target, artifact_output, notes FROM runlog "
        "WHERE event = ? ORDER BY seq DESC LIMIT 1",
        (EVENT,),
    ).fetchone()
    if row is None or row[2] != "PROJECT" or not row[3]:
        return []
    parent, skill, target, report, notes = row
    if not notes.startswith(f"to {SCENE_REVISION} on "):
        return []  # one route a round: nothing else to send
    run = conn.execute(
        "SELECT run_id, notes FROM runlog WHERE skill_name = ? AND target = ? AND "
        "event = 'run' ORDER BY seq DESC LIMIT 1",
        (skill, target),
    ).fetchone()
    if run is None or run[0] != parent:
        return []  # the reviewer ran again: that round is over
    findings = split_reasons(run[1])
    route = FixRoute(STORY, target, findings)
    record = runner.store.record(report)
    failed = RunResult(
        skill, target, "done", Gate("FAIL", findings, route), [record], run_id=parent
    )
    routes = reroute(runner, LoopBack(failed, route))
    if isinstance(routes, str):
        return []
    logged = conn.execute(
        "SELECT notes FROM runlog WHERE artifact_output = ? AND +event = ? AND parent_run_id = ?",
        (report, EVENT, parent),
    ).fetchall()
    sent = {m.group(2) for (cell,) in logged if (m := ROUTED.fullmatch(cell))}
    return [back for back in routes if back.route.target not in sent]


def simplify_story(
    runner: Runner, skill: str, target: str, findings: tuple[str, ...], report: Record | None
) -> LoopBack | None:
    """The route of a cost overrun no shot reduction fits: story-architect on PROJECT, the
    findings its revision notes (``report``, the cost report, is what the loop_back row
    names). None when the story cannot be revised here (imported scenes: no premise) or the
    route has reached ``loops.max_revisions`` since ``skill`` last passed on ``target``: the
    caller then hard-stops for the budget."""
    if runner.store.latest("PREMISE") is None:
        return None
    if loop_backs_since_pass(runner, skill, target) >= runner.config.loops.max_revisions:
        return None
    route = FixRoute(STORY, "PROJECT", findings)
    failed = RunResult(
        skill,
        target,
        "done",
        Gate("FAIL", findings, route),
        [report] if report is not None else [],
        run_id=report.run_id if report is not None else "",
    )
    return LoopBack(failed, route)


# -- imported scenes: no structure to revise, so the scenes the findings name ----------------

SCENE_REVISION = "scene-revision"  # rewrites one scene's row and script slice


def unmet(runner: Runner, skill: str) -> list[str]:
    """The kinds of the skill's required project inputs that do not exist: story-architect
    on imported scenes lacks PREMISE (the story phase skips it there)."""
    return [
        need.kind
        for need in runner.registry.get(skill).needs
        if need.scope == "project" and not need.optional and runner.store.latest(need.kind) is None
    ]


def reroute(runner: Runner, back: LoopBack) -> list[LoopBack] | str:
    """Where ``back``'s findings can go: ``[back]`` while its route's skill can run.

    On an imported project a route to story-architect cannot run, so the findings go to
    scene-revision of each scene they name (``S07``, ``S7``), in SCENES order, each scene with
    the findings naming it. A finding that names no scene cannot be fixed by any revision
    here: a hard stop is recorded on the auditor's target (nothing more is paid until a
    person acts) and its text, saying what to do, is returned. The scenes it does name are
    not revised either: the person's re-import would replace those revisions.
    """
    route, failed = back.route, back.failed
    missing = unmet(runner, route.skill) if route.skill == STORY else []
    if not missing or runner.store.latest("SCENES") is None:
        return [back]
    ids = [row.scene_id for row in scene_rows(runner.project)]
    named = {finding: named_scenes([finding], ids) for finding in route.findings}
    unnamed = [finding for finding, scenes in named.items() if not scenes]
    if unnamed:
        reason = (
            f"{failed.skill} on {failed.target} FAILs on finding(s) that name no scene: "
            + SEP.join(unnamed)
            + f". The scenes were imported (no {', '.join(missing)}), so {STORY} cannot "
            "revise the structure, and a scene revision needs a scene"
        )
        record_hard_stop(runner.project, failed.target, "gate", reason, failed.skill)
        return (
            f"{reason}. Revise the screenplay and `slate import` it again, then record "
            f"`slate override {failed.target} --reason ... --cost-impact 0` so {failed.skill} "
            "reviews the new scenes."
        )
    return [
        LoopBack(
            failed, FixRoute(SCENE_REVISION, scene, tuple(f for f in named if scene in named[f]))
        )
        for scene in ids
        if any(scene in scenes for scenes in named.values())
    ]


def send_back(orch: Fixer, back: LoopBack) -> str | None:
    """Log where ``back``'s findings go (:func:`reroute`) and return None, or the stop's text
    (past the bound, or findings no revision here can fix). Of several routes (imported
    scenes) each but the last is revised before the next row is logged, since a resume reads
    only the latest row; the last is revised by the next pass, as a single route is."""
    routes = reroute(orch.runner, back)
    if isinstance(routes, str):
        return routes
    *first, last = routes
    for each in first:
        if (stop := record_loop_back(orch.runner, each)) is not None:
            return stop
        revise_row(orch)  # this row only: the round's next rows follow here
    return record_loop_back(orch.runner, last)
