"""The per-frame numbers of a decoded take (``_media_decode``), computed a block of frames at
a time: one numpy pass over ``BLOCK`` frames instead of a dozen small calls a frame (the
figures are the per-frame ones: the same sums, in the same float64).

For each frame: the mean luma (Rec. 601 weights); for each frame after the first, the plain
mean absolute difference of luma to the previous frame, and the same difference of luma
standardised for brightness and contrast (0 when either frame is flat: spread <= 1 level).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["BLOCK", "Carry", "block_numbers"]

BLOCK = 16  # frames reduced together: few numpy calls, memory bounded (16 small frames)
_WEIGHTS = np.array([0.299, 0.587, 0.114])
FloatArray = npt.NDArray[np.float64]


@dataclass
class Carry:
    """The last frame of the previous block: its luma and its standardised luma (None: flat)."""

    luma: FloatArray | None = None
    z: FloatArray | None = None


def block_numbers(
    frames: npt.NDArray[np.uint8], carry: Carry
) -> tuple[list[float], list[float], list[float]]:
    """The mean luma of each of ``frames`` (n, height, width, 3), and the plain and content
    differences of each to the frame before it (the first to ``carry``'s frame, none when
    there is none); ``carry`` then holds the block's last frame."""
    luma = frames @ _WEIGHTS
    means = luma.mean(axis=(1, 2))
    spreads = luma.std(axis=(1, 2))
    flat = spreads <= 1.0
    z = (luma - means[:, None, None]) / np.where(flat, 1.0, spreads)[:, None, None]
    if carry.luma is not None:
        before_z = carry.z if carry.z is not None else np.zeros_like(carry.luma)
        luma_all = np.concatenate([carry.luma[None], luma])
        z_all = np.concatenate([before_z[None], z])
        flat_all = np.concatenate([[carry.z is None], flat])
    else:
        luma_all, z_all, flat_all = luma, z, flat
    diff = np.abs(np.diff(luma_all, axis=0)).mean(axis=(1, 2))
    content = np.abs(np.diff(z_all, axis=0)).mean(axis=(1, 2))
    content[flat_all[1:] | flat_all[:-1]] = 0.0
    carry.luma, carry.z = luma[-1], None if flat[-1] else z[-1]
    return [float(m) for m in means], [float(d) for d in diff], [float(c) for c in content]
