"""The runner: execute one skill for one target under every rule, and the loop around it.

One run: refuse on missing, stale or failed inputs and on open hard stops; route; reserve
budget; call; write the artifacts with their lineage; record the gate; log; settle. The loop
revises on FAIL with the gate's reasons, escalates one tier after the configured number of
revisions (writing a ROUTING_DECISION), and hard-stops past the top tier. Its state is read
back from the run log, so a killed or waiting loop resumes where it stopped.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel

from ..core._budget import BudgetView
from ..core._errors import (
    ArtifactNotFound,
    GateFailed,
    HardStop,
    InputNotReady,
    ProviderError,
    RunError,
    WaitingForHandoff,
)
from ..core._gate import Gate
from ..core._names import SHOT_RE, format_stem, kind, lock_subject, scene_of, target_fields
from ..core._video_prices import price_per_second
from ..schemas import Artifact, schema_for
from ..store import _runlog
from ..store._ledger import Ledger
from ..store._project import Project
from ..store._store import Record, crash_point
from ._gateway import Gateway, ProviderSettings, TextRequest
from ._regen import check_regen
from ._router import BUILTIN, EscalationCheck, Route, Router
from ._skill import Context, Inputs, Media, Need, Registry, Skill, load_skills
from ._stops import all_open_hard_stops, gate_of, open_hard_stops, record_hard_stop


@dataclass
class RunResult:
    """What one run (or a whole loop) ended with."""

    skill: str
    target: str
    status: Literal["done", "waiting", "up_to_date"]
    gate: Gate = field(default_factory=lambda: Gate("PASS"))
    records: list[Record] = field(default_factory=list)
    route: Route | None = None
    run_id: str = ""
    attempt: int = 1
    estimated_cost: float = 0.0
    actual_cost: float = 0.0
    task_path: str = ""
    earlier: list[tuple[int, Gate]] = field(default_factory=list)  # (attempt, gate) revised


@dataclass
class _Meter:
    """Model calls made during one run: their cost and the last request (for escalation)."""

    estimated: float = 0.0
    actual: float = 0.0
    last_request: TextRequest | None = None


class Runner:
    """Runs skills on one project."""

    def __init__(self, project: Project, registry: Registry | None = None,
                 gateway: Gateway | None = None) -> None:
        self.project = project
        self.store = project.store
        self.config = project.config
        self.registry = load_skills(registry)
        for relative in project.config.skills.paths:
            self.registry.load_file(project.root / relative)
        self.ledger = Ledger(project.store, project.config)
        self.router = Router(project.store, project.config)
        self.gateway = gateway or Gateway(project.root, provider_settings(project))
        self._render: Any = None
        self._remember_layers()

    def _remember_layers(self) -> None:
        conn = self.store.conn
        conn.executemany("INSERT OR REPLACE INTO skill_layers VALUES (?, ?)",
                         [(s.name, s.layer) for s in self.registry])

    # -- inputs -------------------------------------------------------------------------

    def load_inputs(self, skill: Skill, target: str) -> Inputs:
        """Load every declared input, refusing missing, stale or failed ones."""
        inputs = Inputs()
        for need in skill.needs:
            if need.scope in ("all", "within", "adjacent", "cast", "scene_set"):
                for record in self._many(need, target):
                    self._check_usable(record, need)
                    inputs.many.setdefault(need.kind, {})[record.name.subject or ""] = \
                        self._load(record)
                    if need.lineage:
                        inputs.names.append(record.filename)
                continue
            if need.scope == "before_scene":
                # optional means the first scene may start with no initial state; a later
                # scene whose predecessor is untracked is refused (order matters)
                latest = self._state_before(target)
            elif need.scope == "previous":
                latest = self._previous_scene(need.kind, target)
            else:
                latest = self.store.latest(need.kind, _subject_for(need, target))
            if latest is None:
                if need.optional:
                    continue
                raise self._missing(need, target)
            self._check_usable(latest, need)
            inputs.one[need.kind] = self._load(latest)
            if need.lineage:
                inputs.names.append(latest.filename)
        return inputs

    def _many(self, need: Need, target: str) -> list[Record]:
        """Records of a many-subject need: every subject, or just the target's cast / set."""
        if need.scope == "all" or not scene_of(target):
            # a whole-story target (PROJECT, an act) has everyone as its cast
            return self.store.latest_of_each(need.kind)
        if need.scope in ("within", "adjacent"):
            scenes = [scene_of(target)]
            if need.scope == "adjacent":
                scenes.insert(0, previous_scene(scenes[0]) or "")
            near = [self.store.latest(need.kind, s) for s in scenes if s]
            return [r for r in near if r is not None]
        cast, location = self._cast_and_set(target)
        subjects = cast if need.scope == "cast" else [location] if location else []
        found = []
        for subject in subjects:
            record = self.store.latest(need.kind, subject)
            if record is None and not need.optional:
                raise self._missing(Need(need.kind, "target"), target, subject)
            if record is not None:
                found.append(record)
        return found

    def _cast_and_set(self, target: str) -> tuple[list[str], str]:
        """Characters and set of a scene (from SCENES) or a shot (from its SHOTLIST row)."""
        scene = scene_of(target)
        if SHOT_RE.fullmatch(target):
            shots = self.store.latest("SHOTLIST", scene)
            for row in getattr(self.store.load(shots.name), "rows", []) if shots else []:
                if row.shot_id == target:
                    return list(row.char_ids), str(row.set_id)
            return [], ""
        scenes = self.store.latest("SCENES")
        for row in getattr(self.store.load(scenes.name), "rows", []) if scenes else []:
            if row.scene_id == scene:  # lock subjects are canonical: "Old Mill" -> OLD_MILL
                return ([lock_subject(c) for c in row.characters_present],
                        lock_subject(str(row.location)))
        return [], ""

    def _state_before(self, target: str) -> Record | None:
        """The WORLD_STATE as it stood before the target's scene: the latest state after the
        previous scene (the initial state for the first), so tracking later scenes does not
        make this scene's inputs stale."""
        previous = previous_scene(scene_of(target))
        state = self.store.state_after(previous or "")
        if state is None and previous is not None:
            raise InputNotReady(f"no WORLD_STATE after {previous}: run `slate run "
                                f"world-state-tracker --scene {previous}` first",
                                input=f"WORLD_STATE after {previous}")
        return state

    def _previous_scene(self, kind_name: str, target: str) -> Record | None:
        """The latest version of ``kind`` for the nearest earlier scene that has one."""
        scene = scene_of(target)
        if not scene:
            return None
        row = self.store.conn.execute(
            "SELECT subject FROM artifacts WHERE kind = ? AND CAST(substr(subject, 2) AS "
            "INTEGER) < ? ORDER BY CAST(substr(subject, 2) AS INTEGER) DESC LIMIT 1",
            (kind_name, int(scene[1:]))).fetchone()
        return self.store.latest(kind_name, row[0]) if row else None

    def _load(self, record: Record) -> Any:
        if record.name.spec.binary:
            return self.store.read(record.name)
        return self.store.load(record.name)

    def _missing(self, need: Need, target: str, subject: str | None = None) -> InputNotReady:
        subject = subject or _subject_for(need, target)
        stem = format_stem(need.kind, subject)
        producer = self.registry.producer_of(need.kind)
        how = (f"run `slate run {producer.name}{_target_flag(producer, target)}`" if producer
               else f"add it by hand with `slate add {stem}.{kind(need.kind).extension}`")
        return InputNotReady(f"missing input {stem}: {how}", input=stem)

    def _check_usable(self, record: Record, need: Need) -> None:
        if need.history:
            return
        stale = self.store.stale_inputs(record.name)
        if stale:
            old, new = stale[0]
            raise InputNotReady(f"input {record.filename} is stale: it was made from {old}, "
                                f"now {new}; rerun what produces {need.kind}",
                                input=record.filename)
        verdict = gate_of(self.project, record.filename)
        if verdict in ("FAIL", "FIX"):
            raise InputNotReady(f"input {record.filename} failed its gate ({verdict}): revise "
                                "it first; nothing runs downstream of a failed gate",
                                input=record.filename)

    # -- one run ------------------------------------------------------------------------

    def run_once(self, skill_name: str, target: str, *, route: Route | None = None,
                 feedback: Sequence[str] = (), attempt: int = 1, parent_run_id: str = "",
                 params: dict[str, Any] | None = None) -> RunResult:
        """Execute a skill once for a target and record everything about it."""
        skill = self.registry.get(skill_name)()
        skill.check_target(target)
        self._refuse_on_hard_stops(target, skill.name)
        if skill.regen_limited and SHOT_RE.fullmatch(target):
            self._check_regen(skill, target)
        self._check_loop_order(skill, target)
        inputs = self.load_inputs(skill, target)
        route = route or self.router.route(skill.tier, skill.uses_model)
        self._refuse_silent_switch(route)
        run_id = _runlog.new_run_id()
        meter = _Meter()
        ctx = Context(target=target, inputs=inputs, config=self.config,
                      feedback=tuple(feedback), attempt=attempt, params=dict(params or {}))
        if skill.uses_model:
            ctx.ask_model = self._asker(skill, target, route, run_id, attempt, meter)
        if skill.wants_budget_view:
            ctx.params["budget_view"] = self.budget_view(target)
        if skill.wants_existing:
            ctx.params["existing"] = self.existing_outputs(skill)
        if skill.uses_video:
            ctx.params.setdefault("render", self.render_service())
        started = time.monotonic()
        try:
            outputs = skill.produce(ctx)
        except WaitingForHandoff as wait:
            self._log_run(skill, target, route, run_id, parent_run_id, meter, started,
                          "WAITING", attempt, [], f"waiting for an answer to {wait.task_path}")
            return RunResult(skill.name, target, "waiting", route=route, run_id=run_id,
                             attempt=attempt, task_path=str(wait.task_path))
        gate = skill.gate(outputs, ctx)
        records = self._write_outputs(skill, target, outputs, inputs, gate, run_id, route)
        self._log_run(skill, target, route, run_id, parent_run_id, meter, started,
                      gate.verdict, attempt, records, "; ".join(gate.reasons))
        return RunResult(skill.name, target, "done", gate, records, route, run_id, attempt,
                         meter.estimated, meter.actual)

    def _refuse_on_hard_stops(self, target: str, skill: str) -> None:
        if self.store.log_problem:
            raise HardStop(self.store.log_problem)
        stops = open_hard_stops(self.project, target, skill)
        if stops:
            kind, reason = stops[0].kind, stops[0].reason
            raise HardStop(f"hard stop ({kind}) on {target} or what contains it: {reason}. "
                           f"Resolve it, or record `slate override {target} --reason ... "
                           "--cost-impact AMOUNT`.", kind=kind, target=target)

    def _check_loop_order(self, skill: Skill, target: str) -> None:
        """SPEC §6: no production before the narrative and validation loops pass, and no
        world-state update before the scene's validation passes."""
        scene = scene_of(target)
        tracker = skill.name == "world-state-tracker"
        if not self.config.loops.enforce_order or not scene or not (
                tracker or skill.layer == "production"):
            return
        from ._readiness import production_allowed

        _, reasons = production_allowed(self.project, scene)
        if tracker:
            reasons = [r for r in reasons if r.startswith("validation")]
        if reasons:
            raise InputNotReady(f"{skill.name} cannot run on {target} yet:\n  - "
                                + "\n  - ".join(reasons), skill=skill.name, target=target)

    def _refuse_silent_switch(self, route: Route) -> None:
        """A tier whose model changed since its last run needs a recorded switch decision."""
        if route.model == BUILTIN:
            return
        previous = self._last_model(route.tier)
        if previous is None or previous[1] == route.model:
            return
        decided = self.store.conn.execute(
            "SELECT 1 FROM runlog WHERE tier = ? AND event = 'routing' AND outcome = 'SWITCH' "
            "AND model_used = ? AND seq > ? LIMIT 1", (route.tier, route.model, previous[0])
        ).fetchone()
        if decided is None:
            raise HardStop(
                f"tier {route.tier} now maps to {route.model} but its last run used "
                f"{previous[1]}: no silent provider switches. Record the decision with "
                f"`slate switch {route.tier} --reason ...` (it compares costs), or restore "
                "the old mapping in filmslate.toml.", tier=route.tier)

    def _last_model(self, tier: str) -> tuple[int, str] | None:
        row = self.store.conn.execute(
            "SELECT seq, model_used FROM runlog WHERE tier = ? AND event IN ('run', 'routing') "
            "AND model_used NOT IN ('', 'builtin') AND outcome != 'ESCALATE' "
            "ORDER BY seq DESC LIMIT 1", (tier,)).fetchone()
        return (int(row[0]), str(row[1])) if row else None

    def record_switch(self, tier: str, reason: str) -> Record:
        """Write the ROUTING_DECISION for moving a tier to the model config now names."""
        new = self.router.model_for(tier)
        previous = self._last_model(tier)
        old = previous[1] if previous else "(none)"
        if previous is not None and old == new:
            raise RunError(f"tier {tier} already runs on {new}: nothing to switch")
        impact = self._cost_impact(Route(tier, old, ""), Route(tier, new, "")) \
            if previous else 0.0
        task = f"PROVIDER_SWITCH_{tier.upper()}"
        payload = schema_for("ROUTING_DECISION").model_validate({
            "task": task, "task_type": "provider switch", "required_capability":
                f"the {tier} tier", "tier_selected": tier, "model": new,
            "justification": f"{reason}. Switching {tier} from {old} to {new}; worst-case "
                             f"cost per call changes by {impact:+.4f}.",
            "cost_impact": impact, "escalation_conditions": [
                "visual tiers: a QC sample and a lock-consistency test on the new provider "
                "before batch generation", "revert if the new model fails gates it passed"]})
        return self.store.write("ROUTING_DECISION", task, payload, entry=_runlog.LogEntry(
            run_id=_runlog.new_run_id(), skill_name="model-router", event="routing",
            outcome="SWITCH", tier=tier, model_used=new, estimated_cost=impact,
            target="PROJECT", notes=f"{old} -> {new}: {reason}"))

    def plan_batch(self, target: str) -> Record:
        """Route every planned shot of a scene (or PROJECT) by hero tier within the premium
        quota, and record the plan as a ROUTING_DECISION with its projected cost."""
        rows: list[Any] = []
        used: list[str] = []
        for record in self.store.latest_of_each("SHOTLIST"):
            if target in ("PROJECT", record.name.subject):
                rows.extend(getattr(self.store.load(record.name), "rows", []))
                used.append(record.filename)
        if not rows:
            raise InputNotReady(f"no shot list for {target}: run shot-planner first")
        premium, lines, total = 0, [], 0.0
        for row in rows:
            route = self.router.route_visual(row.hero_tier, len(rows), premium)
            premium += route.tier == "visual_premium"
            tier = route.tier.removeprefix("visual_")
            cost = row.duration_s * self.config.regen.multiplier(row.regen_risk_estimate) * sum(
                price_per_second(self.config, route.model, res) for res in ("proxy", "final"))
            total += cost
            lines.append(f"{row.shot_id}: hero {row.hero_tier} -> {tier} ({route.model}), "
                         f"{row.duration_s:g}s, projected {cost:.2f}: {route.reason}")
        task = f"BATCH_PLAN_{target}"
        payload = schema_for("ROUTING_DECISION").model_validate({
            "task": task, "task_type": "batch generation plan",
            "required_capability": "video generation by hero tier (A premium, B mid, C low)",
            "tier_selected": "visual by hero tier", "model": "per shot, see justification",
            "justification": "\n".join(lines), "cost_impact": round(total, 4),
            "escalation_conditions": [
                "a shot escalates only after QC failure and regen-analyzer, within quota",
                f"premium visual quota {self.config.quotas.premium_visual_pct:g}% of shots"]})
        same = self.store.same_as_latest("ROUTING_DECISION", task, payload, used)
        if same is not None:
            return same  # the shot lists did not change: the plan stands
        return self.store.write("ROUTING_DECISION", task, payload, inputs=used,
                                entry=_runlog.LogEntry(
            run_id=_runlog.new_run_id(), skill_name="model-router", event="routing",
            outcome="BATCH_PLAN", target=target, scene_id=scene_of(target),
            estimated_cost=round(total, 4), notes=f"{len(rows)} shots, {premium} premium"))

    def _check_regen(self, skill: Skill, target: str) -> None:
        try:
            check_regen(self.project, skill.name, target)
        except HardStop as stop:
            kind = str(stop.context.get("kind", "regen_limit"))
            if not any(s.kind == kind for s in open_hard_stops(self.project, target,
                                                               skill.name)):
                record_hard_stop(self.project, target, kind, str(stop), skill.name)
            raise

    def _asker(self, skill: Skill, target: str, route: Route, run_id: str, attempt: int,
               meter: _Meter) -> Any:
        calls = iter(range(1, 1_000_000))

        def ask(output_type: type[BaseModel], system: str, prompt: str) -> BaseModel:
            request = TextRequest(skill=skill.name, target=target, attempt=attempt,
                                  model=route.model, system=system, prompt=prompt,
                                  output_type=output_type, call=next(calls))
            meter.last_request = request
            return self._paid_call(request, route, run_id, meter)
        return ask

    def _paid_call(self, request: TextRequest, route: Route, run_id: str,
                   meter: _Meter) -> BaseModel:
        worst = self.gateway.worst_case_cost(request)
        scene = scene_of(request.target)
        shot = request.target if SHOT_RE.fullmatch(request.target) else ""
        hold = self.ledger.reserve(run_id, scene, shot, worst,
                                   what=f"{request.skill} {request.target} ({route.model})")
        crash_point("after_reserve")
        self.ledger.mark_started(hold)
        try:
            result = self.gateway.complete(request)
        except WaitingForHandoff:
            self.ledger.release(hold, "handed off: no model was called")
            raise
        except ProviderError as exc:
            spent = float(exc.context.get("cost", 0.0) or 0.0)
            if spent > 0:  # tokens were billed even though no usable answer came back
                self.ledger.settle(hold, spent, _runlog.LogEntry(
                    run_id=run_id, skill_name=request.skill, target=request.target,
                    scene_id=scene, shot_id=shot, model_used=request.model, tier=route.tier,
                    estimated_cost=worst, outcome="ERROR", notes=f"failed call: {exc}"))
            else:
                self.ledger.release(hold, f"provider failed before producing an answer: {exc}")
            raise
        self.ledger.settle(hold, result.cost, _runlog.LogEntry(
            run_id=run_id, skill_name=request.skill, target=request.target, scene_id=scene,
            shot_id=shot, model_used=result.model, tier=route.tier, estimated_cost=worst,
            notes=f"tokens in {result.usage.input_tokens} out {result.usage.output_tokens}"))
        meter.estimated += worst
        meter.actual += result.cost
        return result.output

    def _write_outputs(self, skill: Skill, target: str, outputs: list[Any], inputs: Inputs,
                       gate: Gate, run_id: str, route: Route) -> list[Record]:
        records = []
        for payload in outputs:
            if payload.KIND not in skill.produces:
                raise RunError(f"{skill.name} produced a {payload.KIND}, which it does not "
                               f"declare ({', '.join(skill.produces)})")
            entry = _runlog.LogEntry(
                run_id=run_id, skill_name=skill.name, event="write", **target_fields(target),
                model_used=route.model, tier=route.tier, outcome=gate.verdict,
                notes="; ".join(gate.reasons))
            data = payload.data if isinstance(payload, Media) else payload
            subject = _output_subject(payload, target)
            same = self.store.same_as_latest(payload.KIND, subject, data, inputs.names)
            if same is not None and gate_of(self.project, same.filename) == gate.verdict:
                records.append(same)  # identical bytes, inputs and verdict: nothing new
                continue
            records.append(self.store.write(payload.KIND, subject, data, inputs=inputs.names,
                                            entry=entry))
        return records

    def _log_run(self, skill: Skill, target: str, route: Route, run_id: str, parent: str,
                 meter: _Meter, started: float, outcome: str, attempt: int,
                 records: list[Record], notes: str) -> None:
        project_cap = self.ledger.state("project", "PROJECT")
        budget = f"{project_cap.state} {project_cap.percent:.1f}%" if project_cap else ""
        first = records[0] if records else None
        self.store.log(_runlog.LogEntry(
            run_id=run_id, parent_run_id=parent, skill_name=skill.name, event="run",
            **target_fields(target), model_used=route.model,
            tier=route.tier, estimated_cost=meter.estimated, actual_cost=meter.actual,
            duration_s=time.monotonic() - started, outcome=outcome, regen_count=attempt - 1,
            artifact_output=first.filename if first else "",
            artifact_sha256=first.sha256 if first else "", budget_status=budget, notes=notes))

    def render_service(self) -> Any:
        """The video render service (built once: it takes over the holds of recorded jobs,
        so it must exist before the ledger recovers dead reservations)."""
        if self._render is None:
            from ._render import RenderService

            self._render = RenderService(self.project, self.ledger)
        return self._render

    def existing_outputs(self, skill: Skill) -> dict[str, dict[str, str]]:
        """Kind -> subject -> verdict (or STALE) of the skill's own latest outputs, so a skill
        that makes many subjects (one lock per character) redoes only what needs redoing."""
        out: dict[str, dict[str, str]] = {}
        for kind_name in skill.produces:
            for record in self.store.latest_of_each(kind_name):
                verdict = ("STALE" if self.store.is_stale(record.name)
                           else gate_of(self.project, record.filename))
                out.setdefault(kind_name, {})[record.name.subject or ""] = verdict
        return out

    def budget_view(self, target: str = "PROJECT") -> BudgetView:
        """Read-only budget facts for governance skills (grouped queries, no history walk).

        For a scene target only the caps over that scene: a cost review per scene batch must
        not read every shot's cap and the whole log, or a long production turns quadratic.
        """
        scene = scene_of(target)
        if scene:
            caps = [self.ledger.state("project", "PROJECT"), self.ledger.state("scene", scene)]
            return BudgetView(caps=[c for c in caps if c is not None])
        conn = self.store.conn
        projected = 0.0
        report = self.store.latest("COST_REPORT", "PROJECT")
        if report is not None:
            projected = float(getattr(self.store.load(report.name), "projected_total", 0.0))
        return BudgetView(
            caps=self.ledger.states(),
            # spend booked without a tier (by hand, through the ledger) still shows in totals
            spend_by_tier={t or "untiered": float(c) for t, c in conn.execute(
                "SELECT tier, sum(CAST(actual_cost AS REAL)) FROM runlog WHERE event = 'spend' "
                "GROUP BY tier")},
            runs_by_tier={t or "untiered": int(n) for t, n in conn.execute(
                "SELECT tier, count(*) FROM runlog WHERE event = 'run' GROUP BY tier")},
            regens_by_shot={s: int(n) for s, n in conn.execute(
                "SELECT shot_id, max(CAST(regen_count AS INTEGER)) FROM runlog WHERE event = "
                "'run' AND shot_id != '' GROUP BY shot_id")},
            open_stops=[f"{s.kind} ({s.run_id}): {s.target}: {s.reason}"
                        for s in all_open_hard_stops(self.project)],
            projected_remaining=projected,
            reviews_pending={f"{c.level}:{c.scope}" for c in self.ledger.states()
                             if c.state == "warning"
                             and self.ledger.review_pending(c.level, c.scope)})

    # -- the loop -----------------------------------------------------------------------

    def run(self, skill_name: str, target: str, *, force: bool = False,
            params: dict[str, Any] | None = None,
            feedback: Sequence[str] = ()) -> RunResult:
        """Run a skill to PASS: revise, escalate, or hard-stop. Resumes from the log.

        ``feedback`` sends a passed output back for revision with a downstream gate's reasons
        (the continuity loop: the supervisor's findings go back to world-state-tracker); the
        attempt number then continues after every earlier attempt on the target.
        """
        skill_cls = self.registry.get(skill_name)
        skill_cls().check_target(target)
        if skill_cls.uses_video:
            self.render_service()  # adopts recorded render jobs before recovery
        self.ledger.recover()
        self._refuse_on_hard_stops(target, skill_name)
        if not force and (done := self._up_to_date(skill_cls, target)) is not None:
            return done
        if not force and skill_cls.grades:
            self._refuse_regrading(skill_cls, target)
        route, attempt, revisions, resumed = self._resume_state(skill_cls, target)
        if feedback and not resumed:
            attempt = self._attempts_so_far(skill_cls.name, target) + 1
        feedback = resumed or tuple(feedback)
        earlier: list[tuple[int, Gate]] = []
        while True:
            result = self.run_once(skill_name, target, route=route, feedback=feedback,
                                   attempt=attempt, params=params)
            result.earlier = list(earlier)
            if result.status == "waiting" or result.gate.passed or not skill_cls.revise_on_fail:
                return result
            earlier.append((attempt, result.gate))
            feedback = result.gate.reasons
            attempt += 1
            if revisions < self.config.loops.max_revisions and skill_cls.uses_model:
                revisions += 1
                continue
            route = self._escalate(skill_cls, target, route, result)
            revisions = 0

    def _attempts_so_far(self, skill: str, target: str) -> int:
        return int(self.store.conn.execute(
            "SELECT count(*) FROM runlog WHERE skill_name = ? AND target = ? AND event = 'run' "
            "AND outcome IN ('PASS', 'FAIL', 'FIX')", (skill, target)).fetchone()[0])

    def graded(self, skill: type[Skill], target: str) -> str | None:
        """The verdict a grading skill gave the target's current take (None: not graded)."""
        take = self.store.latest(skill.grades, target)
        if take is None:
            return None
        row = self.store.conn.execute(
            "SELECT outcome FROM runlog WHERE skill_name = ? AND target = ? AND event = 'run' "
            "AND outcome IN ('PASS', 'FIX', 'FAIL') AND seq > ? ORDER BY seq DESC LIMIT 1",
            (skill.name, target, self.store.written_at(take.filename))).fetchone()
        return str(row[0]) if row else None

    def _refuse_regrading(self, skill: type[Skill], target: str) -> None:
        verdict = self.graded(skill, target)
        if verdict in ("FIX", "FAIL"):
            raise InputNotReady(
                f"{target}: its current {skill.grades} was already graded {verdict}; grading "
                f"it again is not a new attempt. Run regen-analyzer and prompt-packager on "
                f"{target}, render it again, then grade the new take (or --force a second "
                "opinion, which counts as another attempt)", target=target)

    def _up_to_date(self, skill_cls: type[Skill], target: str) -> RunResult | None:
        row = self._last_run(skill_cls.name, target)
        if row is None or row["outcome"] != "PASS" or not row["artifact_output"]:
            return None
        if skill_cls.grades and self.graded(skill_cls, target) is None:
            return None  # a new take to grade
        if self._history_moved(skill_cls, target, int(row["seq"])):
            return None
        try:
            if self.store.is_stale(row["artifact_output"]):
                return None
        except ArtifactNotFound:
            return None
        return RunResult(skill_cls.name, target, "up_to_date", run_id=row["run_id"])

    def _history_moved(self, skill_cls: type[Skill], target: str, since: int) -> bool:
        """True when a history input (a QC sheet) got a new version after the run at ``since``:
        history carries no lineage, so staleness cannot see it."""
        for need in skill_cls.needs:
            if need.history:
                latest = self.store.latest(need.kind, _subject_for(need, target))
                if latest is not None and self.store.written_at(latest.filename) > since:
                    return True
        return False

    def _last_run(self, skill: str, target: str) -> dict[str, str] | None:
        row = self.store.conn.execute(
            f"SELECT {', '.join(_runlog.COLUMNS)} FROM runlog WHERE skill_name = ? AND "
            "target = ? AND event = 'run' ORDER BY seq DESC LIMIT 1", (skill, target)).fetchone()
        return dict(zip(_runlog.COLUMNS, row, strict=True)) if row else None

    def _resume_state(self, skill_cls: type[Skill], target: str
                      ) -> tuple[Route, int, int, tuple[str, ...]]:
        """Tier, attempt, revisions used at that tier and feedback, read from the run log.

        Runs since the last PASS count; a human override restarts the revision count but
        keeps the tier reached.
        """
        conn = self.store.conn
        lifted = conn.execute("SELECT coalesce(max(seq), 0) FROM runlog WHERE event = "
                              "'override' AND target = ?", (target,)).fetchone()[0]
        rows = conn.execute(
            "SELECT seq, outcome, tier, model_used, notes FROM runlog WHERE skill_name = ? AND "
            "target = ? AND event = 'run' AND outcome != 'WAITING' ORDER BY seq DESC LIMIT 50",
            (skill_cls.name, target)).fetchall()
        failed = []
        for seq, outcome, tier, model, notes in rows:
            if outcome == "PASS":
                break
            failed.append((seq, tier, model, notes))
        base = self.router.route(skill_cls.tier, skill_cls.uses_model)
        if not failed:
            return base, 1, 0, ()
        _, tier, model, notes = failed[0]
        route = base if tier == base.tier else Route(tier, model, "resumed from the run log")
        at_tier = sum(1 for seq, t, _, _ in failed if t == tier and seq > lifted)
        feedback = tuple(n for n in notes.split("; ") if n)
        if at_tier > self.config.loops.max_revisions and skill_cls.uses_model:
            route = self._escalate(skill_cls, target, route, None, notes)
            at_tier = 0
        return route, len(failed) + 1, max(0, at_tier - 1), feedback

    def _escalate(self, skill_cls: type[Skill], target: str, route: Route,
                  result: RunResult | None, notes: str = "") -> Route:
        reasons = "; ".join(result.gate.reasons) if result else notes
        if not skill_cls.uses_model:
            record_hard_stop(self.project, target, "gate",
                             f"{skill_cls.name} FAIL: {reasons}", skill_cls.name)
            raise GateFailed(f"{skill_cls.name} failed on {target}: {reasons}. This skill is "
                             "deterministic: fix its inputs and run again.",
                             skill=skill_cls.name, target=target)
        try:
            new = self.router.escalate(route, skill_cls.layer, EscalationCheck())
        except HardStop as stop:
            record_hard_stop(self.project, target, "gate", f"{skill_cls.name}: {stop}",
                             skill_cls.name)
            raise
        self._write_routing_decision(skill_cls, target, route, new, reasons)
        return new

    def _write_routing_decision(self, skill_cls: type[Skill], target: str, old: Route,
                                new: Route, reasons: str) -> None:
        impact = self._cost_impact(old, new)
        model = schema_for("ROUTING_DECISION")
        task = f"{skill_cls.name.upper().replace('-', '_')}_{target}_ESCALATION"
        payload = model.model_validate({
            "task": task, "task_type": f"{skill_cls.layer} skill {skill_cls.name}",
            "required_capability": f"a {new.tier}-tier model to pass the {skill_cls.name} gate",
            "tier_selected": new.tier, "model": new.model,
            "justification": f"gate FAIL persisted after {self.config.loops.max_revisions} "
                             f"revision(s) at {old.tier} ({old.model}): {reasons}",
            "cost_impact": impact,
            "escalation_conditions": [
                f"escalated from {old.tier} after {self.config.loops.max_revisions} revisions",
                f"next failure at {new.tier} escalates again or hard-stops at the top tier"],
        })
        self.store.write("ROUTING_DECISION", task, payload, entry=_runlog.LogEntry(
            run_id=_runlog.new_run_id(), skill_name="model-router", event="routing",
            target=target, scene_id=scene_of(target), tier=new.tier, model_used=new.model,
            estimated_cost=impact, outcome="ESCALATE",
            notes=f"{skill_cls.name}: {old.tier} -> {new.tier}, cost impact {impact:+.4f}"))

    def _cost_impact(self, old: Route, new: Route) -> float:
        """Worst-case cost difference of one call at the new tier versus the old."""
        sample = TextRequest(skill="estimate", target="PROJECT", attempt=1, model=old.model,
                             system="", prompt="x" * 6000, output_type=BaseModel)
        try:
            before = self.gateway.worst_case_cost(sample)
            after = self.gateway.worst_case_cost(
                TextRequest(**{**sample.__dict__, "model": new.model}))
        except ProviderError:
            return 0.0
        return round(after - before, 6)


