"""scene-revision (issue 14, SPEC §6 validation loop: "revise scene, update truth packet,
rerun"): a scene's findings go back to the scene itself.

A plausibility, research or cultural finding, or a psychology or dialogue finding, is about
the scene, not the answer that found it, so asking the auditor again cannot fix it. This
skill rewrites the scene's SCENES row (a new SCENES version) and, when the scene has one, its
script slice (a new SCRIPT version), with the findings as revision notes. Its inputs include
the failing reports (read as notes: their newer versions judge the revision and never make it
stale), so the revision's lineage shows what it answered. Everything made from the old scene
list is then stale, and the orchestrator reruns it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from ...core._gate import Gate
from ...engine._skill import Context, Media, Need, Skill
from ...schemas import Artifact, Item, Paragraphs, SceneRow, Scenes, ScriptScene
from .._prompts import system_prompt
from ._common import PACKAGE, Answer, compose, scene_lines, scene_row, section
from ._story import scene_field_failures

__all__ = ["SceneRevision", "SceneRevisionAnswer", "revision_failures"]

#: The reports whose findings a scene revision answers, read as notes (FAIL-gated allowed):
#: every report whose gate routes its findings here (dialogue-consistency-check's too).
NOTES = ("TRUTH", "PLAUS", "CULTURE", "PSYCH", "DIALOGUE_CHECK")


class SceneRevisionAnswer(Answer):
    """The revised scene: its row, its script text (when it has one) and what changed."""

    row: SceneRow
    # the scene's whole Fountain text has many lines: a one-line Text refused every script
    script: Paragraphs = Field("", description="the revised Fountain text; empty when none")
    changes: list[Item] = Field(default_factory=list, description="one line per finding")


def revision_failures(
    answer: SceneRevisionAnswer, scene: str, findings: tuple[str, ...], has_script: bool
) -> list[str]:
    """Every reason a scene revision fails its gate (empty: PASS)."""
    failures = []
    if answer.row.scene_id != scene:
        failures.append(f"the revised row is {answer.row.scene_id}, not {scene}: keep its id")
    failures += scene_field_failures(answer.row)
    if has_script and not answer.script.strip():
        failures.append(f"{scene} has a script slice: give its whole revised text in `script`")
    if len(answer.changes) < len(findings):
        failures.append(
            f"{len(findings)} finding(s) but {len(answer.changes)} change(s): say how each "
            "finding is fixed"
        )
    return failures


class SceneRevision(Skill):
    """One scene's findings -> a new SCENES version with the scene's row rewritten, and a new
    SCRIPT version of the scene when it has one (Tier 2; run by the orchestrator's backward
    route, with the findings as its revision notes).

    Gate (code): the row keeps its scene id, has a concrete goal, conflict and outcome, a
    scene with a script slice gets its revised text, and every finding has a change.
    """

    name: ClassVar[str] = "scene-revision"
    prompt_name: ClassVar[str] = "scene-revision"
    layer: ClassVar[Any] = "narrative"
    tier: ClassVar[Any] = "judgment"
    loop: ClassVar[str] = "validation"
    needs: ClassVar[tuple[Need, ...]] = (
        # the work being revised is context: the revision supersedes it, so it cannot also be
        # an input (a version made from its own predecessor would be stale at once); a
        # failed attempt of this revision is what the next attempt revises
        Need("SCENES", lineage=False, history=True),
        Need("SCRIPT", "scene", optional=True, lineage=False, history=True),
        Need("PREMISE", optional=True),
        *(Need(kind_name, "scene", optional=True, history=True) for kind_name in NOTES),
    )
    produces: ClassVar[tuple[str, ...]] = ("SCENES", "SCRIPT")
    target_scope: ClassVar[Any] = "scene"
    summary: ClassVar[str] = "rewrites one scene's row and script slice to fix its findings"

    def __init__(self) -> None:
        self.answer: SceneRevisionAnswer | None = None

    def produce(self, ctx: Context) -> list[Artifact | Media]:
        """Ask for the revised scene; splice its row into the scene list."""
        row = scene_row(ctx)
        script: ScriptScene | None = ctx.inputs.get("SCRIPT")
        parts = [section("Scene", scene_lines(row))]
        if script is not None:
            parts.append(f"## Screenplay text of {row.scene_id}\n{script.text}")
        prompt = compose(parts, ()) + "\n\n" + section("Findings to fix", ctx.feedback)
        answer = ctx.ask(SceneRevisionAnswer, system_prompt(PACKAGE, self.prompt_name), prompt)
        self.answer = answer
        scenes: Scenes = ctx.inputs.get("SCENES")
        revised = answer.row.model_copy(update={"scene_id": row.scene_id})
        rows = [revised if r.scene_id == row.scene_id else r for r in scenes.rows]
        outputs: list[Artifact | Media] = [Scenes(rows=rows)]
        if script is not None and answer.script.strip():
            outputs.append(ScriptScene(scene_id=row.scene_id, text=answer.script.strip()))
        return outputs

    def gate(self, outputs: list[Any], ctx: Context) -> Gate:
        """FAIL on a changed id, a vague row, a missing script or an unanswered finding."""
        if self.answer is None:
            return Gate.from_failures(["no model answer was recorded for this run"])
        has_script = ctx.inputs.get("SCRIPT") is not None
        return Gate.from_failures(
            revision_failures(self.answer, ctx.scene_id, ctx.feedback, has_script)
        )
