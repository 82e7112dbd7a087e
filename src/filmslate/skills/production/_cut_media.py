"""The cut's media work (assemble-cut, issue 13 §5): the accepted takes normalised, trimmed
and joined into one MP4 with few ffmpeg runs.

The takes go in chunks of :data:`CHUNK`. A chunk is **encoded** by one ffmpeg run with its
takes as inputs and one ``filter_complex``: per input scale and pad to the cut's size,
``setsar=1``, ``fps=`` the cut's rate, then (with trims) ``trim`` by first and end frame at
that rate; the ``concat`` filter lays them end to end and the chunk is encoded once
(:data:`~filmslate.rules._conform.H264`). A chunk whose takes all play whole and are already
at the cut's size and rate in one H.264 configuration (``_cut_mp4.avc_config``: a conformed
take has the configuration the chunks are encoded in, a model's clip that needed no conform
its model's) is **copied** as it is. The chunks are joined by the concat demuxer without a
second encode, the dialogue track muxed in as AAC: at most ``ceil(N / CHUNK) + 1`` ffmpeg
runs for N takes, one when every take is copied (before: one encode a take, whose process
start and encoder set-up were most of the cut's time, and the join). Frame counts add up
exactly: each part has exactly its frames and none is encoded twice.

Why chunks and not one run: a chunk's inputs are open at once (one file and one decoder
each) and its filter graph is one argument on the command line, so both stay bounded
(``CHUNK`` inputs, under 200 characters of filter an input) at any length of film; an
encoded chunk's takes are on disk only for its run. Deterministic: one encoder thread, one
decoder thread an input, bit-exact flags, no metadata; copied takes are their own bytes.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import imageio_ffmpeg  # type: ignore[import-untyped]

from ...core._config import Resolution
from ...core._errors import ProviderError, UserError
from ...rules._conform import H264
from ...rules._media import probe
from ._cut_mp4 import avc_config
from ._mix import AAC

__all__ = ["CHUNK", "concat"]

CHUNK = 24  # clips per ffmpeg run: few process starts, bounded open files and command line


def concat(
    clips: list[bytes],
    res: Resolution,
    trims: list[tuple[int, int]] | None = None,
    audio: bytes | None = None,
) -> bytes:
    """One MP4 of the clips in order: each normalised to one size and rate (and cut to its
    ``trims``, first and end frame at the cut's rate, when given), encoded a chunk at a time
    (a chunk of whole takes already in the cut's encoding is copied), the chunks joined with
    the concat demuxer (no second encode, so frame counts add up exactly); ``audio`` (WAV)
    muxed in as its AAC track."""
    if not clips:
        raise UserError("nothing to assemble: the target has no shots")
    if trims is not None and len(trims) != len(clips):
        raise UserError(f"the cut has {len(clips)} clips but {len(trims)} trims")
    spans = [range(at, min(at + CHUNK, len(clips))) for at in range(0, len(clips), CHUNK)]
    shared, copy = copied_chunks(clips, res, trims, spans)
    with tempfile.TemporaryDirectory(prefix="filmslate-cut-") as tmp:
        cut = _Cut(Path(tmp), clips, res, trims)
        parts = {n: cut.encoded(n, span) for n, span in enumerate(spans) if not copy[n]}
        made = next(iter(parts.values()), None)
        if made is not None and avc_config(made[0].read_bytes()) != shared:
            copy = [False] * len(spans)  # the encoder's configuration is another: encode all
        for number, span in enumerate(spans):
            if number not in parts:
                parts[number] = cut.copied(span) if copy[number] else cut.encoded(number, span)
        return cut.joined([path for number in range(len(spans)) for path in parts[number]], audio)


def copied_chunks(
    clips: list[bytes], res: Resolution, trims: list[tuple[int, int]] | None, spans: list[range]
) -> tuple[bytes | None, list[bool]]:
    """The H.264 configuration the copied takes share, and per chunk whether it is copied:
    when each of its takes plays whole and is already at the cut's size and rate in that one
    configuration (the first such take's: the concat demuxer's output carries one)."""
    configs = [
        as_is(data, res, None if trims is None else trims[i]) for i, data in enumerate(clips)
    ]
    shared = next((config for config in configs if config is not None), None)
    copy = [shared is not None and all(configs[i] == shared for i in span) for span in spans]
    return shared, copy


def as_is(data: bytes, res: Resolution, trim: tuple[int, int] | None) -> bytes | None:
    """The clip's H.264 configuration when the cut can play it as it is: single-track 4:2:0
    H.264 at the cut's size and rate, played whole (no trim, or from its first frame to its
    last); else None. The size, rate and frame count are the take's facts (``probe``: known
    from its QC decode)."""
    config = avc_config(data)
    if config is None:
        return None
    try:
        info = probe(data)
    except ProviderError:
        return None  # the encode says what is wrong with it
    if (info.width, info.height) != (res.width, res.height) or abs(info.fps - res.fps) > 1e-6:
        return None
    return config if trim is None or trim == (0, info.frames) else None


class _Cut:
    """The cut's temporary folder, its takes and what each ffmpeg run of it writes there."""

    def __init__(
        self,
        folder: Path,
        clips: list[bytes],
        res: Resolution,
        trims: list[tuple[int, int]] | None,
    ) -> None:
        self.folder, self.clips, self.res, self.trims = folder, clips, res, trims
        self.ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()

    def encoded(self, number: int, span: range) -> list[Path]:
        """The chunk's takes normalised, trimmed and encoded by one ffmpeg run."""
        chunk = [self.clips[index] for index in span]
        trims = None if self.trims is None else [self.trims[index] for index in span]
        out = self.folder / f"part{number:05d}.mp4"
        _encode_chunk(self.ffmpeg, self.folder, chunk, self.res, trims, out)
        return [out]

    def copied(self, span: range) -> list[Path]:
        """The chunk's takes written as they are, for the concat demuxer to copy."""
        paths = []
        for index in span:
            path = self.folder / f"take{index:05d}.mp4"
            path.write_bytes(self.clips[index])
            paths.append(path)
        return paths

    def joined(self, parts: list[Path], audio: bytes | None) -> bytes:
        """The parts joined by the concat demuxer (stream copy), the sound muxed in."""
        return _join(self.ffmpeg, self.folder, parts, audio)


