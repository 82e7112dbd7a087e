"""Helpers for the backward-routing tests: a runner on a synthetic project whose text model
is any answerer (usually the film's answers with a finding or two changed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from filmslate.engine._runner import Runner
from filmslate.synthetic import VIDEO_MODEL, Settings, SyntheticVideo
from filmslate.testing import ScriptedTextModel, scripted_runner


def runner_answering(root: Path, answer: Any) -> tuple[Runner, ScriptedTextModel]:
    """A runner on the synthetic project at ``root``, its text answered by ``answer`` and its
    clips by SyntheticVideo (as ``synthetic_runner`` wires them)."""
    settings = Settings()
    runner, model = scripted_runner(root, answer)
    runner.render_service().providers[VIDEO_MODEL] = SyntheticVideo(
        settings.price_proxy, settings.price_final, final_width=settings.final[0]
    )
    return runner, model
