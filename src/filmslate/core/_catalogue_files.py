"""Reading the catalogue's TOML files and merging a project's overrides, before validation.

Works on plain tables only; ``core._catalogue`` validates the result into model entries.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, NoReturn

from ._errors import ConfigError

SCHEMA_VERSION = 1
_PROVIDER_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
Raw = dict[str, tuple[str, dict[str, Any]]]
"""Entries by key: (where the entry came from, for errors; its table)."""


def shipped_files() -> list[Traversable]:
    """The catalogue files shipped as package data, by name."""
    folder = resources.files("filmslate.core") / "catalogue"
    if not folder.is_dir():
        raise ConfigError("the model catalogue is missing from filmslate/core/catalogue: reinstall")
    return sorted((f for f in folder.iterdir() if f.name.endswith(".toml")), key=lambda f: f.name)


def read_files(files: Iterable[Traversable | Path]) -> Raw:
    """Every entry of these files; a provider's file is read once."""
    raw: Raw = {}
    seen: set[str] = set()
    for file in files:
        if file.name in seen:
            _fail(file.name, "", "two catalogue files for one provider; merge them")
        seen.add(file.name)
        raw.update(_read_file(file.name, file.read_text(encoding="utf-8")))
    return raw


def _read_file(name: str, text: str) -> Raw:
    """One provider's file: ``schema = 1`` and ``[[model]]`` tables, each with an ``id``."""
    provider = name.removesuffix(".toml")
    if not _PROVIDER_NAME.fullmatch(provider):
        _fail(
            name, "", f"name the file after its provider in lowercase (e.g. fal.toml), not {name}"
        )
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        _fail(name, "", f"not valid TOML: {exc}")
    extra = sorted(set(data) - {"schema", "model"})
    if extra:
        _fail(name, extra[0], "a catalogue file holds only schema and [[model]] tables")
    if data.get("schema") != SCHEMA_VERSION:
        _fail(name, "schema", f"write schema = {SCHEMA_VERSION} at the top of the file")
    tables = data.get("model", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        _fail(name, "model", "write each model as a [[model]] table")
    found: Raw = {}
    for number, table in enumerate(tables, start=1):
        model_id = table.get("id")
        if not isinstance(model_id, str) or not model_id.strip():
            _fail(
                f"{name}: model #{number}", "id", 'give the model id, e.g. id = "fal-ai/flux/dev"'
            )
        key = f"{provider}:{model_id}"
        if key in found:
            _fail(f"{name}: {key}", "id", "the model is listed twice in this file")
        body = {k: v for k, v in table.items() if k != "id"}
        found[key] = (f"{name}: {key}", body)
    return found


def apply_overrides(raw: Raw, overrides: Mapping[str, Mapping[str, Any]]) -> Raw:
    """The entries the project changes or adds (``[catalogue."provider:model"]`` tables)."""
    changed: Raw = {}
    for key, override in overrides.items():
        where, config_key = f'filmslate.toml [catalogue."{key}"]', f"catalogue.{key}"
        provider, _, model = key.partition(":")
        if not provider or not model:
            _fail(
                where,
                "",
                'name the model "provider:model", e.g. "fal:fal-ai/flux/dev"',
                "catalogue",
            )
        if not isinstance(override, Mapping):
            _fail(where, "", "give the entry as a table of fields", config_key)
        for reserved in ("id", "key"):
            if reserved in override:
                _fail(where, reserved, "the table's name is the model key; remove it", config_key)
        if key in raw:
            _require_price_source(where, config_key, override)
            changed[key] = (where, _merge(raw[key][1], override))
        else:
            changed[key] = (where, dict(override))
    return changed


# Changing any of these changes what a job costs, so the override says where the price is from.
_PRICE_FIELDS = ("unit", "price", "by_resolution", "clips", "token_fps", "hardware_per_s")


def _require_price_source(where: str, config_key: str, override: Mapping[str, Any]) -> None:
    billing = override.get("billing")
    if not isinstance(billing, Mapping) or not any(f in billing for f in _PRICE_FIELDS):
        return
    missing = [f for f in ("source", "as_of") if f not in billing]
    if missing:
        _fail(
            where,
            f"billing.{missing[0]}",
            "a changed price names its source and date too, e.g. "
            'source = "invoice 2026-11" and as_of = 2026-11-30',
            config_key,
        )


def _merge(shipped: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``input`` and ``billing`` change key by key; any other field is replaced whole. A
    ``billing`` with a different ``unit`` replaces the shipped billing whole."""
    merged = dict(shipped)
    for name, value in override.items():
        base = shipped.get(name)
        if (
            name in ("input", "billing")
            and isinstance(base, Mapping)
            and isinstance(value, Mapping)
        ):
            same_unit = value.get("unit", base.get("unit")) == base.get("unit")
            merged[name] = {**base, **value} if same_unit else dict(value)
        else:
            merged[name] = value
    return merged


def _fail(where: str, field: str, message: str, config_key: str = "") -> NoReturn:
    text = f"{where}: {field}: {message}" if field else f"{where}: {message}"
    dotted = ".".join(part for part in (config_key, field) if part) or where
    raise ConfigError(text, problems=[(dotted, None, message)])
