"""Colour maths for the palette check of ``_media``: hex colours, sRGB to CIELAB, the
dominant colours of a clip's pixels and their CIE76 distance to a palette.

Pure numpy on values; ``_media`` re-exports every name.
"""

from __future__ import annotations

import re

import numpy as np
import numpy.typing as npt

from ..core._errors import UserError

__all__ = [
    "HEX_COLOUR",
    "FloatArray",
    "dominant_colours",
    "hex_to_rgb",
    "palette_distance",
    "rgb_to_hex",
    "rgb_to_lab",
]

FloatArray = npt.NDArray[np.float64]
HEX_COLOUR = re.compile(r"#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})")


def hex_to_rgb(colour: str) -> tuple[int, int, int]:
    """``#1a2b3c`` (or ``1a2b3c``, ``#abc``) as an (r, g, b) tuple of 0-255 integers."""
    match = HEX_COLOUR.fullmatch(colour.strip())
    if not match:
        raise UserError(f"{colour!r} is not a hex colour like #1a2b3c")
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


def rgb_to_hex(rgb: npt.ArrayLike) -> str:
    """An (r, g, b) triple of 0-255 values as ``#rrggbb``."""
    r, g, b = (round(float(v)) for v in np.asarray(rgb).reshape(3))
    return f"#{r:02x}{g:02x}{b:02x}"


def rgb_to_lab(rgb: npt.ArrayLike) -> FloatArray:
    """sRGB (0-255, shape (..., 3)) to CIELAB under D65."""
    c = np.asarray(rgb, np.float64) / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    matrix = np.array(
        [
            [0.4124564, 0.3575761, 0.1804375],
            [0.2126729, 0.7151522, 0.0721750],
            [0.0193339, 0.1191920, 0.9503041],
        ]
    )
    xyz = linear @ matrix.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack(
        [116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])],
        axis=-1,
    )


def dominant_colours(
    pixels: npt.NDArray[np.uint8], coverage: float = 0.8
) -> tuple[FloatArray, FloatArray]:
    """The mean colours of the most populated coarse RGB bins that together cover ``coverage``
    of the pixels, most common first, with their pixel shares (summing to 1)."""
    level = (pixels >> 5).astype(np.intp)  # 8 levels per channel
    bins = (level[:, 0] << 6) | (level[:, 1] << 3) | level[:, 2]
    counts = np.bincount(bins, minlength=512)
    sums = np.stack(
        [np.bincount(bins, pixels[:, k].astype(np.float64), 512) for k in range(3)], axis=1
    )
    order = np.argsort(-counts, kind="stable")
    share = counts[order] / counts.sum()
    keep = int(np.searchsorted(np.cumsum(share), coverage) + 1)
    chosen = order[:keep][counts[order[:keep]] > 0]
    colours = sums[chosen] / counts[chosen, None]
    weights = counts[chosen] / counts[chosen].sum()
    return colours, weights.astype(np.float64)


def palette_distance(
    colours_lab: FloatArray, weights: FloatArray, palette_lab: FloatArray
) -> float:
    """Weighted mean CIE76 distance from each colour to its nearest palette colour."""
    distances = np.linalg.norm(colours_lab[:, None, :] - palette_lab[None, :, :], axis=2)
    return float((distances.min(axis=1) * weights).sum())
