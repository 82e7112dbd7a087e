"""fal video and image models driven by their catalogue entries: against the local fal queue
server (real HTTP on 127.0.0.1, real MP4s and PNGs) and against constructed exchanges
(httpx.MockTransport) for the answers a local server does not give."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from PIL import Image

from filmslate import ProviderError
from filmslate.core._catalogue import load_catalogue
from filmslate.engine._images import ImageJob
from filmslate.engine._video import JobStatus, Reference, VideoJob
from filmslate.providers.fal import FalImageProvider, FalProvider
from filmslate.rules._media import probe
from filmslate.testing._media_server import png_bytes
from filmslate.testing.fal_server import FalServer, data_uri_digests

KEY = "fal-test-key-0000:1111"
CATALOGUE = load_catalogue()
KLING = CATALOGUE.get("fal:fal-ai/kling-video/v2.1/standard/image-to-video")
KLING3 = CATALOGUE.get("fal:fal-ai/kling-video/v3/pro/image-to-video")
VEO = CATALOGUE.get("fal:fal-ai/veo3.1/image-to-video")
FLUX = CATALOGUE.get("fal:fal-ai/flux/dev")
SEEDREAM = CATALOGUE.get("fal:fal-ai/bytedance/seedream/v4/edit")
FRAME = png_bytes(640, 360, "storyboard S01_SH02")
NELL = Reference("CHAR_NELL_REF_v002", png_bytes(512, 512, "nell"))
NELL_BACK = Reference("CHAR_NELL_REF_v002", png_bytes(512, 512, "nell back"))
KITCHEN = Reference("SET_KITCHEN_REF_v001", png_bytes(512, 512, "kitchen"))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


CLIENTS: list[httpx.Client] = []


def client(**options: Any) -> httpx.Client:
    """An HTTP client closed when the test ends (open sockets fail the suite)."""
    made = httpx.Client(**{"timeout": 10, **options})
    CLIENTS.append(made)
    return made


@pytest.fixture(autouse=True)
def fal_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("FAL_KEY", KEY)
    yield
    while CLIENTS:
        CLIENTS.pop().close()


@pytest.fixture
def server() -> Iterator[FalServer]:
    with FalServer(timeout_s=60) as running:
        yield running


def video_job(**change: Any) -> VideoJob:
    fields: dict[str, Any] = {
        "shot_id": "S01_SH02",
        "prompt": "Ink wash. Nell crosses the kitchen to the window.",
        "duration_s": 4.2,
        "width": 1280,
        "height": 720,
        "fps": 24,
        "image": FRAME,
        "seed": 7,
        "reference": "ref-S01_SH02-proxy-1",
        "negative_prompt": "no new props, no daylight",
        "references": (NELL, KITCHEN),
    }
    return VideoJob(**{**fields, **change})


def video(server: FalServer, entry: Any = KLING, **options: Any) -> FalProvider:
    return FalProvider(entry=entry, http_client=client(), base_url=server.url, **options)


def until_finished(poll: Callable[[], JobStatus], limit: int = 20) -> list[JobStatus]:
    seen = [poll()]
    while seen[-1].state not in ("done", "failed") and len(seen) < limit:
        seen.append(poll())
    return seen


def digested(value: Any) -> Any:
    """A sent body with every data URI replaced by its digest, as payload() records it."""
    if isinstance(value, str) and value.startswith("data:"):
        return "sha256:" + data_uri_digests(value)[0]
    if isinstance(value, dict):
        return {k: digested(v) for k, v in value.items()}
    if isinstance(value, list):
        return [digested(v) for v in value]
    return value


# --- against the local queue server ---------------------------------------------------------


def test_kling_image_to_video_end_to_end(server: FalServer) -> None:
    provider = video(server)
    job = video_job()
    request_id = provider.submit(job)
    states = until_finished(lambda: provider.poll(request_id))
    assert [s.state for s in states] == ["queued", "running", "done"]
    clip = provider.download(request_id)
    info = probe(clip)
    assert (info.width, info.height) == (1280, 720) and info.duration_s == pytest.approx(5.0)

    [(model, sent)] = server.submits()
    assert model == KLING.model
    assert sent["prompt"] == job.prompt and sent["negative_prompt"] == job.negative_prompt
    assert sent["duration"] == "5"  # snapped up from 4.2 s and written as the entry says
    assert data_uri_digests(sent["image_url"]) == [sha(FRAME)]
    assert "seed" not in sent and "elements" not in sent  # Kling 2.1 takes neither
    assert provider.payload(job) == digested(sent)
    assert json.dumps(provider.payload(job)).count("data:") == 0

    # the key went to the queue only, as a Key header; the CDN file was fetched without it
    for received in server.received:
        assert received.auth == ("Key" if not received.path.startswith("/cdn/") else None)
        assert KEY not in json.dumps(received.headers)
    assert server.requests_to("/cdn/")[0].headers.get("x-fal-tags") is None
    assert (
        server.requests_to("/", "POST")[0].headers["x-fal-tags"] == f"filmslate_ref={job.reference}"
    )


def test_kling3_sends_the_sheets_as_elements(server: FalServer) -> None:
    provider = video(server, KLING3)
    job = video_job(references=(NELL, NELL_BACK, KITCHEN), duration_s=6.5)
    provider.submit(job)
    [(_, sent)] = server.submits()
    assert data_uri_digests(sent["start_image_url"]) == [sha(FRAME)]
    nell, kitchen = sent["elements"]
    assert data_uri_digests(nell) == [sha(NELL.data), sha(NELL_BACK.data)]  # frontal, other view
    assert data_uri_digests(kitchen["frontal_image_url"]) == [sha(KITCHEN.data)]
    assert data_uri_digests(kitchen["reference_image_urls"]) == [sha(KITCHEN.data)]
    assert sent["duration"] == "7" and sent["generate_audio"] is False
    assert provider.payload(job) == digested(sent)


def test_veo_gets_resolution_aspect_and_seconds(server: FalServer) -> None:
    provider = video(server, VEO)
    provider.submit(video_job(duration_s=7.5, width=1920, height=1080, references=()))
    [(_, sent)] = server.submits()
    assert (sent["resolution"], sent["aspect_ratio"], sent["duration"]) == ("1080p", "16:9", "8s")
    assert sent["seed"] == 7 and sent["auto_fix"] is False
    assert provider.price_per_second(1920, 1080) == pytest.approx(0.20)


def test_an_image_model_returns_a_png(server: FalServer) -> None:
    server.image_size = (1024, 768)
    provider = FalImageProvider(entry=FLUX, http_client=client(), base_url=server.url)
    job = ImageJob("CHAR_NELL_REF", "Nell, front and side views", 1024, 1024, seed=3)
    request_id = provider.submit(job)
    assert until_finished(lambda: provider.poll(request_id))[-1].state == "done"
    image = Image.open(io.BytesIO(provider.download(request_id)))
    assert (image.format, image.size) == ("PNG", (1024, 768))
    [(model, sent)] = server.submits()
    assert model == "fal-ai/flux/dev"
    assert sent == {
        "prompt": job.prompt,
        "seed": 3,
        "image_size": {"width": 1024, "height": 1024},
        "num_images": 1,
        "output_format": "png",
    }
    assert provider.payload(job) == sent
    assert provider.reported_cost(request_id) is None  # the server sent no billed units


def test_reference_images_are_capped_at_the_model_limit(server: FalServer) -> None:
    provider = FalImageProvider(entry=SEEDREAM, http_client=client(), base_url=server.url)
    sheets = tuple(Reference(f"CHAR_X{i}_REF_v001", png_bytes(64, 64, str(i))) for i in range(12))
    provider.submit(
        ImageJob("S01_SH02", "storyboard frame", 1280, 720, "storyboard", references=sheets)
    )
    [(_, sent)] = server.submits()
    assert data_uri_digests(sent["image_urls"]) == [sha(s.data) for s in sheets[:10]]


def test_billed_units_become_the_reported_cost() -> None:
    with FalServer(billable_units=2, timeout_s=60) as server:
        provider = FalImageProvider(entry=FLUX, http_client=client(), base_url=server.url)
        request_id = provider.submit(ImageJob("SET_KITCHEN_REF", "kitchen", 1920, 1080))
        until_finished(lambda: provider.poll(request_id))
        provider.download(request_id)
        assert provider.reported_cost(request_id) == pytest.approx(0.05)  # 2 MP x $0.025
        kling = video(server)
        clip_id = kling.submit(video_job())
        until_finished(lambda: kling.poll(clip_id))
        kling.download(clip_id)
        assert kling.reported_cost(clip_id) is None  # per clip: units are not a price


@pytest.mark.parametrize(("kind", "failure"), [("refusal", "refusal"), ("server", "server")])
def test_a_job_that_fails_in_the_queue_is_classified(
    server: FalServer, kind: str, failure: str
) -> None:
    server.fail_next(1, kind)
    provider = video(server)
    request_id = provider.submit(video_job())
    final = until_finished(lambda: provider.poll(request_id))[-1]
    assert (final.state, final.failure) == ("failed", failure)
    assert KEY not in final.message
    with pytest.raises(ProviderError) as caught:
        provider.download(request_id)
    assert caught.value.context["failure"] == failure
    # the next job is fine: the failure was planned for one submit
    second = provider.submit(video_job())
    assert until_finished(lambda: provider.poll(second))[-1].state == "done"


def test_invalid_input_at_submit_is_not_retried(server: FalServer) -> None:
    server.fail_next(1, "invalid_input")
    with pytest.raises(ProviderError, match=r"rejected the input.*prompt") as caught:
        video(server).submit(video_job())
    assert caught.value.context["failure"] == "invalid_input"
    assert caught.value.context["status"] == 422
    assert len(server.submits()) == 1


def test_a_submit_answered_500_is_not_sent_again(server: FalServer) -> None:
    server.fail_next(1, "submit_error")
    with pytest.raises(ProviderError) as caught:
        video(server, backoff_s=0.0).submit(video_job())
    assert caught.value.context["failure"] == "server"
    assert len(server.submits()) == 1


def test_a_failed_download_is_fetched_again_without_resubmitting(server: FalServer) -> None:
    server.fail_next(1, "download")
    provider = video(server, backoff_s=0.0, max_retries=0)
    request_id = provider.submit(video_job())
    until_finished(lambda: provider.poll(request_id))
    with pytest.raises(ProviderError) as caught:
        provider.download(request_id)
    assert caught.value.context["failure"] == "download"
    assert probe(provider.download(request_id)).width == 1280
    assert len(server.submits()) == 1


def test_cancel_a_queued_request(server: FalServer) -> None:
    server.queued_polls = 10
    provider = video(server)
    request_id = provider.submit(video_job())
    assert provider.poll(request_id).state == "queued"
    assert provider.cancel(request_id) is True
    assert provider.poll(request_id).state == "failed"
    assert provider.cancel(request_id) is False  # already completed


def test_a_resumed_run_polls_with_a_new_provider(server: FalServer) -> None:
    request_id = video(server).submit(video_job())
    fresh = video(server)  # a new process: only the recorded request id survived
    assert until_finished(lambda: fresh.poll(request_id))[-1].state == "done"
    assert probe(fresh.download(request_id)).duration_s == pytest.approx(5.0)


def test_no_key_is_an_auth_failure_before_anything_is_sent(
    server: FalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FAL_KEY")
    with pytest.raises(ProviderError, match="FAL_KEY") as caught:
        video(server).submit(video_job())
    assert caught.value.context["failure"] == "auth" and caught.value.context["maybe_sent"] is False
    assert server.received == []


def test_too_long_a_prompt_or_clip_is_refused_locally(server: FalServer) -> None:
    provider = video(server)
    with pytest.raises(ProviderError, match=r"over .*2500") as caught:
        provider.submit(video_job(prompt="x" * 2501))
    assert caught.value.context["failure"] == "invalid_input"
    with pytest.raises(ProviderError, match="clip limit"):
        provider.submit(video_job(duration_s=10.5))
    assert server.received == []


# --- constructed exchanges ------------------------------------------------------------------

APP = "https://queue.fal.run/fal-ai/kling-video"
REQUEST = "764cabcf-b745-4b3e-ae38-1200304cf45b"


def mocked(handler: Callable[[httpx.Request], httpx.Response], entry: Any = KLING) -> FalProvider:
    transport = httpx.MockTransport(handler)
    return FalProvider(
        entry=entry,
        http_client=client(transport=transport),
        max_retries=1,
        sleep=lambda s: None,
    )


def answer(status: int, body: Any, **headers: str) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(status, json=body, headers=headers)


@pytest.mark.parametrize(
    ("status", "body", "headers", "failure"),
    [
        (
            422,
            {
                "detail": [
                    {
                        "loc": ["body", "prompt"],
                        "msg": "flagged",
                        "type": "content_policy_violation",
                    }
                ]
            },
            {},
            "refusal",
        ),
        (
            422,
            {"detail": [{"loc": ["body", "duration"], "msg": "bad", "type": "enum"}]},
            {},
            "invalid_input",
        ),
        (400, {"detail": "image_url could not be read"}, {}, "invalid_input"),
        (401, {"detail": "Unauthorized"}, {}, "auth"),
        (403, {"detail": "User is locked"}, {}, "auth"),
        (404, {"detail": "Not Found"}, {}, "other"),
    ],
)
def test_submit_answers_are_classified(
    status: int, body: Any, headers: dict[str, str], failure: str
) -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(status, json={**body, "echo": KEY}, headers=headers)

    with pytest.raises(ProviderError) as caught:
        mocked(handler).submit(video_job())
    assert caught.value.context["failure"] == failure
    assert caught.value.context["status"] == status
    assert len(calls) == 1 and KEY not in str(caught.value)


@pytest.mark.parametrize(
    ("result", "failure"),
    [
        (
            httpx.Response(
                504, json={"detail": "Request timed out", "error_type": "request_timeout"}
            ),
            "timeout",
        ),
        (httpx.Response(503, json={"detail": "x", "error_type": "runner_disconnected"}), "server"),
        (
            httpx.Response(
                422,
                json={
                    "detail": [{"loc": ["body"], "msg": "m", "type": "content_policy_violation"}]
                },
            ),
            "refusal",
        ),
    ],
)
def test_a_completed_error_is_read_from_the_result(result: httpx.Response, failure: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/status"):
            return httpx.Response(
                200, json={"status": "COMPLETED", "error": "failed", "error_type": "x"}
            )
        return result

    status = mocked(handler).poll(REQUEST)
    assert (status.state, status.failure) == ("failed", failure)


def test_a_status_error_without_a_result_is_classified_from_the_status() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/status"):
            body = {
                "status": "COMPLETED",
                "error": "Request timed out",
                "error_type": "request_timeout",
            }
            return httpx.Response(200, json=body)
        return httpx.Response(200, json={"video": {"url": "https://v3.fal.media/x.mp4"}})

    assert mocked(handler).poll(REQUEST).failure == "timeout"


def test_timeouts_and_result_fetch_failures() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow")

    with pytest.raises(ProviderError) as caught:
        mocked(slow).poll(REQUEST)
    assert caught.value.context["failure"] == "timeout"
    with pytest.raises(ProviderError) as caught:
        mocked(slow).submit(video_job())
    assert caught.value.context["failure"] == "timeout" and caught.value.context["maybe_sent"]
    # the generation finished: a result that cannot be fetched is a download failure
    with pytest.raises(ProviderError) as caught:
        mocked(answer(500, {"detail": "boom"})).download(REQUEST)
    assert caught.value.context["failure"] == "download"


def test_the_key_never_goes_to_another_host() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.method == "POST":
            elsewhere = f"https://collector.example/requests/{REQUEST}"
            body = {
                "request_id": REQUEST,
                "status_url": f"{elsewhere}/status",
                "response_url": elsewhere,
            }
            return httpx.Response(200, json=body)
        return httpx.Response(200, json={"status": "IN_PROGRESS"})

    provider = mocked(handler)
    provider.submit(video_job())
    assert provider.poll(REQUEST).state == "running"
    assert str(seen[1].url) == f"{APP}/requests/{REQUEST}/status"
    assert all(r.url.host == "queue.fal.run" for r in seen)


def test_a_flagged_image_is_a_refusal() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = {"images": [{"url": "https://v3.fal.media/i.png"}], "has_nsfw_concepts": [True]}
        return httpx.Response(200, json=body)

    transport = httpx.MockTransport(handler)
    provider = FalImageProvider(entry=FLUX, http_client=client(transport=transport))
    with pytest.raises(ProviderError) as caught:
        provider.download(REQUEST)
    assert caught.value.context["failure"] == "refusal"


def test_ingress_errors_on_submit_are_retried_queue_errors_are_not() -> None:
    answers = [
        httpx.Response(502, text="<html>nginx</html>"),
        httpx.Response(200, json={"request_id": REQUEST}),
    ]
    provider = mocked(lambda request: answers.pop(0))
    assert provider.submit(video_job()) == REQUEST
    answers = [
        httpx.Response(502, json={"detail": "x"}, headers={"x-fal-request-id": REQUEST}),
        httpx.Response(200, json={"request_id": REQUEST}),
    ]
    with pytest.raises(ProviderError) as caught:
        mocked(lambda request: answers.pop(0)).submit(video_job())
    assert caught.value.context["failure"] == "server" and len(answers) == 1
