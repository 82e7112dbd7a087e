"""The runner: execute one skill for one target under every rule, and the loop around it.

One run: refuse on missing, stale or failed inputs and on open hard stops; route; reserve
budget; call; write the artifacts with their lineage; record the gate; log; settle. The loop
revises on FAIL with the gate's reasons, escalates one tier after the configured number of
revisions (writing a ROUTING_DECISION), and hard-stops past the top tier. Its state is read
back from the run log, so a killed or waiting loop resumes where it stopped.

The seams live beside it: input loading (``_inputs``), the guards a run checks first
(``_guards``), metered model calls (``_metering``), routing decisions (``_decisions``),
revision and escalation (``_revision``) and the governance budget view (``_budget_view``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ..core._budget import BudgetView
from ..core._errors import WaitingForHandoff
from ..core._gate import Gate
from ..core._names import SHOT_RE, kind, scene_of
from ..core._reasons import join_reasons
from ..rules._media_cache import use_folder
from ..store import _runlog
from ..store._index import INDEX_DIR
from ..store._ledger import Ledger
from ..store._project import Project
from ..store._store import Record
from . import _decisions, _guards
from ._answers import AnswerBook, adopt_answer_holds
from ._budget_view import budget_view
from ._gateway import Gateway, ProviderSettings
from ._inputs import InputLoader
from ._kept import KEPT_PARAM, KeptAnswers
from ._metering import Meter, PaidCalls
from ._recording import RunFacts, log_run, write_outputs
from ._refusals import REFUSALS_PARAM, refusals_of
from ._render_jobs import adopt_open_jobs
from ._revision import Revisions
from ._router import Route, Router
from ._skill import Context, Inputs, Registry, Skill, load_skills
from ._stops import gate_of
from ._visual_switch import lift_failed_samples

__all__ = ["RunResult", "Runner", "provider_settings"]


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


def services_spent(ctx: Context) -> float:
    """What the render and image services of a run have settled so far (their ``spent``)."""
    return sum(
        float(getattr(ctx.params.get(key), "spent", 0.0) or 0.0)
        for key in ("render", "images", "speech")
    )


class Runner:
    """Runs skills on one project."""

    def __init__(
        self, project: Project, registry: Registry | None = None, gateway: Gateway | None = None
    ) -> None:
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
        self._images: Any = None
        self._speech: Any = None
        self._inputs = InputLoader(project, self.registry)
        self._answers = AnswerBook(project.store, self.ledger)
        self._calls = PaidCalls(self.ledger, self.gateway, self._answers)
        self._revisions = Revisions(project, self.router, self.gateway)
        self._remember_layers()

    def _remember_layers(self) -> None:
        conn = self.store.conn
        conn.executemany(
            "INSERT OR REPLACE INTO skill_layers VALUES (?, ?)",
            [(s.name, s.layer) for s in self.registry],
        )

    def load_inputs(self, skill: Skill, target: str) -> Inputs:
        """Load every declared input, refusing missing, stale or failed ones."""
        return self._inputs.load(skill, target)

    # -- one run ------------------------------------------------------------------------

    def run_once(
        self,
        skill_name: str,
        target: str,
        *,
        route: Route | None = None,
        feedback: Sequence[str] = (),
        attempt: int = 1,
        parent_run_id: str = "",
        params: dict[str, Any] | None = None,
    ) -> RunResult:
        """Execute a skill once for a target and record everything about it."""
        skill = self.registry.get(skill_name)()
        skill.check_target(target)
        self._guard(skill, target)
        inputs = self.load_inputs(skill, target)
        route = route or self.router.route(skill.tier, skill.uses_model)
        _guards.refuse_silent_switch(self.store, route)
        run_id = _runlog.new_run_id()
        meter = Meter()
        facts = RunFacts(skill, target, route, run_id)
        ctx = self._context(skill, target, inputs, feedback, attempt, params)
        if skill.uses_model:
            ctx.ask_model = self._calls.asker(skill, target, route, run_id, attempt, meter)
        started = time.monotonic()
        paid_before = services_spent(ctx)
        try:
            outputs = skill.produce(ctx)
        except WaitingForHandoff as wait:
            self._log(facts, parent_run_id, meter, started, "WAITING", attempt, [], wait)
            return RunResult(
                skill.name,
                target,
                "waiting",
                route=route,
                run_id=run_id,
                attempt=attempt,
                task_path=str(wait.task_path),
            )
        gate = skill.gate(outputs, ctx)
        records = write_outputs(self.project, facts, outputs, inputs, gate)
        self._log(facts, parent_run_id, meter, started, gate.verdict, attempt, records, gate)
        return RunResult(
            skill.name,
            target,
            "done",
            gate,
            records,
            route,
            run_id,
            attempt,
            meter.estimated,
            meter.actual + services_spent(ctx) - paid_before,  # text, video and images
        )

    def _guard(self, skill: Skill, target: str) -> None:
        """The refusals before inputs are read: hard stops, regen limits, loop order."""
        _guards.refuse_on_hard_stops(self.project, target, skill.name)
        if skill.regen_limited and SHOT_RE.fullmatch(target):
            _guards.enforce_regen_limit(self.project, skill, target)
        _guards.check_loop_order(self.project, skill, target)

    def _log(
        self,
        facts: RunFacts,
        parent: str,
        meter: Meter,
        started: float,
        outcome: str,
        attempt: int,
        records: list[Record],
        why: Gate | WaitingForHandoff,
    ) -> None:
        notes = (
            f"waiting for an answer to {why.task_path}"
            if isinstance(why, WaitingForHandoff)
            else join_reasons(why.reasons)  # read back exactly by a resume (_revision)
        )
        log_run(
            self.project,
            self.ledger,
            facts,
            parent=parent,
            meter=meter,
            started=started,
            outcome=outcome,
            attempt=attempt,
            records=records,
            notes=notes,
        )
        if outcome != "WAITING":  # graded: a rerun asks the model afresh
            self._answers.forget(facts.skill.name, facts.target)

    def _context(
        self,
        skill: Skill,
        target: str,
        inputs: Inputs,
        feedback: Sequence[str],
        attempt: int,
        params: dict[str, Any] | None,
    ) -> Context:
        """What the skill sees: its inputs, plus the services it declares it wants."""
        use_folder(self.project.root / INDEX_DIR / "decoded")  # takes decoded once, on disk
        ctx = Context(
            target=target,
            inputs=inputs,
            config=self.config,
            feedback=tuple(feedback),
            attempt=attempt,
            params=dict(params or {}),
        )
        if skill.wants_budget_view:
            ctx.params["budget_view"] = self.budget_view(target)
        if skill.wants_existing:
            ctx.params["existing"] = self.existing_outputs(skill, target)
        if skill.uses_video:
            ctx.params.setdefault("render", self.render_service())
        if skill.uses_images:
            ctx.params.setdefault("images", self.image_service())
        if skill.uses_speech:
            ctx.params.setdefault("speech", self.speech_service())
        if skill.wants_refusals:
            ctx.params.setdefault(REFUSALS_PARAM, refusals_of(self.store, target))
        if skill.keeps_answers:
            ctx.params.setdefault(KEPT_PARAM, KeptAnswers(self.store, skill.name, target))
        return ctx

    # -- services and decisions ---------------------------------------------------------

    def render_service(self) -> Any:
        """The video render service (built once: it takes over the holds of recorded jobs,
        so it must exist before the ledger recovers dead reservations)."""
        if self._render is None:
            from ._render import RenderService

            self._render = RenderService(self.project, self.ledger)
        return self._render

    def image_service(self) -> Any:
        """The image service (an ImageMaker; built once, like the render service: it takes
        over the holds of recorded image jobs before the ledger recovers dead ones)."""
        if self._images is None:
            from ._image_service import ImageService

            self._images = ImageService(self.project, self.ledger)
        return self._images

    def speech_service(self) -> Any:
        """The speech service (a SpeechMaker: scratch and hosted voices, issue 15)."""
        if self._speech is None:
            from ._speech_service import SpeechService

            self._speech = SpeechService(self.project, self.ledger)
        return self._speech

    def close(self) -> None:
        """Close the HTTP clients the render, image and speech services' providers opened."""
        for service in (self._render, self._images, self._speech):
            if service is not None:
                service.close()

    def existing_outputs(self, skill: Skill, target: str = "") -> dict[str, dict[str, str]]:
        """Kind -> subject -> verdict (or STALE) of the skill's own latest outputs, so a skill
        that makes many subjects (one lock per character) redoes only what needs redoing.
        A kind named by scene (DIALOGUE_S03) gives the target's own only: checking every
        scene's at every scene's step made the cost grow with the square of the scenes."""
        out: dict[str, dict[str, str]] = {}
        for kind_name in skill.produces:
            if (scene := scene_of(target)) and kind(kind_name).subject == "scene":
                own = self.store.latest(kind_name, scene)
                records = [own] if own else []
            else:
                records = self.store.latest_of_each(kind_name)
            for record in records:
                verdict = (
                    "STALE"
                    if self.store.is_stale(record.name)
                    else gate_of(self.project, record.filename)
                )
                out.setdefault(kind_name, {})[record.name.subject or ""] = verdict
        return out

    def budget_view(self, target: str = "PROJECT") -> BudgetView:
        """Read-only budget facts for governance skills (see ``_budget_view``)."""
        return budget_view(self.project, self.ledger, target)

    def record_switch(self, tier: str, reason: str) -> Record:
        """Write the ROUTING_DECISION for moving a tier to the model config now names (a new
        visual switch supersedes the stop a failed QC sample of the last one left)."""
        record = _decisions.record_switch(self.store, self.router, self.gateway, tier, reason)
        lift_failed_samples(self.project, tier)
        return record

    def plan_batch(self, target: str) -> Record:
        """Route every planned shot of a scene (or PROJECT) by hero tier within the premium
        quota, and record the plan as a ROUTING_DECISION with its projected cost."""
        return _decisions.plan_batch(self.store, self.router, self.config, target)

    def graded(self, skill: type[Skill], target: str) -> str | None:
        """The verdict a grading skill gave the target's current take (None: not graded)."""
        return _guards.graded(self.store, skill, target)

    # -- the loop -----------------------------------------------------------------------

    def run(
        self,
        skill_name: str,
        target: str,
        *,
        force: bool = False,
        params: dict[str, Any] | None = None,
        feedback: Sequence[str] = (),
    ) -> RunResult:
        """Run a skill to PASS: revise, escalate, or hard-stop. Resumes from the log.

        ``feedback`` sends a passed output back for revision with a downstream gate's reasons
        (the continuity loop: the supervisor's findings go back to world-state-tracker); the
        attempt number then continues after every earlier attempt on the target.
        """
        skill_cls = self.registry.get(skill_name)
        skill_cls().check_target(target)
        if skill_cls.uses_video:
            self.render_service()
        if skill_cls.uses_images:
            self.image_service()
        # render jobs (and submission intents) of dead runs are settled at what they cost,
        # by the render service, never charged at their worst case by the recovery
        adopt_open_jobs(self.store)
        adopt_answer_holds(self.store)
        self.ledger.recover()
        _guards.refuse_on_hard_stops(self.project, target, skill_name)
        if not force and (done := self._revisions.standing_pass(skill_cls, target)) is not None:
            return RunResult(skill_cls.name, target, "up_to_date", run_id=done)
        if not force and skill_cls.grades:
            _guards.refuse_regrading(self.store, skill_cls, target)
        route, attempt, revisions, resumed = self._revisions.resume(skill_cls, target)
        if feedback and not resumed:
            attempt = self._revisions.attempts_so_far(skill_cls.name, target) + 1
        feedback = resumed or tuple(feedback)
        earlier: list[tuple[int, Gate]] = []
        while True:
            result = self.run_once(
                skill_name, target, route=route, feedback=feedback, attempt=attempt, params=params
            )
            result.earlier = list(earlier)
            if (
                result.status == "waiting"
                or result.gate.passed
                or not skill_cls.revise_on_fail
                or result.gate.goes_upstream  # findings about the work: asking again is no fix
            ):
                return result
            earlier.append((attempt, result.gate))
            feedback = result.gate.reasons
            attempt += 1
            if revisions < self.config.loops.max_revisions and skill_cls.uses_model:
                revisions += 1
                continue
            route = self._revisions.escalate(
                skill_cls, target, route, "; ".join(result.gate.reasons)
            )
            revisions = 0


def provider_settings(project: Project) -> ProviderSettings:
    """The gateway settings from the project config."""
    providers = project.config.providers
    return ProviderSettings(
        replay_dir=providers.replay_dir,
        inbox_dir=providers.inbox_dir,
        api_key_env=dict(providers.api_key_env),
        base_urls=dict(providers.base_urls),
        timeout_s=providers.timeout_s,
        max_retries=providers.max_retries,
        schema_retries=providers.schema_retries,
        price_overrides=dict(project.config.prices.text),
        **providers.text_options(),
    )
