"""reference-sheets (issue 12 §3): a CHAR_<NAME>_REF and a SET_<LOCATION>_REF sheet per lock.

For a scene (its cast and its set) or for PROJECT (every character and set lock), each sheet is
made from the latest passing lock and recorded as made from that lock version only, so revising
one lock makes exactly its sheet, and every storyboard, GenPack and take made from it, stale.

Where a sheet comes from: an image model when ``[images]`` routes the use "sheet" to one
(``ctx.params["images"]``, the runner's metered image service), else the schematic drawing of
``rules._sheets`` (offline, deterministic, free).

Which sheets are made again, decided per subject from the latest sheet:

- none yet, or it failed, or its lock has a newer version (STALE): a new sheet;
- a passing, fresh sheet is kept, whoever made it: a person's own sheet
  (``slate add CHAR_NELL_REF.png``) wins and is never written over;
- except a schematic sheet once an image model serves "sheet": the drawing was the stand-in.

A person's sheet is recorded as drawn for the lock version current when it was added; when that
lock is revised later the sheet no longer shows the locked look, so the next run makes a new one
from the revised lock (a filmmaker who wants theirs adds a new drawing the same way).
"""

from __future__ import annotations

import hashlib
from typing import Any, ClassVar

from ...core._errors import ProviderError
from ...core._gate import Gate
from ...core._names import SHEET_LOCKS, format_stem
from ...engine._images import ImageJob, ImageMaker, ImageUse
from ...engine._skill import REGISTRY, Context, Layer, Media, Need, Skill, Tier
from ...engine._video import Reference
from ...rules._sheets import (
    SCHEMATIC,
    char_sheet_prompt,
    draw_char_sheet,
    draw_set_sheet,
    image_size,
    marked_png,
    set_sheet_prompt,
    sheet_mark,
)
from ...schemas import Artifact, CharLock, SetLock, ShotRow

IMAGES_PARAM = "images"  # ctx.params key: the runner's ImageMaker
SHEET_SIZE = (1280, 720)  # asked of an image model: one megapixel, landscape like a sheet
MIN_SHEET_PX = 256
SHEET_KINDS = {lock: sheet for sheet, lock in SHEET_LOCKS.items()}  # CHAR_LOCK -> CHAR_REF
# What a skill that sends a shot's sheets to a model declares (storyboard, render): a new
# sheet makes its output stale; a shot without sheets yet is made without references.
SHEET_NEEDS = (
    Need("CHAR_REF", "cast", optional=True),
    Need("SET_REF", "scene_set", optional=True),
)


def images_for(ctx: Context, use: ImageUse) -> ImageMaker | None:
    """The image service when an image model serves ``use``, else None (draw offline)."""
    images = ctx.params.get(IMAGES_PARAM)
    if isinstance(images, ImageMaker) and not images.offline(use):
        return images
    return None


