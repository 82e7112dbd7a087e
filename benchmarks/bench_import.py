"""Start-up benchmark of the `slate` command.

Measures, each in fresh subprocesses and as the best of N runs:

* the import time of ``filmslate.cli`` against ``import typer, rich`` (timed inside the child
  around the import statement, so interpreter start-up is left out), and their ratio;
* the wall time of ``slate --help`` against ``python -c "import typer, rich"`` (whole
  process, start-up included), and their ratio; and, for scale, the ``--help`` of a bare
  two-command typer app (typer's rich help screen imports rich.markdown and pygments itself).

The goal is an import ratio of at most 1.5. Compare the ratios printed in one run; absolute
times depend on the (shared) machine.
Usage: python benchmarks/bench_import.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

BASELINE = "import typer, rich"
# The same rich help screen from a bare two-command typer app: what typer's help costs itself.
BARE_APP = (
    "import typer\napp = typer.Typer()\n@app.command()\ndef a() -> None: ...\n"
    "@app.command()\ndef b() -> None: ...\napp()"
)
TIMED = "import time; t = time.perf_counter(); {stmt}; print(time.perf_counter() - t)"


def _env() -> dict[str, str]:
    return {**os.environ, "COLUMNS": "100"}


def import_time(stmt: str, runs: int) -> float:
    """Best of `runs` fresh interpreters: seconds spent in `stmt` alone."""
    best = float("inf")
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", TIMED.format(stmt=stmt)],
            env=_env(),
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        best = min(best, float(out.strip().splitlines()[-1]))
    return best


def wall_time(argv: list[str], runs: int) -> float:
    """Best of `runs` fresh processes: seconds from spawn to exit."""
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, env=_env(), stdout=subprocess.DEVNULL, check=True)
        best = min(best, time.perf_counter() - start)
    return best


def slate_argv() -> list[str]:
    """The installed console script if there is one, else the same entry point via -c."""
    script = Path(sys.executable).with_name("slate")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from filmslate.cli import main; main()"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per measurement (best of)")
    runs = parser.parse_args().runs
    # Warm the bytecode caches and the OS file cache once, untimed.
    import_time("import filmslate.cli", 1)
    import_time(BASELINE, 1)

    base = import_time(BASELINE, runs)
    cli = import_time("import filmslate.cli", runs)
    print(f"import time, best of {runs} fresh interpreters:")
    print(f"  {BASELINE:<28} {base * 1000:8.1f} ms")
    print(f"  {'import filmslate.cli':<28} {cli * 1000:8.1f} ms")
    print(f"  ratio                        {cli / base:8.2f}x  (goal <= 1.50x)")

    base_wall = wall_time([sys.executable, "-c", BASELINE], runs)
    help_wall = wall_time([*slate_argv(), "--help"], runs)
    bare_wall = wall_time([sys.executable, "-c", BARE_APP, "--help"], runs)
    print(f"wall time, best of {runs} processes (interpreter start-up included):")
    print(f"  {'python -c ' + repr(BASELINE):<28} {base_wall * 1000:8.1f} ms")
    print(f"  {'slate --help':<28} {help_wall * 1000:8.1f} ms")
    print(f"  ratio                        {help_wall / base_wall:8.2f}x")
    print(
        f"  {'bare typer app --help':<28} {bare_wall * 1000:8.1f} ms  "
        f"(slate --help is {help_wall / bare_wall:.2f}x that)"
    )


if __name__ == "__main__":
    main()
