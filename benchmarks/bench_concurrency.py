"""Concurrency benchmark (issue 17 §4): `slate run --jobs N` against one step after another.

1. **Paid-job wall time.** A synthetic production of one scene of N = 40 shots whose video
   model takes a fixed 2 s per final render (``synthetic._latency.SlowVideo``; proxies and
   text answer at once), with C = 1, 4 and 8 jobs at once at the provider (its
   ``[providers.synthetic] max_concurrent = C``, and ``--jobs C``; ``--jobs 2`` for C = 1, as
   ``--jobs 1`` is the sequential run, where nothing overlaps). The paid-job wall time is the
   time from the first final's submission to the last final's download, printed against
   ceil(N / C) x 2 s (goal: at most 1.1x at every C). The run's whole wall time is printed
   beside it. (A scene's finals are the paid steps that run at once inside a lane; the 40
   proxies of one scene run in shot order, see docs/scale.md.) ``--sequential-row`` adds the
   sequential run (``--jobs 1``) for comparison.
2. **Whole productions.** The synthetic production at 50 scenes (and 500, reduced with
   ``--big``) with every text answer taking 0.2 s and every video job 1 s, sequentially and
   with ``--jobs 8``: wall time, the speedup, and the wall time against the critical path of
   the scheduler's graph (the phases before and after the shots, which run in order, plus the
   slowest scene's shots: measured in the sequential run), and against that bound with at
   most ``--jobs`` lanes at once (the other phases, plus the larger of the slowest scene and
   the sequential shots phase divided by the number of jobs).

Each production runs in a fresh subprocess. Usage:
  python benchmarks/bench_concurrency.py                     # both parts
  python benchmarks/bench_concurrency.py --part 1            # paid-job wall time only
  python benchmarks/bench_concurrency.py --part 2 --scenes 50 --shots 2 --big 0
  # part 2, one size, the two runs apart (at once, or one reused), logging as they go:
  python benchmarks/bench_concurrency.py --part 2 --scenes 500 --shots 1 --big 0 \
      --side sequential --log-dir /tmp/runs        # also --side jobs, in another shell
  python benchmarks/bench_concurrency.py --part 2 --scenes 500 --shots 1 --big 0 \
      --sequential /tmp/runs/500x1-jobs1.json --concurrent /tmp/runs/500x1-jobs8.json
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
SRC = HERE.parents[1] / "src"


class SceneClock:
    """A Progress timing the phases, each scene's shots apart ('shots of S01'); with a
    ``log``, each phase and unit of work as a line (seconds since the start, phase, detail),
    written as it happens so a run stopped midway still has its per-scene times."""

    def __init__(self, log: Path | None = None) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.current, self.since = "", time.perf_counter()
        self.began = self.since
        self.log = log.open("a", encoding="utf-8", buffering=1) if log else None

    def phase(self, name: str, total: int) -> None:
        self.stop()
        self.current = name
        self.advance("")

    def advance(self, detail: str) -> None:
        """Log the unit of work (when logging)."""
        if self.log is not None:
            now = time.perf_counter() - self.began
            self.log.write(f"{now:.3f}\t{self.current}\t{detail}\n")

    def ran(self, result: Any) -> None:
        """Ignore."""

    def stop(self) -> None:
        now = time.perf_counter()
        if self.current:
            self.seconds[self.current] += now - self.since
        self.since = now


def child(args: argparse.Namespace) -> dict[str, Any]:
    """One production; its wall time, phases, and what the video model saw."""
    from filmslate.synthetic import VIDEO_MODEL, synthetic_project, synthetic_runner
    from filmslate.synthetic._latency import SlowVideo, slow_answers
    from filmslate.testing import ScriptedTextModel
    from filmslate.workflow._orchestrator import Orchestrator

    runner, film = synthetic_project(args.root / "film", args.scenes, args.shots)
    if args.max_concurrent:  # the video provider's own limit (part 1's C)
        runner.close()
        runner.project.close()
        toml = args.root / "film" / "filmslate.toml"
        limit = f"\n[providers.{VIDEO_MODEL}]\nmax_concurrent = {args.max_concurrent}\n"
        toml.write_text(toml.read_text(encoding="utf-8") + limit, encoding="utf-8")
        runner = synthetic_runner(args.root / "film", film)
    if args.text_latency:
        model = ScriptedTextModel(slow_answers(film.answer, args.text_latency))
        runner.gateway.register("scripted", model)
    resolutions = ("final",) if args.finals_only else ("proxy", "final")
    video = SlowVideo(args.video_latency, resolutions=resolutions, final_width=256)
    runner.render_service().providers[VIDEO_MODEL] = video
    runner.render_service().poll_interval_s = 0.01
    clock = SceneClock(args.progress_log)
    orchestrator = Orchestrator(runner, progress=clock)
    orchestrator.jobs = args.jobs
    began = time.perf_counter()
    outcome = orchestrator.run()
    wall = time.perf_counter() - began
    clock.stop()
    return {
        "status": outcome.status,
        "reason": outcome.reason[:300],
        "wall_s": wall,
        "phases": dict(clock.seconds),
        "jobs_sent": len(video.references),
        "most_in_flight": video.most_in_flight,
        "slow_span_s": video.slow_span[1] - video.slow_span[0] if video.slow_span else 0.0,
    }


def production(
    scenes: int,
    shots: int,
    jobs: int,
    video_latency: float,
    text_latency: float = 0.0,
    finals_only: bool = False,
    log_dir: Path | None = None,
    max_concurrent: int | None = None,
) -> dict[str, Any]:
    """Run one production in a fresh subprocess; its measurements. With ``log_dir``, the
    child logs its progress there as it goes and the measurements are saved beside it."""
    label = f"{scenes}x{shots}-jobs{jobs}"
    with tempfile.TemporaryDirectory(prefix="filmslate-bench-jobs-") as folder:
        command = [sys.executable, str(HERE), "--child", "--root", folder]
        command += ["--scenes", str(scenes), "--shots", str(shots), "--jobs", str(jobs)]
        command += ["--video-latency", str(video_latency), "--text-latency", str(text_latency)]
        command += ["--finals-only"] if finals_only else []
        command += ["--max-concurrent", str(max_concurrent)] if max_concurrent else []
        command += ["--progress-log", str(log_dir / f"{label}.progress")] if log_dir else []
        env = {"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"}
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode:
        raise SystemExit(f"the child failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if result["status"] != "complete":
        raise SystemExit(f"the production did not complete: {result['reason']}")
    if log_dir:
        (log_dir / f"{label}.json").write_text(json.dumps(result), encoding="utf-8")
    return result


def paid_job_wall_time(latency: float = 2.0, shots: int = 40, sequential: bool = False) -> None:
    """Part 1: the finals' wall time at C = 1, 4, 8 against ceil(N / C) x latency (and the
    sequential run's, with ``sequential``)."""
    print(f"paid-job wall time: N = {shots} final renders of one scene, {latency:g} s each")
    print(f"{'C':>4} {'paid':>8} {'ceil(N/C)xL':>12} {'ratio':>6} {'whole run':>10}")
    rows: list[tuple[str, int, int | None]] = [(str(c), max(2, c), c) for c in (1, 4, 8)]
    rows += [("seq", 1, None)] if sequential else []
    for label, jobs, limit in rows:
        run = production(1, shots, jobs, latency, finals_only=True, max_concurrent=limit)
        paid, ideal = run["slow_span_s"], math.ceil(shots / (limit or 1)) * latency
        print(
            f"{label:>4} {paid:>7.1f}s {ideal:>11.1f}s {paid / ideal:>6.2f} "
            f"{run['wall_s']:>9.1f}s  (--jobs {jobs}; jobs sent {run['jobs_sent']}, at most "
            f"{run['most_in_flight']} in flight)"
        )


