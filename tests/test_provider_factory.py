"""The provider factory: the video and image providers a filmslate.toml names, with their
[providers.<name>] settings, plus third-party providers from entry points."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from filmslate import ProviderError, parse_config
from filmslate.core._config import default_toml
from filmslate.engine._images import ImageJob
from filmslate.engine._video import VideoJob
from filmslate.providers._factory import (
    close_providers,
    image_providers,
    vendor_settings,
    video_providers,
)
from filmslate.providers.animatic import AnimaticProvider
from filmslate.providers.comfyui import ComfyUIImageProvider, ComfyUIProvider
from filmslate.providers.fal import FalImageProvider, FalProvider
from filmslate.testing.fal_server import FalServer

KLING = "fal:fal-ai/kling-video/v2.1/standard/image-to-video"
VEO = "fal:fal-ai/veo3.1/image-to-video"
FLUX = "fal:fal-ai/flux/dev"
SEEDREAM = "fal:fal-ai/bytedance/seedream/v4/edit"


def configured(*tables: str, **replace: str) -> str:
    text = default_toml("demo")
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    return text + "\n" + "\n".join(tables)


def test_the_default_project_gets_the_animatic_and_no_image_model(tmp_path: Path) -> None:
    config = parse_config(default_toml("demo"))
    videos = video_providers(config, tmp_path)
    assert list(videos) == ["animatic"] and isinstance(videos["animatic"], AnimaticProvider)
    assert image_providers(config, tmp_path) == {}


def test_fal_models_from_the_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with FalServer(timeout_s=60) as server:
        text = configured(
            server.providers_toml("STUDIO_FAL") + "max_concurrent = 3\ntimeout_s = 20\n",
            **{
                'premium = "animatic"': f'premium = "{KLING}"',
                'mid = "animatic"': f'mid = "{VEO}"',
                'model = "offline"': f'model = "{FLUX}"\nstoryboard = "{SEEDREAM}"',
            },
        )
        config = parse_config(text)
        videos = video_providers(config, tmp_path)
        assert sorted(videos) == sorted(["animatic", KLING, VEO])
        kling = videos[KLING]
        assert isinstance(kling, FalProvider) and kling.entry is not None
        assert kling.entry.key == KLING and kling.queue.base_url == server.url
        assert kling.queue.http.timeout.read == 20 and kling.max_concurrent == 3  # type: ignore[attr-defined]
        images = image_providers(config, tmp_path)
        assert sorted(images) == [SEEDREAM, FLUX]
        assert all(isinstance(p, FalImageProvider) for p in images.values())

        # the key is read at the first paid call, from the variable the config names
        job = VideoJob("S01_SH01", "a prompt", 5.0, 1280, 720, 24, image=b"\x89PNG\r\n\x1a\n")
        monkeypatch.delenv("STUDIO_FAL", raising=False)
        with pytest.raises(ProviderError, match="STUDIO_FAL") as caught:
            kling.submit(job)
        assert caught.value.context["failure"] == "auth" and server.received == []
        monkeypatch.setenv("STUDIO_FAL", "studio-key")
        assert kling.submit(job)
        assert images[FLUX].submit(ImageJob("CHAR_NELL_REF", "Nell", 1024, 1024))
        assert [model for model, _ in server.submits()] == [KLING[4:], FLUX[4:]]
        close_providers(videos, images)
        assert kling.queue.http.is_closed


def test_settings_default_to_the_vendors_and_the_flat_keys() -> None:
    text = configured(
        **{"timeout_s = 120.0": 'timeout_s = 90.0\nbase_urls = { fal = "http://127.0.0.1:9" }'}
    )
    config = parse_config(text)
    fal = vendor_settings(config, "fal")
    assert (fal.base_url, fal.api_key_env, fal.timeout_s, fal.max_concurrent) == (
        "http://127.0.0.1:9",
        "FAL_KEY",
        90.0,
        2,
    )
    replicate = vendor_settings(config, "replicate")
    assert (replicate.base_url, replicate.api_key_env) == (None, "REPLICATE_API_TOKEN")


def test_comfyui_models(tmp_path: Path) -> None:
    text = configured(
        '[providers.comfyui]\nbase_url = "http://127.0.0.1:8199"\n',
        **{
            'premium = "animatic"': 'premium = "comfyui:wan2.2-i2v-14b"',
            'model = "offline"': 'model = "comfyui:flux-dev"',
        },
    )
    config = parse_config(text)
    videos = video_providers(config, tmp_path)
    comfy = videos["comfyui:wan2.2-i2v-14b"]
    assert isinstance(comfy, ComfyUIProvider) and "127.0.0.1:8199" in repr(comfy)
    images = image_providers(config, tmp_path)
    assert isinstance(images["comfyui:flux-dev"], ComfyUIImageProvider)
    close_providers(videos, images)


def test_replicate_models(tmp_path: Path) -> None:
    replicate = pytest.importorskip("filmslate.providers.replicate")
    text = configured(
        **{
            'mid = "animatic"': 'mid = "replicate:kwaivgi/kling-v2.1"',
            'model = "offline"': 'model = "replicate:black-forest-labs/flux-dev"',
        },
    )
    config = parse_config(text)
    videos = video_providers(config, tmp_path)
    assert isinstance(videos["replicate:kwaivgi/kling-v2.1"], replicate.ReplicateProvider)
    images = image_providers(config, tmp_path)
    found = images["replicate:black-forest-labs/flux-dev"]
    assert isinstance(found, replicate.ReplicateImageProvider)
    close_providers(videos, images)


def test_a_model_priced_the_old_way_gets_a_fal_provider_at_that_price(tmp_path: Path) -> None:
    text = configured(
        **{
            'premium = "animatic"': 'premium = "fal:studio/hero"',
            "[prices]\n": (
                '[prices]\nvideo = { "fal:studio/hero" = { proxy = 0.1, final = 0.4 } }\n'
            ),
        }
    )
    provider = video_providers(parse_config(text), tmp_path)["fal:studio/hero"]
    assert isinstance(provider, FalProvider) and provider.entry is None
    assert provider.model_id == "studio/hero" and provider.price_per_second(640, 360) == 0.1
    close_providers({"x": provider})


PLUGIN = """
from filmslate.engine._images import ImageProvider
from filmslate.engine._video import JobStatus, VideoProvider

