"""The video and image providers a project's configuration names, built from it.

The engine names these by string (``"filmslate.providers._factory:video_providers"`` and
``":image_providers"``), each taking the Config and the project root:

- :func:`video_providers` returns one provider per model named in ``[visual]``, keyed by the
  model string (``"fal:fal-ai/kling-video/..."``; the render service looks a model up by its
  string, then by its provider prefix): the offline ``animatic``, fal, ComfyUI and Replicate
  models from their catalogue entries, and any other provider from the
  ``filmslate.video_providers`` entry-point group;
- :func:`image_providers` the same for ``[images]`` (every use's model), with the
  ``filmslate.image_providers`` group. ``"offline"`` builds nothing: the skills draw their
  schematic themselves when the image service says the use is offline.

:func:`close_providers` closes the HTTP clients made here once the run is over.

Each provider gets its ``[providers.<name>]`` settings: ``base_url`` (the vendor's by default),
``api_key_env`` (the vendor's usual variable by default), ``timeout_s`` (one HTTP client per
provider with that timeout) and ``max_concurrent`` (set on the provider as ``max_concurrent``).
Keys stay in the environment: nothing here reads one, so a missing key is a clear error at the
first paid call, not at load. A model that cannot be built (a plugin that fails, a ComfyUI
model without a workflow) becomes a provider that raises that error when first used, so one
bad model never stops a run that does not render with it.

A plugin's entry point (named after the provider prefix) loads a callable that is called as
``factory(model=..., entry=..., settings=..., http_client=..., root=...)`` (``entry`` is the
catalogue entry or None; ``settings`` a :class:`VendorSettings`) and returns the provider.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import import_module
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, ClassVar, Literal

import httpx

from ..core._catalogue import Catalogue, ModelEntry
from ..core._config import Config
from ..core._errors import ProviderError
from ..engine._images import ImageJob, ImageProvider
from ..engine._video import JobStatus, VideoJob, VideoProvider

VIDEO_GROUP = "filmslate.video_providers"
IMAGE_GROUP = "filmslate.image_providers"
ANIMATIC = "animatic"
OFFLINE_IMAGES = "offline"
DEFAULT_KEY_ENV = {"fal": "FAL_KEY", "replicate": "REPLICATE_API_TOKEN"}
DEFAULT_MAX_CONCURRENT = {"fal": 2, "replicate": 4, "comfyui": 1}  # fal starts accounts at 2
# provider -> (module, video class, image class)
BUILTIN = {
    "fal": ("filmslate.providers.fal", "FalProvider", "FalImageProvider"),
    "replicate": ("filmslate.providers.replicate", "ReplicateProvider", "ReplicateImageProvider"),
    "comfyui": ("filmslate.providers.comfyui", "ComfyUIProvider", "ComfyUIImageProvider"),
}
Kind = Literal["video", "image"]
USES: tuple[Literal["sheet", "storyboard", "first_frame"], ...] = (
    "sheet",
    "storyboard",
    "first_frame",
)


@dataclass(frozen=True)
class VendorSettings:
    """One provider's settings from ``[providers.<name>]`` and the flat ``[providers]`` keys."""

    name: str
    base_url: str | None  # None: the vendor's own endpoint
    api_key_env: str | None  # the environment variable holding the key (None: keyless)
    timeout_s: float
    max_concurrent: int
    max_retries: int


def vendor_settings(config: Config, name: str) -> VendorSettings:
    """The settings of provider ``name``, defaults filled in."""
    table = config.providers.table(name)
    return VendorSettings(
        name=name,
        base_url=table.base_url,
        api_key_env=table.api_key_env or DEFAULT_KEY_ENV.get(name),
        timeout_s=table.timeout_s or config.providers.timeout_s,
        max_concurrent=table.max_concurrent or DEFAULT_MAX_CONCURRENT.get(name, 1),
        max_retries=config.providers.max_retries,
    )


def video_providers(config: Config, root: Path) -> dict[str, VideoProvider]:
    """A provider for every video model ``[visual]`` names (see the module docs)."""
    models = sorted({str(getattr(config.visual, tier)) for tier in ("premium", "mid", "low")})
    built: dict[str, VideoProvider] = {}
    clients = _Clients(config)
    for model in models:
        if model == ANIMATIC:
            built[model] = _animatic(root)
            continue
        provider = _build(config, root, model, "video", clients)
        if provider is not None:
            built[model] = provider
    return built


def image_providers(config: Config, root: Path) -> dict[str, ImageProvider]:
    """A provider for every image model ``[images]`` names, ``"offline"`` aside."""
    models = sorted({config.images.model_for(use) for use in USES} - {OFFLINE_IMAGES})
    built: dict[str, ImageProvider] = {}
    clients = _Clients(config)
    for model in models:
        provider = _build(config, root, model, "image", clients)
        if provider is not None:
            built[model] = provider
    return built


