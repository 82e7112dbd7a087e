"""A rendered take for render-proxy and render-final: the references sent, the conform of the
provider's clip to the spec, and the technical grading of a final take.

- **references**: the storyboard frame goes as the first image (image-to-video); the shot's
  character and set sheets go as references (``_sheets.shot_references``).
- **conform**: the provider's clip (kept as ``RAW_PROXY`` / ``RAW_FINAL``) is scaled and
  cropped (or padded: ``[visual] conform = "pad"``), re-timed and trimmed to the planned
  duration (``rules._conform``); the conformed clip is the take the gate grades. A clip
  shorter than the plan is never stretched: the take fails its gate, the original is kept.
- **final grading**: a final take goes into the cut only after the technical checks qc-grader
  runs on proxies (``rules._media.technical_checks``, verdict by the hero tier's threshold).

The conform and the checks are pure computation on bytes the step holds, marked
``engine._waits.computing``: under ``slate run --jobs N`` other steps write the store and
submit their jobs meanwhile (the take is decoded there too, so the gate's own look at it is
a cache hit).
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass

from ...core._config import Resolution
from ...core._errors import ProviderError
from ...engine._skill import Context
from ...engine._waits import computing
from ...rules._conform import ClipTarget, ClipTooShort, ConformMode, conform
from ...rules._media import ClipSpec, decode, rubric_from_technical, technical_checks
from ...schemas import SetLock, ShotRow
from ._first_frame import storyboard_frame
from ._qc import qc_verdict


@dataclass(frozen=True)
class Rendered:
    """The provider's clip, the take made from it, and what was done (or why it failed)."""

    raw: bytes
    data: bytes
    note: str
    failure: str = ""  # set when the clip could not be conformed (shorter than the plan)


def conform_mode(ctx: Context) -> ConformMode:
    """``[visual] conform``: "crop" (scale to cover, centre crop; default) or "pad"."""
    return ctx.config.visual.conform


def make_take(ctx: Context, row: ShotRow, raw: bytes, res: Resolution, label: str) -> Rendered:
    """The provider's clip conformed to ``res`` and the shot's planned duration."""
    target = ClipTarget(res.width, res.height, res.fps, row.duration_s)
    mode = conform_mode(ctx)
    try:
        with computing():  # bytes in, bytes out: other steps run meanwhile
            done = conform(raw, target, mode)
            decoded(done.data)  # the gate decodes the take next: from the cache then
    except ClipTooShort as exc:
        why = f"{row.shot_id}: the provider's {label} clip cannot be conformed: {exc}"
        return Rendered(raw, raw, why, failure=why)
    return Rendered(raw, done.data, f"{row.shot_id}: {done.summary()}")


def decoded(data: bytes) -> None:
    """Decode the take into the cache (an undecodable one is refused by the gate itself)."""
    with suppress(ProviderError):
        decode(data)


def final_failures(ctx: Context, row: ShotRow, data: bytes) -> list[str]:
    """The technical checks qc-grader runs, on a final take: empty when it would PASS."""
    final = ctx.config.resolution.final
    set_lock: SetLock | None = ctx.inputs.all("SET_LOCK").get(row.set_id)
    spec = ClipSpec(
        row.duration_s,
        final.width,
        final.height,
        final.fps,
        palette=list(set_lock.palette) if set_lock else [],
        allow_static=row.camera_type == "insert",
        characters=len(row.char_ids),
        camera_type=row.camera_type,
        temperature_k=set_lock.lighting.temperature_k if set_lock else None,
        first_frame=storyboard_frame(ctx),
    )
    with computing():  # the decode and the looks, on the take's bytes alone
        findings = technical_checks(data, spec)
    scores: dict[str, int | None] = dict(rubric_from_technical(findings))
    verdict, reasons = qc_verdict(scores, ctx.config.qc.threshold(row.hero_tier))
    if verdict == "PASS":
        return []
    found = "; ".join(f"{f.check} {f.severity}: {f.detail}" for f in findings)
    return [
        f"{row.shot_id}: the final take fails the technical checks ({verdict}: "
        f"{'; '.join(reasons)}): {found}; the cut will not use it: render the shot again from "
        "a changed GenPack (prompt-packager after a regen rule or lock change, then "
        "render-proxy, qc-grader and render-final)"
    ]


__all__ = [
    "Rendered",
    "conform_mode",
    "final_failures",
    "make_take",
]
