"""The scratch dialogue pass of the orchestrated run (issue 15).

Once every scene's shots are made (their shot lists are final: each scene's cost loop has run),
and before the cut, for each scene in SCENES order: dialogue-shots places the scene's lines
in its shots (DIALOGUE_<SCENE>), then scratch-voices speaks each shot's lines in their voice
locks' voices (AUDIO_<SHOT>). Each step runs only when its output is missing, failed or stale,
so revising one voice lock re-voices exactly the shots where that character speaks, and a
second run finds everything up to date. A table a person added (``slate add DIALOGUE_S03.csv``)
is judged by dialogue-shots' gate before any shot is voiced from it. A FAIL stops the run like
any other step's.
"""

from __future__ import annotations

from typing import Protocol

from ..engine._runner import Runner, RunResult
from ._pending import scene_ids, shot_rows

__all__ = ["DIALOGUE_SKILL", "VOICE_SKILL", "Voicing", "hand_made", "voice_pass"]

DIALOGUE_SKILL = "dialogue-shots"
VOICE_SKILL = "scratch-voices"


class Voicing(Protocol):
    """What the pass needs of the orchestrator: its runner, phases and steps."""

    runner: Runner

    @property
    def progress(self) -> _Progress:
        """Where progress is reported."""

    def step(self, skill: str, target: str, *, advance: bool = True) -> None:
        """Run a skill unless its latest output is a fresh PASS (or stop the run)."""

    def _run(
        self, skill: str, target: str, *, stop_on_fail: bool = True, feedback: tuple[str, ...] = ()
    ) -> RunResult:
        """Run a skill to PASS, or stop the run (the orchestrator's step)."""


class _Progress(Protocol):
    def phase(self, name: str, total: int) -> None: ...

    def advance(self, detail: str) -> None: ...


def voice_pass(orch: Voicing) -> None:
    """dialogue-shots on every planned scene, then scratch-voices on each of its shots."""
    runner = orch.runner
    scenes = [(s, shot_rows(runner, s)) for s in scene_ids(runner)]
    scenes = [(s, rows) for s, rows in scenes if rows]
    orch.progress.phase("scratch dialogue", sum(1 + len(rows) for _, rows in scenes))
    for scene, rows in scenes:
        if hand_made(runner, scene):
            orch._run(DIALOGUE_SKILL, scene)  # judged like its own table before it is voiced
        orch.step(DIALOGUE_SKILL, scene)
        for row in rows:
            orch.step(VOICE_SKILL, row.shot_id)


def hand_made(runner: Runner, scene: str) -> bool:
    """True when the scene's latest DIALOGUE was written by someone other than the skill."""
    record = runner.store.latest("DIALOGUE", scene)
    if record is None:
        return False
    row = runner.store.conn.execute(
        "SELECT skill_name FROM runlog WHERE artifact_output = ? AND event = 'write' "
        "ORDER BY seq DESC LIMIT 1",
        (record.filename,),
    ).fetchone()
    return row is None or row[0] != DIALOGUE_SKILL