def image_seed(key: str) -> int:
    """A stable seed per sheet or frame, so a resumed or repeated job asks the same thing."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") & 0x7FFFFFFF


class ReferenceSheets(Skill):
    """Draws (or has an image model make) one reference sheet per character and set lock.

    A sheet is made where the latest one is missing, failed, or made from an older version of
    its lock; a fresh passing sheet is kept, so a person's own (``slate add CHAR_NELL_REF.png``)
    wins and is never written over. A person's sheet counts as drawn for the lock as it stood
    when it was added: once that lock is revised, the drawing no longer shows the locked look
    and a sheet of the revised lock is made (add a new drawing to win again). A schematic sheet
    is replaced as soon as an image model serves "sheet" (``[images]`` in filmslate.toml).
    Each sheet is recorded as made from its own lock only.
    """

    name: ClassVar[str] = "reference-sheets"
    layer: ClassVar[Layer] = "production"
    tier: ClassVar[Tier] = "vision"
    loop: ClassVar[str] = "production"
    needs: ClassVar[tuple[Need, ...]] = (
        Need("CHAR_LOCK", "cast"),
        Need("SET_LOCK", "scene_set"),
        # the sheets there are now, read to tell a person's from a schematic (not lineage)
        Need("CHAR_REF", "cast", optional=True, lineage=False, history=True),
        Need("SET_REF", "scene_set", optional=True, lineage=False, history=True),
    )
    produces: ClassVar[tuple[str, ...]] = ("CHAR_REF", "SET_REF")
    target_scope: ClassVar[Any] = "target"
    uses_model: ClassVar[bool] = False
    uses_images: ClassVar[bool] = True  # gets the runner's image service
    wants_existing: ClassVar[bool] = True
    revise_on_fail: ClassVar[bool] = False  # the same job gives the same thumbnail again
    summary: ClassVar[str] = (
        "after the locks pass: a reference sheet per character and set lock (an image "
        "model's, else a schematic drawing); a person's own sheet wins"
    )

    def produce(self, ctx: Context) -> list[Artifact | Media]:
        """A sheet for every lock whose latest sheet is missing, stale, failed or schematic
        while an image model now serves sheets."""
        images = images_for(ctx, "sheet")
        out: list[Artifact | Media] = []
        for lock_kind, subject in sheets_to_make(ctx, images is not None):
            lock = ctx.inputs.all(lock_kind)[subject]
            made_from = _lock_file(ctx, lock_kind, subject)
            data = _sheet(lock, made_from, images, self.name)
            out.append(Media(SHEET_KINDS[lock_kind], subject, data, inputs=(made_from,)))
        return out

    def gate(self, outputs: list[Any], ctx: Context) -> Gate:
        """FAIL on a sheet too small to show a face or an anchor (an image model's thumbnail)."""
        failures = []
        for sheet in outputs:
            width, height = image_size(sheet.data)
            if min(width, height) < MIN_SHEET_PX:
                failures.append(
                    f"{format_stem(sheet.KIND, sheet.subject)}: {width}x{height} is too small "
                    f"for a reference sheet (at least {MIN_SHEET_PX} px on the short side)"
                )
        return Gate.from_failures(failures)


def sheets_to_make(ctx: Context, real: bool) -> list[tuple[str, str]]:
    """(lock kind, subject) of every loaded lock whose sheet must be made; ``real`` when an
    image model serves "sheet" (a schematic sheet is then made again)."""
    return [
        (lock_kind, subject)
        for lock_kind, sheet_kind in SHEET_KINDS.items()
        for subject in sorted(ctx.inputs.all(lock_kind))
        if not _keep(ctx, sheet_kind, subject, real)
    ]


def _keep(ctx: Context, sheet_kind: str, subject: str, real: bool) -> bool:
    existing: dict[str, dict[str, str]] = ctx.params.get("existing", {})
    if existing.get(sheet_kind, {}).get(subject) != "PASS":
        return False  # none yet, failed, or made from an older lock
    current = ctx.inputs.all(sheet_kind).get(subject)
    schematic = isinstance(current, bytes) and sheet_mark(current).startswith(SCHEMATIC)
    return not (real and schematic)


def _lock_file(ctx: Context, lock_kind: str, subject: str) -> str:
    prefix = f"{format_stem(lock_kind, subject)}_v"
    return next(n for n in ctx.inputs.names if n.startswith(prefix))


def _sheet(
    lock: CharLock | SetLock, made_from: str, images: ImageMaker | None, skill: str
) -> bytes:
    if images is None:
        if isinstance(lock, CharLock):
            return draw_char_sheet(lock, made_from)[0]
        return draw_set_sheet(lock, made_from)[0]
    prompt, negative = (
        char_sheet_prompt(lock) if isinstance(lock, CharLock) else set_sheet_prompt(lock)
    )
    key = format_stem(SHEET_KINDS[lock.KIND], lock.name)
    job = ImageJob(
        key=key,
        prompt=prompt,
        width=SHEET_SIZE[0],
        height=SHEET_SIZE[1],
        use="sheet",
        negative_prompt=negative,
        seed=image_seed(key),
    )
    try:
        return marked_png(images.image(job, skill), f"image {made_from}")
    except ValueError as exc:
        raise ProviderError(
            f"{key}: the image model's answer is {exc}; nothing was stored", failure="other"
        ) from None


# -- the sheets of a shot, for skills that send them to a model ---------------------------------


def shot_references(ctx: Context, row: ShotRow) -> tuple[Reference, ...]:
    """The shot's character sheets in frame order, then its set's sheet, as references.

    Only sheets the skill loaded (declare ``SHEET_NEEDS``); a character or set without a
    sheet yet is left out. Each is labelled with its file's stem (``CHAR_NELL_REF_v002``).
    """
    wanted = [("CHAR_REF", cid) for cid in row.char_ids] + [("SET_REF", row.set_id)]
    out = []
    for sheet_kind, subject in wanted:
        data = ctx.inputs.all(sheet_kind).get(subject)
        if not isinstance(data, bytes):
            continue
        prefix = f"{format_stem(sheet_kind, subject)}_v"
        name = next((n for n in ctx.inputs.names if n.startswith(prefix)), prefix)
        out.append(Reference(label=name.rsplit(".", 1)[0], data=data))
    return tuple(out)


REGISTRY.register(ReferenceSheets)

__all__ = [
    "IMAGES_PARAM",
    "SHEET_NEEDS",
    "ReferenceSheets",
    "image_seed",
    "images_for",
    "sheets_to_make",
    "shot_references",
]
