"""The ``[providers]`` and ``[images]`` sections of filmslate.toml.

``[providers]`` keeps its flat keys (``timeout_s``, ``base_urls = { fal = ... }``,
``api_key_env = { fal = ... }``, ``max_output_tokens = { judgment = 8192 }`` per text tier,
``retry_total_s``) and takes one ``[providers.<name>]`` table per provider with ``base_url``,
``api_key_env``, ``timeout_s``, ``max_concurrent``, ``requests_per_minute`` (both read by
``slate run --jobs N``) and, for text models, ``output_mode`` (``"tool"``, ``"json_schema"`` or
``"prompted"``) and ``idempotent`` (a request that timed out after it was sent may be sent
again: only for an endpoint that never bills a repeat). A
table's ``base_url`` and ``api_key_env`` are folded into the flat maps, so every reader of the
old keys (the text gateway) sees them; one value given both ways differently is refused.

``[images]`` names the image model for reference sheets, storyboard frames and first frames
(``model``), with optional per-use overrides; ``"offline"`` draws the schematic.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, model_validator

from ._config_base import ProjectPath, Section

IMAGE_USES = ("sheet", "storyboard", "first_frame")
OFFLINE_IMAGES = "offline"
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PROVIDER_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")


def _env_name(value: str) -> str:
    if not _ENV_NAME.fullmatch(value):
        raise ValueError(
            f"{value[:40]!r} is not an environment variable name: name the variable that holds "
            'the key (e.g. "FAL_KEY"), never the key itself'
        )
    return value


def _url(value: str) -> str:
    if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", value):
        raise ValueError(f'{value[:60]!r} is not an http(s) URL (e.g. "https://queue.fal.run")')
    return value.rstrip("/")


EnvName = Annotated[str, AfterValidator(_env_name)]
Url = Annotated[str, AfterValidator(_url)]
OutputMode = Literal["tool", "json_schema", "prompted"]
TextTier = Literal["throughput", "judgment", "premium", "vision", "research"]


class VendorTable(Section):
    """``[providers.<name>]``: where one provider lives and how hard to drive it."""

    base_url: Url | None = None  # None: the vendor's own endpoint
    api_key_env: EnvName | None = None  # None: the provider's usual variable (FAL_KEY, ...)
    timeout_s: float | None = Field(None, gt=0)  # None: [providers] timeout_s
    max_concurrent: int | None = Field(None, ge=1, le=64)  # None: the provider's default
    # requests (text calls, job submissions) started in any 60 s, under `slate run --jobs N`
    requests_per_minute: int | None = Field(None, ge=1, le=100_000)  # None: no limit
    # text models: how the output schema is asked for (None: "tool", a tool call)
    output_mode: OutputMode | None = None
    # text models: resend a request that was sent but never answered (the vendor may bill each)
    idempotent: bool = False


class ProviderSection(Section):
    """Where models live. Keys come from the environment variables named here, never files.

    Besides the keys below, each ``[providers.<name>]`` table (a :class:`VendorTable`) sets
    one provider; :meth:`table` reads it.
    """

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)
    __pydantic_extra__: dict[str, VendorTable] = Field(init=False)

    replay_dir: ProjectPath = "replay"
    inbox_dir: ProjectPath = "inbox"
    api_key_env: dict[str, EnvName] = Field(default_factory=dict)
    base_urls: dict[str, Url] = Field(default_factory=dict)
    timeout_s: float = Field(120.0, gt=0)
    max_retries: int = Field(3, ge=0)
    schema_retries: int = Field(2, ge=0)
    retry_total_s: float = Field(300.0, gt=0)  # no retry of one call starts after this
    # text tier -> the most tokens one call may produce (unset: 4096); the worst case uses it
    max_output_tokens: dict[TextTier, Annotated[int, Field(ge=1, le=1_000_000)]] = Field(
        default_factory=dict
    )
    # "provider:model"s that take images beyond engine._attachments' table (a local VL model)
    vision_models: list[str] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _tables_are_tables(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        for name, value in data.items():
            if name in cls.model_fields:
                continue
            if not isinstance(value, dict):
                raise ValueError(
                    f"{name}: not a [providers] setting; a provider's own settings go in a "
                    f"[providers.{name}] table (base_url, api_key_env, timeout_s, max_concurrent, "
                    "requests_per_minute, output_mode, idempotent)"
                )
            if not _PROVIDER_NAME.fullmatch(name):
                raise ValueError(
                    f"{name}: name a provider table in lowercase, e.g. [providers.fal]"
                )
        return data

    @model_validator(mode="after")
    def _fold_tables(self) -> ProviderSection:
        for name, table in self.tables().items():
            for flat, value in (
                (self.base_urls, table.base_url),
                (self.api_key_env, table.api_key_env),
            ):
                if value is None:
                    continue
                if flat.get(name, value) != value:
                    which = "base_url" if flat is self.base_urls else "api_key_env"
                    raise ValueError(
                        f"{name}.{which}: [providers.{name}] and the flat [providers] map name "
                        f"two different values; keep one of them"
                    )
                flat[name] = value
        return self

    def tables(self) -> dict[str, VendorTable]:
        """Every ``[providers.<name>]`` table, by provider name."""
        return dict(self.__pydantic_extra__ or {})

    def text_options(self) -> dict[str, Any]:
        """What the text gateway's settings take from the tables and the per-tier caps."""
        tables = self.tables()
        return dict(
            retry_total_s=self.retry_total_s,
            timeouts={n: t.timeout_s for n, t in tables.items() if t.timeout_s is not None},
            idempotent=frozenset(n for n, t in tables.items() if t.idempotent),
            output_modes={n: t.output_mode for n, t in tables.items() if t.output_mode},
            max_output_tokens=dict(self.max_output_tokens),
            vision_models=frozenset(self.vision_models),
        )

    def table(self, name: str) -> VendorTable:
        """The ``[providers.<name>]`` table, merged with the flat keys (empty when absent)."""
        own = (self.__pydantic_extra__ or {}).get(name, VendorTable())
        return VendorTable(
            base_url=own.base_url or self.base_urls.get(name),
            api_key_env=own.api_key_env or self.api_key_env.get(name),
            timeout_s=own.timeout_s or self.timeout_s,
            max_concurrent=own.max_concurrent,
            requests_per_minute=own.requests_per_minute,
            output_mode=own.output_mode,
            idempotent=own.idempotent,
        )


