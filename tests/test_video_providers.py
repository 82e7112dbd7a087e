"""Video providers: the offline animatic, and ComfyUI and fal.ai against constructed HTTP
exchanges that follow their APIs (never the network)."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image, ImageDraw

from filmslate import ProviderError
from filmslate.engine._video import VideoJob
from filmslate.providers.animatic import (
    CAMERA_MOVES,
    AnimaticProvider,
    camera_type_of,
    frames_of,
    job_id_of,
)
from filmslate.providers.comfyui import ComfyUIProvider, fill_workflow, workflow_hash
from filmslate.providers.fal import FalProvider
from filmslate.rules._media import ClipSpec, probe, technical_checks
from filmslate.testing import FAKE_MP4

MP4 = FAKE_MP4 + b"fake video payload"
Handler = Callable[[httpx.Request], httpx.Response]


def pack(camera: str, action: str = "Mara crosses the kitchen.") -> str:
    """A GenPack-shaped prompt whose SETTINGS name the camera type."""
    return (
        f"GENPACK: SC01_SH001\n\n[STYLE]\nInk wash.\n\n[SET]\nKitchen.\n\n[CHARACTERS]\n"
        f"Mara.\n\n[ACTION]\n{action}\n\n[NEGATIVES / NO-DRIFT]\nNo new props.\n\n"
        f"[SETTINGS]\nresolution: 640x360 @ 12 fps\ncamera_type: {camera}\n"
    )


def storyboard() -> bytes:
    """A small schematic storyboard frame (PNG), 4:3 so the render has to crop it."""
    image = Image.new("RGB", (400, 300), (200, 170, 130))
    draw = ImageDraw.Draw(image)
    for x in range(0, 400, 25):
        draw.line([(x, 0), (x, 300)], fill=(120, 90, 60), width=2)
    draw.ellipse((150, 80, 250, 220), fill=(46, 59, 78))
    draw.rectangle((20, 200, 120, 290), fill=(232, 220, 200))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def proxy_job(
    camera: str, image: bytes | None = None, seed: int = 0, duration: float = 4.0
) -> VideoJob:
    """A 4 s proxy job (640x360 @ 12 fps)."""
    return VideoJob("SC01_SH001", pack(camera), duration, 640, 360, 12, image=image, seed=seed)


# --- animatic -------------------------------------------------------------------------------


@pytest.mark.parametrize("camera", sorted(CAMERA_MOVES))
def test_animatic_renders_a_playable_clip_per_camera_type(tmp_path: Path, camera: str) -> None:
    provider = AnimaticProvider(tmp_path)
    started = time.perf_counter()
    job_id = provider.submit(proxy_job(camera, storyboard()))
    elapsed = time.perf_counter() - started
    assert elapsed < 3.0, f"a 4 s proxy took {elapsed:.2f}s"
    assert provider.poll(job_id).state == "done"
    data = provider.download(job_id)
    info = probe(data)
    assert (info.width, info.height, info.fps, info.frames) == (640, 360, 12, 48)
    assert info.duration_s == pytest.approx(4.0)
    # the move is real (not frozen) except for the static insert shot
    spec = ClipSpec(4.0, 640, 360, 12, allow_static=camera == "insert")
    assert technical_checks(data, spec) == []
    if camera == "insert":
        assert {f.check for f in technical_checks(data, ClipSpec(4.0, 640, 360, 12))} == {
            "frozen_frames"
        }


def test_animatic_camera_moves_differ_by_type() -> None:
    image = storyboard()
    last = {
        camera: frames_of(proxy_job(camera, image, duration=1.0))[-1].tobytes()
        for camera in ("close_up", "wide", "medium", "tracking", "over_shoulder", "insert")
    }
    assert len(set(last.values())) == len(last)
    first, *_, end = frames_of(proxy_job("insert", image, duration=1.0))
    assert first.tobytes() == end.tobytes()


def test_animatic_is_deterministic_and_cached(tmp_path: Path) -> None:
    job = proxy_job("close_up", storyboard(), duration=2.0)
    one = AnimaticProvider(tmp_path / "a")
    two = AnimaticProvider(tmp_path / "b")
    id_one, id_two = one.submit(job), two.submit(job)
    assert id_one == id_two == job_id_of(job)
    assert one.download(id_one) == two.download(id_two)
    assert [f.tobytes() for f in frames_of(job)] == [f.tobytes() for f in frames_of(job)]
    # resubmitting the same job reuses the render
    before = (tmp_path / "a" / f"{id_one}.mp4").stat().st_mtime_ns
    assert one.submit(job) == id_one
    assert (tmp_path / "a" / f"{id_one}.mp4").stat().st_mtime_ns == before
    # another seed is another take
    assert job_id_of(proxy_job("close_up", storyboard(), seed=1, duration=2.0)) != id_one


def test_animatic_without_image_renders_a_slate(tmp_path: Path) -> None:
    provider = AnimaticProvider(tmp_path)
    data = provider.download(provider.submit(proxy_job("wide", None, duration=2.0)))
    assert probe(data).frames == 24
    assert technical_checks(data, ClipSpec(2.0, 640, 360, 12)) == []


def test_animatic_reads_the_camera_type_from_settings() -> None:
    assert camera_type_of(pack("extreme_close_up")) == "extreme_close_up"
    assert camera_type_of("camera_type: tracking") == "tracking"
    assert camera_type_of("no settings here") == "medium"
    assert camera_type_of(pack("dutch_angle")) == "medium"
    # a camera_type line in the ACTION does not count when there is a SETTINGS section
    text = pack("wide", action="camera_type: close_up")
    assert camera_type_of(text) == "wide"


def test_animatic_refuses_bad_jobs_and_unknown_ids(tmp_path: Path) -> None:
    provider = AnimaticProvider(tmp_path)
    assert provider.price_per_second(640, 360) == 0.0
    assert provider.offline
    with pytest.raises(ProviderError, match="not renderable"):
        provider.submit(VideoJob("SC01_SH001", "x", 1.0, 641, 360, 12))
    with pytest.raises(ProviderError, match="out of range"):
        provider.submit(VideoJob("SC01_SH001", "x", 0.0, 640, 360, 12))
    with pytest.raises(ProviderError, match="cannot be read"):
        provider.submit(VideoJob("SC01_SH001", "x", 1.0, 640, 360, 12, image=b"not a png"))
    assert provider.poll("animatic-" + "0" * 24).state == "failed"
    with pytest.raises(ProviderError):
        provider.download("../../etc/passwd")


# --- ComfyUI --------------------------------------------------------------------------------

BASE = "http://127.0.0.1:8188"
WORKFLOW: dict[str, Any] = {
    "3": {"class_type": "KSampler", "inputs": {"seed": "{{seed}}", "steps": 20}},
    "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "{{prompt}}"}},
    "10": {"class_type": "LoadImage", "inputs": {"image": "{{image}}"}},
    "20": {
        "class_type": "EmptyLatentVideo",
        "inputs": {"width": "{{width}}", "height": "{{height}}", "length": "{{frames}}"},
    },
    "30": {
        "class_type": "VHS_VideoCombine",
        "inputs": {"frame_rate": "{{fps}}", "filename_prefix": "filmslate/{{shot_id}}"},
    },
}
PIN = workflow_hash(WORKFLOW)
PROMPT_ID = "0b8d4c4e-7a0f-4b55-9a7e-3f7a7d0f2c11"
OUTPUT = {
    "filename": "SC01_SH001_00001.mp4",
    "subfolder": "filmslate",
    "type": "output",
    "format": "video/h264-mp4",
}


def history(
    status: str = "success",
    outputs: dict[str, Any] | None = None,
    messages: list[Any] | None = None,
) -> dict[str, Any]:
    """GET /history/{id} once the prompt finished."""
    return {
        PROMPT_ID: {
            "prompt": [0, PROMPT_ID, {}, {}, ["30"]],
            "outputs": {"30": {"gifs": [OUTPUT]}} if outputs is None else outputs,
            "status": {
                "status_str": status,
                "completed": status == "success",
                "messages": messages or [],
            },
        }
    }


class ComfyServer:
    """A scripted ComfyUI server: a sequence of (queue, history) states for successive polls."""

    def __init__(self, states: list[tuple[str, dict[str, Any]]]) -> None:
        self.states = states
        self.polls = 0
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if path == "/prompt" and request.method == "POST":
            return httpx.Response(
                200, json={"prompt_id": PROMPT_ID, "number": 1, "node_errors": {}}
            )
        if path == "/upload/image":
            return httpx.Response(
                200, json={"name": "SC01_SH001.png", "subfolder": "", "type": "input"}
            )
        where, done = self.states[min(self.polls, len(self.states) - 1)]
        if path == f"/history/{PROMPT_ID}":
            return httpx.Response(200, json=done)
        if path == "/queue":
            self.polls += 1
            entry = [[1, PROMPT_ID, {}, {}, ["30"]]]
            return httpx.Response(
                200,
                json={
                    "queue_running": entry if where == "running" else [],
                    "queue_pending": entry if where == "queued" else [],
                },
            )
        if path == "/view":
            return httpx.Response(200, content=MP4)
        return httpx.Response(404, json={"error": "not found"})


def comfy(
    handler: Handler, workflow: dict[str, Any] = WORKFLOW, pin: str = PIN, price: float = 0.0
) -> ComfyUIProvider:
    """A ComfyUI provider talking to the handler."""
    client = httpx.Client(transport=httpx.MockTransport(handler))
    return ComfyUIProvider(BASE, workflow, pin, client, price_per_second=price)


def test_comfyui_submits_polls_queued_running_done_and_downloads() -> None:
    server = ComfyServer([("queued", {}), ("running", {}), ("gone", history())])
    provider = comfy(server)
    job = proxy_job("medium", storyboard(), seed=42)
    job_id = provider.submit(job)
    assert job_id == PROMPT_ID
    assert [provider.poll(job_id).state for _ in range(3)] == ["queued", "running", "done"]
    assert provider.download(job_id) == MP4
    prompt = next(json.loads(r.content) for r in server.requests if r.url.path == "/prompt")
    assert prompt["client_id"] == "filmslate"
    nodes = prompt["prompt"]
    assert nodes["3"]["inputs"]["seed"] == 42
    assert nodes["6"]["inputs"]["text"] == job.prompt
    assert nodes["10"]["inputs"]["image"] == "SC01_SH001.png"
    assert nodes["20"]["inputs"] == {"width": 640, "height": 360, "length": 48}
    assert nodes["30"]["inputs"]["filename_prefix"] == "filmslate/SC01_SH001"
    view = next(r for r in server.requests if r.url.path == "/view")
    assert dict(view.url.params) == {
        "filename": OUTPUT["filename"],
        "subfolder": "filmslate",
        "type": "output",
    }
    assert provider.price_per_second(640, 360) == 0.0
    assert comfy(server, price=0.02).price_per_second(640, 360) == 0.02


def test_comfyui_fill_leaves_the_template_alone() -> None:
    filled = fill_workflow(WORKFLOW, proxy_job("wide"))
    assert WORKFLOW["3"]["inputs"]["seed"] == "{{seed}}"
    assert filled["3"]["inputs"]["seed"] == 0


def test_comfyui_refuses_a_workflow_that_does_not_match_its_pin() -> None:
    edited = json.loads(json.dumps(WORKFLOW))
    edited["3"]["inputs"]["steps"] = 4
    with pytest.raises(ProviderError, match="does not match its pin"):
        comfy(ComfyServer([]), workflow=edited)
    # key order and spacing do not change the pin
    reordered = dict(reversed(list(WORKFLOW.items())))
    assert workflow_hash(reordered) == PIN


def test_comfyui_execution_error_is_a_failed_job() -> None:
    error = [
        "execution_error",
        {
            "prompt_id": PROMPT_ID,
            "node_id": "3",
            "node_type": "KSampler",
            "exception_message": "CUDA out of memory",
        },
    ]
    server = ComfyServer([("gone", history("error", outputs={}, messages=[error]))])
    status = comfy(server).poll(PROMPT_ID)
    assert status.state == "failed"
    assert "KSampler" in status.message and "CUDA out of memory" in status.message


def test_comfyui_lost_prompt_is_failed_and_missing_video_refused() -> None:
    status = comfy(ComfyServer([("gone", {})])).poll(PROMPT_ID)
    assert status.state == "failed" and "restarted" in status.message
    images = {"9": {"images": [{"filename": "x.png", "subfolder": "", "type": "output"}]}}
    with pytest.raises(ProviderError, match="without a video output"):
        comfy(ComfyServer([("gone", history(outputs=images))])).download(PROMPT_ID)


def test_comfyui_invalid_prompt_reports_status_and_message() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            400,
            json={
                "error": {
                    "type": "prompt_outputs_failed_validation",
                    "message": "Prompt outputs failed validation",
                    "details": "",
                },
                "node_errors": {},
            },
        )

    with pytest.raises(ProviderError, match="400: Prompt outputs failed validation") as caught:
        comfy(handler).submit(proxy_job("wide"))
    assert caught.value.context["status"] == 400


@pytest.mark.parametrize(
    "failure", [httpx.ConnectError("Connection refused"), httpx.ReadTimeout("timed out")]
)
def test_comfyui_unreachable_server(failure: Exception) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise failure

    with pytest.raises(ProviderError, match=f"server at {BASE} is unreachable"):
        comfy(handler).poll(PROMPT_ID)


def test_comfyui_malformed_json_and_5xx() -> None:
    def garbage(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"<html>proxy error</html>")

    with pytest.raises(ProviderError, match="not JSON"):
        comfy(garbage).submit(proxy_job("wide"))

    def broken(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, text="Internal Server Error")

    with pytest.raises(ProviderError, match="500"):
        comfy(broken).poll(PROMPT_ID)


# --- fal.ai ---------------------------------------------------------------------------------

KEY = "fal-FAKE-key-9999leakcheck"
MODEL = "fal-ai/kling-video/v1/standard/image-to-video"
APP = "https://queue.fal.run/fal-ai/kling-video"
REQUEST_ID = "764cabcf-b745-4b3e-ae38-1200304cf45b"
VIDEO_URL = "https://v3.fal.media/files/penguin/clip.mp4"


@pytest.fixture(autouse=True)
def fal_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fake key in the environment, the only place the provider reads it from."""
    monkeypatch.setenv("FAL_KEY", KEY)


