"""`slate import`: the example screenplay into SCENES, BREAKDOWN and SCRIPT slices."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import run_slate
from filmslate import Project
from filmslate.schemas import ScriptScene
from filmslate.workflow._importer import import_screenplay

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "heist_at_the_lighthouse.fountain"
ALIASES = {"KEEPER": "GUS"}


def test_example_scenes(project: Project) -> None:
    import_screenplay(project, EXAMPLE, ALIASES)
    scenes = project.store.load("SCENES_v001.csv").rows
    assert [(s.scene_id, s.location, s.time_of_day, s.characters_present) for s in scenes] == [
        ("S01", "HOLM_SOUND_ROWING_BOAT", "NIGHT", ["JONAH", "NELL"]),
        ("S02", "HARBOUR_ROAD_SALOON_CAR", "NIGHT", ["MR_QUILL"]),
        ("S03", "LIGHTHOUSE_COTTAGE", "NIGHT", ["GUS", "NELL", "JONAH"]),
        ("S04", "LIGHTHOUSE_STAIRWELL", "NIGHT (CONTINUOUS)", ["JONAH", "NELL"]),
        ("S05", "LIGHTHOUSE_LAMP_ROOM", "NIGHT (MOMENTS LATER)", ["JONAH", "NELL", "GUS"]),
        ("S06", "LIGHTHOUSE_LAMP_ROOM", "NIGHT (LATER)", ["GUS", "JONAH", "NELL"]),
        ("S07", "HARBOUR_ROAD_SALOON_CAR", "NIGHT", ["MR_QUILL"]),
        ("S08", "LIGHTHOUSE_LAMP_ROOM", "NIGHT (CONTINUOUS)", ["NELL", "GUS", "JONAH"]),
        ("S09", "HARBOUR_ROAD", "NIGHT (CONTINUOUS)", ["MR_QUILL"]),
    ]
    # nothing invented: what code cannot know stays empty for script-breakdown
    assert all(s.goal == s.conflict == s.outcome == "" for s in scenes)
    assert scenes[0].summary == "Black water heaves under driving rain."


def test_example_breakdown(project: Project) -> None:
    import_screenplay(project, EXAMPLE, ALIASES)
    rows = {r.scene_id: r for r in project.store.load("BREAKDOWN_v001.csv").rows}
    assert rows["S01"].new_characters_introduced == ["JONAH", "NELL"]
    assert rows["S03"].new_characters_introduced == ["GUS"]
    assert rows["S04"].new_characters_introduced == []
    assert rows["S06"].new_locations_introduced == []  # the lamp room was introduced in S05
    assert rows["S03"].props_used == ["BRASS_KEY"]
    assert rows["S04"].props_used == ["TORCH", "RADIO", "BRASS_KEY"]
    assert rows["S04"].new_props_introduced == []
    assert "CHAR_GUS_LOCK" in rows["S03"].lock_requirements
    assert "VOICE_MR_QUILL_LOCK" in rows["S01"].lock_requirements
    assert "SET_LIGHTHOUSE_LAMP_ROOM_LOCK" in rows["S05"].lock_requirements
    assert any("voice-over: MR_QUILL" in r for r in rows["S01"].continuity_risks)
    assert any("continuous" in r for r in rows["S04"].continuity_risks)
    assert all(r.state_changes == [] for r in rows.values())


def test_script_slices_and_lineage(project: Project) -> None:
    result = import_screenplay(project, EXAMPLE, ALIASES)
    s04 = project.store.load("SCRIPT_S04_v001.txt")
    assert isinstance(s04, ScriptScene)
    assert s04.text.startswith("INT. LIGHTHOUSE - STAIRWELL - CONTINUOUS")
    assert "Keep climbing." in s04.text and "INT. LIGHTHOUSE - LAMP ROOM" not in s04.text
    lineage = {str(n) for n in project.store.lineage("SCENES_v001.csv")}
    assert lineage == {f"SCRIPT_S0{i}_v001.txt" for i in range(1, 10)}
    assert len(result.records) == 11


def test_reimport_changes_nothing(project: Project) -> None:
    import_screenplay(project, EXAMPLE, ALIASES)
    import_screenplay(project, EXAMPLE, ALIASES)
    assert project.store.latest("SCENES").name.version == 1
    assert project.verify() == []


@pytest.mark.parametrize(
    "content,message",
    [
        ("scene_id,summary\nS01,hello\n", "bad.fountain:1:"),
        ("INT. HOUSE - NIGHT\n\n/* a note never closed\n", "bad.fountain:3:"),
        ("", "bad.fountain:1:"),
    ],
)
def test_malformed_input_is_refused_with_a_line_and_nothing_is_written(
    tmp_path: Path, content: str, message: str
) -> None:
    run_slate("init", str(tmp_path / "film"), check=True)
    script = tmp_path / "bad.fountain"
    script.write_text(content)
    result = run_slate("import", str(script), cwd=tmp_path / "film")
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
    assert list((tmp_path / "film" / "narrative").iterdir()) == []


def test_import_through_the_cli_with_an_alias(tmp_path: Path) -> None:
    run_slate("init", str(tmp_path / "film"), check=True)
    result = run_slate(
        "import", str(EXAMPLE), "--alias", "KEEPER=GUS", cwd=tmp_path / "film", check=True
    )
    assert "imported 9 scenes, 4 characters" in result.stdout
    assert "left for the model" in result.stdout
    assert run_slate("verify", cwd=tmp_path / "film").returncode == 0
