"""The Replicate video and image providers against the local Replicate server (real HTTP on
127.0.0.1, real MP4s and PNGs): input from the catalogue entry, the token only to the API host,
failures told apart, cost from predict_time where billed by compute."""

from __future__ import annotations

import hashlib
import io
import os
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

import vendor_fixtures
from filmslate import ProviderError
from filmslate.core._catalogue import load_catalogue
from filmslate.engine._images import ImageJob
from filmslate.engine._video import Reference, VideoJob
from filmslate.providers.replicate import ReplicateImageProvider, ReplicateProvider
from filmslate.rules._media import probe
from filmslate.testing.replicate_server import NSFW_ERROR, ReplicateServer
from vendor_fixtures import FRAME, assert_a_failed_download_is_fetched_again, close_clients, http

KEY = "r8_FAKE-token-7777leakcheck"
KLING = load_catalogue().get("replicate:kwaivgi/kling-v2.1")
FLUX = load_catalogue().get("replicate:black-forest-labs/flux-dev")
__all__ = ["close_clients"]


@pytest.fixture(autouse=True)
def token(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fake token in the environment, the only place the provider reads it from."""
    monkeypatch.setenv("REPLICATE_API_TOKEN", KEY)


def video(server_url: str, **settings: Any) -> ReplicateProvider:
    return ReplicateProvider(entry=KLING, base_url=server_url, http_client=http(), **settings)


def image(server_url: str, **settings: Any) -> ReplicateImageProvider:
    return ReplicateImageProvider(entry=FLUX, base_url=server_url, http_client=http(), **settings)


def video_job(**changes: Any) -> VideoJob:
    """A 4.2 s proxy job for Kling (see ``vendor_fixtures.video_job``)."""
    return vendor_fixtures.video_job(KLING.key, **changes)


def image_job(**changes: Any) -> ImageJob:
    """A FLUX sheet job (Replicate takes no client reference)."""
    return vendor_fixtures.image_job(FLUX.key, **changes)


def assert_token_only_to_the_api(server: ReplicateServer) -> None:
    for request in server.received:
        on_api = request.headers["host"].startswith("127.0.0.1")
        assert request.auth == ("Bearer" if on_api else None), request.path
    assert KEY not in repr(server.received)


def test_video_prediction_from_the_catalogue_entry() -> None:
    with ReplicateServer() as server:
        provider = video(server.url)
        job = video_job()
        job_id = provider.submit(job)
        states = [provider.poll(job_id).state for _ in range(3)]
        clip = provider.download(job_id)
        ((_, sent),) = server.creates()
        create = server.requests_to("/v1/models/", "POST")[0]
        assert create.path == "/v1/models/kwaivgi/kling-v2.1/predictions"
        assert server.image_digests(sent) == [hashlib.sha256(FRAME).hexdigest()]
        assert_token_only_to_the_api(server)
        assert server.requests_to("/delivery/")  # fetched from the other host
    assert states == ["running", "done", "done"]
    assert (probe(clip).width, probe(clip).height, probe(clip).duration_s) == (1280, 720, 5.0)
    assert sent["prompt"] == job.prompt and sent["negative_prompt"] == "no new props"
    assert (sent["duration"], sent["mode"]) == (5, "standard")  # 4.2 s snaps to 5; 720p tier
    assert sent["start_image"].startswith("data:image/png;base64,")
    payload = provider.payload(job)
    assert payload == {
        "model": "kwaivgi/kling-v2.1",
        "input": {**sent, "start_image": "sha256:" + hashlib.sha256(FRAME).hexdigest()},
    }
    assert provider.max_clip_s == 10 and not provider.finds_by_reference
    assert provider.price_per_second(640, 360) == 0.05
    assert provider.reported_cost(job_id) is None  # billed by output: the catalogue's price


def test_image_prediction_returns_a_real_png() -> None:
    with ReplicateServer(size=(1024, 768)) as server:
        provider = image(server.url)
        job_id = provider.submit(image_job())
        while provider.poll(job_id).state != "done":
            pass
        data = provider.download(job_id)
        ((_, sent),) = server.creates()
    assert Image.open(io.BytesIO(data)).size == (1024, 768)
    assert sent == {
        "prompt": "Nell, front and side, plain backdrop.",
        "seed": 7,
        "aspect_ratio": "3:2",
        "num_outputs": 1,
        "output_format": "png",
        "go_fast": False,
        "megapixels": "1",
    }


def test_prefer_wait_answers_the_finished_prediction() -> None:
    with ReplicateServer() as server:
        provider = image(server.url, wait_s=5)
        job_id = provider.submit(image_job())
        assert server.received[0].headers["prefer"] == "wait=5"
        assert provider.download(job_id)[:8] == b"\x89PNG\r\n\x1a\n"
        assert not server.requests_to("/v1/predictions/", "GET")  # no poll was needed


@pytest.mark.parametrize(("kind", "failure"), [("refusal", "refusal"), ("server", "server")])
def test_a_failed_prediction_says_why(kind: str, failure: str) -> None:
    with ReplicateServer(polls_to_finish=1) as server:
        provider = video(server.url)
        server.fail_next(1, kind)
        status = provider.poll(provider.submit(video_job()))
    assert (status.state, status.failure) == ("failed", failure)
    assert (NSFW_ERROR in status.message) == (kind == "refusal")


def test_an_invalid_input_is_refused_before_anything_runs() -> None:
    with ReplicateServer() as server:
        server.fail_next(1, "invalid_input")
        with pytest.raises(ProviderError, match=r"rejected the input.*\(422\)") as caught:
            video(server.url).submit(video_job())
        assert caught.value.context["failure"] == "invalid_input"
        assert caught.value.context["maybe_sent"] is False
        # a model outside the catalogue gets the plain input, which Kling's schema refuses
        plain = ReplicateProvider("kwaivgi/kling-v2.1", base_url=server.url, http_client=http())
        with pytest.raises(ProviderError, match="additional property image_url") as caught:
            plain.submit(video_job())
        assert caught.value.context["failure"] == "invalid_input"


def test_a_create_that_failed_on_the_server_may_have_run_and_is_not_retried() -> None:
    slept: list[float] = []
    with ReplicateServer() as server:
        server.fail_next(1, "create_error")
        provider = video(server.url, sleep=slept.append)
        with pytest.raises(ProviderError, match=r"failed \(500\)") as caught:
            provider.submit(video_job())
        assert len(server.requests_to("/v1/models/", "POST")) == 1 and slept == []
    assert caught.value.context["maybe_sent"] is True
    assert caught.value.context["failure"] == "server"


def test_a_create_that_timed_out_is_maybe_sent() -> None:
    seen: list[httpx.Request] = []

    def slow(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        raise httpx.ReadTimeout("slow")

    provider = ReplicateProvider(entry=KLING, http_client=http(httpx.MockTransport(slow)))
    with pytest.raises(ProviderError, match=r"check replicate\.com/predictions") as caught:
        provider.submit(video_job())
    assert caught.value.context == {"failure": "timeout", "maybe_sent": True}
    assert len(seen) == 1


def test_rate_limits_are_retried_with_backoff_and_auth_is_its_own_failure() -> None:
    answers = [
        httpx.Response(429, json={"title": "Too Many Requests", "detail": "slow down"}),
        httpx.Response(201, json={"id": "abc123", "status": "starting"}),
    ]
    slept: list[float] = []
    client = http(httpx.MockTransport(lambda request: answers.pop(0)))
    provider = ReplicateProvider(
        entry=KLING, http_client=client, backoff_s=0.01, sleep=slept.append
    )
    assert provider.submit(video_job()) == "abc123" and slept == [0.01]
    refused = http(httpx.MockTransport(lambda r: httpx.Response(401, json={"detail": KEY})))
    with pytest.raises(ProviderError, match="rejected the token in REPLICATE_API_TOKEN") as caught:
        ReplicateProvider(entry=KLING, http_client=refused).poll("abc123")
    assert caught.value.context["failure"] == "auth"
    assert KEY not in str(caught.value)


def test_no_token_no_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REPLICATE_API_TOKEN")
    with ReplicateServer() as server:
        with pytest.raises(ProviderError, match="set the environment variable") as caught:
            video(server.url).submit(video_job())
        assert server.received == []
    assert caught.value.context["failure"] == "auth"


def test_a_large_image_goes_through_the_files_api() -> None:
    noise = np.random.default_rng(3).integers(0, 255, (900, 900, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(noise, "RGB").save(out, "PNG")
    big = out.getvalue()
    assert len(big) > 1_000_000
    with ReplicateServer() as server:
        provider = video(server.url)
        provider.submit(video_job(image=big))
        ((_, sent),) = server.creates()
        upload = server.requests_to("/v1/files", "POST")[0]
        assert upload.files == {"content": hashlib.sha256(big).hexdigest()}
        assert sent["start_image"].startswith(f"{server.url}/v1/files/")
        assert server.image_digests(sent) == [hashlib.sha256(big).hexdigest()]
    assert provider.payload(video_job(image=big))["input"]["start_image"] == (  # type: ignore[index]
        "sha256:" + hashlib.sha256(big).hexdigest()
    )


def test_reported_cost_from_predict_time_where_billed_by_compute() -> None:
    with ReplicateServer(polls_to_finish=1, predict_time=3.2) as server:
        provider = image(server.url, hardware_price_per_s=0.000225)
        job_id = provider.submit(image_job())
        assert provider.poll(job_id).state == "done"
        assert provider.reported_cost(job_id) == pytest.approx(0.00072)


def test_cancel_and_a_version_model() -> None:
    version = "a" * 64
    with ReplicateServer(polls_to_finish=5) as server:
        provider = ReplicateImageProvider(
            f"someone/some-model:{version}", base_url=server.url, http_client=http()
        )
        job_id = provider.submit(image_job(references=(Reference("x", FRAME),)))
        assert server.requests_to("/v1/predictions", "POST")[0].body["version"].endswith(version)
        provider.cancel(job_id)
        status = provider.poll(job_id)
    assert (status.state, status.failure) == ("failed", "other")
    assert "canceled" in status.message


def test_a_prompt_over_the_limit_is_refused_locally() -> None:
    with ReplicateServer() as server:
        with pytest.raises(ProviderError, match=r"over kwaivgi/kling-v2\.1's 2500") as caught:
            video(server.url).submit(video_job(prompt="x" * 2501))
        assert server.received == []
    assert caught.value.context["maybe_sent"] is False


def test_the_key_is_nowhere_in_the_environment_copy() -> None:
    provider = ReplicateProvider(entry=KLING, http_client=http())
    assert KEY not in repr(provider) and KEY not in repr(vars(provider))
    assert os.environ["REPLICATE_API_TOKEN"] == KEY


def test_a_planned_download_failure_is_retried_separately() -> None:
    with ReplicateServer(polls_to_finish=1) as server:
        clip = assert_a_failed_download_is_fetched_again(
            video(server.url), server, video_job(), lambda: len(server.creates()), "lost"
        )
    assert probe(clip).duration_s == 5.0


def test_a_community_model_billed_by_compute_names_its_hardware_price() -> None:
    version = "b" * 64
    key = f"replicate:someone/upscaler:{version}"
    catalogue = load_catalogue(
        {
            key: {
                "kind": "image",
                "billing": {
                    "unit": "per_job",
                    "price": 0.01,
                    "hardware_per_s": 0.000725,
                    "failed_jobs_charged": True,
                    "source": "https://replicate.com/pricing (L40S)",
                    "as_of": "2026-12-01",
                },
            }
        }
    )
    entry = catalogue.get(key)
    with ReplicateServer(polls_to_finish=1, predict_time=4.0) as server:
        provider = ReplicateImageProvider(entry=entry, base_url=server.url, http_client=http())
        job_id = provider.submit(image_job())
        assert provider.poll(job_id).state == "done"
        assert provider.reported_cost(job_id) == pytest.approx(0.0029)  # 4 s x $0.000725
        assert server.requests_to("/v1/predictions", "POST")[0].body["version"] == (
            f"someone/upscaler:{version}"
        )
