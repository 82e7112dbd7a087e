"""The input a fal model gets for a job, built from its catalogue entry's input shape.

Every part of a job goes to the key the entry names (``core._catalogue.InputShape``) and is
left out when the model has no such key: the prompt, the negative prompt, the first frame,
the reference sheets (a plain URL list, or Kling's elements: one frontal image plus reference
images per subject), the duration (snapped and formatted by the entry), the seed, the
resolution name, the aspect ratio, the frame size, the shot's dialogue audio for a model
driven by it (``input.audio``, lip sync), and the entry's ``fixed`` values (which the price
assumes).

Images and audio go as data URIs (fal takes them wherever it takes a URL: its clients pass a
``data:`` URI through as the file). The same builder makes the
recorded payload with each image replaced by ``"sha256:<hex>"`` of its bytes, so what is
recorded and what is sent cannot drift apart.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
from collections.abc import Callable, Sequence
from typing import Any

from ..core._catalogue import InputShape, ModelEntry
from ..engine._images import ImageJob
from ..engine._video import Reference, VideoJob

Encode = Callable[[bytes, str], str]
"""How an image is written into the input: a data URI to send, or its digest to record."""


def data_uri(data: bytes, media_type: str) -> str:
    """The image as a ``data:`` URI."""
    return f"data:{media_type};base64,{base64.b64encode(data).decode('ascii')}"


def digest(data: bytes, media_type: str) -> str:
    """The image as ``"sha256:<hex>"`` of its bytes (what a recorded payload holds)."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def media_type_of(data: bytes) -> str:
    """PNG or JPEG by the file's signature (PNG when unsure)."""
    return "image/jpeg" if data[:3] == b"\xff\xd8\xff" else "image/png"


def video_input(entry: ModelEntry | None, job: VideoJob, encode: Encode) -> dict[str, Any]:
    """The model input for a video job (see the module docs)."""
    if entry is None:
        return _plain_video_input(job, encode)
    shape = entry.input
    out: dict[str, Any] = _common(shape, job.prompt, job.negative_prompt, job.seed)
    if shape.first_image and job.image is not None:
        out[shape.first_image] = encode(job.image, media_type_of(job.image))
    _add_references(out, shape, job.references, encode)
    if shape.audio and job.audio is not None:  # the dialogue the mouths follow (a WAV)
        out[shape.audio] = encode(job.audio, "audio/wav")
    if shape.duration:
        out[shape.duration] = entry.duration_input(job.duration_s)
    _add_frame(out, entry, job.width, job.height)
    out.update(shape.fixed)
    return out


def image_input(entry: ModelEntry | None, job: ImageJob, encode: Encode) -> dict[str, Any]:
    """The model input for an image job: prompt, references, seed, size (see the module docs)."""
    if entry is None:
        size = {"width": job.width, "height": job.height}
        return {"prompt": job.prompt, "seed": job.seed, "image_size": size}
    shape = entry.input
    out: dict[str, Any] = _common(shape, job.prompt, job.negative_prompt, job.seed)
    _add_references(out, shape, job.references, encode)
    _add_frame(out, entry, job.width, job.height)
    out.update(shape.fixed)
    return out


def _plain_video_input(job: VideoJob, encode: Encode) -> dict[str, Any]:
    """A model outside the catalogue: fal's common video input."""
    out: dict[str, Any] = {
        "prompt": job.prompt,
        "seed": job.seed,
        "duration": max(1, math.ceil(job.duration_s)),
    }
    if job.image is not None:
        out["image_url"] = encode(job.image, media_type_of(job.image))
    return out


def _common(shape: InputShape, prompt: str, negative: str, seed: int) -> dict[str, Any]:
    out: dict[str, Any] = {shape.prompt: prompt}
    if shape.negative_prompt and negative:
        out[shape.negative_prompt] = negative
    if shape.seed:
        out[shape.seed] = seed
    return out


def _add_references(
    out: dict[str, Any], shape: InputShape, references: Sequence[Reference], encode: Encode
) -> None:
    if not shape.references or not references:
        return
    if shape.references_format == "kling_elements":
        out[shape.references] = kling_elements(references, shape.max_references, encode)
    else:
        kept = references[: shape.max_references]
        out[shape.references] = [encode(r.data, r.media_type) for r in kept]


def kling_elements(
    references: Sequence[Reference], limit: int, encode: Encode
) -> list[dict[str, Any]]:
    """Kling's elements: one per subject (a sheet's label without its version), its first
    image frontal and its other views references (the frontal one again when it has no
    other); at most ``limit`` subjects."""
    subjects: dict[str, list[Reference]] = {}
    for reference in references:
        subjects.setdefault(re.sub(r"_v\d+$", "", reference.label), []).append(reference)
    elements: list[dict[str, Any]] = []
    for images in list(subjects.values())[:limit]:
        urls = [encode(r.data, r.media_type) for r in images]
        elements.append({"frontal_image_url": urls[0], "reference_image_urls": urls[1:] or urls})
    return elements


def _add_frame(out: dict[str, Any], entry: ModelEntry, width: int, height: int) -> None:
    shape = entry.input
    tier = entry.resolution_for(width, height)
    if shape.resolution and tier:
        out[shape.resolution] = tier
    if shape.aspect_ratio:
        ratio = aspect_ratio(width, height, shape.aspect_ratios)
        if ratio:
            out[shape.aspect_ratio] = ratio
    if shape.size:
        out[shape.size] = {"width": width, "height": height}


def aspect_ratio(width: int, height: int, allowed: Sequence[str]) -> str | None:
    """The allowed ``"w:h"`` closest to the frame's shape (``"auto"`` when none is a ratio)."""
    target = math.log(width / height)
    best: tuple[float, str] | None = None
    for name in allowed:
        match = re.fullmatch(r"(\d+):(\d+)", name)
        if match and int(match[1]) and int(match[2]):
            distance = abs(math.log(int(match[1]) / int(match[2])) - target)
            if best is None or distance < best[0]:
                best = (distance, name)
    if best is not None:
        return best[1]
    return "auto" if "auto" in allowed else None
