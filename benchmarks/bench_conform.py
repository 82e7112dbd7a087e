"""Conform benchmark: the time to conform one provider clip to the proxy and final spec.

A hosted model's clip as it arrives (1280x720, 24 fps, 5 s, H.264) is conformed with the
bundled ffmpeg (rules._conform: scale to cover and centre crop, re-time, trim) to:

* the default proxy spec, 640x360 at 12 fps, trimmed to a 4 s shot;
* the default final spec, 1920x1080 at 24 fps, 4 s;
* and, for scale, the probe alone (a clip that already matches costs only this).

Each is the best of N runs, in seconds per clip; the machine's load moves them.
Usage: python benchmarks/bench_conform.py [--runs 5]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from filmslate.rules._conform import ClipTarget, conform
from filmslate.rules._media import probe
from filmslate.synthetic._video import clip_bytes


def best(runs: int, work: Callable[[], object]) -> float:
    """The fastest of ``runs`` calls, in seconds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    raw = clip_bytes(1280, 720, 24, 120)
    proxy = ClipTarget(640, 360, 12, 4.0)
    final = ClipTarget(1920, 1080, 24, 4.0)
    print(f"provider clip: 1280x720 24 fps 5 s, {len(raw):,} bytes; best of {runs}")
    print(f"probe only:           {best(runs, lambda: probe(raw)):.3f} s")
    print(f"conform to proxy:     {best(runs, lambda: conform(raw, proxy)):.3f} s per clip")
    print(f"conform to proxy/pad: {best(runs, lambda: conform(raw, proxy, 'pad')):.3f} s per clip")
    print(f"conform to final:     {best(runs, lambda: conform(raw, final)):.3f} s per clip")


if __name__ == "__main__":
    main()
