"""Locks through the real `slate` command: gate on add, versioning, diff and impact."""

from __future__ import annotations

from pathlib import Path

from conftest import png, run_slate
from filmslate import Project

LOCKS = Path(__file__).resolve().parents[1] / "examples" / "locks"


def test_lock_gate_versioning_diff_and_impact(tmp_path: Path) -> None:
    film = tmp_path / "film"
    run_slate("init", str(film), check=True)

    refused = run_slate("lock", "add", str(LOCKS / "bad" / "CHAR_MR_QUILL_LOCK.txt"), cwd=film)
    assert refused.returncode == 2
    assert "sort of" in refused.stderr and "nothing was written" in refused.stderr
    plain = run_slate("add", str(LOCKS / "bad" / "SET_LIGHTHOUSE_COTTAGE_LOCK.txt"), cwd=film)
    assert plain.returncode == 2 and "anchor" in plain.stderr  # plain add gates locks too
    assert list((film / "continuity").iterdir()) == []
    check = run_slate("lock", "check", str(LOCKS / "bad" / "VOICE_JONAH_LOCK.txt"), cwd=film)
    assert check.returncode == 1 and "FAIL" in check.stdout

    good = LOCKS / "good" / "CHAR_JONAH_LOCK.txt"
    added = run_slate("lock", "add", str(good), cwd=film, check=True)
    assert "continuity/CHAR_JONAH_LOCK_v001.txt: lock gate PASS" in added.stdout
    with Project(film) as p:  # something made from v001: a storyboard frame
        p.store.write("STORYBOARD", "S01_SH01", png(), inputs=["CHAR_JONAH_LOCK_v001.txt"])
    assert "nothing is stale" in run_slate("impact", "CHAR_JONAH_LOCK", cwd=film, check=True).stdout

    changed = tmp_path / "CHAR_JONAH_LOCK.txt"
    text = good.read_text()
    hair_line = next(line for line in text.splitlines() if line.startswith("- hair:"))
    changed.write_text(text.replace(hair_line, "- hair: shaved to the scalp"))
    run_slate("lock", "add", str(changed), cwd=film, check=True)
    assert (film / "continuity" / "CHAR_JONAH_LOCK_v002.txt").is_file()

    diff = run_slate("lock", "diff", "CHAR_JONAH_LOCK", "v001", "v002", cwd=film, check=True)
    assert "appearance.hair" in diff.stdout and "shaved to the scalp" in diff.stdout
    stale = run_slate("impact", "CHAR_JONAH_LOCK", cwd=film, check=True)
    assert "STORYBOARD_S01_SH01_v001.png" in stale.stdout
    assert "1 stale artifact(s)" in stale.stdout
    assert run_slate("verify", cwd=film).returncode == 0
