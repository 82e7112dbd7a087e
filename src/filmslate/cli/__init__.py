"""The `slate` command. Thin: parse, call the library, print.

Only FilmslateError becomes a clean one-line error (exit 2); anything else is a bug and shows
its traceback.

One module per command group; each command imports the library code it calls inside its own
body, so that importing this package and building the app (`slate --help`, the start of
every command) costs little more than importing typer. `tests/test_cli_speed.py` holds it to
that; `docs/cli.md` is generated from this app by `filmslate.cli._docs`.
"""

from __future__ import annotations

import sys

import typer

from ..core._errors import FilmslateError
from . import (
    _budget,
    _config,
    _episode,
    _export,
    _locks,
    _mcp,
    _project,
    _run,
    _serve,
    _sheet,
    _worker,
)
from ._common import err, out, plain

__all__ = ["app", "err", "main", "out"]

app = typer.Typer(
    help="filmslate: a gated, versioned, budgeted AI film production.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Unnamed groups merge their commands into `slate` itself, in this order (`slate --help`).
for _group in (_project.commands, _run.commands, _budget.commands, _locks.commands):
    app.add_typer(_group)
app.add_typer(_export.commands)
app.add_typer(_mcp.commands)
app.add_typer(_serve.commands)
app.add_typer(_worker.commands)
app.add_typer(_config.config_app, name="config")
app.add_typer(_locks.lock_app, name="lock")
app.add_typer(_episode.episode_app, name="episode")
app.add_typer(_sheet.sheet_app, name="sheet")


def main() -> None:
    """Entry point: run the app, turning our own errors into clean messages."""
    try:
        app()
    except FilmslateError as exc:
        # escaped: a message quotes file names and values, which may look like rich markup;
        # soft-wrapped: the error stays one line, however long the paths in it
        err.console.print(f"[red]error:[/] {plain(exc)}", soft_wrap=True)
        sys.exit(2)
