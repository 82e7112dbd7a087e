"""Media benchmark (issue 13 §5, decode once): the media work per shot of a whole synthetic
production, at 50 and 500 scenes.

Each size runs the real production (``filmslate.synthetic``: scripted text answers, one small
real MP4 per shot: the synthetic video model draws every shot's clip at its own phase, so no
take is found in the decode cache under another shot's bytes) in a fresh subprocess, premise
to cut, through the real runner, store, skills and ffmpeg. Timed: every call of the media
functions the skills make (wherever they are imported), counted once when they nest:

- ``probe``: a clip's header and frame count (the download check, the conform, the gates,
  the edit planner); ``decode``: the one decode of a take (frames and per-frame numbers);
- ``technical checks``: qc-grader's and render-final's checks on a decoded take, with the
  offline vision metrics (``looks``: faces, shot scale, colour temperature, first frame);
- ``conform``: the provider's clip to the spec (none needed for the synthetic model's clips);
- ``cut``: assemble-cut's media work (``_cut_media.concat``): the takes encoded a chunk at a
  time, or copied when whole and already in the cut's encoding, then one join with the AAC
  dialogue track (its probes of the takes' facts inside it).

Printed per size: ms per shot of media work (wall, and CPU of this process plus its ffmpeg
children), the same without the cut, each part's share, the ffmpeg runs per shot; then the
ratio of the largest size's ms/shot to the smallest (linear growth: about 1). The synthetic
model's own encoding of its clips (what a vendor does) is not media work and is not counted.

Usage:
  python benchmarks/bench_media.py                       # 50 scenes x 10 shots, 500 x 1
  python benchmarks/bench_media.py --sizes 50x10,500x10  # the whole 500-scene film (slow)
  python benchmarks/bench_media.py --sizes 5x4           # a quick run
  python benchmarks/bench_media.py --encode-all          # the cut encodes every take
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
SRC = HERE.parents[1] / "src"
GOAL_MS = 150.0  # issue 13 §5: media work per shot, offline, on the synthetic film

# (label, module, function): the media calls timed, each wherever it is imported
TIMED = (
    ("probe", "filmslate.rules._media_decode", "probe"),
    ("decode", "filmslate.rules._media_decode", "decode"),
    ("technical checks", "filmslate.rules._media", "technical_checks"),
    ("looks", "filmslate.rules._media", "_look_findings"),
    ("conform", "filmslate.rules._conform", "conform"),
    ("cut", "filmslate.skills.production._cut_media", "concat"),
)


class MediaClock:
    """Wall and CPU (own plus finished children) of the timed calls, per label (inclusive)
    and in total (the outermost call only, so nested calls are not counted twice); ffmpeg
    runs counted by the processes started inside them."""

    def __init__(self) -> None:
        self.parts: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
        self.total = [0.0, 0.0]
        self.runs = 0
        self.depth = 0

    @staticmethod
    def cpu() -> float:
        own, kids = (
            resource.getrusage(resource.RUSAGE_SELF),
            resource.getrusage(resource.RUSAGE_CHILDREN),
        )
        return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

    def wrap(self, label: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            wall, cpu = time.perf_counter(), self.cpu()
            self.depth += 1
            try:
                return function(*args, **kwargs)
            finally:
                self.depth -= 1
                spent_wall, spent_cpu = time.perf_counter() - wall, self.cpu() - cpu
                part = self.parts[label]
                part[0] += spent_wall
                part[1] += spent_cpu
                part[2] += 1
                if self.depth == 0:
                    self.total[0] += spent_wall
                    self.total[1] += spent_cpu

        return timed

    def count_processes(self) -> None:
        """Count the processes started inside a timed call (ffmpeg: subprocess.Popen)."""
        real = subprocess.Popen.__init__
        clock = self

        def counted(popen: Any, *args: Any, **kwargs: Any) -> None:
            if clock.depth:
                clock.runs += 1
            real(popen, *args, **kwargs)

        subprocess.Popen.__init__ = counted  # type: ignore[method-assign,assignment]


def install(clock: MediaClock) -> None:
    """Wrap every binding of the timed functions in the loaded filmslate modules."""
    import importlib

    import filmslate.skills.production
    import filmslate.workflow._orchestrator  # noqa: F401  (loads every consumer)

    for label, module_name, name in TIMED:
        module = importlib.import_module(module_name)
        original = getattr(module, name)
        timed = clock.wrap(label, original)
        for loaded in list(sys.modules.values()):
            if getattr(loaded, "__name__", "").startswith("filmslate") and (
                getattr(loaded, name, None) is original
            ):
                setattr(loaded, name, timed)
    clock.count_processes()


def child(scenes: int, shots: int, folder: Path, encode_all: bool = False) -> dict[str, Any]:
    """One production, premise to cut, with its media calls timed (``encode_all``: the cut
    encodes every take, as it does trimmed ones, instead of copying the whole ones)."""
    from filmslate.synthetic import synthetic_project
    from filmslate.workflow._orchestrator import Orchestrator

    runner, _ = synthetic_project(folder / "film", scenes, shots)
    clock = MediaClock()
    install(clock)
    if encode_all:
        from filmslate.skills.production import _cut_media

        _cut_media.as_is = lambda *_: None  # no take is copied
    began = time.perf_counter()
    outcome = Orchestrator(runner).run()
    run_s = time.perf_counter() - began
    return {
        "scenes": scenes,
        "shots": scenes * shots,
        "status": outcome.status,
        "reason": outcome.reason[:300],
        "run_s": run_s,
        "media_s": clock.total,
        "parts": dict(clock.parts),
        "ffmpeg_runs": clock.runs,
    }


def measure(scenes: int, shots: int, timeout: float, encode_all: bool) -> dict[str, Any]:
    """One size in a fresh subprocess; its last stdout line is the JSON result."""
    with tempfile.TemporaryDirectory(prefix=f"filmslate-bench-media-{scenes}-") as folder:
        command = [sys.executable, str(HERE), "--child", f"{scenes}x{shots}", "--root", folder]
        command += ["--encode-all"] if encode_all else []
        env = {"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"}
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, env=env, check=False
        )
    if done.returncode:
        raise SystemExit(f"{scenes} scenes: the child failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def per_shot_ms(row: dict[str, Any]) -> tuple[float, float]:
    wall, cpu = row["media_s"]
    return wall / row["shots"] * 1000, cpu / row["shots"] * 1000


def report(row: dict[str, Any]) -> None:
    """One size's figures."""
    shots = row["shots"]
    wall, cpu = per_shot_ms(row)
    verdict = "within" if wall <= GOAL_MS else "ABOVE"
    print(
        f"\n{row['scenes']:>4} scenes x {shots // row['scenes']} shots = {shots} shots: "
        f"{row['status']}" + (f" -- {row['reason']}" if row["reason"] else ""),
        flush=True,
    )
    print(
        f"  media work {wall:.1f} ms/shot wall (CPU with ffmpeg {cpu:.1f}); {verdict} the "
        f"{GOAL_MS:g} ms goal; {row['ffmpeg_runs'] / shots:.2f} ffmpeg runs/shot; whole run "
        f"{row['run_s'] / shots * 1000:.0f} ms/shot"
    )
    cut_wall, cut_cpu, _ = row["parts"].get("cut", (0.0, 0.0, 0))
    print(  # the cut is never inside another timed call: the rest is the total less it
        f"  without the cut {wall - cut_wall / shots * 1000:.1f} ms/shot wall "
        f"(CPU {cpu - cut_cpu / shots * 1000:.1f})"
    )
    for label, (spent, used, calls) in row["parts"].items():
        print(
            f"    {label:17} {spent / shots * 1000:7.1f} ms/shot (CPU {used / shots * 1000:6.1f})"
            f"  {calls / shots:5.2f} calls/shot"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", default="50x10,500x1", help="SCENESxSHOTS per size, comma-separated"
    )
    parser.add_argument("--timeout", type=float, default=4 * 3600, help="seconds per size")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    parser.add_argument(
        "--encode-all",
        action="store_true",
        help="the cut encodes every take (as a trimmed one), copying none",
    )
    args = parser.parse_args()
    if args.child:
        scenes, shots = (int(n) for n in args.child.split("x"))
        print(json.dumps(child(scenes, shots, args.root, args.encode_all)), flush=True)
        return
    rows = []
    for size in str(args.sizes).split(","):
        scenes, shots = (int(n) for n in size.strip().split("x"))
        rows.append(measure(scenes, shots, args.timeout, args.encode_all))
        report(rows[-1])
    if len(rows) > 1:
        small, big = rows[0], rows[-1]
        ratio = per_shot_ms(big)[0] / per_shot_ms(small)[0]
        cpu_ratio = per_shot_ms(big)[1] / per_shot_ms(small)[1]
        print(
            f"\n{big['scenes']}/{small['scenes']} scenes ({big['shots'] / small['shots']:g}x "
            f"the shots): media ms/shot {ratio:.2f}x wall, {cpu_ratio:.2f}x CPU (linear: ~1)"
        )


if __name__ == "__main__":
    main()
