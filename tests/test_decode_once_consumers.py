"""Decode once, for the later consumers (issue 13 §5): after `slate run`, `slate export` reads
the cut's and the takes' lengths from the facts the run measured (``.filmslate/decoded``), and
`slate metrics` reads the QC rows: neither starts ffmpeg. Counted through imageio-ffmpeg's own
seam: ``IMAGEIO_FFMPEG_EXE`` names the ffmpeg every filmslate command runs, here a script that
logs each run and hands on to the real one.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import imageio_ffmpeg  # type: ignore[import-untyped]
import pytest

from conftest import run_slate
from filmslate.rules import _media_cache
from filmslate.synthetic import Settings, synthetic_project
from filmslate.workflow._orchestrator import Orchestrator

FAST = Settings(proxy=(128, 72, 24), final=(256, 144, 24))  # timecode rates, as test_export


@pytest.fixture(scope="module")
def film(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("consumers") / "film"
    runner, _ = synthetic_project(root, scenes=2, shots_per_scene=2, settings=FAST)
    outcome = Orchestrator(runner).run()
    assert outcome.status == "complete", outcome.describe()
    return root


def logged_ffmpeg(folder: Path) -> tuple[dict[str, str], Path]:
    """An environment whose ffmpeg logs every run to the returned file, then runs the real one."""
    log = folder / "ffmpeg-runs.log"
    script = folder / "ffmpeg"
    script.write_text(
        f'#!/bin/sh\necho "$@" >> "{log}"\nexec "{imageio_ffmpeg.get_ffmpeg_exe()}" "$@"\n'
    )
    script.chmod(0o755)
    log.write_text("")
    return {"IMAGEIO_FFMPEG_EXE": str(script)}, log


def runs(log: Path) -> list[str]:
    return [line for line in log.read_text().splitlines() if line.strip()]


def test_export_and_metrics_after_a_run_start_no_ffmpeg(film: Path, tmp_path: Path) -> None:
    root = tmp_path / "film"
    shutil.copytree(film, root)
    env, log = logged_ffmpeg(tmp_path)
    exported = run_slate("export", "--format", "otio", cwd=root, env=env)
    assert exported.returncode == 0, exported.stdout + exported.stderr
    assert runs(log) == []  # the cut's and every take's facts came from the run's decodes
    metrics = run_slate("metrics", cwd=root, env=env)
    assert metrics.returncode == 0, metrics.stdout + metrics.stderr
    assert "character consistency" in metrics.stdout
    assert runs(log) == []


def test_without_the_decode_cache_export_measures_the_clips_again(
    film: Path, tmp_path: Path
) -> None:
    """The seam counts: with ``.filmslate/decoded`` removed (a derived cache, deleting it is
    allowed), export must run ffmpeg to learn the lengths, and its timeline is the same."""
    root = tmp_path / "film"
    shutil.copytree(film, root)
    shutil.rmtree(root / ".filmslate" / "decoded")
    env, _ = logged_ffmpeg(tmp_path)
    exported = run_slate("export", "--format", "otio", cwd=root, env=env)
    assert exported.returncode == 0, exported.stdout + exported.stderr
    # the takes are decoded in this process (OpenCV's FFmpeg libraries), so no ffmpeg run need
    # show it: the decode writes the clips' facts anew, which only a decode or a count does
    facts = root / ".filmslate" / "decoded" / _media_cache.FACTS_FILE
    assert facts.exists(), "export learned the clips' lengths without decoding them"
    again = tmp_path / "again"
    shutil.copytree(film, again)
    assert run_slate("export", "--format", "otio", cwd=again).returncode == 0
    timeline = next((root / "exports").rglob("*.otio")).read_text()
    assert next((again / "exports").rglob("*.otio")).read_text() == timeline
