"""docs/cli.md is generated from the typer app: it names every command and cannot drift."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.core import TyperGroup

from filmslate.cli import app
from filmslate.cli._docs import render_reference

DOCS = Path(__file__).resolve().parents[1] / "docs" / "cli.md"


def test_docs_cli_md_is_the_fresh_rendering() -> None:
    assert DOCS.read_text(encoding="utf-8") == render_reference(), (
        "docs/cli.md is out of date with the `slate` commands: regenerate it with `make docs` "
        "(or `python -m filmslate.cli._docs docs/cli.md`) and commit the result"
    )


def test_every_command_and_option_is_documented() -> None:
    text = render_reference()
    root = typer.main.get_command(app)
    assert isinstance(root, TyperGroup)
    ctx = typer.Context(root, info_name="slate")
    paths = []
    for name in root.list_commands(ctx):
        command = root.get_command(ctx, name)
        assert command is not None
        paths.append(f"slate {name}")
        if isinstance(command, TyperGroup):
            sub = typer.Context(command, info_name=name, parent=ctx)
            paths += [f"slate {name} {n}" for n in command.list_commands(sub)]
    assert len(paths) > 20
    for path in paths:
        assert f"## `{path}`" in text, path
    for needle in (
        "`--cost-impact <float>`",
        "`-C, --project <path>`",
        "`--apply`",
        "`--force / --no-force`",
        "[default: 50]",
        "`slate lock diff`",
    ):
        assert needle in text, needle


def test_the_rendering_ignores_the_terminal(monkeypatch) -> None:
    before = render_reference()
    monkeypatch.setenv("COLUMNS", "20")
    monkeypatch.setenv("TERM", "dumb")
    assert render_reference() == before
    assert "[bold]" not in before and "\x1b[" not in before and "╭" not in before
