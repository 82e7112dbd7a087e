"""A whole production whose vision tier must see is refused at its start when it cannot.

qc-grader with ``[qc] rubric_source = "model"`` and visual-continuity with ``[qc]
visual_continuity = true`` send the vision tier images. Each call is refused before anything is
reserved when the model cannot take them (``engine._metering``), but a production reaches the
first such call only after a shot's sheets, storyboard and proxy are made, which a vendor's
image and video models bill. So `slate run` asks first: the same error, with nothing made,
reserved or sent; `slate config check` asks too.
"""

from __future__ import annotations

from ..core._config import Config
from ..engine._attachments import blind_model
from ..engine._gateway import Gateway
from ..engine._runner import Runner

__all__ = ["refuse_blind", "refuse_blind_vision"]


def refuse_blind_vision(runner: Runner) -> None:
    """Raise the blind-model ConfigError when the production will send the vision tier images
    its model cannot take; do nothing otherwise."""
    refuse_blind(runner.config, runner.gateway)


def refuse_blind(config: Config, gateway: Gateway) -> None:
    """:func:`refuse_blind_vision` for a config and the gateway that would serve it (also what
    `slate config check` asks)."""
    qc = config.qc
    senders = [
        skill
        for skill, sends in (
            ("qc-grader", qc.rubric_source == "model"),
            ("visual-continuity", qc.visual_continuity),
        )
        if sends
    ]
    if not senders:
        return
    model = str(config.tiers.vision)
    if not gateway.takes_images(model):
        raise blind_model(model, "vision", senders[0])
