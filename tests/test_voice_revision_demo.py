"""Revising a voice lock on the finished demo (issue 15, Done when): `slate add` of SAUL's
revised VOICE lock, then `slate run`, re-voices exactly the shots where Saul speaks and
re-cuts the film; the scenes Saul is not in keep their dialogue checks.

Saul is absent from S01 and S02, so their dialogue checks stand; S03's check reads S02's as
context, and the run once stopped there ("input DIALOGUE_CHECK_S02_v001.md is stale") because
an input was judged by raw lineage, not as its own scene judges it. And a new `[edit]
target_runtime_s` re-plans the film and re-cuts it on the next `slate run`.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from conftest import FinishedDemo, run_slate
from filmslate import Project
from filmslate.schemas import EditPlan, VoiceLock
from filmslate.synthetic import set_key

pytestmark = pytest.mark.slow


def latest_versions(root: Path, kind: str) -> dict[str, int]:
    with Project(root) as project:
        rows = project.store.conn.execute(
            "SELECT subject, max(version) FROM artifacts WHERE kind = ? GROUP BY subject",
            (kind,),
        ).fetchall()
    return {str(subject): int(version) for subject, version in rows}


def film_plan(root: Path) -> EditPlan:
    with Project(root) as project:
        record = project.store.latest("EDIT", "PROJECT")
        assert record is not None
        plan = project.store.load(record.name)
    assert isinstance(plan, EditPlan)
    return plan


def speakers_shots(root: Path, character: str) -> set[str]:
    shots = set()
    for path in (root / "production").glob("DIALOGUE_S*_v001.csv"):
        with path.open(encoding="utf-8") as rows:
            shots |= {r["shot_id"] for r in csv.DictReader(rows) if r["character"] == character}
    return shots


def test_a_voice_lock_revision_revoices_exactly_its_characters_shots_and_the_cut(
    finished_demo: FinishedDemo, tmp_path: Path
) -> None:
    root = tmp_path / "film"
    shutil.copytree(finished_demo.root, root)
    audio_before = latest_versions(root, "AUDIO")
    checks_before = latest_versions(root, "DIALOGUE_CHECK")
    with Project(root) as project:
        record = project.store.latest("VOICE_LOCK", "SAUL")
        assert record is not None
        lock = project.store.load(record.name)
    assert isinstance(lock, VoiceLock)
    tone = lock.tone.model_copy(update={"pitch": "high" if lock.tone.pitch != "high" else "low"})
    revised = tmp_path / "VOICE_SAUL_LOCK.txt"
    revised.write_bytes(lock.model_copy(update={"tone": tone}).render())
    added = run_slate("add", str(revised), "-C", str(root), "--reason", "a higher voice")
    assert added.returncode == 0, added.stdout + added.stderr

    done = run_slate("run", "-C", str(root), timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "production complete" in done.stdout

    saul = speakers_shots(root, "SAUL")
    assert saul and len(saul) < len(audio_before)
    audio_after = latest_versions(root, "AUDIO")
    changed = {shot for shot, v in audio_after.items() if v != audio_before[shot]}
    assert changed == saul
    assert latest_versions(root, "CUT")["PROJECT"] == 2
    checks_after = latest_versions(root, "DIALOGUE_CHECK")
    assert [checks_after[s] for s in ("S01", "S02")] == [checks_before[s] for s in ("S01", "S02")]
    assert run_slate("verify", "-C", str(root)).returncode == 0


def test_a_new_target_runtime_re_plans_the_film_and_re_cuts_it(
    finished_demo: FinishedDemo, tmp_path: Path
) -> None:
    """`[edit] target_runtime_s` is a setting, not an input: editing it and running again
    re-plans the film to it (it once said "production complete: 0 step(s) ran")."""
    root = tmp_path / "film"
    shutil.copytree(finished_demo.root, root)
    target = round(film_plan(root).runtime_s * 0.9, 1)  # past the 5% tolerance
    config = root / "filmslate.toml"
    config.write_text(set_key(config.read_text(), "edit", "target_runtime_s", f"{target}"))

    done = run_slate("run", "-C", str(root), timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "edit-planner PROJECT: PASS -> EDIT_PROJECT_v002.csv" in done.stdout
    assert latest_versions(root, "CUT")["PROJECT"] == 2
    plan = film_plan(root)
    assert plan.target_s == target and abs(plan.runtime_s - target) <= target * 0.05
    again = run_slate("run", "-C", str(root))
    assert "0 step(s) ran" in again.stdout, again.stdout
