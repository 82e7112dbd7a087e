"""`slate config check`: the text tiers whose hosted model has no known price."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..core._config import Config

TEXT_TIERS = ("throughput", "judgment", "premium", "vision", "research")


def unpriced_tiers(root: Path, config: Config) -> list[str]:
    """Each text tier whose hosted model has no known price, with the [prices] line that
    prices it (offline providers cost nothing and are skipped)."""
    from types import SimpleNamespace
    from typing import cast

    from ..core._config_toml import key_lines
    from ..core._errors import ProviderError
    from ..engine._gateway import Gateway, split_model
    from ..engine._runner import provider_settings
    from ..store._project import Project

    settings = provider_settings(cast(Project, SimpleNamespace(config=config)))  # config only
    lines = key_lines((root / "filmslate.toml").read_text(encoding="utf-8"))
    unpriced: dict[str, tuple[list[str], str]] = {}  # model -> (its tiers, the message)
    with Gateway(root, settings, env={}) as gateway:
        for tier in TEXT_TIERS:
            model = str(getattr(config.tiers, tier))
            try:
                provider = gateway.provider(model)
                if not provider.offline:
                    provider.token_prices(split_model(model)[1])
            except ProviderError as exc:
                line = lines.get(f"tiers.{tier}")
                unpriced.setdefault(model, ([], str(exc)))[0].append(
                    f"tiers.{tier}" + (f" (line {line})" if line else "")
                )
    return [f"{', '.join(tiers)}: {message}" for tiers, message in unpriced.values()]


def refuse_unpriced(root: Path, config: Config) -> None:
    """A ConfigError naming each unpriced tier and the [prices] line to add (exit 2)."""
    from ..core._config import CONFIG_FILE
    from ..core._errors import ConfigError

    unpriced = unpriced_tiers(root, config)
    if unpriced:
        raise ConfigError(f"{root / CONFIG_FILE}: " + " | ".join(unpriced))
