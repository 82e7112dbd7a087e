"""Shared fixtures: a fresh project in a temporary folder, and media payloads."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from filmslate import Project

SRC = Path(__file__).resolve().parents[1] / "src"
DEMO = SRC.parent / "examples" / "demo_short_film"
DEMO_SMALL = {"width = 960": "width = 320", "height = 540": "height = 180"}  # a quicker "final"

# End-to-end modules: whole productions, the demo, the real command in subprocesses, video
# encoding. `make test` (and CI) runs everything; `make test-fast` leaves these out.
SLOW_MODULES = frozenset(
    {
        "test_budget",
        "test_cli",
        "test_cli_speed",
        "test_continuity_loop",
        "test_costloop",
        "test_demo_production",
        "test_handoff_cli",
        "test_import",
        "test_lock_cli",
        "test_model_router",
        "test_moved_modules",
        "test_orchestrator",
        "test_orchestrator_cli",
        "test_plugins",
        "test_skills_qc",
        "test_skills_render",
        "test_video_providers",
    }
)

# The 23 skills of the seed (SEED.md "Included Skills"); filmslate has them all, and more.
SEED_SKILLS = frozenset(
    {
        "story-architect",
        "script-breakdown",
        "character-psychology",
        "dialogue-consistency-check",
        "research-agent",
        "plausibility-auditor",
        "cultural-check",
        "narrative-red-team",
        "audience-simulator",
        "character-lock",
        "set-lock",
        "voice-lock",
        "world-state-tracker",
        "continuity-supervisor",
        "shot-planner",
        "prompt-packager",
        "storyboard-generator",
        "qc-grader",
        "regen-analyzer",
        "cost-optimizer",
        "model-router",
        "budget-gates",
        "run-logger",
    }
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test of an end-to-end module `slow`."""
    for item in items:
        if item.path.stem in SLOW_MODULES or item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.slow)


def png(seed: int = 0) -> bytes:
    """A tiny payload with a PNG signature (the store checks the signature only)."""
    return b"\x89PNG\r\n\x1a\n" + seed.to_bytes(8, "big") + os.urandom(8)


@pytest.fixture
def project(tmp_path: Path):
    with Project.init(tmp_path / "film", name="testfilm") as p:
        yield p


def run_slate(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    check: bool = False,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run the real `slate` entry point in a subprocess (killed after ``timeout`` seconds)."""
    full_env = {**os.environ, "PYTHONPATH": str(SRC), "COLUMNS": "200", **(env or {})}
    result = subprocess.run(
        [sys.executable, "-m", "filmslate", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"slate {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def demo_project(root: Path) -> None:
    """The demo short film as a new project at ``root``, nothing run yet: its config (with
    smaller finals), its authored replay answers and its inputs."""
    with Project.init(root, name="side-b"):
        pass
    config = (DEMO / "filmslate.toml").read_text()
    for old, new in DEMO_SMALL.items():
        config = config.replace(old, new)
    (root / "filmslate.toml").write_text(config)
    shutil.copytree(DEMO / "replay", root / "replay")
    with Project(root) as project:
        for source in sorted((DEMO / "inputs").iterdir()):
            project.add(source, "demo source material")


@dataclass(frozen=True)
class FinishedDemo:
    """The demo, produced uninterrupted by the orchestrator, and how its run ended."""

    root: Path
    status: str
    summary: str

    def describe(self) -> str:
        return self.summary


@pytest.fixture(scope="session")
def finished_demo(tmp_path_factory: pytest.TempPathFactory) -> FinishedDemo:
    """The demo produced once for the whole test run, shared by the tests that need a finished
    production (and by pytest-xdist's workers: the first one makes it, behind a file lock).
    Read it in place; copy it (``shutil.copytree``) before changing anything."""
    from filmslate.engine._runner import Runner  # lazily: collecting tests imports no engine
    from filmslate.workflow._orchestrator import Orchestrator

    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    root, ended = shared / "finished-demo" / "side-b", shared / "finished-demo.json"
    with open(shared / "finished-demo.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not ended.exists():
            shutil.rmtree(root.parent, ignore_errors=True)
            demo_project(root)
            with Project(root) as project:
                outcome = Orchestrator(Runner(project)).run()
            ended.write_text(json.dumps([outcome.status, outcome.describe()]))
    status, summary = json.loads(ended.read_text())
    return FinishedDemo(root, status, summary)
