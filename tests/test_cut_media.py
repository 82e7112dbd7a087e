"""The cut's media work is a few ffmpeg runs, and still exact (issue 13 §5, decode once):
assemble-cut encodes its takes a chunk at a time (``_cut_media.CHUNK`` clips a run) and joins
the chunks, so N takes cost ``ceil(N / CHUNK) + 1`` ffmpeg runs (before: one a take, plus the
join); every take plays exactly its trimmed frames, in the plan's order, at one size and
rate, with the dialogue track; the same takes make the same bytes."""

from __future__ import annotations

import math
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from filmslate.core._config import Resolution
from filmslate.engine._runner import Runner
from filmslate.rules._conform import ClipTarget, conform
from filmslate.rules._media import probe
from filmslate.schemas import EditPlan
from filmslate.skills.production import _cut_media
from filmslate.skills.production._cut_mp4 import avc_config
from filmslate.synthetic._video import clip_bytes
from test_edit_planner import film_of, frames, plan_of
from test_skills_production import put

FPS = 12  # the animatic proxies of film_of: 96x64 at 12 fps
# five shots, the camera changing every shot (no jump cut), of 2-3 s
SHOTS = tuple(
    (("medium", "close_up")[n % 2], f"Alex waits, beat {n}.", (3.0, 2.5, 2.0, 3.0, 2.5)[n])
    for n in range(5)
)
# the hand-made plan: (shot number, in s, out s), in the order the cut plays them
TRIMS = ((3, 0.5, 2.0), (1, 0.0, 3.0), (5, 1.0, 2.5), (2, 0.25, 1.75), (4, 0.5, 1.0))


@pytest.fixture
def film(tmp_path: Path) -> Iterator[Runner]:
    """One scene of five rendered, passed proxies with a hand-made, trimmed plan."""
    runner = film_of(tmp_path / "film", SHOTS)
    assert runner.run("edit-planner", "S01").gate.passed
    rows = {row.shot_id: row for row in plan_of(runner, "S01").rows}
    planned, record = [], 0.0
    for position, (n, first, end) in enumerate(TRIMS, start=1):
        row = rows[f"S01_SH{n:02d}"]
        update = {"position": position, "in_s": first, "out_s": end, "record_in_s": record}
        update |= {"handle_in_s": first, "handle_out_s": row.source_s - end}
        update |= {"audio_lead_s": 0.0, "audio_lag_s": 0.0}
        planned.append(row.model_copy(update=update))
        record += end - first
    put(runner.project, "EDIT", "S01", EditPlan(rows=planned))
    yield runner
    runner.project.close()


