"""The model catalogue: what each video, image and speech model accepts, allows and costs.

Entries ship as package data, one TOML file per provider (``core/catalogue/<provider>.toml``),
and are keyed ``"provider:model"`` (``"fal:fal-ai/flux/dev"``). A project changes a shipped
entry or adds one with a ``[catalogue."provider:model"]`` table in filmslate.toml, handed to
:func:`load_catalogue` as a mapping; the merged entry is validated exactly like a shipped one.
Every price names its source and the day it was read; a number nobody could confirm says so
(``source = "unverified: ..."``). docs/catalogue.md describes the format.

Pure: the only files read are the catalogue's own (package data, or the ``files`` given).
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PositiveFloat,
    PositiveInt,
    ValidationError,
    model_validator,
)

from ._catalogue_files import apply_overrides, read_files, shipped_files
from ._errors import ConfigError, UserError

Kind = Literal["video", "image", "speech"]
BillingUnit = Literal[
    "per_second",
    "per_clip",
    "per_image",
    "per_megapixel",
    "per_video_token",
    "per_job",
    "per_1k_chars",  # a speech model: USD per 1,000 characters of text
]
# How the duration key takes its value: 5, "5", "5s", or a frame count (ComfyUI workflows).
DurationFormat = Literal["number", "string", "seconds_suffix", "frames"]
# A plain list of image URLs, or Kling's elements (a frontal image plus references each).
ReferenceFormat = Literal["url_list", "kling_elements"]

# A planned 5.0004 s is a 5 s clip, not a 10 s one: float noise from frame arithmetic.
_EPS_S = 1e-3
# fal bills a 1024x1024 image as one megapixel and rounds up (fal-ai/flux/dev page).
MEGAPIXEL = 1024 * 1024
# Seedance's token formula divides pixels x frames by 1024 and prices per 1000 tokens.
_PIXELS_PER_TOKEN = 1024
_TOKENS_PER_PRICE = 1000


def _parse_size(value: object) -> object:
    if isinstance(value, str):
        match = re.fullmatch(r"\s*(\d+)\s*x\s*(\d+)\s*", value)
        if match is None:
            raise ValueError(f'{value!r} is not a size: write WIDTHxHEIGHT, e.g. "1280x720"')
        return (int(match[1]), int(match[2]))
    return value


Size = Annotated[tuple[PositiveInt, PositiveInt], BeforeValidator(_parse_size)]
"""A frame size, written ``"1280x720"`` in TOML."""
Price = Annotated[float, Field(ge=0)]
Key = Annotated[str, Field(min_length=1)]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class DurationRange(_Frozen):
    """Clip lengths from ``min`` to ``max`` seconds in steps of ``step``."""

    min: PositiveFloat
    max: PositiveFloat
    step: PositiveFloat

    @model_validator(mode="after")
    def _whole_steps(self) -> DurationRange:
        steps = (self.max - self.min) / self.step
        if steps < 0:
            raise ValueError("max: is below min")
        if abs(steps - round(steps)) > 1e-6 or steps > 10_000:
            raise ValueError("step: (max - min) must be a whole number of steps (at most 10000)")
        return self

    def values(self) -> tuple[float, ...]:
        """Every allowed length, shortest first."""
        count = round((self.max - self.min) / self.step)
        return tuple(round(self.min + i * self.step, 6) for i in range(count + 1))


class InputShape(_Frozen):
    """Where each part of a job goes in the model's input: key names and allowed values.

    A key left out means the model does not take that part. For ComfyUI the keys are the
    placeholders of the pinned workflow template (``"{{prompt}}"``).
    """

    prompt: Key = "prompt"
    first_image: Key | None = None
    last_image: Key | None = None
    references: Key | None = None
    references_format: ReferenceFormat = "url_list"
    max_references: int = Field(0, ge=0)
    negative_prompt: Key | None = None
    aspect_ratio: Key | None = None
    aspect_ratios: tuple[Key, ...] = ()
    resolution: Key | None = None  # takes one of the entry's `resolutions` names
    size: Key | None = None  # takes {"width": ..., "height": ...}
    seed: Key | None = None
    duration: Key | None = None
    duration_format: DurationFormat = "number"
    # The shot's dialogue audio (a WAV as a data URI): a video model driven by it (lip sync)
    audio: Key | None = None
    voice: Key | None = None  # a speech model: the hosted voice (the lock's external_voice_id)
    # Sent with every job; the price assumes them (e.g. generate_audio = false).
    fixed: dict[Key, str | int | float | bool] = {}

    @model_validator(mode="after")
    def _pairs(self) -> InputShape:
        if (self.references is None) != (self.max_references == 0):
            raise ValueError("max_references: give it with references (1 or more), or neither")
        if (self.aspect_ratio is None) != (not self.aspect_ratios):
            raise ValueError("aspect_ratios: list the allowed values with aspect_ratio, or neither")
        return self


class Billing(_Frozen):
    """How a job is charged, in USD, and where the price comes from.

    ``price`` is per unit: a second, an image, a megapixel (rounded up), 1000 video tokens
    (``width x height x token_fps x seconds / 1024``) or a job; ``by_resolution`` prices each
    resolution instead. ``per_clip`` prices each clip length in ``clips`` (``"5" = 0.28``).
    """

    unit: BillingUnit
    price: Price | None = None
    by_resolution: dict[Key, Price] = {}
    clips: dict[Key, Price] = {}
    token_fps: PositiveInt | None = None
    # USD per second of run time, where the vendor bills compute (a Replicate community
    # model's hardware): the provider reports run time x this as the job's cost; the price
    # above stays what is reserved.
    hardware_per_s: Price | None = None
    failed_jobs_charged: bool
    source: Key
    as_of: date

    @model_validator(mode="after")
    def _one_price(self) -> Billing:
        if self.unit == "per_clip":
            if not self.clips or self.price is not None or self.by_resolution:
                raise ValueError("clips: per_clip prices each clip length in clips, and only there")
            for length in self.clips:
                if _seconds(length) is None:
                    raise ValueError(f'clips: {length!r} is not a length in seconds (e.g. "5")')
        else:
            if self.clips:
                raise ValueError(f"clips: only per_clip billing has clip prices, not {self.unit}")
            if (self.price is None) == (not self.by_resolution):
                raise ValueError("price: give price or by_resolution (one of them)")
        if (self.unit == "per_video_token") != (self.token_fps is not None):
            raise ValueError("token_fps: per_video_token billing needs token_fps, others none")
        return self

    @property
    def verified(self) -> bool:
        """False when the source says the price could not be confirmed."""
        return not self.source.lower().startswith("unverified")


def _seconds(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) and value > 0 else None


class ModelEntry(_Frozen):
    """One video or image model: its input shape, allowed durations, sizes, limits and price."""

    key: Key  # "provider:model", set by the loader from the file name and the entry's id
    kind: Kind
    title: str = ""
    durations: tuple[PositiveFloat, ...] = ()
    duration_range: DurationRange | None = None
    fps: PositiveInt | None = None  # native frame rate
    frame_offset: int = Field(0, ge=0)  # frames = seconds x fps + frame_offset (Wan: 4n+1)
    resolutions: dict[Key, Size] = {}  # resolution name -> native landscape frame size
    max_prompt_chars: PositiveInt | None = None  # None: no published limit
    input: InputShape = InputShape()
    billing: Billing
    notes: tuple[str, ...] = ()  # what could not be confirmed, or surprises

    @model_validator(mode="after")
    def _consistent(self) -> ModelEntry:
        for problem in _entry_problems(self):
            raise ValueError(problem)
        return self

    @property
    def provider(self) -> str:
        """The provider part of the key (``fal``)."""
        return self.key.split(":", 1)[0]

    @property
    def model(self) -> str:
        """The model part of the key, as the provider names it."""
        return self.key.split(":", 1)[1]

    @property
    def takes_audio(self) -> bool:
        """True for a video model that takes the shot's dialogue audio (lip sync)."""
        return self.kind == "video" and self.input.audio is not None

    def speech_cost(self, characters: int) -> float:
        """USD for speaking ``characters`` characters (a speech model, per 1,000)."""
        if self.billing.unit != "per_1k_chars" or self.billing.price is None:
            raise UserError(f"{self.key} is not priced by the character", key=self.key)
        return round(self.billing.price * max(0, characters) / 1000, 6)

    def allowed_durations(self) -> tuple[float, ...]:
        """Every clip length the model accepts, shortest first (none for an image model)."""
        if self.duration_range is not None:
            return self.duration_range.values()
        return tuple(sorted(set(self.durations)))

    def snap_duration(self, seconds: float) -> float:
        """The clip length to ask for a shot planned at ``seconds``.

        The shortest allowed length that is not shorter than the plan, so the conform step
        trims and never stretches; the longest allowed when none is that long.
        """
        allowed = self.allowed_durations()
        if not allowed:
            raise UserError(f"{self.key} is an image model: it has no clip durations", key=self.key)
        if not (math.isfinite(seconds) and seconds > 0):
            raise UserError(f"a clip lasts more than 0 seconds, not {seconds!r}", key=self.key)
        for length in allowed:
            if length >= seconds - _EPS_S:
                return length
        return allowed[-1]

    def duration_input(self, seconds: float) -> str | int | float:
        """The value of the duration key for a shot planned at ``seconds`` (snapped first)."""
        length = self.snap_duration(seconds)
        number: int | float = int(length) if length.is_integer() else length
        if self.input.duration_format == "string":
            return str(number)
        if self.input.duration_format == "seconds_suffix":
            return f"{number}s"
        if self.input.duration_format == "frames":
            return round(length * (self.fps or 0)) + self.frame_offset
        return number

    def resolution_for(self, width: int, height: int) -> str | None:
        """The resolution to ask for a ``width`` x ``height`` frame.

        The smallest native resolution that covers the frame in either orientation (so the
        conform step scales down, never up), else the largest; None when the model has none.
        """
        if not self.resolutions:
            return None
        long_side, short_side = max(width, height), min(width, height)
        by_area = sorted(self.resolutions.items(), key=lambda item: item[1][0] * item[1][1])
        for name, (w, h) in by_area:
            if max(w, h) >= long_side and min(w, h) >= short_side:
                return name
        return by_area[-1][0]

    def cost(
        self,
        duration_s: float = 0.0,
        width: int | None = None,
        height: int | None = None,
        *,
        resolution: str | None = None,
    ) -> float:
        """USD for one job: ``duration_s`` seconds of video (snapped as :meth:`snap_duration`
        does, so the planned and the sent length agree) or one image, of ``width`` x ``height``
        output; ``resolution`` names the tier sent, else it follows from the size. A price by
        area counts the tier's native frame where the model has one (what it returns, so what
        the vendor bills), else the size asked."""
        tier = self._tier(width, height, resolution)
        pixels = self._native_area(tier) or _area(width, height)
        return self._price(duration_s, pixels, tier)

    def worst_case_cost(self, duration_s: float, width: int, height: int) -> float:
        """The most one job for a ``width`` x ``height`` frame planned at ``duration_s`` can
        cost, to reserve before sending it: the snapped length, the tier the frame maps to, and
        the larger of the asked and the native frame for prices by area."""
        tier = self._tier(width, height, None)
        pixels = max(_area(width, height) or 0, self._native_area(tier) or 0)
        return self._price(duration_s, pixels or None, tier)

    def fits_prompt(self, text: str) -> bool:
        """True when ``text`` is within the model's prompt limit (or it publishes none)."""
        return self.max_prompt_chars is None or len(text) <= self.max_prompt_chars

    def _tier(self, width: int | None, height: int | None, resolution: str | None) -> str | None:
        if resolution is not None:
            if resolution not in self.resolutions:
                known = ", ".join(self.resolutions) or "none"
                raise UserError(
                    f"{self.key} has no resolution {resolution!r} (known: {known})", key=self.key
                )
            return resolution
        if width is not None and height is not None:
            return self.resolution_for(width, height)
        by_area = self.billing.unit in ("per_megapixel", "per_video_token")
        if len(self.resolutions) > 1 and (self.billing.by_resolution or by_area):
            raise UserError(
                f"{self.key} is priced by resolution: give the frame size or the resolution",
                key=self.key,
            )
        return next(iter(self.resolutions), None)

    def _native_area(self, tier: str | None) -> int | None:
        return None if tier is None else _area(*self.resolutions[tier])

    def _price(self, duration_s: float, pixels: int | None, tier: str | None) -> float:
        billing = self.billing
        seconds = self.snap_duration(duration_s) if self.kind == "video" else 0.0
        if billing.unit == "per_clip":
            return next(p for k, p in billing.clips.items() if abs(float(k) - seconds) < _EPS_S)
        rate = billing.by_resolution[tier] if tier and billing.by_resolution else billing.price
        assert rate is not None  # Billing's validator: price or by_resolution
        if billing.unit in ("per_image", "per_job", "per_1k_chars"):  # 1,000 characters
            return rate
        if billing.unit == "per_second":
            return round(rate * seconds, 6)
        if pixels is None:
            raise UserError(f"{self.key} is priced by area: give the frame size", key=self.key)
        if billing.unit == "per_megapixel":
            return round(rate * math.ceil(pixels / MEGAPIXEL - 1e-9), 6)
        tokens = pixels * (billing.token_fps or 0) * seconds / _PIXELS_PER_TOKEN
        return round(rate * tokens / _TOKENS_PER_PRICE, 6)


