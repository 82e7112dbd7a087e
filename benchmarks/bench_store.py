"""Store benchmark: 20,000 artifact versions across 500 scenes.

Prints writes/s, `slate status` time and `slate verify` time at 2,000 and at 20,000 versions.
Compare the ratios printed in one run; absolute times depend on the (shared) machine.
Usage: python benchmarks/bench_store.py [--versions 20000] [--scenes 500]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from filmslate import Project

SHOTS_PER_SCENE = 4
KINDS = (("STORYBOARD", b"\x89PNG\r\n\x1a\n"), ("PROXY", b"\0\0\0\x18ftypisom"))


def payloads(total: int, scenes: int):
    """(kind, shot, bytes) in production order: every shot of every scene, round after round."""
    per_round = scenes * SHOTS_PER_SCENE * len(KINDS)
    for n in range(total):
        slot = n % per_round
        scene, rest = divmod(slot, SHOTS_PER_SCENE * len(KINDS))
        shot, kind_index = divmod(rest, len(KINDS))
        kind, magic = KINDS[kind_index]
        yield kind, f"S{scene + 1:03d}_SH{shot + 1:02d}", magic + os.urandom(256)


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def cli_seconds(root: Path, *args: str) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "filmslate", *args, "-C", str(root)],
        capture_output=True,
        check=False,
    )
    return time.perf_counter() - start


def measure(project: Project, label: str) -> dict[str, float]:
    status_s, _ = timed(project.status)
    verify_s, problems = timed(project.verify)
    assert problems == [], problems[:5]
    row = {
        "status_s": status_s,
        "verify_s": verify_s,
        "cli_status_s": cli_seconds(project.root, "status"),
        "cli_verify_s": cli_seconds(project.root, "verify"),
    }
    print(
        f"{label:>8} versions | status {status_s * 1000:7.1f} ms "
        f"(CLI {row['cli_status_s']:.2f} s) | verify {verify_s:6.2f} s "
        f"(CLI {row['cli_verify_s']:.2f} s)",
        flush=True,
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--versions", type=int, default=20_000)
    parser.add_argument("--scenes", type=int, default=500)
    args = parser.parse_args()
    checkpoints = sorted({args.versions // 10, args.versions})
    with (
        tempfile.TemporaryDirectory() as tmp,
        Project.init(Path(tmp) / "bench", name="bench") as project,
    ):
        results, write_time = {}, 0.0
        for written, (kind, shot, data) in enumerate(payloads(args.versions, args.scenes), 1):
            start = time.perf_counter()
            project.store.write(kind, shot, data)
            write_time += time.perf_counter() - start
            if written in checkpoints:
                print(
                    f"{written:>8} versions | {written / write_time:7.1f} writes/s so far",
                    flush=True,
                )
                results[written] = measure(project, str(written))
        small, large = results[checkpoints[0]], results[checkpoints[-1]]
        growth = checkpoints[-1] / checkpoints[0]
        print(
            f"\nversions x{growth:.0f}: verify time x{large['verify_s'] / small['verify_s']:.1f}"
            f" (linear = x{growth:.0f}), status time x"
            f"{large['status_s'] / max(small['status_s'], 1e-9):.1f}"
        )


if __name__ == "__main__":
    main()
