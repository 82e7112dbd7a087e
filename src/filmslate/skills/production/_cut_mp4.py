"""The one thing the cut reads from an MP4's boxes itself: the H.264 configuration (the
``avcC`` box: profile, level, SPS and PPS) of a clip whose only track is 8-bit 4:2:0 H.264
with square pixels.

Clips with the same configuration (same encoder settings, size and rate) can be joined by
the concat demuxer without a re-encode: its output carries one configuration, the first
file's, so a clip of another one would be decoded with the wrong parameters. Anything else
(two tracks, sound, another codec or profile, non-square pixels, a box that does not parse)
gives None: the cut then encodes the clip, as it always could.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

__all__ = ["avc_config"]

Box = tuple[bytes, int, int]  # the box's type, where its payload starts, where it ends
_PROFILES_420_8BIT = {66, 77, 100}  # baseline, main, high: 4:2:0 at 8 bits only
_VISUAL_ENTRY = 78  # bytes of an avc1 sample entry before its child boxes (ISO 14496-12)
_STSD_HEAD = 8  # version, flags and entry count before stsd's entries


def boxes(data: bytes, start: int, end: int) -> Iterator[Box]:
    """The boxes in ``data[start:end]``, in order; stops at the first that does not fit."""
    at = start
    while at + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, at)
        head = 8
        if size == 1 and at + 16 <= end:
            size, head = struct.unpack_from(">Q", data, at + 8)[0], 16
        elif size == 0:
            size = end - at
        if size < head or at + size > end:
            return
        yield kind, at + head, at + size
        at += size


def _only(data: bytes, box: Box | None, kind: bytes) -> Box | None:
    """The one child box of ``box`` of this type, or None (none, or more than one)."""
    if box is None:
        return None
    found = [child for child in boxes(data, box[1], box[2]) if child[0] == kind]
    return found[0] if len(found) == 1 else None


def avc_config(data: bytes) -> bytes | None:
    """The ``avcC`` payload of a single-track, 8-bit 4:2:0, square-pixel H.264 MP4, else
    None."""
    moov = _only(data, (b"", 0, len(data)), b"moov")
    track: Box | None = _only(data, moov, b"trak")
    for kind in (b"mdia", b"minf", b"stbl", b"stsd"):
        track = _only(data, track, kind)
    if track is None:
        return None
    entries = list(boxes(data, track[1] + _STSD_HEAD, track[2]))
    if len(entries) != 1 or entries[0][0] != b"avc1":
        return None
    entry = (b"avc1", entries[0][1] + _VISUAL_ENTRY, entries[0][2])
    config, pasp = _only(data, entry, b"avcC"), _only(data, entry, b"pasp")
    if config is None or config[2] - config[1] < 2 or data[config[1] + 1] not in _PROFILES_420_8BIT:
        return None
    if pasp is not None and data[pasp[1] : pasp[1] + 4] != data[pasp[1] + 4 : pasp[1] + 8]:
        return None  # a pixel aspect other than 1:1
    return data[config[1] : config[2]]
