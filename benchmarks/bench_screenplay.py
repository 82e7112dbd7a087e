"""Screenplay import benchmark: parse and `slate import` over scripts of growing length.

A synthetic Fountain script repeats a six-scene block (cues with extensions, dual dialogue,
names in action in every case, props, sounds, notes, centered text, transitions) and is parsed
at each size; the import (tables, slices and the store's one batch) runs on the smaller sizes.
Prints the CPU time per scene and each size's total against the first (linear = the size ratio).
(benchmarks/bench_import.py measures the `slate` command's start-up, not this.)
Usage: python benchmarks/bench_screenplay.py [--sizes 60 600 6000] [--import-sizes 60 600]
"""

from __future__ import annotations

import argparse
import gc
import tempfile
import time
from pathlib import Path

from filmslate import Project
from filmslate.rules._fountain import parse_fountain
from filmslate.rules._script_tables import breakdown_table, scenes_table
from filmslate.workflow._importer import import_screenplay

BLOCK = """\
INT. HARBOUR OFFICE {n} - NIGHT

NELL OKAFOR (34) sorts a LEDGER by lamplight. [[check the lamp]] The door SLAMS. BANG!

NELL
(to herself)
Again.

JONAH (O.S.)
Nell? You in there?

Ms. Okafor pockets a BRASS KEY. Jonah KNOCKS.

EXT. PIER {n} - CONTINUOUS

> THE PIER <

Rain. Nell runs the length of the pier with the TORCH. Okafor is soaked.

NELL (V.O.)
I never looked back.

CUT TO:

INT. CAR {n} - NIGHT

MR. QUILL (68) lights a CIGARETTE.

MR. QUILL
On time.

JONAH ^
Always.

/* a cut line
GHOST
Boo.
*/

EXT. ROAD {n} - DAY

Quill waits. The RADIO crackles. HONK! HONK!

.FLASHBACK {n}

~Sea, take me home~

= Nell remembers.

# SEQUENCE {n}

EXT. HARBOUR {n} - DAWN

Nell and Jonah haul a NET. Gulls SCREECH.

===

INT. HARBOUR OFFICE {n} - LATER

The LEDGER is gone. NELL stares. Jonah SHRUGS.

> FADE OUT.

"""


def script(scenes: int) -> str:
    """A title page and enough six-scene blocks for `scenes` scenes (rounded up to six)."""
    head = "Title: Bench\nCredit: Written by\nAuthor: filmslate\nDraft date: 1 Dec 2026\n\n"
    return head + "".join(BLOCK.format(n=n) for n in range((scenes + 5) // 6))


def best(action: object, runs: int) -> float:
    """Best of `runs` CPU times of a zero-argument callable, in seconds (CPU, not wall: the
    machine may be shared)."""
    times = []
    for _ in range(runs):
        gc.collect()
        gc.disable()  # as timeit does: the collector's full passes grow with the heap
        try:
            start = time.process_time()
            action()  # type: ignore[operator]
            times.append(time.process_time() - start)
        finally:
            gc.enable()
    return min(times)


def parse_and_tables(text: str) -> None:
    """What code does per import, without the store."""
    play = parse_fountain(text)
    scenes_table(play)
    breakdown_table(play)


def imported(text: str) -> None:
    """A fresh project and a real import: tables, slices, one batch."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "script.fountain"
        path.write_text(text, encoding="utf-8")
        project = Project.init(Path(tmp) / "film")
        import_screenplay(project, path)


def report(title: str, sizes: list[int], seconds: list[float]) -> None:
    """Per-size totals, per-scene times and the ratio to the first size."""
    print(title)
    for size, total in zip(sizes, seconds, strict=True):
        ratio = total / seconds[0]
        print(
            f"  {size:>6} scenes  {total * 1000:9.1f} ms  {total / size * 1e6:8.1f} us/scene  "
            f"{ratio:6.1f}x (linear: {size / sizes[0]:.0f}x)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[60, 600, 6000])
    parser.add_argument("--import-sizes", type=int, nargs="*", default=[60, 600])
    parser.add_argument("--runs", type=int, default=3, help="best of this many runs")
    args = parser.parse_args()
    texts = {n: script(n) for n in {*args.sizes, *args.import_sizes}}
    parse_fountain(texts[args.sizes[0]])  # warm imports and regex caches, untimed
    parsed = [best(lambda n=n: parse_and_tables(texts[n]), args.runs) for n in args.sizes]
    report("parse_fountain + SCENES + BREAKDOWN tables:", args.sizes, parsed)
    if args.import_sizes:
        runs = max(1, args.runs - 2)
        done = [best(lambda n=n: imported(texts[n]), runs) for n in args.import_sizes]
        report("import_screenplay (store included):", args.import_sizes, done)


if __name__ == "__main__":
    main()
