"""Verify and status at scale: `slate verify` against the time to sha256 every file.

Builds a store of 20,000 artifact versions across 500 scenes (as bench_store does), then, in
one run and on the same warm files, measures:

- hash: sha256 of every artifact file with the store's own ``sha256_file`` (what the issue
  measured), and with a bare ``os.read`` loop for reference;
- verify: ``Project.verify`` in process (every check: the folder walk, every file hashed,
  the log chain, the derived figures recomputed), and `slate verify` as a command;
- status: ``Project.status`` in process at 2,000 and at 20,000 versions, and `slate status`.

The target is verify within 2x of hashing the files, and status flat in the versions. Each
figure is the best of a few repeats, hashing and verify taken in turn. Building skips fsync
(a benchmark of reads, not of the write path's durability); everything measured runs the
real code.
Usage: python benchmarks/bench_verify.py [--versions 20000] [--scenes 500] [--repeat 3]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench_store import payloads

from filmslate import Project
from filmslate.core._names import LAYERS
from filmslate.store._index import sha256_file
from filmslate.store._runlog import LOG_RELPATH


def best(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """The best wall-clock and the best CPU time (user + system) of a few runs: on a shared
    machine the CPU time is the steadier of the two."""
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return min(wall), min(cpu)


def best_interleaved(fns: list[Callable[[], object]], repeat: int) -> list[tuple[float, float]]:
    """``best`` of each function, the runs taken in turn (a, b, a, b, ...): on a shared
    machine a burst of load then falls on both sides of a ratio, not on one."""
    runs: list[list[tuple[float, float]]] = [[] for _ in fns]
    for _ in range(repeat):
        for fn, times in zip(fns, runs, strict=True):
            times.append(best(fn, 1))
    return [(min(w for w, _ in t), min(c for _, c in t)) for t in runs]


def status_steps(project: Project) -> int:
    """SQLite virtual-machine steps one ``Project.status`` takes: its work, whatever the load."""
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0

    project.store.conn.set_progress_handler(count, 1)
    project.status()
    project.store.conn.set_progress_handler(None, 1)
    return steps


def artifact_files(root: Path) -> list[Path]:
    return [
        Path(entry.path)
        for layer in LAYERS
        for entry in os.scandir(root / layer)
        if entry.is_file() and f"{layer}/{entry.name}" != LOG_RELPATH
    ]


def hash_with_store(files: list[Path]) -> None:
    for path in files:
        sha256_file(path)


def hash_bare(files: list[Path]) -> None:
    for path in files:
        fd = os.open(path, os.O_RDONLY)
        try:
            hashlib.sha256(os.read(fd, os.fstat(fd).st_size)).hexdigest()
        finally:
            os.close(fd)


def cli_seconds(root: Path, *args: str) -> float:
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "filmslate", *args, "-C", str(root)],
        capture_output=True,
        check=False,
        text=True,
    )
    elapsed = time.perf_counter() - start
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return elapsed


def build(project: Project, total: int, scenes: int, start: int = 0) -> None:
    real_fsync = os.fsync
    os.fsync = lambda fd: None  # building only: durability is not what is measured
    try:
        for n, (kind, shot, data) in enumerate(payloads(total, scenes)):
            if n >= start:
                project.store.write(kind, shot, data)
    finally:
        os.fsync = real_fsync


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--versions", type=int, default=20_000)
    parser.add_argument("--scenes", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    small_n = args.versions // 10
    with (
        tempfile.TemporaryDirectory() as tmp,
        Project.init(Path(tmp) / "bench", name="bench") as project,
    ):
        build(project, small_n, args.scenes)
        status_small = best(project.status, args.repeat * 10)
        steps_small = status_steps(project)
        build(project, args.versions, args.scenes, start=small_n)
        files = artifact_files(project.root)
        assert len(files) == args.versions, len(files)
        assert project.verify() == []  # and warms the page cache for every measurement
        hash_store, hash_lean, verify_s = best_interleaved(
            [lambda: hash_with_store(files), lambda: hash_bare(files), project.verify],
            args.repeat,
        )
        status_large = best(project.status, args.repeat * 10)
        steps_large = status_steps(project)
        cli_verify = best(lambda: cli_seconds(project.root, "verify"), args.repeat)[0]
        cli_status = best(lambda: cli_seconds(project.root, "status"), args.repeat)[0]
    print(f"{args.versions} versions, {args.scenes} scenes, best of {args.repeat} (wall / CPU)")
    for label, (wall, cpu) in (
        ("sha256 every file (store's sha256_file)", hash_store),
        ("sha256 every file (bare os.read)", hash_lean),
        ("verify in process", verify_s),
    ):
        print(f"  {label:40s} {wall:6.3f} s / {cpu:6.3f} s")
    print(
        f"  verify / the store's hashing: {verify_s[0] / hash_store[0]:.2f}x wall, "
        f"{verify_s[1] / hash_store[1]:.2f}x CPU (bare reads: "
        f"{verify_s[0] / hash_lean[0]:.2f}x, {verify_s[1] / hash_lean[1]:.2f}x)"
    )
    print(
        f"  `slate verify` command: {cli_verify:.3f} s, `slate status` command: {cli_status:.3f} s"
    )
    print(
        f"  status in process: {status_small[0] * 1000:.3f} ms at {small_n} versions, "
        f"{status_large[0] * 1000:.3f} ms at {args.versions} "
        f"(x{status_large[0] / status_small[0]:.2f} for x{args.versions / small_n:.0f} versions); "
        f"SQLite steps {steps_small} and {steps_large}"
    )


if __name__ == "__main__":
    main()
