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

import re
from collections.abc import Sequence
from typing import Any, ClassVar, Final

from pydantic import Field

from ...core._gate import Gate
from ...engine._skill import Context, Media, Need, Skill
from ...schemas import Artifact, SceneRow, Scenes, ScriptScene, Text
from .._prompts import system_prompt
from ._common import PACKAGE, Answer, compose, scene_lines, scene_number, section
from ._story import scene_field_failures

__all__ = [
    "FIELDS",
    "SceneGoals",
    "SceneGoalsAnswer",
    "missing_fields",
    "named_scenes",
    "scenes_to_fill",
]

FIELDS: Final = ("goal", "conflict", "outcome")
_SCENE_RE: Final = re.compile(r"(S\d+):")


class SceneGoalsAnswer(Answer):
    """One scene's goal, conflict and outcome, each a concrete sentence."""

    goal: Text = Field(description="what the scene's lead wants here, concretely")
    conflict: Text = Field(description="who or what stands in the way")
    outcome: Text = Field(description="how the scene ends: what is won, lost or changed")


def missing_fields(row: SceneRow) -> list[str]:
    """The story fields a scene row leaves empty (``goal``, ``conflict``, ``outcome``)."""
    return [name for name in FIELDS if not getattr(row, name)]


def named_scenes(feedback: Sequence[str]) -> set[str]:
    """The scenes a gate's reasons name (``S03: the scene has no goal``)."""
    return {m.group(1) for r in feedback if (m := _SCENE_RE.match(r))}


def scenes_to_fill(scenes: Scenes, feedback: Sequence[str]) -> list[str]:
    """The scenes a run asks about: those missing a field, and those its gate's reasons name
    (a revision: the others keep what an earlier attempt gave them)."""
    named = named_scenes(feedback)
    return [r.scene_id for r in scenes.rows if missing_fields(r) or r.scene_id in named]


def _prompt(row: SceneRow, script: ScriptScene | None, feedback: Sequence[str]) -> str:
    notes = [r for r in feedback if r.startswith(f"{row.scene_id}:")]
    parts = [section("Scene", scene_lines(row))]
    if script is not None:
        parts.append(f"## Screenplay text of {row.scene_id}\n{script.text}")
    return compose(parts, notes)


def _filled(row: SceneRow, answer: SceneGoalsAnswer, revised: bool) -> SceneRow:
    """The row with its empty fields filled; a revised row takes all three from the answer
    (the prompt showed it the current ones), a first one keeps what a person wrote."""
    keep = set() if revised else {name for name in FIELDS if getattr(row, name)}
    return row.model_copy(
        update={name: getattr(answer, name) for name in FIELDS if name not in keep}
    )


class SceneGoals(Skill):
    """Fills the goal, conflict and outcome of scenes that lack them (Tier 2; imported
    screenplays leave all three empty).

    One question per scene missing a field, with its row and screenplay text; code splices
    the answers into a new SCENES version (ids, summaries, locations and cast unchanged;
    what a person wrote kept). Gate (code, SPEC §5 story-architect's rule): every scene has a
    concrete goal, conflict and outcome; a FAIL names the scene and the field, and the
    revision asks again only the scenes it names.
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
        """Ask per scene to fill; every other row is kept as it is."""
        scenes: Scenes = ctx.inputs.get("SCENES")
        scripts = {scene_number(s): v for s, v in ctx.inputs.all("SCRIPT").items()}
        system = system_prompt(PACKAGE, self.prompt_name)
        ask, revised = set(scenes_to_fill(scenes, ctx.feedback)), named_scenes(ctx.feedback)
        rows = []
        for row in scenes.rows:
            if row.scene_id in ask:
                script = scripts.get(scene_number(row.scene_id))
                prompt = _prompt(row, script, ctx.feedback)
                answer = ctx.ask(SceneGoalsAnswer, system, prompt)
                row = _filled(row, answer, revised=row.scene_id in revised)
            rows.append(row)
        return [Scenes(rows=rows)]

    def gate(self, outputs: list[Any], ctx: Context) -> Gate:
        """FAIL naming each scene and field still empty or vague."""
        scenes: Scenes = outputs[0]
        return Gate.from_failures([f for r in scenes.rows for f in scene_field_failures(r)])