def chunk_filter(count: int, res: Resolution, trims: list[tuple[int, int]] | None) -> str:
    """The filter graph of one chunk of ``count`` inputs: each normalised (and trimmed: frames
    at the cut's rate, so after ``fps=``), then concatenated to ``[cut]``."""
    normal = (
        f"scale={res.width}:{res.height}:force_original_aspect_ratio=decrease,"
        f"pad={res.width}:{res.height}:(ow-iw)/2:(oh-ih)/2,setsar=1,fps={res.fps}"
    )
    chains = []
    for index in range(count):
        chain = f"[{index}:v:0]{normal}"
        if trims is not None:
            first, end = trims[index]
            chain += f",trim=start_frame={first}:end_frame={end},setpts=PTS-STARTPTS"
        chains.append(f"{chain}[v{index}]")
    joined = "".join(f"[v{index}]" for index in range(count))
    return ";".join([*chains, f"{joined}concat=n={count}:v=1:a=0[cut]"])


def _encode_chunk(
    ffmpeg: str,
    folder: Path,
    clips: list[bytes],
    res: Resolution,
    trims: list[tuple[int, int]] | None,
    out: Path,
) -> None:
    """One ffmpeg run: the chunk's clips as inputs (one decoder thread each), one encode."""
    inputs, sources = [], []
    for index, data in enumerate(clips):
        source = folder / f"in{index:05d}.mp4"
        source.write_bytes(data)
        sources.append(source)
        inputs += ["-threads", "1", "-i", str(source)]
    graph = chunk_filter(len(clips), res, trims)
    try:
        _ffmpeg([ffmpeg, *inputs, "-filter_complex", graph, "-map", "[cut]", *H264, str(out)])
    finally:
        for source in sources:  # only one chunk of takes on disk at a time
            source.unlink(missing_ok=True)


def _join(ffmpeg: str, folder: Path, parts: list[Path], audio: bytes | None) -> bytes:
    """The encoded chunks joined by the concat demuxer (stream copy), the sound muxed in."""
    listing = folder / "list.txt"
    listing.write_text("".join(f"file '{part.name}'\n" for part in parts))
    sound = []
    if audio is not None:
        (folder / "sound.wav").write_bytes(audio)
        sound = ["-i", str(folder / "sound.wav"), "-map", "0:v:0", "-map", "1:a:0", *AAC]
    out = folder / "cut.mp4"
    _ffmpeg(
        [
            ffmpeg,
            *("-f", "concat", "-safe", "0", "-i", str(listing)),
            *sound,
            *("-c:v", "copy", "-map_metadata", "-1", "-fflags", "+bitexact"),
            *("-movflags", "+faststart", str(out)),
        ]
    )
    return out.read_bytes()


def _ffmpeg(command: list[str]) -> None:
    result = subprocess.run(
        [command[0], "-v", "error", "-nostdin", "-y", *command[1:]],
        capture_output=True,
        check=False,
    )
    if result.returncode:
        lines = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ProviderError(f"ffmpeg failed while assembling: {lines[-1] if lines else '?'}")
