"""The production office: `slate serve`, and a person's verdict on a take (approve, reject)."""

from __future__ import annotations

import socket
from typing import Annotated

import typer

from ..core._errors import UserError
from ._common import ProjectOpt, open_project, out, plain

commands = typer.Typer()
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
WEB_EXTRA = "the office needs the web extra: pip install 'filmslate[web]'"


@commands.command()
def serve(
    host: Annotated[
        str, typer.Option(help="Address to bind; any but 127.0.0.1 needs an access token.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8710,
    token: Annotated[
        str | None,
        typer.Option(
            help="Access token every request must carry (made and printed when another "
            "address is bound without one)."
        ),
    ] = None,
    review: Annotated[
        bool,
        typer.Option("--review", help="Allow approving and rejecting takes (else read-only)."),
    ] = False,
    project: ProjectOpt = None,
) -> None:
    """Serve the production office in a browser: budget, review room, production board and
    run log (read-only unless --review)."""
    import secrets

    try:
        import uvicorn

        from ..web import office_app
    except ImportError as exc:
        raise UserError(f"{WEB_EXTRA} ({exc.name} is missing)") from None
    if host not in LOCAL_HOSTS and not token:
        token = secrets.token_urlsafe(24)
    with open_project(project) as p:
        root = p.root
    app = office_app(root, review=review, token=token)
    listening = bound_socket(host, port)  # a taken port or an unknown host: said before the address
    mode = "review: verdicts are written" if review else "read-only"
    out.print(
        f"office for {plain(root)} ({mode}) at {office_address(host, port, token)}",
        soft_wrap=True,
    )
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
    server.run(sockets=[listening])


def office_address(host: str, port: int, token: str | None) -> str:
    """The address `slate serve` prints (with the token, when there is one)."""
    shown = f"[{host}]" if ":" in host else host
    query = f"/?token={token}" if token else "/"
    return f"http://{shown}:{port}{query}"


def bound_socket(host: str, port: int) -> socket.socket:
    """A socket listening on host:port, or a one-line UserError saying why there is none."""
    if not 1 <= port <= 65535:
        raise UserError(f"--port {port} is no port: give one from 1 to 65535")
    try:
        return socket.create_server((host, port), family=_family(host))
    except socket.gaierror as exc:
        raise UserError(f"--host {host}: no such address ({exc.strerror})") from None
    except OSError as exc:
        raise UserError(
            f"cannot listen on {host}:{port} ({exc.strerror}): is another office or server "
            "using it? give another --port, or an address of this machine as --host"
        ) from None


def _family(host: str) -> socket.AddressFamily:
    try:
        return socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)[0][0]
    except socket.gaierror as exc:
        raise UserError(f"--host {host}: no such address ({exc.strerror})") from None


@commands.command()
def approve(
    shot: Annotated[str, typer.Argument(help="The shot whose latest take is approved.")],
    reason: Annotated[str, typer.Option(help="Why, for the log.")],
    by: Annotated[str, typer.Option(help="Who approves.")] = "",
    project: ProjectOpt = None,
) -> None:
    """Approve a shot's latest take: a QC row with your reason and its cost impact (the
    final render it lets through), as a new QC_BATCH version."""
    _verdict(shot, "approve", reason, by, project)


@commands.command()
def reject(
    shot: Annotated[str, typer.Argument(help="The shot whose latest take is rejected.")],
    reason: Annotated[str, typer.Option(help="Why, for the log.")],
    by: Annotated[str, typer.Option(help="Who rejects.")] = "",
    project: ProjectOpt = None,
) -> None:
    """Reject a shot's latest take: a FAIL QC row with your reason and its cost impact (a
    new proxy), as a new QC_BATCH version."""
    _verdict(shot, "reject", reason, by, project)


def _verdict(shot: str, verdict: str, reason: str, by: str, project: ProjectOpt) -> None:
    from ..workflow._review import review_take

    with open_project(project) as p:
        done = review_take(p, shot, verdict, reason, by)  # type: ignore[arg-type]
        out.print(
            f"{verdict} recorded for {done.take}: {done.record.name.relpath} "
            f"(QC {done.verdict}, cost impact {done.cost_impact:.4f} {done.currency})"
        )
