"""A system database that cannot be reached (issue 17 §2): `slate worker` and `slate run
--engine dbos` say so in one line naming the URL (never its password) and exit 2, with no
traceback."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from conftest import run_slate

pytest.importorskip("dbos", reason="the dbos engine needs the scale extra (filmslate[scale])")


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.mark.parametrize(
    "command", [("worker", "--name", "w1"), ("run", "--engine", "dbos")], ids=["worker", "run"]
)
def test_an_unreachable_postgres_is_a_one_line_error(tmp_path: Path, command: tuple[str]) -> None:
    run_slate("init", str(tmp_path / "film"), "--name", "film", check=True)
    url = f"postgresql://film:hunter2@127.0.0.1:{closed_port()}/filmslate"
    result = run_slate(
        *command, "-C", str(tmp_path / "film"), env={"FILMSLATE_DBOS_URL": url}, timeout=90
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "cannot reach the system database" in lines[0]
    assert "127.0.0.1" in lines[0] and "FILMSLATE_DBOS_URL" in lines[0]
    assert "hunter2" not in result.stderr + result.stdout
