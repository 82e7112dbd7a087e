"""The offline demo production, run by `make demo`.

It drives the real `slate` command as a filmmaker would: create the project (first run only),
add the hand-written source artifacts it does not hold yet, import the screenplay, project the
cost, snapshot the budget, then show status and verify. Running it again changes nothing.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
INPUTS = HERE / "demo_short_film" / "inputs"
SCREENPLAY = HERE / "heist_at_the_lighthouse.fountain"
PROJECT = HERE.parent / "demo-film"


def slate(*args: str) -> None:
    """Run `slate` from this environment, echoing the command like a terminal would."""
    print(f"\n$ slate {' '.join(args)}", flush=True)
    result = subprocess.run([sys.executable, "-m", "filmslate", *args], text=True)
    if result.returncode != 0:
        sys.exit(f"demo stopped: `slate {' '.join(args)}` exited {result.returncode}")


def already_stored(stem: str) -> bool:
    """True when the project holds a version of this stem (so a rerun adds nothing)."""
    probe = subprocess.run([sys.executable, "-m", "filmslate", "show", stem, "--info",
                            "-C", str(PROJECT)], capture_output=True, text=True)
    return probe.returncode == 0


def main() -> None:
    if not (PROJECT / "filmslate.toml").exists():
        slate("init", str(PROJECT), "--name", "heist-at-the-lighthouse",
              "--title", "Heist at the Lighthouse")
    fresh = not already_stored("BUDGET_STATUS")
    for source in sorted(INPUTS.iterdir()):
        if not already_stored(source.stem):
            slate("add", str(source), "-C", str(PROJECT), "--reason", "demo source material")
            fresh = True
    if fresh:  # a rerun finds everything in place and writes nothing new
        slate("import", str(SCREENPLAY), "--alias", "KEEPER=GUS", "-C", str(PROJECT))
        slate("cost", "--target", "PROJECT", "-C", str(PROJECT))
        slate("budget", "-C", str(PROJECT))
    slate("status", "-C", str(PROJECT))
    slate("verify", "-C", str(PROJECT))
    print(f"\ndemo project: {PROJECT}")


if __name__ == "__main__":
    main()
