"""The ComfyUI video and image providers against the local ComfyUI server (real HTTP on
127.0.0.1, real PNGs and MP4s): the catalogue's workflow pair filled from the job, images
uploaded first, the client reference found again, failures told apart."""

from __future__ import annotations

import hashlib
import io
import socket
import time
from typing import Any

import httpx
import pytest
from PIL import Image

import vendor_fixtures
from filmslate import ProviderError
from filmslate.core._catalogue import load_catalogue
from filmslate.engine._images import ImageJob
from filmslate.engine._video import JobStatus, Reference, VideoJob
from filmslate.providers._comfyui_workflow import SHIPPED_PINS, shipped_workflow, workflow_hash
from filmslate.providers.comfyui import ComfyUIImageProvider, ComfyUIProvider
from filmslate.rules._media import probe
from filmslate.testing._media_server import png_bytes
from filmslate.testing.comfyui_server import ComfyUIServer
from vendor_fixtures import FRAME, assert_a_failed_download_is_fetched_again, close_clients, http

VIDEO = load_catalogue().get("comfyui:wan2.2-i2v-14b")
IMAGE = load_catalogue().get("comfyui:flux-dev")
KONTEXT = load_catalogue().get("comfyui:flux-kontext-dev")
SHEET = Reference("CHAR_NELL_REF_v001", png_bytes(512, 512, "Nell"))
__all__ = ["close_clients"]


def video_job(**changes: Any) -> VideoJob:
    """A 4.2 s proxy job for Wan (see ``vendor_fixtures.video_job``)."""
    return vendor_fixtures.video_job(VIDEO.key, **changes)


def image_job(**changes: Any) -> ImageJob:
    """A FLUX sheet job, queued under its client reference."""
    return vendor_fixtures.image_job(IMAGE.key, **{"reference": "img-ref-0001", **changes})


def wait(provider: ComfyUIProvider | ComfyUIImageProvider, job_id: str) -> list[JobStatus]:
    seen = [provider.poll(job_id)]
    while seen[-1].state in ("queued", "running") and len(seen) < 10:
        seen.append(provider.poll(job_id))
    return seen


def node(workflow: dict[str, Any], class_type: str) -> dict[str, Any]:
    return next(n["inputs"] for n in workflow.values() if n["class_type"] == class_type)


def test_video_workflow_filled_from_the_job_and_the_catalogue() -> None:
    with ComfyUIServer() as server:
        provider = ComfyUIProvider(server.url, entry=VIDEO, http_client=http())
        job = video_job()
        job_id = provider.submit(job)
        assert job_id == job.reference  # the current server keeps the client's prompt id
        states = [s.state for s in wait(provider, job_id)]
        assert states[-1] == "done" and "running" in states
        clip = provider.download(job_id)
        sent = server.prompts[0]
        upload = server.requests_to("/upload/image")[0]
        prompt_request = server.requests_to("/prompt", "POST")[0].body
    info = probe(clip)
    assert (info.width, info.height, info.duration_s) == (1280, 720, 5.0)  # not the spec
    # the first frame went up first, and the LoadImage node loads exactly that upload
    assert upload.files == {"image": hashlib.sha256(FRAME).hexdigest()}
    assert node(sent, "LoadImage")["image"] == upload.filenames["image"]
    video = node(sent, "WanImageToVideo")
    # 832x480 is Wan's smallest native frame covering 640x360; 4.2 s snaps to 4.25 s = 69 frames
    assert (video["width"], video["height"], video["length"]) == (832, 480, 69)
    assert VIDEO.duration_input(4.2) == 69
    texts = [n["inputs"]["text"] for n in sent.values() if n["class_type"] == "CLIPTextEncode"]
    assert texts == [job.prompt, job.negative_prompt]
    assert {n["inputs"]["noise_seed"] for n in sent.values() if "noise_seed" in n["inputs"]} == {42}
    assert node(sent, "CreateVideo")["fps"] == 16
    assert prompt_request["extra_data"] == {"filmslate_reference": job.reference}
    # the payload recorded before sending is what was sent, the image as its digest
    payload = provider.payload(job)
    assert payload["workflow"] == sent
    assert payload["images"] == {"image": hashlib.sha256(FRAME).hexdigest()}
    assert payload["workflow_sha256"] == SHIPPED_PINS["wan2.2-i2v-14b"]
    assert provider.max_clip_s == 5.0 and not provider.offline
    assert provider.price_per_second(640, 360) == 0.0


def test_image_workflow_and_a_real_png() -> None:
    with ComfyUIServer(size=(1024, 768)) as server:
        provider = ComfyUIImageProvider(server.url, entry=IMAGE, http_client=http())
        job_id = provider.submit(image_job())
        assert wait(provider, job_id)[-1].state == "done"
        data = provider.download(job_id)
        sent = server.prompts[0]
        assert not server.requests_to("/upload/image")  # flux-dev takes no image
    assert Image.open(io.BytesIO(data)).size == (1024, 768)
    latent = node(sent, "EmptySD3LatentImage")
    assert (latent["width"], latent["height"]) == (1008, 704)  # up to FLUX's multiple of 16
    assert node(sent, "SaveImage")["filename_prefix"] == "filmslate/CHAR_NELL_REF"
    assert node(sent, "KSampler")["seed"] == 7
    assert provider.payload(image_job())["workflow"] == sent


