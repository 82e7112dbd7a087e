"""Metering: every model call of a run is paid for through the budget ledger.

Before a call the worst case is reserved (so concurrent runs cannot overshoot a cap); after
it the actual cost is settled, or the hold released when nothing was billed. The meter adds
up what one run estimated and spent, for its log row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel

from ..core._errors import ProviderError, WaitingForHandoff
from ..core._names import SHOT_RE, scene_of
from ..store import _runlog
from ..store._ledger import Ledger, Reservation
from ..store._store import crash_point
from ._answers import AnswerBook
from ._attachments import Attachment, blind_model
from ._gateway import Gateway, TextRequest
from ._router import Route
from ._skill import Skill

Asker = Callable[..., BaseModel]  # (output_type, system, prompt, images=()) -> answer


@dataclass
class Meter:
    """Model calls made during one run: their cost and the last request (for escalation)."""

    estimated: float = 0.0
    actual: float = 0.0
    last_request: TextRequest | None = None


class PaidCalls:
    """Model calls backed by the ledger: reserve, call, settle (or release)."""

    def __init__(self, ledger: Ledger, gateway: Gateway, answers: AnswerBook | None = None) -> None:
        self.ledger = ledger
        self.gateway = gateway
        self.answers = answers  # paid answers of unfinished runs: a resumed run asks once

    def asker(
        self, skill: Skill, target: str, route: Route, run_id: str, attempt: int, meter: Meter
    ) -> Asker:
        """The ``ctx.ask_model`` of one run: numbered calls on the routed model."""
        calls = iter(range(1, 1_000_000))

        def ask(
            output_type: type[BaseModel],
            system: str,
            prompt: str,
            images: tuple[Attachment, ...] = (),
        ) -> BaseModel:
            if images and not self.gateway.takes_images(route.model):
                # before anything is reserved: a blind model would invent what it saw
                raise blind_model(route.model, route.tier, skill.name)
            request = TextRequest(
                skill=skill.name,
                target=target,
                attempt=attempt,
                model=route.model,
                system=system,
                prompt=prompt,
                output_type=output_type,
                max_output_tokens=self.gateway.context.settings.output_tokens(route.tier),
                call=next(calls),
                images=tuple(images),
            )
            meter.last_request = request
            return self.call(request, route, run_id, meter)

        return ask

    def call(self, request: TextRequest, route: Route, run_id: str, meter: Meter) -> BaseModel:
        """One paid call: the worst case reserved first, the actual cost settled after."""
        worst = self.gateway.worst_case_cost(request)
        scene = scene_of(request.target)
        shot = request.target if SHOT_RE.fullmatch(request.target) else ""
        recalled = self.answers.recall(request, run_id, route.tier) if self.answers else None
        if recalled is not None:  # answered (and paid) before the last run died
            meter.actual += recalled[1]
            return recalled[0]
        hold = self.ledger.reserve(  # the target too: a call on an episode counts for it
            run_id,
            scene,
            shot,
            worst,
            what=f"{request.skill} {request.target} ({route.model})",
            target=request.target,
        )
        crash_point("after_reserve")
        self.ledger.mark_started(hold)
        try:
            result = self.gateway.complete(request)
        except WaitingForHandoff:
            self.ledger.release(hold, "handed off: no model was called")
            raise
        except ProviderError as exc:
            self._failed(hold, exc, request, route, run_id, worst, meter)
            raise
        if self.answers is not None:
            self.answers.record(request, result.output, result.cost, hold.id, run_id)
        self.ledger.settle(
            hold,
            result.cost,
            _runlog.LogEntry(
                run_id=run_id,
                skill_name=request.skill,
                target=request.target,
                scene_id=scene,
                shot_id=shot,
                model_used=result.model,
                tier=route.tier,
                estimated_cost=worst,
                notes=f"tokens in {result.usage.input_tokens} out {result.usage.output_tokens}",
            ),
        )
        meter.estimated += worst
        meter.actual += result.cost
        return result.output

    def _failed(
        self,
        hold: Reservation,
        exc: ProviderError,
        request: TextRequest,
        route: Route,
        run_id: str,
        worst: float,
        meter: Meter,
    ) -> None:
        """Settle a failed call: at worst case when a request was sent and never answered
        (the vendor may have run and billed it), at the tokens reported when some were
        billed, else the hold is released."""
        spent = float(exc.context.get("cost", 0.0) or 0.0)
        if exc.context.get("may_be_billed"):
            spent = max(spent, worst)
            why = (
                f"charged at worst case: {exc.context.get('requests_unanswered', 1)} request(s) "
                "sent and never answered, which the vendor may bill"
            )
        elif spent > 0:  # tokens were billed even though no usable answer came back
            why = "charged the tokens the vendor reported"
        else:
            self.ledger.release(hold, f"provider failed before producing an answer: {exc}")
            return
        scene = scene_of(request.target)
        self.ledger.settle(
            hold,
            spent,
            _runlog.LogEntry(
                run_id=run_id,
                skill_name=request.skill,
                target=request.target,
                scene_id=scene,
                shot_id=request.target if SHOT_RE.fullmatch(request.target) else "",
                model_used=request.model,
                tier=route.tier,
                estimated_cost=worst,
                outcome="ERROR",
                notes=f"failed call, {why}: {exc}",
            ),
        )
        meter.estimated += worst
        meter.actual += spent
