"""A throwaway local Postgres from the system's own binaries, for the many-machines tests and
benchmark of the dbos engine (issue 17): ``initdb`` into a fresh folder, ``pg_ctl start`` on a
free 127.0.0.1 port with trust authentication, and everything removed afterwards.

The binaries are looked up on PATH, then in ``/usr/lib/postgresql/*/bin`` (Debian's
``postgresql`` package; ``.ci/run`` installs it when missing). ``initdb`` refuses to run as
root, so as root the server is made and run as the unprivileged user ``nobody`` (``runuser``),
in a folder of its own under the system's temporary folder (a pytest ``tmp_path`` lies inside
folders only root may enter). :class:`PostgresUnavailable` says why a server cannot be had.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["PostgresUnavailable", "find_binaries", "local_postgres"]

USER = "filmslate"  # the database superuser initdb makes


class PostgresUnavailable(RuntimeError):
    """No local Postgres can be started here (the message says why)."""


def find_binaries() -> Path:
    """The folder holding initdb and pg_ctl, or PostgresUnavailable."""
    found = shutil.which("initdb")
    candidates = [Path(found).parent] if found else []
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    raise PostgresUnavailable(
        "no initdb/pg_ctl on PATH or in /usr/lib/postgresql/*/bin: install the system's "
        "postgresql package (apt-get install postgresql)"
    )


@contextmanager
def local_postgres(timeout_s: float = 60.0) -> Iterator[str]:
    """A running server for the block; yields its URL (database ``postgres``)."""
    binaries = find_binaries()
    as_root = os.geteuid() == 0
    if as_root and shutil.which("runuser") is None:
        raise PostgresUnavailable("running as root without runuser: initdb cannot run")
    folder = Path(tempfile.mkdtemp(prefix="filmslate-pg-"))
    data = folder / "data"
    if as_root:
        shutil.chown(folder, "nobody")
    port = _free_port()
    try:
        _as_owner(
            as_root,
            [
                str(binaries / "initdb"),
                "-D",
                str(data),
                "-U",
                USER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            timeout_s,
        )
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off"
        start = [
            str(binaries / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(folder / "log"),
            "-w",
            "-t",
            str(int(timeout_s)),
            "start",
        ]
        _as_owner(as_root, start, timeout_s + 10)
        try:
            yield f"postgresql://{USER}@127.0.0.1:{port}/postgres"
        finally:
            stop = [str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]
            _as_owner(as_root, stop, timeout_s, check=False)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _as_owner(as_root: bool, command: list[str], timeout_s: float, check: bool = True) -> None:
    """Run a server command as the folder's owner (nobody, when we are root)."""
    full = ["runuser", "-u", "nobody", "--", *command] if as_root else command
    done = subprocess.run(full, capture_output=True, text=True, timeout=timeout_s, cwd="/")
    if check and done.returncode != 0:
        raise PostgresUnavailable(
            f"{Path(command[0]).name} failed ({done.returncode}): "
            f"{(done.stderr or done.stdout).strip()[-500:]}"
        )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