def _area(width: int | None, height: int | None) -> int | None:
    return None if width is None or height is None else width * height


def _entry_problems(entry: ModelEntry) -> list[str]:
    """Every way the parts of an entry contradict each other, each naming its field."""
    problems: list[str] = []
    shape, billing = entry.input, entry.billing
    allowed = entry.allowed_durations()
    if entry.durations and entry.duration_range is not None:
        problems.append("duration_range: give durations or duration_range, not both")
    if entry.kind == "video" and not allowed:
        problems.append("durations: a video model lists its clip lengths (or a duration_range)")
    if entry.kind == "image" and (allowed or shape.duration):
        problems.append("durations: an image model has no clip lengths or duration key")
    if entry.kind == "video" and shape.duration is None and len(allowed) > 1:
        problems.append("input.duration: the model allows several lengths but has no duration key")
    if shape.duration_format == "frames" and entry.fps is None:
        problems.append("fps: a duration sent as frames needs the model's fps")
    if shape.resolution and not entry.resolutions:
        problems.append("resolutions: input.resolution sends one of them; list them")
    unknown = set(billing.by_resolution) - set(entry.resolutions)
    if unknown:
        problems.append(f"billing.by_resolution: {sorted(unknown)} are not in resolutions")
    elif billing.by_resolution and set(billing.by_resolution) != set(entry.resolutions):
        missing = sorted(set(entry.resolutions) - set(billing.by_resolution))
        problems.append(f"billing.by_resolution: no price for {missing}")
    if billing.unit == "per_clip":
        priced = {round(float(k), 6) for k in billing.clips}
        unpriced = [length for length in allowed if round(length, 6) not in priced]
        if unpriced:
            lengths = ", ".join(f"{length:g}" for length in unpriced)
            problems.append(f"billing.clips: no price for the {lengths} s clip")
        if priced - {round(length, 6) for length in allowed}:
            problems.append("billing.clips: prices a length the model does not allow")
    if entry.kind == "image" and billing.unit in ("per_second", "per_clip", "per_video_token"):
        problems.append(f"billing.unit: an image model is not billed {billing.unit}")
    problems += _speech_problems(entry)
    return problems


