"""slate worker: run a project's paid jobs from its DBOS queues, on this or another machine.

A worker shares two things with the ``slate run --engine dbos`` that enqueues the jobs: the
system database (the Postgres URL of FILMSLATE_DBOS_URL, ``[run] dbos_database_url`` or
``--database-url``; the default SQLite file serves workers on the run's own machine only) and
the project folder (this machine's path to it: a network file system; docs/scale.md, "Many
machines"). It never writes the project's index: it reads ``filmslate.toml`` and the inputs,
and offline providers write their renders into ``.filmslate/renders``.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Annotated

import typer

from ._common import ProjectOpt, out, plain

commands = typer.Typer()


@commands.command()
def worker(
    name: Annotated[
        str | None,
        typer.Option(
            help="This worker's name in DBOS (default worker@<host>; give each worker on one "
            "machine its own). A worker restarted under its name resumes the jobs it had."
        ),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            help="The system database (default: FILMSLATE_DBOS_URL, run.dbos_database_url in "
            "filmslate.toml, else .filmslate/dbos.sqlite)."
        ),
    ] = None,
    project: ProjectOpt = None,
) -> None:
    """Run paid jobs (clips, images, speech) that `slate run --engine dbos` enqueues, until
    stopped (Ctrl-C or SIGTERM; a job cut short is resumed, never sent twice)."""
    from ..core._config import CONFIG_FILE, load_config
    from ..workflow._dbos_jobs import start_runtime

    root = _root(project, CONFIG_FILE)
    config = load_config(root / CONFIG_FILE)
    runtime = start_runtime(root, config, "worker", listen=True, name=name, url=database_url)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    queues = ", ".join(sorted(runtime.queues()))
    out.print(plain(f"worker {runtime.executor}: running the jobs of {queues}"), soft_wrap=True)
    try:
        stop.wait()
    finally:
        runtime.stop()
    out.print(plain(f"worker {runtime.executor}: stopped"))


def _root(start: Path | None, config_file: str) -> Path:
    """The project folder holding ``start`` (the worker never opens its index)."""
    from ..core._errors import ProjectError

    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / config_file).is_file():
            return folder
    raise ProjectError(
        f"no {config_file} in {here} or any parent folder: run the worker in the project "
        "folder (its path on this machine), or pass --project DIR",
        path=str(here),
    )