def test_references_fill_the_template_slots_it_has() -> None:
    template = {
        "1": {"class_type": "LoadImage", "inputs": {"image": "{{reference_1}}"}},
        "2": {"class_type": "CLIPTextEncode", "inputs": {"text": "{{prompt}}"}},
        "3": {"class_type": "SaveImage", "inputs": {"filename_prefix": "x/{{key}}"}},
    }
    other = Reference("SET_KITCHEN_REF_v001", png_bytes(64, 64, "kitchen"))
    with ComfyUIServer() as server:
        provider = ComfyUIImageProvider(
            server.url, template, workflow_hash(template), http_client=http()
        )
        job = image_job(references=(SHEET, other))
        provider.submit(job)
        uploads = server.requests_to("/upload/image")
        sent = server.prompts[0]
    # one slot: one upload (the second reference has nowhere to go)
    assert [u.files["image"] for u in uploads] == [hashlib.sha256(SHEET.data).hexdigest()]
    assert sent["1"]["inputs"]["image"] == uploads[0].filenames["image"]
    assert provider.payload(job)["images"] == {
        "reference_1": hashlib.sha256(SHEET.data).hexdigest()
    }


def test_the_reference_workflow_loads_the_sheets() -> None:
    other = Reference("SET_KITCHEN_REF_v001", png_bytes(64, 64, "kitchen"))
    with ComfyUIServer(polls_to_finish=1) as server:
        provider = ComfyUIImageProvider(server.url, entry=KONTEXT, http_client=http())
        job_id = provider.submit(image_job(key="SC01_SH001", references=(SHEET, other)))
        assert provider.poll(job_id).state == "done"
        assert provider.download(job_id)[:4] == b"\x89PNG"
        sent = server.prompts[0]
        uploads = [u.files["image"] for u in server.requests_to("/upload/image")]
        # one sheet fills both slots; none is refused before anything is sent
        provider.submit(image_job(key="SC01_SH002", references=(SHEET,), reference="r2"))
        assert len(server.requests_to("/upload/image")) == 4
        before = len(server.received)
        with pytest.raises(ProviderError, match="takes reference images") as caught:
            provider.submit(image_job(key="SC01_SH003", reference="r3"))
        assert caught.value.context["failure"] == "invalid_input"
        assert len(server.received) == before
    assert uploads == [hashlib.sha256(r.data).hexdigest() for r in (SHEET, other)]
    loads = [n["inputs"]["image"] for n in sent.values() if n["class_type"] == "LoadImage"]
    assert len(loads) == 2 and all(name in server.uploads for name in loads)
    assert sum(n["class_type"] == "ReferenceLatent" for n in sent.values()) == 2


def test_find_by_reference_on_current_and_older_servers() -> None:
    with ComfyUIServer() as server:
        provider = ComfyUIProvider(server.url, entry=VIDEO, http_client=http())
        assert provider.find("never-sent") is None
        job_id = provider.submit(video_job())
        assert provider.find("job-ref-0001") == job_id
    # an older server makes its own prompt id: the reference in extra_data finds it, queued
    # and after it finished (in the recent history)
    with ComfyUIServer(keep_prompt_id=False, polls_to_finish=1) as server:
        provider = ComfyUIProvider(server.url, entry=VIDEO, http_client=http())
        job_id = provider.submit(video_job())
        assert job_id != "job-ref-0001"
        assert provider.find("job-ref-0001") == job_id
        assert provider.poll(job_id).state == "done"
        assert provider.find("job-ref-0001") == job_id
        assert provider.find("another-ref") is None
        assert server.requests_to("/history", "GET")[-1].query == {"max_items": "256"}


def test_invalid_workflow_is_invalid_input_and_names_the_node() -> None:
    with ComfyUIServer() as server:
        provider = ComfyUIProvider(server.url, entry=VIDEO, http_client=http())
        server.fail_next(1, "invalid_input")
        with pytest.raises(ProviderError, match="400: Prompt outputs failed validation") as caught:
            provider.submit(video_job())
        assert caught.value.context["failure"] == "invalid_input"
        assert caught.value.context["maybe_sent"] is False
        # an unfilled placeholder is caught by the server's own validation
        template = {
            "1": {"class_type": "KSampler", "inputs": {"seed": "{{sede}}"}},
            "2": {"class_type": "SaveVideo", "inputs": {"filename_prefix": "x"}},
        }
        custom = ComfyUIProvider(server.url, template, workflow_hash(template), http_client=http())
        with pytest.raises(
            ProviderError, match=r"node 1 KSampler: .*placeholder in seed"
        ) as caught:
            custom.submit(video_job())
        assert caught.value.context["failure"] == "invalid_input"


