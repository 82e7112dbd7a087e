"""The render and image services with ComfyUI and Replicate models from the config, against
the local servers (testing.comfyui_server / testing.replicate_server on 127.0.0.1): the real
providers, built by the factory from [visual] / [images] and [providers.<name>], the first
frame uploaded or sent, paid at the catalogue's price, a refusal never sent twice, a failed
download fetched again without a second job."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image

from filmslate import Project
from filmslate.core._errors import ProviderError, RenderRefused
from filmslate.engine._image_service import ImageService
from filmslate.engine._images import ImageJob
from filmslate.engine._runner import Runner
from filmslate.testing._media_server import png_bytes
from filmslate.testing.comfyui_server import ComfyUIServer
from filmslate.testing.replicate_server import ReplicateServer
from test_render_fal import run_proxy
from test_skills_production import put
from test_skills_render import film, spends
from vendor_fixtures import route_to

__all__ = ["film"]

WAN = "comfyui:wan2.2-i2v-14b"
COMFY_FLUX = "comfyui:flux-dev"
KLING = "replicate:kwaivgi/kling-v2.1"
REPLICATE_FLUX = "replicate:black-forest-labs/flux-dev"
SHOT = "S01_SH02"  # hero B, 4 s: the mid tier
TOKEN = "r8_local-test-token-0042"
BOARD = png_bytes(96, 64, "storyboard S01_SH02")
REPO = Path(__file__).resolve().parents[1]


def with_storyboard(root: Path) -> None:
    """The shot's storyboard frame (passing), the first frame an image-to-video model needs."""
    put(Project(root), "STORYBOARD", SHOT, BOARD)  # type: ignore[arg-type]


@pytest.fixture
def comfy(film: Path) -> Iterator[ComfyUIServer]:
    with ComfyUIServer(timeout_s=120, polls_to_finish=2) as server:
        route_to(film, "comfyui", server.url, WAN, COMFY_FLUX)
        yield server


@pytest.fixture
def replicate(film: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ReplicateServer]:
    monkeypatch.setenv("REPLICATE_API_TOKEN", TOKEN)
    with ReplicateServer(timeout_s=120, polls_to_finish=2) as server:
        route_to(film, "replicate", server.url, KLING, REPLICATE_FLUX)
        yield server


def recorded_payload(r: Runner) -> dict[str, object]:
    (payload,) = r.store.conn.execute("SELECT payload FROM render_jobs").fetchone()
    loaded: dict[str, object] = json.loads(payload)
    return loaded


def test_a_comfyui_workflow_renders_the_shot_from_its_first_frame(
    film: Path, comfy: ComfyUIServer
) -> None:
    with_storyboard(film)
    r = run_proxy(film)
    [workflow] = comfy.prompts
    [upload] = comfy.requests_to("/upload/image")
    loads = [n["inputs"]["image"] for n in workflow.values() if n["class_type"] == "LoadImage"]
    assert loads == [upload.filenames["image"]]  # the storyboard frame, uploaded first
    assert upload.files["image"] == hashlib.sha256(BOARD).hexdigest()
    video = next(n["inputs"] for n in workflow.values() if n["class_type"] == "WanImageToVideo")
    assert video["length"] == 65  # 4 s at 16 fps + 1: Wan's 4n+1 frames
    assert spends(r, SHOT) == [(0.0, 0.0)]  # your own GPU
    payload = recorded_payload(r)
    assert payload["workflow"] == workflow
    assert payload["images"] == {"image": upload.files["image"]}


def test_a_comfyui_sheet_through_the_image_service(film: Path, comfy: ComfyUIServer) -> None:
    images = ImageService(Project(film), poll_interval_s=0.0)
    try:
        assert not images.offline("sheet")
        job = ImageJob("CHAR_ALEX_REF", "Alex, front and side", 1280, 720, seed=3)
        data = images.image(job)
        assert Image.open(io.BytesIO(data)).format == "PNG"
        assert images.image(job) == data  # the same job is not queued again
    finally:
        images.close()
    assert len(comfy.prompts) == 1


