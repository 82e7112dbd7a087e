"""The models filmslate.toml names, checked when it loads: ``[visual]`` tiers, ``[images]`` uses
and the ``[catalogue]`` overrides.

A name is good when it is the offline renderer (``"animatic"`` for video, ``"offline"`` for
images), a catalogue key of the right kind (``"fal:fal-ai/flux/dev"`` is an image model), a
``"provider:model"`` whose provider a package registers in the ``filmslate.video_providers`` /
``filmslate.image_providers`` entry-point group, or (the older way, video only) a model priced
in ``[prices.video]``. Anything else is one problem naming the key, its line and the closest
catalogue entries, so a typo in a model id stops at load, not at the first paid call.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Mapping
from importlib.metadata import entry_points
from typing import Any, Literal

from ._catalogue import Catalogue, load_catalogue
from ._errors import ConfigError

# ``config`` below is a core._config.Config; not imported (core._config imports this module)
Config = Any
Problem = tuple[str, int | None, str]
Kind = Literal["video", "image"]
OFFLINE = {"video": "animatic", "image": "offline"}
ENTRY_POINT_GROUPS = {"video": "filmslate.video_providers", "image": "filmslate.image_providers"}
VISUAL_TIERS = ("premium", "mid", "low")
IMAGE_KEYS = ("model", "sheet", "storyboard", "first_frame")


_LOADED: dict[str, Catalogue] = {}  # overrides (as canonical JSON) -> their catalogue


def catalogue_with(overrides: Mapping[str, Mapping[str, Any]]) -> Catalogue:
    """The catalogue with these overrides, built once per distinct overrides (a render asks
    for it per job; the shipped files are not read again each time)."""
    if not overrides:
        return load_catalogue()
    key = json.dumps(overrides, sort_keys=True, default=str)
    if key not in _LOADED:
        if len(_LOADED) >= 16:
            _LOADED.clear()
        _LOADED[key] = load_catalogue(overrides)
    return _LOADED[key]


def plugin_providers(kind: Kind) -> set[str]:
    """Provider names registered by installed packages for ``kind`` (not loaded)."""
    return {point.name for point in entry_points(group=ENTRY_POINT_GROUPS[kind])}


def catalogue_problems(
    overrides: Mapping[str, Mapping[str, Any]], lines: Mapping[str, int]
) -> tuple[Catalogue | None, list[Problem]]:
    """The catalogue with the project's overrides, or the problems that stop it loading."""
    try:
        return catalogue_with(overrides), []
    except ConfigError as exc:
        found = exc.problems or [("catalogue", None, exc.message)]
        return None, [(key, catalogue_line(key, lines), message) for key, _, message in found]


def catalogue_line(key: str, lines: Mapping[str, int]) -> int | None:
    """The line of the longest known key that ``key`` starts with (model ids hold dots, so
    the dotted key is matched as text, not split)."""
    best = max((k for k in lines if key == k or key.startswith(k + ".")), key=len, default=None)
    return lines[best] if best else lines.get("catalogue")


def model_problems(
    config: Config, lines: Mapping[str, int], catalogue: Callable[[], Catalogue]
) -> list[Problem]:
    """Every model name in [visual] and [images] that no provider could serve."""
    named: list[tuple[str, str, Kind]] = [
        (f"visual.{tier}", str(getattr(config.visual, tier)), "video") for tier in VISUAL_TIERS
    ]
    for key in IMAGE_KEYS:
        value = getattr(config.images, key)
        if value is not None:
            named.append((f"images.{key}", str(value), "image"))
    problems: list[Problem] = []
    plugins: dict[Kind, set[str]] = {}
    for key, value, kind in named:
        message = _name_problem(config, value, kind, catalogue, plugins)
        if message:
            problems.append((key, lines.get(key), message))
    speech = speech_model_problem(config, catalogue)
    return problems + ([("audio.model", lines.get("audio.model"), speech)] if speech else [])


def _name_problem(
    config: Config,
    value: str,
    kind: Kind,
    catalogue: Callable[[], Catalogue],
    plugins: dict[Kind, set[str]],
) -> str | None:
    if value == OFFLINE[kind] or (kind == "video" and _priced(config, value)):
        return None
    other = "video" if kind == "image" else "image"
    if value == OFFLINE[other]:
        return f'the offline {kind} renderer is "{OFFLINE[kind]}", not "{value}"'
    provider, _, model = value.partition(":")
    if not provider or not model:
        example = "fal:fal-ai/kling-video/v2.1/standard/image-to-video"
        if kind == "image":
            example = "fal:fal-ai/flux/dev"
        return (
            f'{value!r} is not a model name: write "provider:model" (e.g. "{example}") '
            f'or "{OFFLINE[kind]}"'
        )
    models = catalogue()
    if value in models:
        entry = models.get(value)
        if entry.kind != kind:
            return (
                f"{value} is {_article(entry.kind)} {entry.kind} model; name "
                f"{_article(kind)} {kind} model here"
            )
        return None
    if kind not in plugins:
        plugins[kind] = plugin_providers(kind)
    if provider in plugins[kind]:
        return None
    same_kind = [key for key in models if models.get(key).kind == kind]
    close = difflib.get_close_matches(value, same_kind, n=3, cutoff=0.6)
    hint = f" (did you mean {' or '.join(close)}?)" if close else ""
    return (
        f"{value!r} is not in the model catalogue{hint}: describe it under "
        f'[catalogue."{value}"] (docs/catalogue.md), or install a package that provides '
        f"{provider!r} in the {ENTRY_POINT_GROUPS[kind]} entry-point group"
    )


def speech_model_problem(config: Config, catalogue: Callable[[], Catalogue]) -> str | None:
    """Why ``[audio] model`` names a fal model nobody could price (None when it is fine): a
    fal speech model is a catalogue speech entry, or priced by ``[audio] price_per_1k_chars``
    (then it needs no entry)."""
    value = str(config.audio.model)
    if not value.startswith("fal:") or config.audio.price_per_1k_chars is not None:
        return None
    models = catalogue()
    entry = models.entries.get(value)
    if entry is not None and entry.kind == "speech":
        return None
    speech = [key for key in models if models.get(key).kind == "speech"]
    close = difflib.get_close_matches(value, speech, n=3, cutoff=0.6)
    hint = f" (did you mean {' or '.join(close)}?)" if close else ""
    what = f"is {_article(entry.kind)} {entry.kind} model" if entry else "is not in the catalogue"
    return (
        f"{value} {what}{hint}: name a speech model of the catalogue "
        f"({', '.join(speech) or 'none'}), or set price_per_1k_chars to use another"
    )


def _article(kind: str) -> str:
    return "an" if kind == "image" else "a"


def _priced(config: Config, value: str) -> bool:
    """A video model given a per-second price in [prices.video] (the way before the catalogue)."""
    table = config.prices.video
    return value in table or value.split(":", 1)[0] in table
