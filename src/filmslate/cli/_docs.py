"""docs/cli.md, generated from the typer app so that it cannot drift from `slate --help`.

Regenerate with ``make docs`` or ``python -m filmslate.cli._docs docs/cli.md`` (no path:
print to stdout). The text depends only on the commands' declarations: no terminal width,
no rich markup. ``tests/test_cli_docs.py`` compares the file with a fresh rendering.
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path
from typing import TypeAlias

import typer
from typer.core import TyperCommand, TyperGroup

from . import app

PROG = "slate"
REGENERATE = "`make docs` (or `python -m filmslate.cli._docs docs/cli.md`)"
Command: TypeAlias = TyperCommand | TyperGroup


def render_reference() -> str:
    """The whole reference in Markdown: an index, then one section per command, depth first."""
    root = typer.main.get_command(app)
    assert isinstance(root, TyperGroup)
    root_ctx = typer.Context(root, info_name=PROG)
    found = list(_walk(root, root_ctx))
    lines = [
        f"# `{PROG}` command reference",
        "",
        f"<!-- Generated from the typer app by filmslate.cli._docs; do not edit. "
        f"Regenerate with {REGENERATE}. -->",
        "",
        *_paragraphs(root),
        "",
        "Every command also takes `--help`. In a usage line `{name}` is a required "
        "argument and `[name]` an optional one.",
        "",
    ]
    lines += [
        f"- [`{ctx.command_path}`](#{_anchor(ctx.command_path)}): {_summary(cmd)}"
        for cmd, ctx in found
    ]
    for cmd, ctx in found:
        lines += ["", *_section(cmd, ctx)]
    return "\n".join(lines) + "\n"


def _walk(group: Command, ctx: typer.Context) -> list[tuple[Command, typer.Context]]:
    """Every visible command under `group`, in `slate --help` order, groups before theirs."""
    found: list[tuple[Command, typer.Context]] = []
    if not isinstance(group, TyperGroup):
        return found
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if not isinstance(command, Command) or command.hidden:
            continue
        sub = typer.Context(command, info_name=name, parent=ctx)
        found.append((command, sub))
        found += _walk(command, sub)
    return found


def _section(command: Command, ctx: typer.Context) -> list[str]:
    usage = " ".join([ctx.command_path, *command.collect_usage_pieces(ctx)])
    lines = [f"## `{ctx.command_path}`", "", *_paragraphs(command), "", "```text", usage, "```"]
    if isinstance(command, TyperGroup):
        subs = [f"`{ctx.command_path} {name}`" for name in command.list_commands(ctx)]
        lines += ["", f"Subcommands: {', '.join(subs)}."]
    for title, kind in (("Arguments", "argument"), ("Options", "option")):
        rows = [
            record
            for param in command.get_params(ctx)
            if param.param_type_name == kind
            and param.name != "help"
            and (record := param.get_help_record(ctx)) is not None
        ]
        if rows:
            lines += ["", f"{title}:", "", f"| {kind} | description |", "| --- | --- |"]
            lines += [f"| `{_cell(name)}` | {_cell(text) or '-'} |" for name, text in rows]
    return lines


def _help(command: Command) -> str:
    return inspect.cleandoc(command.help or "").split("\f", 1)[0].strip()


def _paragraphs(command: Command) -> list[str]:
    """The help text, each paragraph on one line (Markdown reflows them anyway)."""
    paragraphs = [" ".join(p.split()) for p in _help(command).split("\n\n")]
    return [line for p in paragraphs if p for line in (p, "")][:-1]


def _summary(command: Command) -> str:
    return " ".join(_help(command).split("\n\n", 1)[0].split())


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _anchor(heading: str) -> str:
    return heading.lower().replace(" ", "-")


def main(argv: list[str]) -> None:
    text = render_reference()
    if argv:
        Path(argv[0]).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main(sys.argv[1:])
