"""Two `slate worker`s on Postgres against one (issue 17 §4, the third benchmark).

A local Postgres is started from the system's binaries (``filmslate.testing.postgres``). For
one, then two workers, a fresh project whose video model is the latency provider's
``latency:<s>-local`` (a job takes ``--latency`` seconds on the machine that runs it, at most
``--per-worker`` at once per worker: ``[providers.latency] max_concurrent``) gets ``--jobs``
paid jobs sent the way ``slate run --engine dbos`` sends them (``QueuedProvider``: enqueued on
the provider's DBOS queue, each waited for until its workflow says done); the `slate worker`
processes run them. Throughput is jobs per second from the first enqueue to the last job done;
the goal is a ratio of at least 1.8.

    .venv/bin/python benchmarks/bench_workers.py [--jobs 24] [--latency 2] [--per-worker 4]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
sys.path.insert(0, str(SRC))

from filmslate import Project  # noqa: E402
from filmslate.core._config import load_config  # noqa: E402
from filmslate.engine._video import VideoJob  # noqa: E402
from filmslate.testing.postgres import local_postgres  # noqa: E402
from filmslate.workflow._dbos_jobs import QueuedProvider, start_runtime  # noqa: E402

GOAL = 1.8


def plugin_site(folder: Path) -> Path:
    """The latency provider installed as pip leaves a plugin (an entry point)."""
    info = folder / "latency_plugin-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: latency-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[filmslate.video_providers]\nlatency = filmslate.testing.latency_provider:make\n"
    )
    return folder


def project(root: Path, name: str, model: str, per_worker: int) -> None:
    """A project whose video is the latency model, ``per_worker`` jobs at once per worker."""
    with Project.init(root, name=name):
        pass
    config = (root / "filmslate.toml").read_text()
    for tier in ("premium", "mid", "low"):
        config = config.replace(f'{tier} = "animatic"', f'{tier} = "{model}"', 1)
    config += f"\n[providers.latency]\nmax_concurrent = {per_worker}\n"
    (root / "filmslate.toml").write_text(config)


def one_round(
    base: Path, url: str, env: dict[str, str], workers: int, args: argparse.Namespace
) -> float:
    """Seconds for ``args.jobs`` jobs with ``workers`` workers."""
    root = base / f"film-{workers}"
    model = f"latency:{args.latency:g}-local"
    project(root, f"bench-{workers}-{uuid.uuid4().hex[:6]}", model, args.per_worker)
    started = [start_worker(root, f"w{n}", url, env) for n in range(workers)]
    runtime = start_runtime(
        root, load_config(root / "filmslate.toml"), "bench", listen=False, url=url
    )
    try:
        queued = QueuedProvider(runtime.provider("video", model), "video", model, 0.5, 600.0)
        began = time.monotonic()
        with ThreadPoolExecutor(args.jobs) as pool:
            list(pool.map(lambda n: run_job(queued, n, args.latency), range(args.jobs)))
        return time.monotonic() - began
    finally:
        runtime.stop()
        for worker in started:
            worker.send_signal(signal.SIGTERM)
        for worker in started:
            worker.wait(timeout=60)


def start_worker(root: Path, name: str, url: str, env: dict[str, str]) -> subprocess.Popen[str]:
    """A `slate worker`, once it says it runs the project's jobs."""
    command = [sys.executable, "-m", "filmslate", "worker", "--name", name, "--database-url", url]
    worker = subprocess.Popen(command, cwd=root, env=env, stdout=subprocess.PIPE, text=True)
    assert worker.stdout is not None
    ready = worker.stdout.readline()
    if "running the jobs of" not in ready:
        raise RuntimeError(f"worker {name} did not start: {ready!r}")
    return worker


def run_job(queued: QueuedProvider, n: int, latency: float) -> None:
    """One job, sent and waited for as the render service does."""
    job = VideoJob(
        shot_id=f"S01_SH{n + 1:02d}", prompt=f"shot {n}", duration_s=latency, width=320,
        height=180, fps=24, reference=str(uuid.uuid4()),
    )  # fmt: skip
    job_id = queued.submit(job)
    while queued.poll(job_id).state not in ("done", "failed"):
        continue  # each poll waits on the workflow for up to its interval


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=24)
    parser.add_argument("--latency", type=float, default=2.0)
    parser.add_argument("--per-worker", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp, local_postgres() as url:
        base = Path(tmp)
        site = plugin_site(base / "site")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), str(site)])}
        sys.path.insert(0, str(site))
        walls = {n: one_round(base, url, env, n, args) for n in (1, 2)}
    ideal = {n: -(-args.jobs // (args.per_worker * n)) * args.latency for n in (1, 2)}
    print(f"{args.jobs} jobs of {args.latency:g}s, {args.per_worker} at once per worker (Postgres)")
    for n, wall in walls.items():
        print(
            f"  {n} worker(s): {wall:6.2f}s wall, {args.jobs / wall:5.2f} jobs/s "
            f"(ideal {ideal[n]:.1f}s: {wall / ideal[n]:.2f}x of it)"
        )
    ratio = walls[1] / walls[2]
    verdict = "met" if ratio >= GOAL else "NOT met"
    print(f"  throughput ratio, two workers / one: {ratio:.2f}x (goal >= {GOAL}x: {verdict})")


if __name__ == "__main__":
    main()
