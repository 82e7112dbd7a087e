"""First-frame similarity for a vendor's image-to-video model (issue 13 §3), through `slate run`.

The project's [visual] tiers route to a fal catalogue model that takes a first image (Kling 2.1
image-to-video); its clips come from a local fal queue (filmslate.testing.FalServer). Each
shot's storyboard frame goes as the job's first image, so each take must start from it:

- a server that starts every clip from the image it was sent (as an image-to-video model does)
  gives takes that pass QC, the film is cut, and each take's first frame measures as its
  storyboard;
- a server that ignores the image (``first_frame = "ignored"``: the disc crossing a gradient)
  gives takes that fail QC with the measured reason (``first_frame severe: ... similarity``),
  and the run stops without a cut.

A model that takes no first image is not held to the storyboard (tests/test_first_frame).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import run_slate
from e2e_film import make_film, plugin_env
from filmslate import Project
from filmslate.rules._looks import LookThresholds, first_frame_similarity
from filmslate.rules._media import decode
from filmslate.schemas import QcBatch
from filmslate.testing.fal_server import FalServer

SCENES, SHOTS = 1, 2
KEY = "sk-first-frame-0123456789"
KLING21 = "fal:fal-ai/kling-video/v2.1/standard/image-to-video"  # first_image = "image_url"


def produce(folder: Path, first_frame: str) -> tuple[Path, str, int]:
    """A one-scene film through `slate run` against a fal queue answering ``first_frame``;
    the project, the command's output, and its exit code."""
    root = folder / "film"
    with FalServer(queued_polls=0, running_polls=0, timeout_s=600) as server:
        server.first_frame = first_frame
        settings = {("visual", tier): f'"{KLING21}"' for tier in ("premium", "mid", "low")}
        settings[("providers.fal", "base_url")] = f'"{server.url}"'
        settings[("providers.fal", "api_key_env")] = '"FAL_KEY"'
        make_film(root, SCENES, SHOTS, settings)
        env = plugin_env(folder / "site", SCENES, SHOTS, {"FAL_KEY": KEY})
        done = run_slate("run", "-C", str(root), env=env, timeout=900)
        assert server.submits(), "no clip was asked of the vendor"
    return root, done.stdout + done.stderr, done.returncode


def qc_rows(root: Path) -> list[object]:
    with Project(root) as project:
        record = project.store.latest("QC_BATCH", "S01")
        assert record is not None
        batch = project.store.load(record.name)
        assert isinstance(batch, QcBatch)
        return list(batch.rows)


def first_frame(clip: bytes) -> np.ndarray:
    return decode(clip).stats.looks[0]


def picture(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


@pytest.mark.slow
def test_takes_that_start_from_their_storyboard_pass(tmp_path: Path) -> None:
    root, out, code = produce(tmp_path, "kept")
    assert code == 0 and "production complete" in out, out
    rows = qc_rows(root)
    assert rows and all(r.verdict == "PASS" for r in rows)  # type: ignore[attr-defined]
    assert not any("first_frame" in r.notes for r in rows)  # type: ignore[attr-defined]
    with Project(root) as project:  # the check was live: each take measures as its storyboard
        for record in project.store.latest_of_each("PROXY"):
            board = project.store.latest("STORYBOARD", record.name.subject)
            assert board is not None
            similarity = first_frame_similarity(
                first_frame(project.store.read(record.name)),
                picture(project.store.read(board.name)),
            )
            assert similarity >= LookThresholds().first_frame_min


@pytest.mark.slow
def test_takes_that_ignore_their_storyboard_fail_with_the_measured_similarity(
    tmp_path: Path,
) -> None:
    root, out, code = produce(tmp_path, "ignored")
    assert code != 0, out
    with Project(root) as project:
        assert project.store.latest("CUT", "PROJECT") is None
    rows = qc_rows(root)
    failed = [r for r in rows if r.verdict == "FAIL"]  # type: ignore[attr-defined]
    assert failed, [r.notes for r in rows]  # type: ignore[attr-defined]
    for row in failed:
        notes = row.notes  # type: ignore[attr-defined]
        assert "first_frame severe: the first frame does not show the storyboard frame" in notes
        similarity = float(notes.split("similarity ")[1].split(" ")[0])
        assert similarity < LookThresholds().first_frame_min
        assert (row.set_continuity, row.motion_integrity) == (0, 0)  # type: ignore[attr-defined]
