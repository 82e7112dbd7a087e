"""What qc-grader shows the vision tier (issue 13 §2): sampled frames of the take and the shot's
character and set sheets, each attached with a label the model names in its answer.

Frames come from the take's one decode (``rules._media.decode``, the cache the technical checks
filled): the first, the last and evenly spaced ones between, ``[qc] sample_frames`` in all
(default 6), plus the first frame after every scene change the cut check detects (at most
``MAX_SCENE_FRAMES`` more: a take with more cuts than that already fails on them), in time
order, at the decode's look width (320 px), as JPEG. The sheets are the shot's
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
from ...rules._media import MediaThresholds, scene_changes
from ...rules._media_decode import Decoded, decode
from ...schemas import ShotRow
from ._sheets import shot_references

MAX_SCENE_FRAMES = 4  # scene-change frames added to the sample, at most

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
    """``count`` frames of the take (first, last, evenly spaced) and the first frame after
    each scene change, in time order, as labelled JPEGs."""
    if not proxy:
        return []
    try:
        decoded = decode(proxy, MediaThresholds().palette_samples)  # the checks' own decode
    except ProviderError:
        return []  # the decode finding already fails every category
    picks = sampled_frames(decoded, count)
    fps = decoded.info.fps or 1.0
    return [
        Attachment(
            f"take frame {n} of {len(picks)} "
            + (f"(scene change at {at / fps:.1f} s)" if cut else f"(about {at / fps:.1f} s)"),
            _jpeg(pixels),
            "image/jpeg",
        )
        for n, (at, cut, pixels) in enumerate(picks, 1)
    ]


def sampled_frames(decoded: Decoded, count: int) -> list[tuple[int, bool, npt.NDArray[np.uint8]]]:
    """(frame index, after a scene change, pixels) of the frames shown, in time order."""
    stats = decoded.stats
    shown = [(stats.at[i], False, stats.looks[i]) for i in spaced(len(stats.looks), count)]
    cuts = [i for i in scene_changes(stats) if i in stats.jumps]
    if len(cuts) > MAX_SCENE_FRAMES:  # the largest jumps
        cuts = sorted(cuts, key=lambda i: -stats.content[i - 1])[:MAX_SCENE_FRAMES]
    shown += [(i, True, stats.jumps[i]) for i in cuts]
    return sorted(shown, key=lambda pick: (pick[0], not pick[1]))


def spaced(total: int, count: int) -> list[int]:
    """Indices of the first, the last and evenly spaced items between (at most ``count``)."""
    if total <= count:
        return list(range(total))
    return sorted({round(i * (total - 1) / (count - 1)) for i in range(count)})


def qc_attachments(ctx: Context, row: ShotRow) -> tuple[Attachment, ...]:
    """The take's sampled frames, then the shot's character and set sheets."""
    frames = take_frames(ctx.inputs.get("PROXY"), ctx.config.qc.sample_frames)
    return (*frames, *sheet_attachments(ctx, row))


def sheet_attachments(ctx: Context, row: ShotRow) -> list[Attachment]:
    """The shot's character sheets in frame order, then its set's, labelled ``reference: ...``
    (also what storyboard-generator's gate shows the vision tier beside its frame)."""
    return [
        Attachment(f"reference: {ref.label}", ref.data, ref.media_type)
        for ref in shot_references(ctx, row)
    ]


def attached_list(images: tuple[Attachment, ...]) -> str:
    """The prompt's list of the attachments' labels, in the order they are sent."""
    listed = "\n".join(f"- {image.label}" for image in images) or "- none"
    return f"Attached, in order (each image follows a line with its label):\n{listed}\n\n"


def attached_text(images: tuple[Attachment, ...]) -> str:
    """What the prompt says about the attachments, and what the answer must name."""
    return attached_list(images) + (
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
    "MAX_SCENE_FRAMES",
    "Contradiction",
    "attached_list",
    "attached_text",
    "contradiction_notes",
    "qc_attachments",
    "sheet_attachments",
    "spaced",
    "take_frames",
]
