"""`slate run --jobs 8` on the demo makes what a sequential run makes (issue 17, Done when).

The demo is produced once uninterrupted, one step after another (conftest ``finished_demo``),
and once more through the real `slate run --jobs 8`. Both must hold the same artifact set
(every name and version), the same bytes in every artifact, and the same spend in total, per
scope and per shot. Two kinds are compared by name and version only, because they are
snapshots of a moment, not products of their inputs: BUDGET_STATUS lists what every cap had
committed when it was written (with scenes side by side, other scenes have spent more by
then), and the run log's CSV export lists rows in the order they happened. The scratch voices
(and so the cut's sound) differ between two sequential runs too (see SPOKEN).
"""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

import imageio_ffmpeg
import pytest

from conftest import FinishedDemo, demo_project, run_slate

SNAPSHOTS = ("BUDGET_STATUS_", "RUN_LOG_")
# espeak-ng does not speak some lines to the same samples twice, even in two sequential runs
# of the demo (7 of its 22 AUDIO files differ between them), and the cut carries that sound:
# an AUDIO file is compared by its length and the cues it carries, a cut by its pictures
SPOKEN = ("AUDIO_", "CUT_")


def artifacts(root: Path) -> dict[str, str]:
    """Every stored artifact version (its path in the project) and the sha256 of its bytes
    (of a spoken one: its length and its cues)."""
    uri = f"file:{root / '.filmslate' / 'index.sqlite'}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as conn:
        names = [row[0] for row in conn.execute("SELECT relpath FROM artifacts")]
    return {name: digest(root / name) for name in names}


def digest(path: Path) -> str:
    data = path.read_bytes()
    if path.name.startswith("AUDIO_"):
        return f"{len(data)} {data[data.rfind(b'filmslate cues') :]!r}"
    if path.name.startswith("CUT_"):
        command = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path)]
        command += ["-map", "0:v", "-f", "md5", "-"]
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return hashlib.sha256(data).hexdigest()


def spend(root: Path) -> dict[tuple[str, str], float]:
    """The ledger's spend by (scene, shot), and the total under ("", "")."""
    uri = f"file:{root / '.filmslate' / 'index.sqlite'}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as conn:
        rows = conn.execute(
            "SELECT scene_id, shot_id, sum(CAST(actual_cost AS REAL)) FROM runlog "
            "WHERE event = 'spend' GROUP BY scene_id, shot_id"
        ).fetchall()
    by = {(scene, shot): round(cost, 9) for scene, shot, cost in rows}
    by[("", "")] = round(sum(by.values()), 9)
    return by


@pytest.mark.slow
def test_jobs_8_makes_the_artifacts_and_spend_of_a_sequential_run(
    tmp_path: Path, finished_demo: FinishedDemo
) -> None:
    assert finished_demo.status == "complete", finished_demo.describe()
    root = tmp_path / "side-b"
    demo_project(root)
    result = run_slate("run", "--jobs", "8", "-C", str(root), timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "production complete" in result.stdout
    assert "shots, 8 at once" in result.stdout  # the concurrent phase's progress bar

    sequential, concurrent = artifacts(finished_demo.root), artifacts(root)
    assert sorted(concurrent) == sorted(sequential)  # the same names and versions
    differ = [
        name
        for name in sequential
        if sequential[name] != concurrent[name] and not Path(name).name.startswith(SNAPSHOTS)
    ]
    assert differ == []
    assert spend(root) == pytest.approx(spend(finished_demo.root))
    assert run_slate("verify", "-C", str(root)).returncode == 0
