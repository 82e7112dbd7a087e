"""The render and image services with their providers from the factory, against the local
fal queue (testing.fal_server on 127.0.0.1): the real FalProvider / FalImageProvider, built
from [visual] / [images] and [providers.fal], paid at the catalogue's price, a refusal never
sent twice, a failed CDN download fetched again without paying again."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from filmslate import Project
from filmslate.core._errors import ProviderError, RenderRefused
from filmslate.engine._image_service import ImageService
from filmslate.engine._images import ImageJob
from filmslate.engine._render import RenderService
from filmslate.engine._runner import Runner
from filmslate.engine._skill import Registry
from filmslate.skills.production import RenderProxy
from filmslate.testing.fal_server import FalServer
from test_runtime import configure
from test_skills_render import film, spends

__all__ = ["film"]

KLING = "fal:fal-ai/kling-video/v2.1/standard/image-to-video"
FLUX = "fal:fal-ai/flux/dev"
SHOT = "S01_SH02"  # hero B, 4 s: the mid tier


@pytest.fixture
def server(film: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FalServer]:
    monkeypatch.setenv("FAL_KEY", "local-test-key")
    with FalServer(timeout_s=120, queued_polls=0, running_polls=1) as fal:
        configure(
            film,
            **{
                'mid = "fake:clip"': f'mid = "{KLING}"',
                'model = "offline"': f'model = "{FLUX}"',
                "[providers]\n": f'[providers.fal]\nbase_url = "{fal.url}"\n\n[providers]\n',
            },
        )
        yield fal


def run_proxy(root: Path, force: bool = False) -> Runner:
    project = Project(root)
    registry = Registry()
    registry.register(RenderProxy)
    r = Runner(project, registry)
    service = RenderService(project, poll_interval_s=0.0)  # no providers: the factory's
    try:
        result = r.run("render-proxy", SHOT, force=force, params={"render": service})
    finally:
        service.close()  # the factory's HTTP clients
    assert result.gate.passed, result.gate.reasons
    return r


def test_a_fal_model_from_the_config_renders_and_is_paid_per_clip(
    film: Path, server: FalServer
) -> None:
    r = run_proxy(film)
    [(model, sent)] = server.submits()
    assert f"fal:{model}" == KLING
    assert sent["duration"] == "5" and sent["negative_prompt"] == "beard"
    assert "beard" not in sent["prompt"] and len(sent["prompt"]) <= 2500
    assert spends(r, SHOT) == [(0.28, 0.28)]
    (payload,) = r.store.conn.execute("SELECT payload FROM render_jobs").fetchone()
    assert json.loads(payload)["duration"] == "5"
    assert "local-test-key" not in "".join(
        p.read_text(errors="ignore") for p in film.rglob("*") if p.is_file()
    )


def test_a_refusal_from_fal_is_never_sent_again(film: Path, server: FalServer) -> None:
    server.fail_next(1, "refusal")
    with pytest.raises(RenderRefused, match="regen-analyzer"):
        run_proxy(film)
    with pytest.raises(RenderRefused):
        run_proxy(film, force=True)
    assert len(server.submits()) == 1


def test_a_failed_cdn_download_is_fetched_again_without_paying(
    film: Path, server: FalServer
) -> None:
    server.fail_next(1, "download")
    try:
        r = run_proxy(film)  # the provider may retry the CDN itself
    except ProviderError:
        r = run_proxy(film, force=True)
    assert len(server.submits()) == 1 and spends(r, SHOT) == [(0.28, 0.28)]


def test_a_sheet_from_fal_through_the_image_service(film: Path, server: FalServer) -> None:
    images = ImageService(Project(film), poll_interval_s=0.0)
    assert not images.offline("sheet")
    data = images.image(ImageJob("CHAR_ALEX_REF", "Alex, front and side", 1280, 720, seed=3))
    assert Image.open(io.BytesIO(data)).format == "PNG"
    assert images.image(ImageJob("CHAR_ALEX_REF", "Alex, front and side", 1280, 720, seed=3))
    assert [model for model, _ in server.submits()] == [FLUX[4:]]  # once
    assert (images.estimated, images.spent) == (0.025, 0.025)
    images.close()