def test_a_replicate_model_renders_and_is_paid_per_second_of_output(
    film: Path, replicate: ReplicateServer
) -> None:
    with_storyboard(film)
    r = run_proxy(film)
    [(model, sent)] = replicate.creates()
    assert f"replicate:{model}" == KLING
    assert (sent["duration"], sent["mode"]) == (5, "standard")
    assert "negative_prompt" in sent and len(sent["prompt"]) <= 2500
    frame = hashlib.sha256(BOARD).hexdigest()
    assert replicate.image_digests(sent["start_image"]) == [frame]
    assert recorded_payload(r)["input"]["start_image"] == f"sha256:{frame}"  # type: ignore[index]
    assert spends(r, SHOT) == [(0.25, 0.25)]  # 5 s x $0.05, the catalogue's price
    files = [p for p in film.rglob("*") if p.is_file()]
    assert TOKEN not in "".join(p.read_text(errors="ignore") for p in files)
    assert all(q.auth is None for q in replicate.requests_to("/delivery/"))


def test_a_refusal_from_replicate_is_never_sent_again(
    film: Path, replicate: ReplicateServer
) -> None:
    replicate.fail_next(1, "refusal")
    with pytest.raises(RenderRefused, match="regen-analyzer"):
        run_proxy(film)
    with pytest.raises(RenderRefused):
        run_proxy(film, force=True)
    assert len(replicate.creates()) == 1


def test_a_failed_replicate_download_is_fetched_again_without_a_second_prediction(
    film: Path, replicate: ReplicateServer
) -> None:
    replicate.fail_next(1, "download")
    try:
        r = run_proxy(film)
    except ProviderError:
        r = run_proxy(film, force=True)
    assert len(replicate.creates()) == 1 and spends(r, SHOT) == [(0.25, 0.25)]


def test_a_replicate_sheet_is_paid_per_image(film: Path, replicate: ReplicateServer) -> None:
    images = ImageService(Project(film), poll_interval_s=0.0)
    try:
        data = images.image(ImageJob("SET_MILL_REF", "The old mill, wide", 1280, 720, seed=1))
        assert Image.open(io.BytesIO(data)).size == (1280, 720)
        assert (images.estimated, images.spent) == (0.025, 0.025)
    finally:
        images.close()
    [(_, sent)] = replicate.creates()
    assert sent["aspect_ratio"] == "16:9" and sent["go_fast"] is False


def child(root: str) -> None:
    """The first run of a submit-window test (a separate process, killed mid-submit)."""
    run_proxy(Path(root))


def kill_mid_submit(root: Path, submitted: Callable[[], bool]) -> None:
    """Run render-proxy in a child process and kill it (-9) once the server has the job but
    before the child heard its id."""
    code = f"import test_render_comfyui_replicate as t; t.child({str(root)!r})"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO / "tests")])}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=REPO)
    try:
        deadline = time.monotonic() + 90
        while not submitted() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert submitted(), "the child never submitted"
    finally:
        proc.kill()
        proc.wait(timeout=30)


@pytest.mark.slow
@pytest.mark.parametrize("keeps_id", [True, False])
def test_a_comfyui_submit_killed_before_its_answer_is_found_again(
    film: Path, keeps_id: bool
) -> None:
    with ComfyUIServer(timeout_s=180, answer_delay_s=60, keep_prompt_id=keeps_id) as server:
        route_to(film, "comfyui", server.url, WAN)
        with_storyboard(film)
        kill_mid_submit(film, lambda: len(server.prompts) == 1)
        server.answer_delay_s = 0.0
        r = run_proxy(film)  # the intent is settled by find(reference): the same prompt
        assert len(server.prompts) == 1
        states = r.store.conn.execute("SELECT state FROM render_jobs").fetchall()
    assert states == [("done",)] and spends(r, SHOT) == [(0.0, 0.0)]


@pytest.mark.slow
def test_a_replicate_create_killed_before_its_answer_stops_instead_of_paying_twice(
    film: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPLICATE_API_TOKEN", TOKEN)
    with ReplicateServer(timeout_s=180, answer_delay_s=60) as server:
        route_to(film, "replicate", server.url, KLING)
        with_storyboard(film)
        kill_mid_submit(film, lambda: len(server.creates()) == 1)
        server.answer_delay_s = 0.0
        with pytest.raises(ProviderError, match=r"cannot look a job up by reference.*replicate"):
            run_proxy(film)
        assert len(server.creates()) == 1  # never created again blindly