ImageUse = Literal["sheet", "storyboard", "first_frame"]


class ImagesSection(Section):
    """Image use -> image model (``"provider:model"``, or ``"offline"`` for the schematic)."""

    model: str = OFFLINE_IMAGES
    sheet: str | None = None
    storyboard: str | None = None
    first_frame: str | None = None

    def model_for(self, use: ImageUse) -> str:
        """The model that makes images for ``use``: its override, else ``model``."""
        override: str | None = getattr(self, use)
        return override or self.model

    def offline(self, use: ImageUse) -> bool:
        """True when ``use`` is drawn offline (no image model)."""
        return self.model_for(use) == OFFLINE_IMAGES


SCRATCH_VOICE = "espeak"  # the offline voice: espeak-ng from the espeakng-loader package
HOSTED_VOICES = ("elevenlabs", "fal")  # providers.elevenlabs, providers.fal_speech


class AudioSection(Section):
    """Speech for the scratch dialogue track (issue 15): ``"espeak"`` (offline, free) or a
    hosted ``"provider:model"``; a voice lock's ``external_voice_id`` picks its hosted voice."""

    model: str = SCRATCH_VOICE
    price_per_1k_chars: float | None = Field(default=None, ge=0)  # a hosted model's price
    # the cut's dialogue is normalised to this integrated loudness (EBU R128; -23 is broadcast)
    loudness_lufs: float = Field(-23.0, ge=-50.0, le=-5.0)
    # where a take's model made its own sound: keep the scratch "dialogue", the "take"'s own
    # sound (dialogue only where a take has none), or "mix" both
    take_audio: Literal["dialogue", "take", "mix"] = "dialogue"

    @model_validator(mode="after")
    def _a_known_speech_model(self) -> AudioSection:
        name, _, model_id = self.model.partition(":")
        if self.model == SCRATCH_VOICE:
            return self
        if name not in HOSTED_VOICES or not model_id:
            raise ValueError(
                f'model: {self.model!r} is not a speech model: use "{SCRATCH_VOICE}" (offline) '
                'or "elevenlabs:<model_id>" (e.g. "elevenlabs:eleven_multilingual_v2"), or a '
                'fal speech model (e.g. "fal:fal-ai/elevenlabs/tts/multilingual-v2")'
            )
        if self.price_per_1k_chars is None and name != "fal":  # fal's: the catalogue's price
            raise ValueError(
                f"price_per_1k_chars: {self.model} is paid by the character: say what 1,000 "
                "characters cost, so each line's worst case can be reserved"
            )
        return self