def _speech_problems(entry: ModelEntry) -> list[str]:
    """A speech model is billed by the character and has no clips or frames; only it is."""
    speech, by_chars = entry.kind == "speech", entry.billing.unit == "per_1k_chars"
    if speech != by_chars:
        return ["billing.unit: a speech model, and only one, is billed per_1k_chars"]
    if speech and (entry.allowed_durations() or entry.input.duration or entry.resolutions):
        return ["durations: a speech model has no clip lengths, duration key or resolutions"]
    if entry.input.audio is not None and entry.kind != "video":
        return ["input.audio: only a video model takes the dialogue audio"]
    return []


@dataclass(frozen=True)
class Catalogue:
    """Every known model entry, by ``"provider:model"``."""

    entries: Mapping[str, ModelEntry]

    def get(self, key: str) -> ModelEntry:
        """The entry for ``key``; a clear error listing close matches when there is none."""
        entry = self.entries.get(key)
        if entry is not None:
            return entry
        close = difflib.get_close_matches(key, list(self.entries), n=3, cutoff=0.6)
        hint = f"; did you mean {' or '.join(close)}?" if close else "."
        raise UserError(
            f"no model {key!r} in the catalogue{hint} To use another model, describe it in "
            f'filmslate.toml under [catalogue."{key}"] (docs/catalogue.md)',
            key=key,
            close_matches=close,
        )

    def keys(self) -> list[str]:
        """Every key, sorted."""
        return sorted(self.entries)

    def __contains__(self, key: object) -> bool:
        return key in self.entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.entries)


