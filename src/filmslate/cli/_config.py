"""The `slate config` group."""

from __future__ import annotations

from pathlib import Path

import typer

from ._common import ProjectOpt, out

config_app = typer.Typer(help="Project configuration.", no_args_is_help=True)


@config_app.command("check")
def config_check(project: ProjectOpt = None) -> None:
    """Validate filmslate.toml and name every bad key with its line."""
    from ..core._config import CONFIG_FILE, load_config
    from ._config_prices import refuse_unpriced

    root = Path(project or Path.cwd())
    config = load_config(root / CONFIG_FILE)  # a ConfigError is printed by main, exit 2
    if (root / ".filmslate").is_dir():  # a project: its vision tier can be asked too
        _check_vision(root)
    refuse_unpriced(root, config)  # `slate run` would stop at the tier's first call
    out.print(
        f"{root / CONFIG_FILE}: ok (project {config.project.name}, cap "
        f"{config.budget.project_cap:.2f} {config.budget.currency})"
    )


def _check_vision(root: Path) -> None:
    """The vision tier a production would refuse at its start (workflow._vision_preflight)."""
    from ..engine._gateway import Gateway
    from ..engine._runner import provider_settings
    from ..store._project import Project
    from ..workflow._vision_preflight import refuse_blind

    with Project(root) as project:
        gateway = Gateway(project.root, provider_settings(project))
        try:
            refuse_blind(project.config, gateway)
        finally:
            gateway.close()
