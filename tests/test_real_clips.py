"""Real clips accepted (issue 12 §6): a provider's clip of its own size and length is conformed
to the spec through the real runner, the original is kept, and the final take is graded."""

from __future__ import annotations

import subprocess
import tempfile
from functools import cache
from pathlib import Path
from typing import ClassVar

import imageio_ffmpeg
import numpy as np
import pytest

from conftest import png, run_slate
from filmslate.core._errors import InputNotReady
from filmslate.engine._render import RenderService
from filmslate.engine._runner import Runner
from filmslate.engine._skill import Registry
from filmslate.engine._video import JobStatus, VideoJob, VideoProvider
from filmslate.rules._media import probe
from filmslate.skills.production import AssembleCut, RenderFinal, RenderProxy
from filmslate.store._project import Project
from filmslate.synthetic._video import clip_bytes
from test_skills_production import put
from test_skills_render import film, qc

__all__ = ["film"]  # the fixture, imported


@cache
def with_black_frames(width: int, height: int, fps: int, frames: int) -> bytes:
    """A moving clip with a run of black frames in the middle (a broken take)."""
    x = np.arange(width) / width
    pictures = []
    for t in range(frames):
        row = 110 + 30 * np.sin(2 * np.pi * (x - t / 16))
        picture = np.broadcast_to(row[None, :, None], (height, width, 3)).astype(np.uint8)
        pictures.append(np.zeros_like(picture) if frames // 3 <= t < frames // 2 else picture)
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "clip.mp4"
        command = [
            imageio_ffmpeg.get_ffmpeg_exe(),
            *("-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24"),
            *("-s", f"{width}x{height}", "-r", str(fps), "-i", "-"),
            *("-c:v", "libx264", "-pix_fmt", "yuv420p", "-an", str(out)),
        ]
        subprocess.run(command, input=b"".join(p.tobytes() for p in pictures), check=True)
        return out.read_bytes()


class ModelFake(VideoProvider):
    """A hosted model's habits: its own frame size, frame rate and clip length."""

    name: ClassVar[str] = "fake"

    def __init__(self, proxy: bytes, final: bytes | None = None) -> None:
        self.clips = {"proxy": proxy, "final": final or proxy}
        self.jobs: dict[str, VideoJob] = {}

    def submit(self, job: VideoJob) -> str:
        job_id = f"job-{len(self.jobs) + 1}"
        self.jobs[job_id] = job
        return job_id

    def poll(self, job_id: str) -> JobStatus:
        return JobStatus("done")

    def download(self, job_id: str) -> bytes:
        # the proxy tier of the film fixture is 96 wide
        return self.clips["proxy" if self.jobs[job_id].width == 96 else "final"]

    def price_per_second(self, width: int, height: int) -> float:
        return 0.5


def runner(root: Path, provider: VideoProvider) -> tuple[Runner, RenderService]:
    project = Project(root)
    registry = Registry()
    for skill in (RenderProxy, RenderFinal, AssembleCut):
        registry.register(skill)
    service = RenderService(project, providers={"fake": provider}, poll_interval_s=0.0)
    return Runner(project, registry), service


def test_a_wide_5s_clip_becomes_the_planned_proxy_and_the_original_is_kept(film: Path) -> None:
    raw = clip_bytes(320, 180, 24, 120)  # 16:9, 24 fps, 5 s; the shot is 96x64 at 12, 4 s
    r, service = runner(film, ModelFake(raw))
    result = r.run("render-proxy", "S01_SH02", params={"render": service})
    assert result.gate.passed, result.gate.reasons
    names = [rec.filename for rec in result.records]
    assert names == ["PROXY_S01_SH02_v001.mp4", "RAW_PROXY_S01_SH02_v001.mp4"]
    take = probe(r.store.read("PROXY_S01_SH02_v001.mp4"))
    assert (take.width, take.height, take.fps, take.frames) == (96, 64, 12.0, 48)
    assert r.store.read("RAW_PROXY_S01_SH02_v001.mp4") == raw
    # what the conform did is in the run log
    note = r.store.conn.execute(
        "SELECT notes FROM runlog WHERE skill_name = 'render-proxy' AND event = 'run'"
    ).fetchone()[0]
    assert "conform from 320x180 24fps 5s" in note and "trim 5s -> 4s (48 frames)" in note


def test_a_matching_clip_is_not_re_encoded(film: Path) -> None:
    raw = clip_bytes(96, 64, 12, 48)
    r, service = runner(film, ModelFake(raw))
    result = r.run("render-proxy", "S01_SH02", params={"render": service})
    assert result.gate.passed and result.gate.reasons == ()
    assert (
        r.store.read("PROXY_S01_SH02_v001.mp4")
        == raw
        == r.store.read("RAW_PROXY_S01_SH02_v001.mp4")
    )


def test_a_clip_shorter_than_the_plan_fails_and_is_never_stretched(film: Path) -> None:
    raw = clip_bytes(320, 180, 24, 72)  # 3 s for a 4 s shot
    r, service = runner(film, ModelFake(raw))
    result = r.run("render-proxy", "S01_SH02", params={"render": service})
    assert result.gate.verdict == "FAIL"
    assert any("never stretched" in reason for reason in result.gate.reasons)
    assert r.store.read("RAW_PROXY_S01_SH02_v001.mp4") == raw  # paid for: kept
    with pytest.raises(InputNotReady, match=r"PROXY_S01_SH02_v001\.mp4 failed its gate"):
        r.run("render-final", "S01_SH02", params={"render": service})


def test_a_final_take_that_fails_the_technical_checks_never_reaches_the_cut(film: Path) -> None:
    good = clip_bytes(320, 180, 24, 120)
    broken = with_black_frames(320, 192, 24, 120)
    r, service = runner(film, ModelFake(good, broken))
    assert r.run("render-proxy", "S01_SH02", params={"render": service}).gate.passed
    qc(film, ("S01_SH02", 1, "PASS"))
    final = r.run("render-final", "S01_SH02", params={"render": service})
    assert final.gate.verdict == "FAIL"
    assert "final take fails the technical checks" in final.gate.reasons[0]
    assert "black_frames severe" in final.gate.reasons[0]
    take = probe(r.store.read("FINAL_S01_SH02_v001.mp4"))
    assert (take.width, take.height, take.fps) == (160, 96, 24.0)  # conformed all the same
    with pytest.raises(InputNotReady, match=r"FINAL_S01_SH02_v001\.mp4 failed its gate"):
        r.run("assemble-cut", "S01")


def test_a_good_final_take_passes_its_technical_checks(film: Path) -> None:
    good = clip_bytes(320, 180, 24, 120)
    r, service = runner(film, ModelFake(good))
    assert r.run("render-proxy", "S01_SH02", params={"render": service}).gate.passed
    qc(film, ("S01_SH02", 1, "PASS"))
    final = r.run("render-final", "S01_SH02", params={"render": service})
    assert final.gate.passed, final.gate.reasons
    assert [rec.filename for rec in final.records] == [
        "FINAL_S01_SH02_v001.mp4",
        "RAW_FINAL_S01_SH02_v001.mp4",
    ]


def test_the_first_frame_and_the_shots_sheets_go_with_the_job(film: Path) -> None:
    frame, alex, mill = png(1), png(2), png(3)
    with Project(film) as project:
        put(project, "STORYBOARD", "S01_SH02", frame)  # type: ignore[arg-type]
        put(project, "CHAR_REF", "ALEX", alex)  # type: ignore[arg-type]
        put(project, "SET_REF", "OLD_MILL", mill)  # type: ignore[arg-type]
    provider = ModelFake(clip_bytes(96, 64, 12, 48))
    r, service = runner(film, provider)
    result = r.run("render-proxy", "S01_SH02", params={"render": service})
    assert result.gate.passed, result.gate.reasons
    (job,) = provider.jobs.values()
    assert job.image == frame
    assert [(ref.label, ref.data) for ref in job.references] == [
        ("CHAR_ALEX_REF_v001", alex),
        ("SET_OLD_MILL_REF_v001", mill),
    ]
    # the take is made from them: a new sheet makes it stale
    made_from = {name.filename for name in r.store.lineage("PROXY_S01_SH02_v001.mp4")}
    assert {"CHAR_ALEX_REF_v001.png", "SET_OLD_MILL_REF_v001.png"} <= made_from


@pytest.mark.parametrize("mode", ["crop", "pad"])
def test_visual_conform_chooses_crop_or_pad(film: Path, mode: str) -> None:
    from test_conform import first_frame

    config = film / "filmslate.toml"
    text = config.read_text()
    assert 'conform = "crop"' in text  # a new project's file shows the choice
    config.write_text(text.replace('conform = "crop"', f'conform = "{mode}"'))
    raw = clip_bytes(64, 128, 24, 120)  # portrait, into a 96x64 landscape proxy
    r, service = runner(film, ModelFake(raw))
    result = r.run("render-proxy", "S01_SH02", params={"render": service})
    assert result.gate.passed, result.gate.reasons
    assert f"({'cover, centre crop' if mode == 'crop' else 'fit, pad'})" in result.gate.reasons[0]
    edge = first_frame(r.store.read("PROXY_S01_SH02_v001.mp4"))[:, :8].max()
    assert (edge < 30) == (mode == "pad")  # black bars beside the picture only when padded


def test_a_conform_mode_other_than_crop_or_pad_is_refused_at_its_line(film: Path) -> None:
    config = film / "filmslate.toml"
    config.write_text(config.read_text().replace('conform = "crop"', 'conform = "stretch"'))
    result = run_slate("config", "check", "-C", str(film))
    assert result.returncode == 2
    assert "visual.conform" in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