class CutRuns:
    """The ffmpeg processes started with a path in the cut's temporary folder."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.commands: list[list[str]] = []
        real = subprocess.Popen.__init__
        runs = self

        def counted(popen: Any, args: Any, *rest: Any, **kwargs: Any) -> None:
            if any("filmslate-cut-" in str(arg) for arg in args):
                runs.commands.append([str(arg) for arg in args])
            real(popen, args, *rest, **kwargs)

        monkeypatch.setattr(subprocess.Popen, "__init__", counted)


def cut_of(runner: Runner) -> bytes:
    result = runner.run("assemble-cut", "S01")
    assert result.gate.passed, result.gate.reasons
    return runner.store.read(result.records[0].filename)


def assert_plays_the_plan(cut: bytes, runner: Runner, folder: Path) -> None:
    """Every take's trimmed frames, in the plan's order: the frame count is the sum of the
    trims, and each take's first played frame is its in-point frame (nearer to it than to any
    frame of another take)."""
    info = probe(cut)
    trims = [(round(first * FPS), round(end * FPS)) for _, first, end in TRIMS]
    assert info.frames == sum(end - first for first, end in trims)
    assert (info.width, info.height, info.fps) == (96, 64, FPS)
    folder.mkdir()
    played = frames(cut, folder)
    assert len(played) == info.frames
    plan = plan_of(runner, "S01").rows
    takes = {row.shot_id: frames(runner.store.read(row.take), folder) for row in plan}
    at = 0
    for row, (first, end) in zip(plan, trims, strict=True):
        mine = np.abs(played[at] - takes[row.shot_id][first]).mean()
        theirs = min(
            np.abs(played[at] - frame).mean()
            for shot_id, clip in takes.items()
            if shot_id != row.shot_id
            for frame in clip
        )
        assert mine < theirs, (row.shot_id, at)
        at += end - first


def test_the_cut_is_one_encode_and_one_join_and_plays_the_trims(
    film: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = CutRuns(monkeypatch)
    cut = cut_of(film)
    # five takes, one chunk: one encode and the join (before: five encodes and the join)
    assert len(runs.commands) <= math.ceil(len(TRIMS) / _cut_media.CHUNK) + 1 == 2
    assert_plays_the_plan(cut, film, tmp_path / "frames")


def test_chunks_join_exactly_at_their_seams(
    film: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_cut_media, "CHUNK", 2)  # five takes: three chunks (2, 2, 1)
    runs = CutRuns(monkeypatch)
    cut = cut_of(film)
    assert len(runs.commands) == 3 + 1
    assert sum("-filter_complex" in command for command in runs.commands) == 3
    assert_plays_the_plan(cut, film, tmp_path / "frames")


def test_the_same_takes_make_the_same_cut(film: Runner) -> None:
    plan = plan_of(film, "S01").rows
    clips = [film.store.read(row.take) for row in plan]
    trims = [(round(row.in_s * FPS), round(row.out_s * FPS)) for row in plan]
    res = film.project.config.resolution.proxy
    assert _cut_media.concat(clips, res, trims) == _cut_media.concat(clips, res, trims)


def test_whole_takes_in_the_cut_s_encoding_are_copied_not_encoded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No edit plan: every take plays whole, and the animatic's takes are already 96x64 at
    12 fps in one H.264 configuration: the cut is the join alone, its frames the takes'."""
    runner = film_of(tmp_path / "film", SHOTS)
    runs = CutRuns(monkeypatch)
    cut = cut_of(runner)
    assert len(runs.commands) == 1 and "-filter_complex" not in runs.commands[0]
    takes = [runner.store.read(r.name) for r in runner.store.latest_of_each("PROXY")]
    assert probe(cut).frames == sum(probe(take).frames for take in takes)
    folder = tmp_path / "frames"
    folder.mkdir()
    played = np.stack(frames(cut, folder))
    assert np.array_equal(played, np.concatenate([frames(take, folder) for take in takes]))
    assert avc_config(cut) is None  # two tracks (the picture and its sound): never copied
    runner.project.close()


def test_copied_and_encoded_chunks_share_one_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Takes conformed by filmslate (rules._conform's H264) and the cut's encoded chunks have
    one configuration: whole takes are copied beside a chunk encoded for its trim."""
    res = Resolution(width=96, height=64, fps=FPS)
    clips = [
        conform(clip_bytes(128, 72, FPS, 30, n / 5), ClipTarget(96, 64, FPS, 2.5)).data
        for n in range(5)
    ]
    assert len({avc_config(clip) for clip in clips}) == 1
    trims = [(0, 30), (0, 30), (0, 30), (0, 30), (6, 20)]
    monkeypatch.setattr(_cut_media, "CHUNK", 2)  # chunks (2 whole, 2 whole, 1 trimmed)
    runs = CutRuns(monkeypatch)
    cut = _cut_media.concat(clips, res, trims)
    assert [("-filter_complex" in command) for command in runs.commands] == [True, False]
    assert probe(cut).frames == 4 * 30 + 14
    played = frames(cut, tmp_path)
    copied = [frame for clip in clips[:4] for frame in frames(clip, tmp_path)]
    assert np.array_equal(np.stack(played[:120]), np.stack(copied))  # the very same pictures
