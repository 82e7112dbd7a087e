"""story-digest (issue 14 §8; deterministic, zero cost): the story as sequences.

The whole-story reviews (narrative-red-team, audience-simulator) read this digest instead of
every scene once the scene list outgrows ``rules._digest.FULL_STORY_CHARS``, plus the full
text of the scenes a finding or a flag points at; so their prompt stays bounded however long
the production is. The orchestrator makes it before the story review. It is made from SCENES
alone: a structure or scene revision writes a new SCENES version, which makes the digest
stale, and the reviews that read it rerun; nothing else (a breakdown revision, say) makes a
new digest, so a paid review never reruns for a change the story did not make.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ...core._gate import Gate
from ...engine._skill import Context, Layer, Media, Need, Skill, Tier
from ...rules._digest import MAX_SEQUENCES, ROW_CHARS, build_digest, digest_problems
from ...schemas import Artifact, StoryDigest

__all__ = ["StoryDigestSkill"]


class StoryDigestSkill(Skill):
    """Groups the scenes into at most 16 sequences and digests each in bounded lines."""

    name: ClassVar[str] = "story-digest"
    layer: ClassVar[Layer] = "validation"
    tier: ClassVar[Tier] = "throughput"
    loop: ClassVar[str] = "narrative"
    needs: ClassVar[tuple[Need, ...]] = (Need("SCENES"),)
    produces: ClassVar[tuple[str, ...]] = ("STORY_DIGEST",)
    target_scope: ClassVar[Any] = "project"
    uses_model: ClassVar[bool] = False
    revise_on_fail: ClassVar[bool] = False  # code made it: asking again gives the same digest
    summary: ClassVar[str] = (
        f"before the story review: at most {MAX_SEQUENCES} sequences of {ROW_CHARS:,} "
        "characters each, for the whole-story reviews"
    )

    def produce(self, ctx: Context) -> list[Artifact | Media]:
        """The digest of the latest scene list."""
        return [build_digest(ctx.inputs.get("SCENES").rows)]

    def gate(self, outputs: list[Any], ctx: Context) -> Gate:
        """FAIL unless every scene is in exactly one sequence, in story order, with every
        flag inside its sequence, at most 16 sequences of at most 1,200 characters each."""
        digest = outputs[0]
        assert isinstance(digest, StoryDigest)
        return Gate.from_failures(digest_problems(digest, ctx.inputs.get("SCENES").rows))
