"""scene-goals (issue 14 §5): the goal, conflict and outcome an imported scene lacks.

SPEC §5 (story-architect's rule): every scene has a goal, a conflict and an outcome. A
screenplay imported with `slate import` leaves all three empty (code cannot know them), and
nothing downstream should read a story whose scenes want nothing. This Tier 2 step reads each
such scene's row and screenplay text and fills what is missing, one question per scene; its
gate names the scene and the field still empty or vague, and a revision asks again only the
scenes it names. The orchestrator runs it when the latest SCENES has a scene missing one of the
three (story-architect's scenes never do: its own gate fails them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Final

from pydantic import Field

from ...core._errors import UserError
from ...core._gate import Gate
from ...engine._skill import Context, Media, Need, Skill
from ...schemas import Artifact, SceneRow, Scenes, ScriptScene, Text
from .._prompts import system_prompt
from ._common import PACKAGE, Answer, compose, is_vague, scene_key, scene_lines, section
from ._story import scene_field_failures

__all__ = ["FIELDS", "SceneGoals", "SceneGoalsAnswer", "missing_fields", "weak_fields"]

FIELDS: Final = ("goal", "conflict", "outcome")


class SceneGoalsAnswer(Answer):
    """One scene's goal, conflict and outcome, each a concrete sentence."""

    goal: Text = Field(description="what the scene's lead wants here, concretely")
    conflict: Text = Field(description="who or what stands in the way")
    outcome: Text = Field(description="how the scene ends: what is won, lost or changed")


def missing_fields(row: SceneRow) -> list[str]:
    """The story fields a scene row leaves empty (``goal``, ``conflict``, ``outcome``)."""
    return [name for name in FIELDS if not getattr(row, name)]


def weak_fields(row: SceneRow) -> list[str]:
    """The story fields the gate fails: empty or vague. These, and only these, are filled
    (what a person wrote well is kept; a revision's input is the failed version, so its
    weak fields are exactly what the gate's reasons name)."""
    return [name for name in FIELDS if not getattr(row, name) or is_vague(getattr(row, name))]


def _around(rows: Sequence[SceneRow], index: int) -> list[str]:
    """The neighbours' summaries: an outcome should lead to the next scene."""
    lines = []
    if index > 0:
        lines.append(f"before ({rows[index - 1].scene_id}): {rows[index - 1].summary}")
    if index + 1 < len(rows):
        lines.append(f"after ({rows[index + 1].scene_id}): {rows[index + 1].summary}")
    return lines


def _prompt(
    rows: Sequence[SceneRow], index: int, script: ScriptScene | None, feedback: Sequence[str]
) -> str:
    row = rows[index]
    parts = [section("Scene", scene_lines(row))]
    if script is not None:
        parts.append(f"## Screenplay text of {row.scene_id}\n{script.text}")
    parts.append(section("Around it", _around(rows, index)))
    parts.append(section("To fill", weak_fields(row)))
    return compose(parts, [r for r in feedback if r.startswith(f"{row.scene_id}:")])


class SceneGoals(Skill):
    """Fills the goal, conflict and outcome of scenes that lack them (Tier 2; imported
    screenplays leave all three empty).

    One question per scene with an empty or vague field, with its row, its screenplay text
    and its neighbours' summaries; code fills only those fields into a new SCENES version
    (ids, summaries, locations, cast and what a person wrote well unchanged). Gate (code,
    SPEC §5 story-architect's rule): every scene has a concrete goal, conflict and outcome;
    a FAIL names the scene and the field, and the revision, which completes the failed
    version, asks again only those scenes. Nothing to fill is refused before anything is
    asked or written.
    """

    name: ClassVar[str] = "scene-goals"
    prompt_name: ClassVar[str] = "scene-goals"
    layer: ClassVar[Any] = "narrative"
    tier: ClassVar[Any] = "judgment"
    loop: ClassVar[str] = "narrative"
    needs: ClassVar[tuple[Need, ...]] = (
        # the list being completed is context, not lineage: the new version supersedes it
        # (a version made from its own predecessor would be stale at once), and a failed
        # attempt is what the next attempt completes
        Need("SCENES", lineage=False, history=True),
        Need("SCRIPT", "all", optional=True),
    )
    produces: ClassVar[tuple[str, ...]] = ("SCENES",)
    target_scope: ClassVar[Any] = "project"
    summary: ClassVar[str] = "fills the goal, conflict and outcome that imported scenes lack"

    def produce(self, ctx: Context) -> list[Artifact | Media]:
        """Ask per scene with a weak field; fill only those fields; keep every other row."""
        scenes: Scenes = ctx.inputs.get("SCENES")
        if not any(weak_fields(r) for r in scenes.rows):
            raise UserError(
                "every scene already has a concrete goal, conflict and outcome: scene-goals "
                "has nothing to fill (edit SCENES with `slate add` to change one)"
            )
        scripts = {scene_key(s): v for s, v in ctx.inputs.all("SCRIPT").items()}
        system = system_prompt(PACKAGE, self.prompt_name)
        rows = list(scenes.rows)
        for index, row in enumerate(scenes.rows):
            weak = weak_fields(row)
            if weak:
                script = scripts.get(scene_key(row.scene_id))
                prompt = _prompt(scenes.rows, index, script, ctx.feedback)
                answer = ctx.ask(SceneGoalsAnswer, system, prompt)
                rows[index] = row.model_copy(update={n: getattr(answer, n) for n in weak})
        return [Scenes(rows=rows)]

    def gate(self, outputs: list[Any], ctx: Context) -> Gate:
        """FAIL naming each scene and field still empty or vague."""
        scenes: Scenes = outputs[0]
        return Gate.from_failures([f for r in scenes.rows for f in scene_field_failures(r)])