class FalServer:
    """A scripted fal queue: answers by route, with per-route scripts of responses."""

    def __init__(self, **routes: list[httpx.Response | Exception]) -> None:
        self.routes = routes
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        url = str(request.url)
        if request.method == "POST" and url == f"https://queue.fal.run/{MODEL}":
            route = "submit"
        elif url == f"{APP}/requests/{REQUEST_ID}/status":
            route = "status"
        elif url == f"{APP}/requests/{REQUEST_ID}":
            route = "result"
        elif url == VIDEO_URL:
            route = "video"
        else:
            return httpx.Response(404, json={"detail": "Not Found"})
        script = self.routes[route]
        answer = script.pop(0) if len(script) > 1 else script[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def submitted() -> httpx.Response:
    """The queue's answer to a submit."""
    return httpx.Response(
        200,
        json={
            "request_id": REQUEST_ID,
            "status_url": f"{APP}/requests/{REQUEST_ID}/status",
            "response_url": f"{APP}/requests/{REQUEST_ID}",
            "cancel_url": f"{APP}/requests/{REQUEST_ID}/cancel",
            "queue_position": 0,
        },
    )


def status(state: str, **extra: Any) -> httpx.Response:
    """A status answer."""
    return httpx.Response(200, json={"status": state, **extra})


def fal(server: FalServer, retries: int = 2) -> tuple[FalProvider, list[float]]:
    """A fal provider on the scripted server, with recorded (not slept) backoffs."""
    slept: list[float] = []
    provider = FalProvider(
        MODEL,
        http_client=httpx.Client(transport=httpx.MockTransport(server)),
        price_per_second=0.05,
        max_retries=retries,
        backoff_s=0.01,
        sleep=slept.append,
    )
    return provider, slept


def happy(**overrides: list[httpx.Response | Exception]) -> FalServer:
    """A server where everything works, except the overridden routes."""
    routes: dict[str, list[httpx.Response | Exception]] = {
        "submit": [submitted()],
        "status": [
            status("IN_QUEUE", queue_position=2),
            status("IN_PROGRESS"),
            status("COMPLETED"),
        ],
        "result": [
            httpx.Response(200, json={"video": {"url": VIDEO_URL, "content_type": "video/mp4"}})
        ],
        "video": [httpx.Response(200, content=MP4)],
    }
    return FalServer(**{**routes, **overrides})


def assert_no_key(server: FalServer, *texts: str) -> None:
    """The key went only to fal's queue, never to the CDN, and is in no message."""
    for request in server.requests:
        sent = request.headers.get("authorization")
        if request.url.host == "queue.fal.run":
            assert sent == f"Key {KEY}"
        else:
            assert sent is None
    for text in texts:
        assert KEY not in text


def test_fal_submit_poll_and_download() -> None:
    server = happy()
    provider, _ = fal(server)
    job_id = provider.submit(proxy_job("close_up", storyboard(), seed=7, duration=5.0))
    assert job_id == REQUEST_ID
    assert [provider.poll(job_id).state for _ in range(3)] == ["queued", "running", "done"]
    assert provider.download(job_id) == MP4
    body = json.loads(server.requests[0].content)
    assert body["prompt"].startswith("GENPACK: SC01_SH001")
    assert (body["seed"], body["duration"]) == (7, 5)
    assert body["image_url"].startswith("data:image/png;base64,")
    assert provider.price_per_second(640, 360) == 0.05
    assert_no_key(server, repr(provider))


def test_fal_resumes_polling_with_a_new_provider() -> None:
    # a killed run recorded the request id; a fresh provider polls the same request
    server = happy(status=[status("COMPLETED")])
    provider, _ = fal(server)
    assert provider.poll(REQUEST_ID).state == "done"
    assert provider.download(REQUEST_ID) == MP4
    assert not any(r.method == "POST" for r in server.requests)


def test_fal_completed_with_error_is_failed() -> None:
    server = happy(status=[status("COMPLETED", error="NSFW content detected")])
    state = fal(server)[0].poll(REQUEST_ID)
    assert (state.state, state.message) == ("failed", "NSFW content detected")


@pytest.mark.parametrize(
    ("code", "match"),
    [
        (401, "rejected the key in FAL_KEY"),
        (403, "rejected the key in FAL_KEY"),
        (404, "check the model id"),
        (422, "rejected the input.*duration"),
    ],
)
def test_fal_client_errors_are_not_retried(code: int, match: str) -> None:
    answer = httpx.Response(
        code, json={"detail": [{"loc": ["body", "duration"], "msg": "bad duration", "echo": KEY}]}
    )
    server = happy(submit=[answer])
    provider, slept = fal(server)
    with pytest.raises(ProviderError, match=match) as caught:
        provider.submit(proxy_job("wide"))
    assert caught.value.context["status"] == code
    assert slept == [] and len(server.requests) == 1
    assert_no_key(server, str(caught.value), repr(caught.value.context))


def test_fal_429_is_retried_with_backoff_then_succeeds() -> None:
    limited = httpx.Response(429, json={"detail": "Too many requests"})
    server = happy(submit=[limited, limited, submitted()])
    provider, slept = fal(server)
    assert provider.submit(proxy_job("wide")) == REQUEST_ID
    assert slept == [0.01, 0.02]


@pytest.mark.parametrize("code", [429, 500, 502, 503])
def test_fal_retries_are_bounded(code: int) -> None:
    server = happy(status=[httpx.Response(code, text="upstream trouble")])
    provider, slept = fal(server, retries=2)
    with pytest.raises(ProviderError, match=f"{code}.*after 2 retries"):
        provider.poll(REQUEST_ID)
    assert len(server.requests) == 3 and slept == [0.01, 0.02]


def test_fal_timeouts() -> None:
    # a poll that times out is retried, then reported
    server = happy(status=[httpx.ReadTimeout("slow"), status("IN_PROGRESS")])
    assert fal(server)[0].poll(REQUEST_ID).state == "running"
    server = happy(status=[httpx.ReadTimeout("slow")])
    with pytest.raises(ProviderError, match="timed out"):
        fal(server)[0].poll(REQUEST_ID)
    # a submit that times out is not retried: it may have been accepted and paid for
    server = happy(submit=[httpx.ReadTimeout("slow"), submitted()])
    with pytest.raises(ProviderError, match="before resubmitting"):
        fal(server)[0].submit(proxy_job("wide"))
    assert len(server.requests) == 1
    # a refused connection proves nothing was sent: retried
    server = happy(submit=[httpx.ConnectError("refused"), submitted()])
    assert fal(server)[0].submit(proxy_job("wide")) == REQUEST_ID


def test_fal_malformed_answers() -> None:
    server = happy(submit=[httpx.Response(200, content=b"{not json")])
    with pytest.raises(ProviderError, match="malformed JSON"):
        fal(server)[0].submit(proxy_job("wide"))
    server = happy(submit=[httpx.Response(200, json={"queue_position": 0})])
    with pytest.raises(ProviderError, match="without a request_id"):
        fal(server)[0].submit(proxy_job("wide"))
    server = happy(status=[status("SOMETHING_NEW")])
    with pytest.raises(ProviderError, match="unknown status"):
        fal(server)[0].poll(REQUEST_ID)
    server = happy(result=[httpx.Response(200, json={"images": []})])
    with pytest.raises(ProviderError, match="no video url"):
        fal(server)[0].download(REQUEST_ID)


def test_fal_needs_the_key_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FAL_KEY")
    server = happy()
    with pytest.raises(ProviderError, match="set the environment variable FAL_KEY"):
        fal(server)[0].submit(proxy_job("wide"))
    assert server.requests == []


def test_fal_refuses_clips_over_its_limit() -> None:
    server = happy()
    with pytest.raises(ProviderError, match="clip limit"):
        fal(server)[0].submit(proxy_job("wide", duration=12.0))
    assert server.requests == []