CALLS = []


class Lumen(VideoProvider):
    name = "lumen"

    def __init__(self, model, entry, settings, http_client, root):
        CALLS.append((model, entry, settings, root))
        self.model = model

    def submit(self, job):
        return "lumen-1"

    def poll(self, job_id):
        return JobStatus("done")

    def download(self, job_id):
        return b""

    def price_per_second(self, width, height):
        return 0.3


class Still(ImageProvider):
    name = "lumen"

    def __init__(self, **kwargs):
        CALLS.append(tuple(sorted(kwargs)))

    def submit(self, job):
        return "still-1"

    def poll(self, job_id):
        return JobStatus("done")

    def download(self, job_id):
        return b""


def broken(**kwargs):
    raise RuntimeError("the lumen licence server is down")
"""


def install(site: Path, entry_points: str) -> None:
    """A distribution on sys.path with the given entry points, as pip leaves it."""
    site.mkdir(parents=True)
    (site / "lumen_plugin.py").write_text(PLUGIN)
    info = site / "lumen_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: lumen-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points))


@pytest.fixture
def plugin_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    site = tmp_path / "site"
    monkeypatch.setattr(sys, "path", [*sys.path, str(site)])
    monkeypatch.delitem(sys.modules, "lumen_plugin", raising=False)
    return site


def test_entry_point_providers_are_built_with_their_settings(
    plugin_site: Path, tmp_path: Path
) -> None:
    install(
        plugin_site,
        """\
        [filmslate.video_providers]
        lumen = lumen_plugin:Lumen
        [filmslate.image_providers]
        lumen = lumen_plugin:Still
        """,
    )
    text = configured(
        '[providers.lumen]\nbase_url = "https://api.lumen.example"\napi_key_env = "LUMEN_KEY"\n',
        **{
            'low = "animatic"': 'low = "lumen:clip-2"',
            'model = "offline"': 'model = "lumen:still-1"',
        },
    )
    config = parse_config(text)
    videos = video_providers(config, tmp_path / "film")
    provider = videos["lumen:clip-2"]
    assert type(provider).__name__ == "Lumen" and provider.max_concurrent == 1  # type: ignore[attr-defined]
    import lumen_plugin  # type: ignore[import-not-found]

    model, entry, settings, root = lumen_plugin.CALLS[0]
    assert (model, entry, root) == ("lumen:clip-2", None, tmp_path / "film")
    assert (settings.base_url, settings.api_key_env) == ("https://api.lumen.example", "LUMEN_KEY")
    images = image_providers(config, tmp_path / "film")
    assert type(images["lumen:still-1"]).__name__ == "Still"
    assert lumen_plugin.CALLS[1] == ("entry", "http_client", "model", "root", "settings")
    close_providers(videos, images)


def test_a_provider_that_cannot_be_built_fails_when_used(plugin_site: Path, tmp_path: Path) -> None:
    install(plugin_site, "[filmslate.video_providers]\nlumen = lumen_plugin:broken\n")
    text = configured(**{'low = "animatic"': 'low = "lumen:clip-2"'})
    videos = video_providers(parse_config(text), tmp_path)  # building does not stop the run
    job = VideoJob("S01_SH01", "a prompt", 4.0, 640, 360, 12)
    with pytest.raises(ProviderError, match="licence server is down") as caught:
        videos["lumen:clip-2"].submit(job)
    assert caught.value.context["maybe_sent"] is False
    assert isinstance(videos["animatic"], AnimaticProvider)
    close_providers(videos)
