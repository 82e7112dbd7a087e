"""The offline two-episode demo series, run by `python examples/run_series.py`.

Like run_demo.py it drives the real `slate` command: create the project (first run only, with
the series' config and its replay answers), declare the episodes (`slate episode add E01`,
`E02`), add the premise and the style lock, `slate run` (story to the season's cut, each
episode's review and cut on the way), then export each episode (`slate export --episode`)
and list them. With `--revise` it then revises ADA's lock (she is in both episodes) and runs
again: only her shots are redone. Running it again finds everything up to date.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SERIES = HERE / "series"
PROJECT = HERE.parent / "demo-series"
EPISODES = ("E01", "E02")


def slate(*args: str) -> None:
    """Run `slate` from this environment, echoing the command like a terminal would."""
    print(f"\n$ slate {' '.join(args)}", flush=True)
    code = subprocess.run([sys.executable, "-m", "filmslate", *args, "-C", str(PROJECT)]).returncode
    if code != 0:
        sys.exit(f"demo stopped: `slate {' '.join(args)}` exited {code}")


def create() -> None:
    """A new project with the series' policy numbers, its episodes and its sources."""
    subprocess.run(
        [sys.executable, "-m", "filmslate", "init", str(PROJECT), "--name", "harbour-signal"],
        check=True,
    )
    shutil.copyfile(SERIES / "filmslate.toml", PROJECT / "filmslate.toml")
    for episode in EPISODES:
        slate("episode", "add", episode)
    for source in sorted((SERIES / "inputs").iterdir()):
        slate("add", str(source), "--reason", "demo source material")


def main() -> None:
    if not (PROJECT / "filmslate.toml").exists():
        create()
    # The replay answers stand in for the models; refreshing them never touches artifacts.
    shutil.copytree(SERIES / "replay", PROJECT / "replay", dirs_exist_ok=True)
    slate("run")
    if "--revise" in sys.argv[1:]:
        slate("lock", "add", str(SERIES / "revisions" / "CHAR_ADA_LOCK.txt"), "--reason", "whistle")
        slate("impact", "CHAR_ADA_LOCK")
        slate("run")
    for episode in EPISODES:
        slate("export", "--episode", episode, "--all")
    slate("episode", "list")
    slate("verify")


if __name__ == "__main__":
    main()
