"""A runner closes the HTTP clients its render and image services' providers opened, so
`slate run` against a hosted model leaves no socket to the garbage collector."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from filmslate.engine._runner import Runner
from filmslate.engine._skill import Registry
from filmslate.store._project import Project
from filmslate.testing.fal_server import FalServer
from test_runtime import configure
from test_skills_render import film

__all__ = ["film"]

KLING = "fal:fal-ai/kling-video/v2.1/standard/image-to-video"
FLUX = "fal:fal-ai/flux/dev"


@pytest.fixture
def fal_film(film: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("FAL_KEY", "local-test-key")
    with FalServer(timeout_s=60) as fal:
        configure(
            film,
            **{
                'mid = "fake:clip"': f'mid = "{KLING}"',
                'model = "offline"': f'model = "{FLUX}"',
                "[providers]\n": f'[providers.fal]\nbase_url = "{fal.url}"\n\n[providers]\n',
            },
        )
        yield film


def test_closing_a_runner_closes_its_providers_clients(fal_film: Path) -> None:
    with Project(fal_film) as project:
        runner = Runner(project, Registry())
        video = runner.render_service().provider_for(KLING)
        image = runner.image_service().provider_for(FLUX)
        clients = [p.factory_client for p in (video, image)]  # the factory sets it
        assert not any(client.is_closed for client in clients)
        runner.close()
        assert all(client.is_closed for client in clients)
        runner.close()  # twice is harmless
