"""Images sent with a text-model request (issue 13 §1), what they cost and who can see them.

An :class:`Attachment` is an image's bytes, its media type and a label saying what it is
("take frame 3 of 6", "reference: CHAR_NELL_REF_v002"); the label is sent as text just before
the image, so the model can name the frame or the lock item it means.

Image tokens in the worst case, per vendor (each the vendor's published formula, rounded up):

- OpenAI (``openai``): the larger of the tiles formula of GPT-4o / GPT-4.1 at high detail
  (scaled to fit 2048x2048, then the short side to 768; 85 + 170 per 512 px tile) and the
  patch formula of the mini models (32 px patches, at most 1536, times 2.46, gpt-4.1-nano's
  multiplier, the largest). Source: platform.openai.com/docs/guides/images-vision,
  "Calculating costs".
- Anthropic (``anthropic``): width x height / 750, after scaling the long edge to 1568.
  Source: docs.anthropic.com/en/docs/build-with-claude/vision, "Calculate image costs".
- Gemini (``gemini``): 258 tokens for an image up to 384 px on both sides, else 258 per
  768x768 tile. Source: ai.google.dev/gemini-api/docs/tokens ("Multimodal tokens").
- Any other prefix (``compat`` and third-party providers): the largest of the three.

Which models take images: :func:`takes_images`, from the small table :data:`VISION_MODELS`
(name patterns of the vendors' vision models) plus the project's own list
(``[providers] vision_models = ["compat:qwen2.5-vl-72b"]``), asked through
``TextProvider.takes_images``: the offline ``replay`` and ``handoff`` always do (an authored
answer or a person sees what was attached), as does a test's scripted model.
"""

from __future__ import annotations

import fnmatch
import io
import math
from collections.abc import Collection
from dataclasses import dataclass

from ..core._errors import ConfigError, UserError

IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/webp", "image/gif"})
# provider prefix -> model name patterns (fnmatch) that accept image input
VISION_MODELS: dict[str, tuple[str, ...]] = {
    "openai": ("gpt-4o*", "gpt-4.1*", "gpt-4-turbo*", "gpt-5*", "o1", "o1-2*", "o3*", "o4*"),
    "anthropic": ("claude-3*", "claude-*-4*", "claude-4*"),
    "gemini": ("gemini-1.5*", "gemini-2*", "gemini-3*", "gemini-pro-vision*"),
}


@dataclass(frozen=True)
class Attachment:
    """One image on a request: its bytes, media type and what it is."""

    label: str  # "take frame 3 of 6", "reference: CHAR_NELL_REF_v002"
    data: bytes
    media_type: str = "image/png"

    def __post_init__(self) -> None:
        if self.media_type not in IMAGE_TYPES:
            raise UserError(
                f"attachment {self.label!r}: {self.media_type} is not an image type a model "
                f"takes; send one of {', '.join(sorted(IMAGE_TYPES))}"
            )

    @property
    def size(self) -> tuple[int, int]:
        """Width and height in pixels (from the image header)."""
        from PIL import Image

        with Image.open(io.BytesIO(self.data)) as image:
            return image.size


def takes_images(model: str, declared: Collection[str] = ()) -> bool:
    """Whether ``model`` (``"provider:model"``) accepts image input."""
    prefix, _, name = model.partition(":")
    if model in declared:
        return True
    return any(fnmatch.fnmatch(name, p) for p in VISION_MODELS.get(prefix, ()))


def blind_model(model: str, tier: str, skill: str) -> ConfigError:
    """The error for a ``model`` at ``tier`` that cannot see the images ``skill`` sends."""
    return ConfigError(
        f"{skill} sends images (the frames and sheets it judges), but the {tier} tier's "
        f"model {model} cannot take them: set "
        f'[tiers] {tier} to a vision model (e.g. "openai:gpt-4.1-mini", '
        f'"anthropic:claude-sonnet-4-5", "gemini:gemini-2.5-flash"), or, if {model} does take '
        f'images, list it in [providers] vision_models = ["{model}"]',
        tier=tier,
        model=model,
    )


def image_tokens(prefix: str, width: int, height: int) -> int:
    """The most input tokens one ``width`` x ``height`` image costs on ``prefix``."""
    vendors = {"openai": _openai, "anthropic": _anthropic, "gemini": _gemini}
    count = vendors.get(prefix)
    if count is not None:
        return count(width, height)
    return max(f(width, height) for f in vendors.values())


def attachment_tokens(prefix: str, attachments: Collection[Attachment]) -> int:
    """The worst-case input tokens of every attachment, plus its label."""
    total = 0
    for item in attachments:
        width, height = item.size
        total += image_tokens(prefix, width, height) + math.ceil(len(item.label) / 3) + 4
    return total


def _fit(width: int, height: int, longest: int) -> tuple[float, float]:
    scale = min(1.0, longest / max(width, height, 1))
    return width * scale, height * scale


def _openai(width: int, height: int) -> int:
    w, h = _fit(width, height, 2048)
    shortest = min(w, h)
    if shortest > 768:
        w, h = w * 768 / shortest, h * 768 / shortest
    tiles = math.ceil(w / 512) * math.ceil(h / 512)
    patches = min(math.ceil(width / 32) * math.ceil(height / 32), 1536)
    return max(85 + 170 * tiles, math.ceil(patches * 2.46))


def _anthropic(width: int, height: int) -> int:
    w, h = _fit(width, height, 1568)
    return math.ceil(w * h / 750)


def _gemini(width: int, height: int) -> int:
    if width <= 384 and height <= 384:
        return 258
    return 258 * math.ceil(width / 768) * math.ceil(height / 768)


__all__ = [
    "IMAGE_TYPES",
    "VISION_MODELS",
    "Attachment",
    "attachment_tokens",
    "blind_model",
    "image_tokens",
    "takes_images",
]
