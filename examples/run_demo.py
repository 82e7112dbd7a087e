"""The offline demo production, run by `make demo`.

It drives the real `slate` command as a filmmaker would: create the project (first run only,
with the demo's config and its authored replay answers), add the hand-written premise and
style lock, then `slate run`, which takes the film from premise to an assembled cut in loop
order with offline models. It ends with the cut's path, the cost report, the budget status
and `slate verify`. Running it again finds everything up to date and writes nothing.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
FILM = HERE / "demo_short_film"
PROJECT = HERE.parent / "demo-film"


def slate(*args: str, check: bool = True) -> int:
    """Run `slate` from this environment, echoing the command like a terminal would."""
    print(f"\n$ slate {' '.join(args)}", flush=True)
    code = subprocess.run([sys.executable, "-m", "filmslate", *args]).returncode
    if check and code != 0:
        sys.exit(f"demo stopped: `slate {' '.join(args)}` exited {code}")
    return code


def stored(stem: str) -> bool:
    """True when the project holds a version of this stem (so a rerun adds nothing)."""
    probe = subprocess.run(
        [sys.executable, "-m", "filmslate", "show", stem, "--info", "-C", str(PROJECT)],
        capture_output=True,
        text=True,
    )
    return probe.returncode == 0


def create() -> None:
    """A new project with the demo's policy numbers and its authored model answers."""
    slate("init", str(PROJECT), "--name", "side-b", "--title", "Side B")
    shutil.copyfile(FILM / "filmslate.toml", PROJECT / "filmslate.toml")
    slate("config", "check", "-C", str(PROJECT))


def main() -> None:
    if not (PROJECT / "filmslate.toml").exists():
        create()
    # The replay answers stand in for the models; refreshing them never touches artifacts.
    shutil.copytree(FILM / "replay", PROJECT / "replay", dirs_exist_ok=True)
    for source in sorted((FILM / "inputs").iterdir()):
        if not stored(source.stem):
            slate("add", str(source), "-C", str(PROJECT), "--reason", "demo source material")
    slate("run", "-C", str(PROJECT))
    slate("show", "COST_REPORT_PROJECT", "-C", str(PROJECT))
    slate("show", "BUDGET_STATUS", "-C", str(PROJECT))
    slate("status", "-C", str(PROJECT))
    slate("verify", "-C", str(PROJECT))
    cut = sorted((PROJECT / "production").rglob("CUT_PROJECT_v*.mp4"))
    print(f"\ndemo project: {PROJECT}\ncut: {cut[-1] if cut else '(none)'}")


if __name__ == "__main__":
    main()
