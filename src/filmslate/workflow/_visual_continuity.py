"""The visual continuity pass of a scene in the orchestrated run (issue 13 §4).

With ``[qc] visual_continuity = true``, once every shot of a scene has a take QC accepted and
before any final is rendered, visual-continuity looks at the scene's takes (proxies: a regen
then costs a proxy, and no final is made from a take that breaks continuity; a final is
rendered from the same GenPack, and render-final's own checks still grade it). On a FAIL
every shot with a High finding goes back to regen, as a QC FIX or FAIL does: a ``loop_back``
row (from visual-continuity on the shot, to regen-analyzer, the findings), regen-analyzer with
the findings as its notes (they become the shot's rules), then the shot's proxy loop again (a
new GenPack, a new take, QC), and the pass looks again.

Bounded like any regeneration of the shot: after as many sends as the hero tier's regen limit
(``[regen] limit_a`` / ``limit_b`` / ``limit_c``) since the pass last passed on the scene (or an
override on the shot), the shot gets a hard stop (``regen_limit``, on regen-analyzer: the
shot may not be made again) for a person, and the run stops there until ``slate override``;
a later run stops at that shot before anything is looked at again.

Resumable (``_backward``): regen-analyzer runs from the row just logged, and a run killed
between a report's sends makes the rest (the report's failing shots without a row naming it)
before it looks again, so a kill -9 costs no extra look and no send twice.
"""

from __future__ import annotations

from typing import Protocol

from ..core._errors import RunError
from ..core._gate import Gate
from ..engine._readiness import passed_and_fresh
from ..engine._regen import ANALYZER, hero_tier_of
from ..engine._runner import Runner, RunResult
from ..engine._stops import open_hard_stops, record_hard_stop
from ..rules._continuity_visual import high_by_shot
from ..schemas import ShotRow
from ..schemas._continuity import VisualContinuity
from ..store import _runlog
from ._backward import EVENT, LoopBack, log_loop_back, revise_open, sent_from
from ._pending import shot_rows

__all__ = ["SKILL", "Production", "sends_since_pass", "visual_pass"]

SKILL = "visual-continuity"
MAX_ROUNDS = 10  # passes over one scene in one run; the regen limits stop far earlier


class Production(Protocol):
    """What the pass needs of the orchestrator: its steps and a shot's proxy loop."""

    runner: Runner

    def _run(
        self, skill: str, target: str, *, stop_on_fail: bool = True, feedback: tuple[str, ...] = ()
    ) -> RunResult:
        """Run a skill to PASS, or stop the run (the orchestrator's step)."""

    def proxy_until_accepted(self, shot: str, row: ShotRow | None = None) -> None:
        """storyboard -> GenPack -> proxy -> QC until the shot's take is accepted."""


def visual_pass(orch: Production, scene: str) -> None:
    """Look at the scene's accepted takes and send every shot that breaks continuity back to
    regen until the pass passes (a no-op unless ``[qc] visual_continuity`` is on)."""
    runner = orch.runner
    if not runner.config.qc.visual_continuity or not shot_rows(runner, scene):
        return
    skill = runner.registry.get(SKILL)
    for _ in range(MAX_ROUNDS):
        if passed_and_fresh(runner.project, skill, scene):
            return
        _refuse_stopped(orch, scene)
        owed = _unsent(runner, scene)  # a killed pass's sends are made before a new look
        if owed is None:
            try:  # the orchestrator's step: cost reviews, handoff waits and stops as for any
                result = orch._run(SKILL, scene, stop_on_fail=False)
            except LoopBack as back:  # one failing shot: routed to regen-analyzer by the gate
                result = back.failed
            if result.gate.passed:
                return
            owed = result, _failing(runner, scene)
        for shot, findings in owed[1].items():
            _send_back(orch, owed[0], shot, findings)
    raise RunError(f"{scene} still breaks continuity after {MAX_ROUNDS} rounds", target=scene)


