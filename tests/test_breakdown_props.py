"""script-breakdown confirms or rejects the import's prop candidates (issue 14 §7): a
capitalised word the import took for a thing (``She is FURIOUS.``) is named in the answer's
``not_props`` and code drops it from that scene's props; a rejection of a name the scene
does not offer fails the gate naming it. Through `slate import` and `slate run`, answered by
the replay provider.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import run_slate
from filmslate import Project
from filmslate.schemas import Breakdown

PLAY = """Title: The Key

INT. BOATHOUSE - NIGHT

NELL, 30s, drags a ROWING BOAT to the water. She is FURIOUS.

NELL
Where is the key?

EXT. JETTY - NIGHT

Nell holds up a BRASS KEY.

NELL
Found it.
"""
S01 = {
    "prop_owners": [{"prop": "ROWING_BOAT", "owner": "NELL"}],
    "state_changes": ["Nell moves the rowing boat to the water"],
    "continuity_risks": ["the rowing boat is wet from here on"],
}
S02 = {
    "prop_owners": [{"prop": "BRASS_KEY", "owner": "NELL"}],
    "state_changes": ["Nell finds the brass key"],
    "continuity_risks": ["Nell keeps the brass key in her hand"],
}
MOOD = {"name": "furious", "why": "her mood, not a thing"}  # any spelling of the id


def answer(root: Path, name: str, output: dict[str, Any]) -> None:
    path = root / "replay" / "script-breakdown" / "PROJECT" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(output))


@pytest.fixture
def imported(tmp_path: Path) -> Path:
    """Two scenes; the import's candidates are ROWING_BOAT, FURIOUS (S01) and BRASS_KEY (S02)."""
    (tmp_path / "play.fountain").write_text(PLAY)
    run_slate("init", "film", cwd=tmp_path, check=True)
    root = tmp_path / "film"
    run_slate("import", str(tmp_path / "play.fountain"), cwd=root, check=True)
    rows = breakdown(root, "BREAKDOWN_v001.csv").rows
    assert [r.props_used for r in rows] == [["ROWING_BOAT", "FURIOUS"], ["BRASS_KEY"]]
    return root


def breakdown(root: Path, name: str) -> Breakdown:
    with Project(root) as project:
        loaded = project.store.load(name)
    assert isinstance(loaded, Breakdown)
    return loaded


def run_notes(root: Path) -> list[str]:
    with Project(root) as project:
        rows = project.store.conn.execute(
            "SELECT notes FROM runlog WHERE skill_name = 'script-breakdown' AND event = 'run' "
            "ORDER BY seq"
        )
        return [notes for (notes,) in rows]


def out(result: Any) -> str:
    return " ".join((result.stdout + result.stderr).split())


def test_a_rejected_candidate_is_gone_from_the_breakdown(imported: Path) -> None:
    answer(imported, "1-1.json", {**S01, "not_props": [MOOD]})
    answer(imported, "1-2.json", S02)
    done = run_slate("run", "script-breakdown", cwd=imported, check=True)
    said = out(done)
    assert "PASS -> BREAKDOWN_v002.csv" in said
    assert "S01: FURIOUS is not a prop (her mood, not a thing): dropped from props_used" in said
    s01, s02 = breakdown(imported, "BREAKDOWN_v002.csv").rows
    assert s01.props_used == ["ROWING_BOAT"] and s01.new_props_introduced == ["ROWING_BOAT"]
    assert "not a prop: FURIOUS (her mood, not a thing)" in s01.continuity_risks
    assert not any("FURIOUS" in c for c in s01.state_changes)  # never owned, never entered
    assert s02.props_used == ["BRASS_KEY"]  # the other scene untouched
    assert "FURIOUS is not a prop" in run_notes(imported)[-1]


def test_the_note_is_not_a_continuity_risk(imported: Path) -> None:
    """S01 still introduces ROWING_BOAT: code's note does not stand in for its risk."""
    answer(imported, "1-1.json", {**S01, "continuity_risks": [], "not_props": [MOOD]})
    answer(imported, "1-2.json", S02)
    answer(imported, "2-1.json", {**S01, "not_props": [MOOD]})
    done = run_slate("run", "script-breakdown", cwd=imported, check=True)
    said = out(done)
    assert "attempt 1 FAIL (revised): S01: continuity risks are not acknowledged for new " in said
    assert "PASS -> BREAKDOWN_v003.csv (attempt 2" in said


def test_rejecting_a_name_the_scene_does_not_offer_fails_naming_it(imported: Path) -> None:
    bad = [{"name": "BRASS_KEY", "why": "a key is a thing"}, MOOD]
    answer(imported, "1-1.json", {**S01, "not_props": bad})
    answer(imported, "1-2.json", S02)
    # attempt 2 asks S01 alone (no 2-2.json: asking S02 again would find no answer)
    answer(imported, "2-1.json", {**S01, "not_props": [MOOD]})
    done = run_slate("run", "script-breakdown", cwd=imported, check=True)
    said = out(done)
    assert (
        "attempt 1 FAIL (revised): S01: not_props names BRASS_KEY, which is not a prop "
        "candidate of this scene (candidates: ROWING_BOAT, FURIOUS): reject only a listed "
        "candidate" in said
    )
    assert "PASS -> BREAKDOWN_v003.csv (attempt 2" in said
    failed = breakdown(imported, "BREAKDOWN_v002.csv").rows[0]
    assert failed.props_used == ["ROWING_BOAT"]  # what it rejected is dropped, even so
    notes = run_notes(imported)
    assert "not_props names BRASS_KEY" in notes[0] and "FURIOUS is not a prop" in notes[1]


def test_an_answer_without_rejections_keeps_every_candidate(imported: Path) -> None:
    """The answers written before not_props existed (the demo's) still fit, and keep all."""
    owners = [{"prop": "ROWING_BOAT", "owner": "NELL"}, {"prop": "FURIOUS", "owner": "NELL"}]
    answer(imported, "1-1.json", {**S01, "prop_owners": owners})
    answer(imported, "1-2.json", S02)
    run_slate("run", "script-breakdown", cwd=imported, check=True)
    s01 = breakdown(imported, "BREAKDOWN_v002.csv").rows[0]
    assert s01.props_used == ["ROWING_BOAT", "FURIOUS"]


def test_a_rejection_failed_in_an_earlier_process_re_asks_that_scene_only(
    imported: Path,
) -> None:
    """The next `slate run` reads the failure back from the run log (reasons joined with
    "; "): the reason must still name its scene alone, or every scene is asked again."""
    answer(imported, "1-1.json", {**S01, "not_props": [{"name": "BRASS_KEY", "why": "a key"}]})
    answer(imported, "1-2.json", S02)
    stopped = run_slate("run", "script-breakdown", cwd=imported)  # no answer for attempt 2
    assert stopped.returncode == 2 and "no replay answer" in out(stopped)
    answer(imported, "2-1.json", {**S01, "not_props": [MOOD]})  # and no 2-2.json for S02
    done = run_slate("run", "script-breakdown", cwd=imported, check=True)
    assert "PASS -> BREAKDOWN_v003.csv (attempt 2" in out(done)
