"""What qc-grader shows the vision tier (issue 13 §2): sampled frames of the take and the shot's
character and set sheets, each attached with a label the model names in its answer.

Frames come from the take's one decode (``rules._media.decode``, the cache the technical checks
filled): the first, the last and evenly spaced ones between, ``[qc] sample_frames`` in all
(default 6), at the decode's look width (320 px), as JPEG. The sheets are the shot's
(``_sheets.shot_references``). For every category it scores below 2 the model names the frame
and the lock item the frame contradicts (:class:`Contradiction`); the verdict stays in code.
"""

from __future__ import annotations

import io
from typing import Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, Field

from ...core._errors import ProviderError
from ...engine._attachments import Attachment
from ...engine._skill import Context
from ...rules._media import MediaThresholds
from ...rules._media_decode import decode
from ...schemas import ShotRow
from ._sheets import shot_references

Category = Literal[
    "face_consistency",
    "wardrobe_consistency",
    "set_continuity",
    "prop_accuracy",
    "lighting_consistency",
    "motion_integrity",
    "audio_consistency",
]


class Contradiction(BaseModel):
    """Why a category scored below 2: the frame that shows it and the lock item it breaks."""

    category: Category
    frame: str = Field(description='the label of the attached frame, e.g. "take frame 3 of 6"')
    lock_item: str = Field(
        description='the sheet or lock line contradicted, e.g. "CHAR_NELL_REF_v002: grey coat"'
    )
    detail: str = Field("", description="one line: what the frame shows instead")


def take_frames(proxy: bytes | None, count: int) -> list[Attachment]:
    """``count`` frames of the take (first, last, evenly spaced), as labelled PNGs."""
    if not proxy:
        return []
    try:
        decoded = decode(proxy, MediaThresholds().palette_samples)  # the checks' own decode
    except ProviderError:
        return []  # the decode finding already fails every category
    looks = decoded.stats.looks
    if not looks:
        return []
    picks = spaced(len(looks), count)
    duration = decoded.info.duration_s
    last = max(len(looks) - 1, 1)
    return [
        Attachment(
            f"take frame {n} of {len(picks)} (about {duration * index / last:.1f} s)",
            _jpeg(looks[index]),
            "image/jpeg",
        )
        for n, index in enumerate(picks, 1)
    ]


def spaced(total: int, count: int) -> list[int]:
    """Indices of the first, the last and evenly spaced items between (at most ``count``)."""
    if total <= count:
        return list(range(total))
    return sorted({round(i * (total - 1) / (count - 1)) for i in range(count)})


def qc_attachments(ctx: Context, row: ShotRow) -> tuple[Attachment, ...]:
    """The take's sampled frames, then the shot's character and set sheets."""
    frames = take_frames(ctx.inputs.get("PROXY"), ctx.config.qc.sample_frames)
    sheets = [
        Attachment(f"reference: {ref.label}", ref.data, ref.media_type)
        for ref in shot_references(ctx, row)
    ]
    return (*frames, *sheets)


def attached_text(images: tuple[Attachment, ...]) -> str:
    """What the prompt says about the attachments, and what the answer must name."""
    listed = "\n".join(f"- {image.label}" for image in images) or "- none"
    return (
        f"Attached, in order (each image follows a line with its label):\n{listed}\n\n"
        "Score what the frames show against the sheets and the GenPack's locks. For every "
        "category you score below 2, add a contradiction naming the frame's label exactly and "
        "the sheet or lock item it contradicts."
    )


def contradiction_notes(
    contradictions: list[Contradiction], scores: dict[str, int | None]
) -> list[str]:
    """One note per contradiction, and one per score below 2 the model left unexplained."""
    notes = [
        f"{c.category} {c.frame} vs {c.lock_item}" + (f": {c.detail}" if c.detail else "")
        for c in contradictions
    ]
    explained = {c.category for c in contradictions}
    notes += [
        f"{name} {score}: the model named no frame or lock item"
        for name, score in scores.items()
        if score is not None and score < 2 and name not in explained
    ]
    return notes


def _jpeg(pixels: npt.NDArray[np.uint8]) -> bytes:
    # JPEG, not PNG: ~1 ms a frame where PNG takes ~100 (a take's grain compresses badly); a
    # vendor bills an image by its size in pixels, not its bytes
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


__all__ = [
    "Contradiction",
    "attached_text",
    "contradiction_notes",
    "qc_attachments",
    "spaced",
    "take_frames",
]
