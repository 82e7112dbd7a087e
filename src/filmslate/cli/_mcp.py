"""`slate mcp`: serve the project to an agent over MCP (stdio); see docs/mcp.md."""

from __future__ import annotations

import typer

from ._common import ProjectOpt, open_project

commands = typer.Typer()


@commands.command("mcp")
def mcp_cmd(project: ProjectOpt = None) -> None:
    """Serve the project to an MCP client over stdin/stdout: status, the handoff inbox and
    submit, run, impact, verify, artifacts (the same gates, budget and log as the CLI)."""
    from ._mcp_server import build_server

    with open_project(project) as p:  # found (or refused) before the protocol starts
        root = p.root
    build_server(root).run("stdio")
