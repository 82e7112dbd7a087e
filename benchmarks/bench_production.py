"""Production benchmark: a whole synthetic film, premise to cut, at 50 and 500 scenes.

Each size runs in a fresh subprocess (so time and peak memory are independent): a synthetic
project (``filmslate.synthetic``: scripted text answers, small real MP4 clips) is created and
``Orchestrator(runner).run()`` takes it from premise to CUT through the real runner, store,
skills, ffmpeg checks and assembly. Printed per size: total time, time per shot, peak memory
(maxrss of the child), CPU spent in ffmpeg children, time per phase and per skill; then the
ratios of the largest size to the smallest (linear growth: ratio of total time = ratio of
shots, and a flat time per shot). Per shot, the time spent on takes: decoding (ffmpeg and the
per-frame numbers), reading headers, the looking checks, the decode cache on disk.

Usage:
  python benchmarks/bench_production.py [--scenes 50,500] [--shots 10] [--profile] [--keep]
  python benchmarks/bench_production.py --scenes 5,20        # a quick run
  python benchmarks/bench_production.py --scenes 50,500 --until shots --profile
``--profile`` runs each child under cProfile and prints its hottest functions; ``--until
shots`` stops each run where the shots phase would begin (the story, lock, validation and
planning phases alone).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
SRC = HERE.parents[1] / "src"


# -- the child: one production -----------------------------------------------------------------


class Enough(Exception):
    """Raised by PhaseClock to end a run early (``--until``)."""


class PhaseClock:
    """An orchestrator Progress that times its phases ('shots of S01' counts as 'shots');
    with ``until``, the run ends where the phase of that name would begin."""

    def __init__(self, until: str = "") -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.current = ""
        self.since = time.perf_counter()
        self.until = until

    def phase(self, name: str, total: int) -> None:
        self.stop()
        self.current = "shots" if name.startswith("shots of") else name
        if self.until and self.current.startswith(self.until):
            raise Enough(name)

    def advance(self, detail: str) -> None:
        pass

    def ran(self, result: Any) -> None:
        pass

    def stop(self) -> None:
        now = time.perf_counter()
        if self.current:
            self.seconds[self.current] += now - self.since
        self.since = now


def timed_skills(runner: Any) -> dict[str, list[float]]:
    """Wrap ``runner.run`` to total the wall time per skill ([seconds, runs])."""
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    run = runner.run

    def timed(skill: str, target: str, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return run(skill, target, **kwargs)
        finally:
            totals[skill][0] += time.perf_counter() - start
            totals[skill][1] += 1

    runner.run = timed
    return totals


def timed_media() -> dict[str, list[float]]:
    """Wrap the take decode (ffmpeg and the per-frame numbers), the looking checks and the
    disk cache to total their time ([wall seconds, this process's CPU seconds, calls]: on a
    busy machine the CPU figure is the one to compare)."""
    from filmslate.rules import _media, _media_cache, _media_decode

    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    wrapped = [
        ("decode (one ffmpeg run)", _media_decode, "analyse"),
        ("probe uncached (one ffmpeg run)", _media_decode, "_counted"),
        ("looks (faces, light)", _media, "_look_findings"),
        ("disk cache read", _media_cache, "load"),
        ("disk cache write", _media_cache, "save"),
    ]
    for label, module, name in wrapped:
        setattr(module, name, _timer(totals[label], getattr(module, name)))
    return totals


def _timer(total: list[float], function: Any) -> Any:
    def timed(*args: Any, **kwargs: Any) -> Any:
        start, cpu = time.perf_counter(), time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            total[0] += time.perf_counter() - start
            total[1] += time.process_time() - cpu
            total[2] += 1

    return timed


def child(
    scenes: int, shots: int, folder: Path, profile: Path | None, until: str = ""
) -> dict[str, Any]:
    """Run one production (or its phases before ``until``) and measure it."""
    from filmslate.synthetic import synthetic_project
    from filmslate.workflow._orchestrator import Orchestrator, Outcome

    started = time.perf_counter()
    runner, _ = synthetic_project(folder / "film", scenes, shots)
    setup = time.perf_counter() - started
    skills = timed_skills(runner)
    media = timed_media()
    clock = PhaseClock(until)
    profiler = cProfile.Profile() if profile else None
    began = time.perf_counter()
    if profiler:
        profiler.enable()
    try:
        outcome = Orchestrator(runner, progress=clock).run()
    except Enough as stop:
        outcome = Outcome("stopped", reason=f"stopped before {stop} (--until)")
    if profiler:
        profiler.disable()
        profiler.dump_stats(str(profile))
    run_s = time.perf_counter() - began
    clock.stop()
    checked = time.perf_counter()
    try:
        problems = [str(p) for p in runner.project.verify()]
    except Exception as exc:  # a verify that breaks is a finding, not the end of the report
        problems = [f"verify raised {type(exc).__name__}: {exc}"]
    verify_s = time.perf_counter() - checked
    own, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return {
        "scenes": scenes,
        "shots": scenes * shots,
        "status": outcome.status,
        "reason": outcome.reason[:500],
        "steps": len(outcome.ran),
        "setup_s": setup,
        "run_s": run_s,
        "verify_s": verify_s,
        "violations": len(problems),
        "first_violation": problems[0][:300] if problems else "",
        "maxrss_mb": own.ru_maxrss / 1024,
        "ffmpeg_cpu_s": kids.ru_utime + kids.ru_stime,
        "own_cpu_s": own.ru_utime + own.ru_stime,
        "phases": dict(clock.seconds),
        "skills": {k: v for k, v in sorted(skills.items(), key=lambda kv: -kv[1][0])},
        "media": dict(media),
    }


# -- the parent: one child per size --------------------------------------------------------------


def measure(
    scenes: int, shots: int, keep: bool, profile: bool, timeout: float, until: str = ""
) -> dict[str, Any]:
    """Run one size in a fresh subprocess; its JSON line is the result."""
    folder = Path(tempfile.mkdtemp(prefix=f"filmslate-bench-{scenes}-"))
    stats = folder / "profile.pstats" if profile else None
    command = [
        sys.executable,
        str(HERE),
        "--child",
        "--scenes",
        str(scenes),
        "--shots",
        str(shots),
        "--root",
        str(folder),
        "--until",
        until,
    ] + (["--stats", str(stats)] if stats else [])
    env = {"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, env=env, check=False
    )
    if done.returncode:
        raise SystemExit(f"{scenes} scenes: the child failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["folder"] = str(folder)
    if stats:
        print_profile(stats, scenes)
    if not keep:
        subprocess.run(["rm", "-rf", str(folder)], check=False)
    return result


def print_profile(stats: Path, scenes: int, top: int = 25) -> None:
    """The hottest functions of one child, by own time and by cumulative time."""
    for order in ("tottime", "cumulative"):
        print(f"\n--- {scenes} scenes: top {top} by {order} ---", flush=True)
        pstats.Stats(str(stats)).strip_dirs().sort_stats(order).print_stats(top)


def report(row: dict[str, Any]) -> None:
    """One size's numbers."""
    per_shot = row["run_s"] / row["shots"]
    first = f": {row['first_violation']}" if row["violations"] else ""
    print(
        f"\n{row['scenes']:>4} scenes x {row['shots'] // row['scenes']} shots = "
        f"{row['shots']} shots: {row['status']} ({row['steps']} steps)"
        + (f" -- {row['reason']}" if row["reason"] else ""),
        flush=True,
    )
    print(
        f"  run {row['run_s']:.1f} s, {per_shot * 1000:.0f} ms/shot; setup "
        f"{row['setup_s']:.1f} s; verify {row['verify_s']:.1f} s "
        f"({row['violations']} violations{first})"
    )
    print(
        f"  peak memory {row['maxrss_mb']:.0f} MB; CPU: python {row['own_cpu_s']:.0f} s, "
        f"ffmpeg {row['ffmpeg_cpu_s']:.0f} s"
    )
    print("  phases: " + ", ".join(f"{k} {v:.1f} s" for k, v in row["phases"].items()))
    shots = row["shots"]
    print(
        "  takes: "
        + ", ".join(
            f"{k} {s / shots * 1000:.1f} ms/shot (CPU {c / shots * 1000:.1f}; {int(n)} calls)"
            for k, (s, c, n) in row.get("media", {}).items()
        )
        + f"; ffmpeg CPU {row['ffmpeg_cpu_s'] / shots * 1000:.0f} ms/shot"
    )
    accounted = sum(s for s, _ in row["skills"].values())
    print(
        "  skills: "
        + ", ".join(f"{k} {s:.1f} s/{int(n)}" for k, (s, n) in list(row["skills"].items())[:10])
        + f"; outside skill runs {row['run_s'] - accounted:.1f} s"
    )


def ratios(small: dict[str, Any], big: dict[str, Any]) -> None:
    """How the largest size compares with the smallest (linear: time ratio = shot ratio)."""
    work = big["shots"] / small["shots"]
    print(
        f"\n{big['scenes']}/{small['scenes']} scenes ({work:g}x the shots): "
        f"total time {big['run_s'] / small['run_s']:.1f}x, time per shot "
        f"{(big['run_s'] / big['shots']) / (small['run_s'] / small['shots']):.2f}x, "
        f"peak memory {big['maxrss_mb'] / small['maxrss_mb']:.1f}x, verify "
        f"{big['verify_s'] / max(small['verify_s'], 1e-9):.1f}x"
    )
    print(f"  per skill: total time ratio (linear: {work:g}x), runs, and time per run")
    for name in sorted(set(small["skills"]) & set(big["skills"])):
        (s1, n1), (s2, n2) = small["skills"][name], big["skills"][name]
        if n1 and n2 and s1 > 0.05:
            grow = s2 / s1
            flag = "  <-- super-linear" if grow > 1.5 * work else ""
            print(
                f"  {name:28} {s1:7.1f} -> {s2:8.1f} s ({grow:5.1f}x), runs {int(n1)} -> "
                f"{int(n2)}, {s1 / n1 * 1000:7.1f} -> {s2 / n2 * 1000:7.1f} ms/run{flag}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenes", default="50,500", help="sizes, comma-separated")
    parser.add_argument("--shots", type=int, default=10, help="shots per scene")
    parser.add_argument("--profile", action="store_true", help="cProfile every child")
    parser.add_argument("--keep", action="store_true", help="keep the project folders")
    parser.add_argument("--timeout", type=float, default=4 * 3600, help="seconds per size")
    parser.add_argument(
        "--until",
        default="",
        help="stop where this phase begins (e.g. 'shots': time everything before the shots)",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--stats", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = [int(s) for s in str(args.scenes).split(",") if s.strip()]
    if args.child:
        print(
            json.dumps(child(sizes[0], args.shots, args.root, args.stats, args.until)), flush=True
        )
        return
    results = []
    for scenes in sizes:
        results.append(
            measure(scenes, args.shots, args.keep, args.profile, args.timeout, args.until)
        )
        report(results[-1])
    if len(results) > 1:
        ratios(results[0], results[-1])


if __name__ == "__main__":
    main()
