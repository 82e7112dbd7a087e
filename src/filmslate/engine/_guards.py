"""Guards: the refusals a run checks before it spends anything.

Open hard stops (and a broken run log), SPEC §6 loop order, silent provider switches, the
regeneration limits of a shot, and regrading a take that was already graded. Each guard
raises; none writes anything but the hard stop it finds.
"""

from __future__ import annotations

from ..core._errors import HardStop, InputNotReady
from ..core._names import scene_of
from ..store._project import Project
from ..store._store import Store
from ._regen import check_regen
from ._router import BUILTIN, Route
from ._skill import Skill
from ._stops import open_hard_stops, record_hard_stop

# The cost review and the budget status: free (no model, no service), and what a person reads
# to choose between simplifying and an override, so a budget stop does not refuse them.
BUDGET_REVIEWS = frozenset({"cost-optimizer", "budget-gates"})


def refuse_on_hard_stops(project: Project, target: str, skill: str) -> None:
    """Refuse while the run log is broken or a hard stop covers the target."""
    if project.store.log_problem:
        raise HardStop(project.store.log_problem)
    stops = open_hard_stops(project, target, skill)
    if skill in BUDGET_REVIEWS:  # SPEC §8: they generate nothing, and decide a budget stop
        stops = [stop for stop in stops if stop.kind != "budget"]
    if stops:
        kind, reason = stops[0].kind, stops[0].reason.rstrip(".")
        advice = f"record `slate override {target} --reason ... --cost-impact AMOUNT`"
        raise HardStop(
            f"hard stop ({kind}) on {target} or what contains it: {reason}."
            + ("" if "slate override" in reason else f" Resolve it, or {advice}."),
            kind=kind,
            target=target,
        )


def check_loop_order(project: Project, skill: Skill, target: str) -> None:
    """SPEC §6: no production before the narrative and validation loops pass, and no
    world-state update before the scene's validation passes."""
    scene = scene_of(target)
    tracker = skill.name == "world-state-tracker"
    if (
        not project.config.loops.enforce_order
        or not scene
        or not (tracker or skill.layer == "production")
    ):
        return
    from ._readiness import production_allowed

    _, reasons = production_allowed(project, scene)
    if tracker:
        reasons = [r for r in reasons if r.startswith("validation")]
    if reasons:
        raise InputNotReady(
            f"{skill.name} cannot run on {target} yet:\n  - " + "\n  - ".join(reasons),
            skill=skill.name,
            target=target,
        )


def refuse_silent_switch(store: Store, route: Route) -> None:
    """A tier whose model changed since its last run needs a recorded switch decision."""
    if route.model == BUILTIN:
        return
    previous = last_model(store, route.tier)
    if previous is None or previous[1] == route.model:
        return
    decided = store.conn.execute(
        "SELECT 1 FROM runlog WHERE tier = ? AND event = 'routing' AND outcome = 'SWITCH' "
        "AND model_used = ? AND seq > ? LIMIT 1",
        (route.tier, route.model, previous[0]),
    ).fetchone()
    if decided is None:
        raise HardStop(
            f"tier {route.tier} now maps to {route.model} but its last run used "
            f"{previous[1]}: no silent provider switches. Record the decision with "
            f"`slate switch {route.tier} --reason ...` (it compares costs), or restore "
            "the old mapping in filmslate.toml.",
            tier=route.tier,
        )


def last_model(store: Store, tier: str) -> tuple[int, str] | None:
    """(log seq, model) of the last run or routing decision that used a model on a tier."""
    row = store.conn.execute(
        "SELECT seq, model_used FROM runlog WHERE tier = ? AND event IN ('run', 'routing') "
        "AND model_used NOT IN ('', 'builtin') AND outcome != 'ESCALATE' "
        "ORDER BY seq DESC LIMIT 1",
        (tier,),
    ).fetchone()
    return (int(row[0]), str(row[1])) if row else None


def enforce_regen_limit(project: Project, skill: Skill, target: str) -> None:
    """Refuse a shot past its regeneration limits, recording the hard stop once."""
    try:
        check_regen(project, skill.name, target)
    except HardStop as stop:
        kind = str(stop.context.get("kind", "regen_limit"))
        if not any(s.kind == kind for s in open_hard_stops(project, target, skill.name)):
            record_hard_stop(project, target, kind, str(stop), skill.name)
        raise


# A person's verdict on a proxy take (`slate approve` / `reject`, workflow._review) is the
# take's grade from then on, as the QC row it writes is the shot's last.
HUMAN_REVIEW = "human-review"


def graded(store: Store, skill: type[Skill], target: str) -> str | None:
    """The verdict a grading skill (or a person, for a proxy) gave the target's current take
    (None: not graded)."""
    take = store.latest(skill.grades, target)
    if take is None:
        return None
    human = HUMAN_REVIEW if skill.grades == "PROXY" else ""
    row = store.conn.execute(
        "SELECT outcome FROM runlog WHERE target = ? AND outcome IN ('PASS', 'FIX', 'FAIL') "
        "AND seq > ? AND ((skill_name = ? AND event = 'run') OR (skill_name = ? AND event = "
        "'write')) ORDER BY seq DESC LIMIT 1",
        (target, store.written_at(take.filename), skill.name, human),
    ).fetchone()
    return str(row[0]) if row else None


def refuse_regrading(store: Store, skill: type[Skill], target: str) -> None:
    """A take graded FIX or FAIL is not graded again: a new take is made first."""
    verdict = graded(store, skill, target)
    if verdict in ("FIX", "FAIL"):
        raise InputNotReady(
            f"{target}: its current {skill.grades} was already graded {verdict}; grading "
            f"it again is not a new attempt. Run regen-analyzer and prompt-packager on "
            f"{target}, render it again, then grade the new take (or --force a second "
            "opinion, which counts as another attempt)",
            target=target,
        )
