"""Which storyboard frame a take must start from (qc-grader's and render-final's ``first_frame``
check, ``rules._looks.first_frame_similarity``).

Image-to-video means the clip starts from the image sent: render-proxy and render-final send
the shot's storyboard frame as the job's first image. The check applies only when every video
model the project's ``[visual]`` tiers route to is known to start from it (``IMAGE_TO_VIDEO``):
the offline animatic does (its first frame is the storyboard frame). A vendor's model is not
held to it yet: how closely a vendor reproduces the first image has not been measured (the
threshold was chosen on the animatic, docs/qc.md), and a text-to-video model never saw it.
"""

from __future__ import annotations

from ...core._config import VISUAL_TIERS
from ...engine._skill import Context

__all__ = ["IMAGE_TO_VIDEO", "storyboard_frame"]

IMAGE_TO_VIDEO = frozenset({"animatic"})  # models whose first frame is the image sent


def storyboard_frame(ctx: Context) -> bytes | None:
    """The shot's storyboard image its takes must start from, or None: no storyboard, or a
    video model of the project not known to start from it."""
    image = ctx.inputs.get("STORYBOARD")
    if not isinstance(image, bytes):
        return None
    models = {str(getattr(ctx.config.visual, tier)) for tier in VISUAL_TIERS}
    return image if models <= IMAGE_TO_VIDEO else None
