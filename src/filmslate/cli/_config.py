"""The `slate config` group."""

from __future__ import annotations

from pathlib import Path

import typer

from ..core._errors import ConfigError
from ._common import ProjectOpt, err, out

config_app = typer.Typer(help="Project configuration.", no_args_is_help=True)


@config_app.command("check")
def config_check(project: ProjectOpt = None) -> None:
    """Validate filmslate.toml and name every bad key with its line."""
    from ..core._config import CONFIG_FILE, load_config

    root = Path(project or Path.cwd())
    try:
        config = load_config(root / CONFIG_FILE)
    except ConfigError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    out.print(
        f"{root / CONFIG_FILE}: ok (project {config.project.name}, cap "
        f"{config.budget.project_cap:.2f} {config.budget.currency})"
    )