def previous_scene(scene: str) -> str | None:
    """The scene before ``S04`` is ``S03`` (scene ids are sequential, padding kept)."""
    if not scene:
        return None
    digits = scene[1:]
    number = int(digits) - 1
    return f"S{number:0{len(digits)}d}" if number >= 1 else None


def _output_subject(payload: Artifact | Media, target: str) -> str | None:
    """Document kinds name their subject; row kinds (SHOTLIST, QC_BATCH) take the target's."""
    if payload.subject is not None or kind(payload.KIND).subject is None:
        return payload.subject
    subject_type = kind(payload.KIND).subject
    return scene_of(target) if subject_type in ("scene", "scene_or_run") else target


def _subject_for(need: Need, target: str) -> str | None:
    if need.scope == "project":
        return None
    if need.scope == "scene":
        return scene_of(target) or target
    return target


def _target_flag(skill: type[Skill], target: str) -> str:
    return {"project": "", "scene": f" --scene {scene_of(target) or target}",
            "shot": f" --shot {target}", "target": f" --target {target}"}[skill.target_scope]


def provider_settings(project: Project) -> ProviderSettings:
    """The gateway settings from the project config."""
    providers = project.config.providers
    return ProviderSettings(replay_dir=providers.replay_dir, inbox_dir=providers.inbox_dir,
                            api_key_env=dict(providers.api_key_env),
                            base_urls=dict(providers.base_urls), timeout_s=providers.timeout_s,
                            max_retries=providers.max_retries,
                            schema_retries=providers.schema_retries,
                            price_overrides=dict(project.config.prices.text))

