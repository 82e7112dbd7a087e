"""kill -9 soak: tests/test_kill_random.py with many kills, and the time each production took.

The test suite kills each production a handful of times (FILMSLATE_KILLS, 6 by default), at
points a fixed seed picks. This runs the same tests with more kills (25 by default) and,
with --seeds, once more per extra seed (FILMSLATE_KILL_SEED), so other points are hit. Every
run checks what the tests check: the resumed film spends what an uninterrupted one does,
every submission had its intent recorded first, verify is clean, no hold is left open.

Usage: python benchmarks/bench_kill.py [--kills 25] [--seeds 20250611 7 42] [-k demo]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TESTS = REPO / "tests" / "test_kill_random.py"


def soak(kills: int, seed: int, select: str) -> int:
    """One pytest run of the kill tests; its exit code."""
    env = {**os.environ, "FILMSLATE_KILLS": str(kills), "FILMSLATE_KILL_SEED": str(seed)}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--durations=0"]
    command += ["-k", select] if select else []
    started = time.perf_counter()
    code = subprocess.run([*command, str(TESTS)], cwd=REPO, env=env).returncode
    print(f"seed {seed}, {kills} kills per production: {time.perf_counter() - started:.0f} s")
    return code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=25)
    parser.add_argument("--seeds", type=int, nargs="+", default=[20250611])
    parser.add_argument("-k", dest="select", default="", help="pytest -k: which productions")
    args = parser.parse_args()
    codes = [soak(args.kills, seed, args.select) for seed in args.seeds]
    sys.exit(max(codes))


if __name__ == "__main__":
    main()
