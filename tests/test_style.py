"""House style is enforced, not described: `ruff format` has been applied and `ruff check` is
clean over the package, the tests and the benchmarks (the same checks as `make lint`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PATHS = ["src", "tests", "benchmarks", "examples"]


@pytest.mark.parametrize("command", [["format", "--check"], ["check"]], ids=["format", "lint"])
def test_ruff_is_clean(command: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", *command, *PATHS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, (
        f"`ruff {' '.join(command)}` is not clean (run `ruff format` / `ruff check --fix`):\n"
        + result.stdout[-3000:]
        + result.stderr[-1000:]
    )