def whole(
    scenes: int, shots: int, jobs: int = 8, options: argparse.Namespace | None = None
) -> None:
    """Part 2: one size, sequential and with ``jobs``: speedup and the critical path.
    ``options``: ``side`` runs only one of the two (the other from ``sequential`` /
    ``concurrent``, a saved measurement, or not at all), ``log_dir`` as in production()."""
    side = options.side if options else "both"
    log_dir = options.log_dir if options else None
    saved = {"1": options.sequential, "jobs": options.concurrent} if options else {}
    one = measured(saved.get("1"), side != "jobs", scenes, shots, 1, log_dir)
    many = measured(saved.get("jobs"), side != "sequential", scenes, shots, jobs, log_dir)
    if one is None or many is None:
        done = one or many
        assert done is not None
        print(f"{scenes} scenes x {shots} shots, {side} only: {done['wall_s']:.0f} s")
        return
    lanes = {k: v for k, v in one["phases"].items() if k.startswith("shots of ")}
    rest = one["wall_s"] - sum(lanes.values())
    critical = rest + max(lanes.values(), default=0.0)
    bound = rest + max(max(lanes.values(), default=0.0), sum(lanes.values()) / jobs)
    print(
        f"{scenes} scenes x {shots} shots, text 0.2 s, video 1 s: sequential "
        f"{one['wall_s']:.0f} s, --jobs {jobs} {many['wall_s']:.0f} s (speedup "
        f"{one['wall_s'] / many['wall_s']:.2f}x); critical path {critical:.0f} s "
        f"(wall/critical {many['wall_s'] / critical:.2f}; with {jobs} lanes at most "
        f"{bound:.0f} s, wall/that {many['wall_s'] / bound:.2f}); shots phase sequential "
        f"{sum(lanes.values()):.0f} s, concurrent "
        f"{sum(v for k, v in many['phases'].items() if k.startswith('shots')):.0f} s"
    )


def measured(
    saved: Path | None, run: bool, scenes: int, shots: int, jobs: int, log_dir: Path | None
) -> dict[str, Any] | None:
    """A part-2 production's measurements: read from ``saved``, run, or none."""
    if saved is not None:
        result: dict[str, Any] = json.loads(saved.read_text(encoding="utf-8"))
        return result
    return production(scenes, shots, jobs, 1.0, 0.2, log_dir=log_dir) if run else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", type=int, choices=(0, 1, 2), default=0, help="0: both")
    parser.add_argument("--scenes", type=int, default=50)
    parser.add_argument("--shots", type=int, default=2, help="shots per scene (part 2)")
    parser.add_argument("--big", type=int, default=500, help="the larger size (0: skip it)")
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument(
        "--side", choices=("both", "sequential", "jobs"), default="both", help="part 2"
    )
    parser.add_argument("--sequential", type=Path, help="part 2: a saved sequential run")
    parser.add_argument("--concurrent", type=Path, help="part 2: a saved --jobs run")
    parser.add_argument("--log-dir", type=Path, help="part 2: progress logs and results")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--progress-log", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--video-latency", type=float, default=0.0, help=argparse.SUPPRESS)
    parser.add_argument("--text-latency", type=float, default=0.0, help=argparse.SUPPRESS)
    parser.add_argument("--finals-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--max-concurrent", type=int, help=argparse.SUPPRESS)
    parser.add_argument(
        "--sequential-row", action="store_true", help="part 1: also the sequential run"
    )
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args)))
        return
    if args.part in (0, 1):
        paid_job_wall_time(sequential=args.sequential_row)
    if args.part in (0, 2):
        for size in (args.scenes, args.big):
            if size:
                whole(size, args.shots, args.jobs, args)


if __name__ == "__main__":
    main()