def sends_since_pass(runner: Runner, scene: str, shot: str) -> int:
    """How many times the pass sent the shot back to regen since it last passed on the scene
    (or an override on the shot lifted the count)."""
    conn = runner.store.conn
    since = conn.execute(
        "SELECT coalesce(max(seq), 0) FROM runlog WHERE (skill_name = ? AND target = ? AND "
        "event = 'run' AND outcome = 'PASS') OR (event = 'override' AND target = ?)",
        (SKILL, scene, shot),
    ).fetchone()[0]
    return int(
        conn.execute(
            "SELECT count(*) FROM runlog WHERE event = ? AND skill_name = ? AND target = ? "
            "AND seq > ?",
            (EVENT, SKILL, shot, since),
        ).fetchone()[0]
    )


def _failing(runner: Runner, scene: str) -> dict[str, list[str]]:
    """Each shot's High findings in the scene's latest report, in shot order."""
    record = runner.store.latest("VISUAL_CONTINUITY", scene)
    report = runner.store.load(record.name) if record else None
    return high_by_shot(report.findings) if isinstance(report, VisualContinuity) else {}


def _unsent(runner: Runner, scene: str) -> tuple[RunResult, dict[str, list[str]]] | None:
    """The latest report and its failing shots not sent back yet, when a killed pass had
    begun sending them (``_backward.sent_from``); None otherwise."""
    record = runner.store.latest("VISUAL_CONTINUITY", scene)
    sent = sent_from(runner, record.filename) if record else None
    if record is None or sent is None:
        return None
    left = {shot: found for shot, found in _failing(runner, scene).items() if shot not in sent}
    failed = RunResult(SKILL, scene, "done", Gate("FAIL"), [record], run_id=record.run_id)
    return (failed, left) if left else None


def _send_back(orch: Production, failed: RunResult, shot: str, findings: list[str]) -> None:
    """Log the route, then regen-analyzer with the findings as its notes and the shot's proxy
    loop again; past the shot's regen limit, a hard stop instead."""
    runner = orch.runner
    hero = hero_tier_of(runner.project, shot)
    limit = runner.config.regen.limit(hero)  # type: ignore[arg-type]
    sent = sends_since_pass(runner, failed.target, shot)
    if sent >= limit:
        reason = (
            f"{shot} (hero {hero}) still breaks continuity after {sent} regeneration(s), the "
            f"limit for hero tier {hero}: " + "; ".join(findings)
        )
        record_hard_stop(runner.project, shot, "regen_limit", reason, ANALYZER)
        _stop_at(orch, shot)
    report = failed.records[0].filename if failed.records else ""
    log_loop_back(
        runner,
        _runlog.LogEntry(
            run_id=_runlog.new_run_id(),
            parent_run_id=failed.run_id,
            skill_name=SKILL,
            event=EVENT,
            target=shot,
            scene_id=failed.target,
            shot_id=shot,
            outcome="FAIL",
            artifact_output=report,
            notes=f"to {ANALYZER} on {shot}: " + "; ".join(findings),
        ),
    )
    revise_open(orch)  # regen-analyzer, the row's findings its notes (as a resume would)
    orch.proxy_until_accepted(shot)


def _refuse_stopped(orch: Production, scene: str) -> None:
    """A shot of the scene that may not be regenerated (a hard stop on regen-analyzer, this
    pass's or QC's) stops the run before anything is looked at again."""
    for row in shot_rows(orch.runner, scene):
        if open_hard_stops(orch.runner.project, row.shot_id, ANALYZER):
            _stop_at(orch, row.shot_id)


def _stop_at(orch: Production, shot: str) -> None:
    """Stop the run at the shot's hard stop: the runner's guard refuses regen-analyzer there
    with the stop's reason and the way out (`slate override`), and the orchestrator's step
    turns that refusal into the run's stop."""
    orch._run(ANALYZER, shot)
    raise RunError(f"{shot}: the hard stop on regen-analyzer did not hold", target=shot)
