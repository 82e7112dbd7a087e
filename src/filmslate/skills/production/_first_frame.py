"""Which storyboard frame a take must start from (qc-grader's and render-final's ``first_frame``
check, ``rules._looks.first_frame_similarity``).

Image-to-video means the clip starts from the image sent: render-proxy and render-final send
the shot's storyboard frame as the job's first image. The check applies when every video model
the project's ``[visual]`` tiers route to starts from it (a shot's tier depends on the premium
quota, so one text-to-video tier leaves every take unjudged):

- the offline animatic (``IMAGE_TO_VIDEO``): its first frame is the storyboard frame;
- a catalogue model whose entry takes a first image (``input.first_image``: Kling, Veo, Sora,
  Wan image-to-video, ...): the vendor was sent the storyboard frame as the clip's start.

A model that takes no first image (a reference-to-video or text-to-video entry, a model outside
the catalogue) never saw the frame, and is not held to it. Vendors are held to the threshold
measured on the animatic (docs/qc.md): a take whose first frame is not the picture sent fails
with the measured similarity.
"""

from __future__ import annotations

from ...core._config import VISUAL_TIERS, Config
from ...core._video_prices import video_entry
from ...engine._skill import Context

__all__ = ["IMAGE_TO_VIDEO", "starts_from_image", "storyboard_frame"]

IMAGE_TO_VIDEO = frozenset({"animatic"})  # models outside the catalogue that start from it


def starts_from_image(config: Config, model: str) -> bool:
    """True when ``model``'s clips start from the first image a job sends."""
    if model in IMAGE_TO_VIDEO:
        return True
    entry = video_entry(config, model)
    return entry is not None and entry.input.first_image is not None


def storyboard_frame(ctx: Context) -> bytes | None:
    """The shot's storyboard image its takes must start from, or None: no storyboard, or a
    video model of the project that does not start from the image sent."""
    image = ctx.inputs.get("STORYBOARD")
    if not isinstance(image, bytes):
        return None
    models = {str(getattr(ctx.config.visual, tier)) for tier in VISUAL_TIERS}
    return image if all(starts_from_image(ctx.config, m) for m in models) else None
