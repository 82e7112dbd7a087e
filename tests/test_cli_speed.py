"""`slate` starts fast: importing the CLI and building its app (as `slate --help` does)
loads no schema, store, runner or model SDK. Asserted on what is imported, not on time
(benchmarks/bench_import.py measures the time)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import filmslate
from filmslate.core import _errors

SRC = Path(__file__).resolve().parents[1] / "src"
# None of these may be imported before a command body runs.
HEAVY = (
    "pydantic",
    "pydantic_ai",
    "numpy",
    "PIL",
    "httpx",
    "genai_prices",
    "sqlite3",
    "filmslate.schemas",
    "filmslate.rules",
    "filmslate.store",
    "filmslate.engine",
    "filmslate.providers",
    "filmslate.skills",
    "filmslate.workflow",
    "filmslate.core._config",
)

IMPORT_ONLY = "import filmslate.cli"
BUILD_APP = "import typer, filmslate.cli; typer.main.get_command(filmslate.cli.app)"
HELP = """
import sys
from filmslate.cli import main
sys.argv = ["slate", "--help"]
try:
    main()
except SystemExit as exc:
    assert exc.code in (0, None), exc.code
"""


def loaded_after(code: str) -> list[str]:
    """The module names in sys.modules after running `code` in a fresh interpreter."""
    probe = code + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)), file=sys.stderr)"
    env = {**os.environ, "PYTHONPATH": str(SRC), "COLUMNS": "100"}
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return list(json.loads(result.stderr.strip().splitlines()[-1]))


def heavy_in(modules: list[str]) -> list[str]:
    return [m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY)]


@pytest.mark.parametrize(
    "code", [IMPORT_ONLY, BUILD_APP, HELP], ids=["import", "build-app", "--help"]
)
def test_the_cli_starts_without_the_library(code: str) -> None:
    modules = loaded_after(code)
    assert "filmslate.cli" in modules
    assert heavy_in(modules) == []


def test_the_probe_can_fail() -> None:
    """The check sees a heavy import when there is one."""
    modules = loaded_after("import filmslate; filmslate.Project")
    assert "filmslate.store._project" in heavy_in(modules)
    assert "pydantic" in heavy_in(modules)


def test_the_package_root_is_lazy_and_complete() -> None:
    assert heavy_in(loaded_after("import filmslate")) == []
    assert filmslate.__all__ == sorted(
        filmslate.__all__, key=lambda n: (0 if n.isupper() else 1 if n[0].isupper() else 2, n)
    )
    errors = {
        name
        for name, value in vars(_errors).items()
        if isinstance(value, type)
        and issubclass(value, Exception)
        and value.__module__ == _errors.__name__
    }
    assert errors <= set(filmslate.__all__)
    assert "WorldStateError" in filmslate.__all__
    for name in filmslate.__all__:
        assert getattr(filmslate, name) is not None, name
    assert set(filmslate.__all__) <= set(dir(filmslate))
    with pytest.raises(AttributeError):
        _ = filmslate.NoSuchThing


def test_slate_status_builds_no_artifact_schema(tmp_path: Path) -> None:
    """`slate status` opens the project and reads the index: no schema, model or video code."""
    root = tmp_path / "film"
    filmslate.Project.init(root).close()
    status = f"""
import os, sys
from filmslate.cli import main
os.chdir({str(root)!r})
sys.argv = ["slate", "status"]
try:
    main()
except SystemExit as exc:
    assert exc.code in (0, None), exc.code
"""
    modules = loaded_after(status)
    assert "filmslate.store._project" in modules
    slow = (
        "filmslate.schemas",
        "filmslate.skills",
        "filmslate.engine._runner",
        "pydantic_ai",
        "numpy",
        "PIL",
        "httpx",
    )
    assert [m for m in modules if m.startswith(slow)] == []