class _Clients:
    """One HTTP client per provider, with its timeout (never holding a key)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.made: dict[str, httpx.Client] = {}

    def get(self, name: str) -> httpx.Client:
        if name not in self.made:
            timeout = vendor_settings(self.config, name).timeout_s
            self.made[name] = httpx.Client(timeout=httpx.Timeout(timeout, connect=min(timeout, 30)))
        return self.made[name]


def _build(config: Config, root: Path, model: str, kind: Kind, clients: _Clients) -> Any:
    """The provider for one model, or None for a model no provider claims (the render
    service then names it when a shot needs it)."""
    name, _, model_id = model.partition(":")
    if not model_id:
        return None
    catalogue = config.model_catalogue()
    entry = _entry(catalogue, model, kind)
    settings = vendor_settings(config, name)
    try:
        if name in BUILTIN:
            provider: Any = _builtin(
                name, kind, model_id, entry, settings, clients.get(name), config
            )
        else:
            factory = _plugin(name, kind)
            if factory is None:
                return None
            provider = factory(
                model=model,
                entry=entry,
                settings=settings,
                http_client=clients.get(name),
                root=root,
            )
    except Exception as exc:  # a provider that cannot be built fails when used, not now
        message = str(exc) if isinstance(exc, ProviderError) else f"{type(exc).__name__}: {exc}"
        return _unavailable(kind, model, f"{model} cannot be used: {message}")
    wanted = VideoProvider if kind == "video" else ImageProvider
    if not isinstance(provider, wanted):
        return _unavailable(kind, model, f"{model}: the {name} factory made no {wanted.__name__}")
    _limit(provider, settings.max_concurrent)
    with contextlib.suppress(AttributeError):  # closed by close_providers()
        setattr(provider, "factory_client", clients.get(name))  # noqa: B010 (any provider class)
    return provider


def close_providers(*providers: Mapping[str, object]) -> None:
    """Close the HTTP clients this module made for these providers (at the end of a run)."""
    for built in providers:
        for provider in built.values():
            client = getattr(provider, "factory_client", None)
            if isinstance(client, httpx.Client):
                client.close()


def _entry(catalogue: Catalogue, model: str, kind: Kind) -> ModelEntry | None:
    entry = catalogue.entries.get(model)
    return entry if entry is not None and entry.kind == kind else None


def _builtin(
    name: str,
    kind: Kind,
    model_id: str,
    entry: ModelEntry | None,
    settings: VendorSettings,
    client: httpx.Client,
    config: Config,
) -> Any:
    module, video_class, image_class = BUILTIN[name]
    cls = getattr(import_module(module), video_class if kind == "video" else image_class)
    options: dict[str, Any] = {"entry": entry, "http_client": client}
    if settings.base_url:
        options["base_url"] = settings.base_url
    if name == "comfyui":
        return cls(timeout=settings.timeout_s, api_key_env=settings.api_key_env, **options)
    options["max_retries"] = settings.max_retries
    if kind == "video" and entry is None:
        options["price_per_second"] = _legacy_price(config, f"{name}:{model_id}")
    return cls(model_id, settings.api_key_env or DEFAULT_KEY_ENV[name], **options)


def _legacy_price(config: Config, model: str) -> float | None:
    """A model outside the catalogue priced per second in [prices.video] (its proxy price)."""
    prices = config.prices.video.get(model) or config.prices.video.get(model.split(":", 1)[0])
    return None if not prices else float(prices.get("proxy", prices.get("final", 0.0)))


def _plugin(name: str, kind: Kind) -> Callable[..., Any] | None:
    group = VIDEO_GROUP if kind == "video" else IMAGE_GROUP
    for point in entry_points(group=group, name=name):
        loaded: Callable[..., Any] = point.load()
        return loaded
    return None


def _limit(provider: Any, max_concurrent: int) -> None:
    """How many jobs the provider takes at once (``[providers.<name>] max_concurrent``)."""
    with contextlib.suppress(AttributeError):  # a plugin's slotted class keeps its own
        provider.max_concurrent = max_concurrent


def _animatic(root: Path) -> VideoProvider:
    from .animatic import AnimaticProvider

    return AnimaticProvider(root / ".filmslate" / "renders")


def _unavailable(kind: Kind, model: str, message: str) -> VideoProvider | ImageProvider:
    if kind == "video":
        return _UnavailableVideo(model, message)
    return _UnavailableImage(model, message)


class _Unavailable:
    """A model that could not be built: every use raises why, before anything is sent."""

    offline: ClassVar[bool] = False

    def __init__(self, model: str, message: str) -> None:
        self.model = model
        self.message = message

    def _fail(self) -> ProviderError:
        return ProviderError(self.message, model=self.model, failure="other", maybe_sent=False)

    def poll(self, job_id: str) -> JobStatus:
        raise self._fail()

    def download(self, job_id: str) -> bytes:
        raise self._fail()


class _UnavailableVideo(_Unavailable, VideoProvider):
    name: ClassVar[str] = "unavailable"

    def submit(self, job: VideoJob) -> str:
        raise self._fail()

    def price_per_second(self, width: int, height: int) -> float:
        raise self._fail()


class _UnavailableImage(_Unavailable, ImageProvider):
    name: ClassVar[str] = "unavailable"

    def submit(self, job: ImageJob) -> str:
        raise self._fail()