def test_a_catalogue_workflow_refuses_a_job_without_its_first_frame() -> None:
    with ComfyUIServer() as server:
        provider = ComfyUIProvider(server.url, entry=VIDEO, http_client=http())
        with pytest.raises(ProviderError, match="5s clip limit") as caught:
            provider.submit(video_job(duration_s=6.0))  # Wan renders 5 s at most
        assert caught.value.context["maybe_sent"] is False
        with pytest.raises(ProviderError, match="takes a first frame") as caught:
            provider.submit(video_job(image=None))
        assert caught.value.context["failure"] == "invalid_input"
        assert server.received == []  # refused before anything was sent


def test_execution_error_is_a_server_failure_and_a_lost_prompt_too() -> None:
    with ComfyUIServer(polls_to_finish=1) as server:
        provider = ComfyUIProvider(server.url, entry=VIDEO, http_client=http())
        server.fail_next(1, "server")
        status = provider.poll(provider.submit(video_job()))
        assert (status.state, status.failure) == ("failed", "server")
        assert "KSampler" in status.message and "out of memory" in status.message
        server.fail_next(1, "lost")
        status = provider.poll(provider.submit(video_job(reference="job-ref-0002")))
        assert (status.state, status.failure) == ("failed", "server")
        assert "restarted" in status.message
        # the next job is fine again
        job_id = provider.submit(video_job(reference="job-ref-0003"))
        assert provider.poll(job_id).state == "done"


def test_a_missing_output_file_is_a_download_failure() -> None:
    with ComfyUIServer(polls_to_finish=1) as server:
        provider = ComfyUIProvider(server.url, entry=VIDEO, http_client=http())
        job_id = provider.submit(video_job())
        assert provider.poll(job_id).state == "done"
        server._files.clear()  # the output folder was cleaned behind our back
        with pytest.raises(ProviderError, match="404") as caught:
            provider.download(job_id)
        assert caught.value.context["failure"] == "download"


def test_cancel_drops_a_queued_prompt() -> None:
    with ComfyUIServer(polls_to_finish=5) as server:
        provider = ComfyUIProvider(server.url, entry=VIDEO, http_client=http())
        job_id = provider.submit(video_job())
        provider.cancel(job_id)
        assert server.requests_to("/queue", "POST")[0].body == {"delete": [job_id]}
        assert provider.poll(job_id).state == "failed"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_server_proves_nothing_was_sent() -> None:
    provider = ComfyUIProvider(f"http://127.0.0.1:{free_port()}", entry=VIDEO, http_client=http())
    with pytest.raises(ProviderError, match=r"unreachable.*is it running") as caught:
        provider.submit(video_job())
    assert caught.value.context == {"failure": "server", "maybe_sent": False}


def test_a_timeout_on_submit_may_have_been_received() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/prompt":
            raise httpx.ReadTimeout("slow")
        return httpx.Response(200, json={"name": "x.png", "subfolder": "", "type": "input"})

    client = http(httpx.MockTransport(slow))
    provider = ComfyUIProvider("http://127.0.0.1:8188", entry=VIDEO, http_client=client)
    with pytest.raises(ProviderError) as caught:
        provider.submit(video_job())
    assert caught.value.context["failure"] == "timeout"
    assert caught.value.context["maybe_sent"] is True


def test_a_bearer_token_for_a_gateway_is_sent_never_recorded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = "comfy-gateway-SECRET-1234"
    monkeypatch.setenv("COMFY_TOKEN", key)
    with ComfyUIServer() as server:
        provider = ComfyUIImageProvider(
            server.url, entry=IMAGE, http_client=http(), api_key_env="COMFY_TOKEN"
        )
        provider.submit(image_job())
        assert {r.auth for r in server.received} == {"Bearer"}
        assert key not in repr(server.received) and key not in repr(provider)


def test_shipped_templates_match_their_pins_and_an_edit_is_refused() -> None:
    for model, pin in SHIPPED_PINS.items():
        workflow, shipped = shipped_workflow(model)
        assert workflow_hash(workflow) == pin == shipped
    workflow, pin = shipped_workflow("wan2.2-i2v-14b")
    workflow["57"]["inputs"]["steps"] = 4
    with pytest.raises(ProviderError, match="does not match its pin"):
        ComfyUIProvider(workflow=workflow, workflow_sha256=pin, entry=VIDEO)
    with pytest.raises(ProviderError, match="no shipped ComfyUI workflow"):
        shipped_workflow("sdxl")


def test_the_local_server_stops_by_itself() -> None:
    server = ComfyUIServer(timeout_s=0.3)
    server.start()
    url = server.url
    time.sleep(0.8)
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{url}/queue", timeout=1)


def test_a_planned_download_failure_is_retried_separately() -> None:
    with ComfyUIServer(polls_to_finish=1) as server:
        provider = ComfyUIProvider(server.url, entry=VIDEO, http_client=http())
        queued = lambda: len(server.requests_to("/prompt", "POST"))  # noqa: E731
        clip = assert_a_failed_download_is_fetched_again(
            provider, server, video_job(), queued, "refusal"
        )
    assert probe(clip).width == 1280