def load_catalogue(
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    files: Iterable[Path] | None = None,
) -> Catalogue:
    """The shipped catalogue (or the TOML ``files`` given) with a project's ``overrides``.

    ``overrides`` is the ``[catalogue]`` table of filmslate.toml: ``"provider:model"`` to a
    partial entry (changes to a shipped one) or a whole entry (a new model). A malformed entry
    raises ConfigError naming the file, the model and the field.
    """
    if files is None and not overrides:
        return _shipped()
    raw = read_files(shipped_files() if files is None else files)
    raw.update(apply_overrides(raw, overrides or {}))
    return Catalogue({key: _validate(key, *found) for key, found in raw.items()})


@cache
def _shipped() -> Catalogue:
    raw = read_files(shipped_files())
    return Catalogue({key: _validate(key, *found) for key, found in raw.items()})


def _validate(key: str, where: str, body: Mapping[str, Any]) -> ModelEntry:
    try:
        return ModelEntry.model_validate({**body, "key": key})
    except ValidationError as exc:
        problems = [_problem(error) for error in exc.errors()]
        field, message = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ConfigError(
            f"{where}: {field}: {message}{more}" if field else f"{where}: {message}{more}",
            problems=[(f"catalogue.{key}.{f}".rstrip("."), None, m) for f, m in problems],
            key=key,
        ) from None


_PLAINER = {
    "Extra inputs are not permitted": "not a catalogue field (docs/catalogue.md lists them)",
    "Field required": "missing; every entry needs this field",
}


def _problem(error: Any) -> tuple[str, str]:
    """(dotted field, message) of one pydantic error; a validator names its field first."""
    loc = [str(part) for part in error["loc"]]
    message = str(error["msg"]).removeprefix("Value error, ")
    message = _PLAINER.get(message, message)
    named = re.match(r"([a-z_]+(?:\.[a-z_]+)*): (.*)", message)
    if named:
        loc, message = [*loc, named[1]], named[2]
    return ".".join(loc), message
