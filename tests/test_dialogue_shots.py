"""Dialogue per shot (issue 15 §1): a synthetic film whose first scene has a Fountain script is
produced by the real `slate run` (child process); dialogue-shots places every line in one shot,
in order, and its gate judges a table a person adds: a line left out, or a later line in an
earlier shot, stops the run with the reason, while a valid reassignment is kept and voiced.
The placement rule and the lines read from SCENES are checked on their own below."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import run_slate
from e2e_film import make_film, plugin_env, query
from filmslate import Project
from filmslate.engine._speech import wav_cues
from filmslate.schemas import DialogueRow, DialogueShots, SceneRow, ShotRow
from filmslate.skills.production import assign_lines, dialogue_failures, scene_lines

SLOW = pytest.mark.slow
SHAPE = (2, 3)  # scenes, shots per scene; S01's cast is ADA and BRAM
SCRIPT = """SCRIPT: S01

INT. HARBOUR OFFICE - NIGHT

ADA checks the signal log.

ADA
The signal died at nine.

BRAM
(quietly)
Then we read it again.

ADA (V.O.)
We had three nights left.
"""
# Where the rule puts them: SH01 is a wide shot of the empty office, SH02 the two-shot of Ada
# and Bram (both lines: shot-planner sizes it to hold them), SH03 Ada's close-up takes the
# voice-over, as SH02 is full.
PLACED = [
    ("S01_SH02", 1, "ADA", "The signal died at nine.", "", "", "yes"),
    ("S01_SH02", 2, "BRAM", "Then we read it again.", "(quietly)", "", "yes"),
    ("S01_SH03", 3, "ADA", "We had three nights left.", "", "V.O.", "no"),
]


def produce(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """The film with S01's script, produced by `slate run`; its root and the child's env."""
    root = tmp_path / "film"
    make_film(root, *SHAPE, {("visual", t): '"animatic"' for t in ("premium", "mid", "low")})
    env = plugin_env(tmp_path / "site", *SHAPE, {})
    script = tmp_path / "SCRIPT_S01.txt"
    script.write_text(SCRIPT, encoding="utf-8")
    added = run_slate("add", str(script), "-C", str(root), "--reason", "the script", env=env)
    assert added.returncode == 0, added.stdout + added.stderr
    result = run_slate("run", "-C", str(root), env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "production complete" in result.stdout
    return root, env


@pytest.fixture(scope="module")
def produced(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The film produced once for the module's tests (each works on its own copy)."""
    return produce(tmp_path_factory.mktemp("dialogue"))


@pytest.fixture
def film(
    produced: tuple[Path, dict[str, str]], tmp_path: Path
) -> Iterator[tuple[Path, dict[str, str]]]:
    """A copy of the produced film, and the environment of its `slate` processes."""
    root, env = produced
    copy = tmp_path / "film"
    shutil.copytree(root, copy)
    yield copy, env


def latest(root: Path, kind: str, subject: str) -> tuple[Any, int]:
    with Project(root) as project:
        record = project.store.latest(kind, subject)
        assert record is not None
        data = project.store.read(record.name) if record.name.spec.binary else None
        return data or project.store.load(record.name), record.name.version


def rows_of(table: DialogueShots) -> list[tuple[Any, ...]]:
    return [
        (r.shot_id, r.line_order, r.character, r.text, r.parenthetical, r.extension, r.on_screen)
        for r in table.rows
    ]


def planted(tmp_path: Path, rows: list[tuple[str, int]]) -> Path:
    """A hand-made DIALOGUE_S01.csv placing (shot, line) pairs, the words as in PLACED."""
    words = {line: rest for _, line, *rest in PLACED}
    table = DialogueShots(
        rows=[
            DialogueRow(
                shot_id=shot,
                line_order=line,
                character=words[line][0],
                text=words[line][1],
                parenthetical=words[line][2],
                extension=words[line][3],
                on_screen=words[line][4],
            )
            for shot, line in rows
        ]
    )
    path = tmp_path / "DIALOGUE_S01.csv"
    path.write_bytes(table.render())
    return path


def add_and_run(root: Path, env: dict[str, str], table: Path) -> Any:
    added = run_slate("add", str(table), "-C", str(root), "--reason", "my edit", env=env)
    assert added.returncode == 0, added.stdout + added.stderr
    return run_slate("run", "-C", str(root), env=env)


@SLOW
def test_every_line_of_the_scene_lands_in_one_shot_in_order(
    film: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    root, env = film
    table, version = latest(root, "DIALOGUE", "S01")
    assert isinstance(table, DialogueShots) and version == 1
    assert rows_of(table) == PLACED
    empty, _ = latest(root, "DIALOGUE", "S02")  # no script, no quotation in its summary
    assert isinstance(empty, DialogueShots) and empty.rows == []
    runs = query(
        root,
        "SELECT target, outcome, model_used, CAST(actual_cost AS REAL) FROM runlog "
        "WHERE skill_name = 'dialogue-shots' AND event = 'run' ORDER BY seq",
    )
    assert runs == [("S01", "PASS", "builtin", 0.0), ("S02", "PASS", "builtin", 0.0)]
    for shot, lines in (("S01_SH01", []), ("S01_SH02", [1, 2]), ("S01_SH03", [3])):
        audio, _ = latest(root, "AUDIO", shot)
        assert [c.line for c in wav_cues(audio)] == lines
    again = run_slate("run", "-C", str(root), env=env)  # up to date: nothing voiced again
    assert again.returncode == 0, again.stdout + again.stderr
    assert latest(root, "DIALOGUE", "S01")[1] == 1
    assert latest(root, "AUDIO", "S01_SH02")[1] == 1


@SLOW
def test_a_planted_table_missing_a_line_or_out_of_order_stops_the_run(
    film: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    root, env = film
    result = add_and_run(root, env, planted(tmp_path, [("S01_SH02", 1), ("S01_SH03", 3)]))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "stopped at dialogue-shots on S01" in result.stdout
    assert "line 2 (BRAM: 'Then we read it again.') is in no shot" in result.stdout
    assert latest(root, "AUDIO", "S01_SH03")[1] == 1  # nothing voiced from the planted table
    table = planted(tmp_path, [("S01_SH02", 1), ("S01_SH03", 2), ("S01_SH02", 3)])
    result = add_and_run(root, env, table)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "line 3 is in S01_SH02, before line 2's S01_SH03" in result.stdout
    assert latest(root, "AUDIO", "S01_SH02")[1] == 1


@SLOW
def test_a_persons_valid_reassignment_is_kept_and_voiced(
    film: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    root, env = film
    moved = [("S01_SH02", 1), ("S01_SH02", 2), ("S01_SH02", 3)]  # the voice-over over the two-shot
    result = add_and_run(root, env, planted(tmp_path, moved))
    assert "dialogue-shots S01: PASS -> DIALOGUE_S01_v003.csv" in result.stdout, result.stdout
    assert "scratch-voices S01_SH02: PASS" in result.stdout, result.stdout
    table, _ = latest(root, "DIALOGUE", "S01")
    assert [(r.shot_id, r.line_order) for r in table.rows] == moved
    audio, version = latest(root, "AUDIO", "S01_SH02")
    assert version == 2 and [c.line for c in wav_cues(audio)] == [1, 2, 3]
    audio, _ = latest(root, "AUDIO", "S01_SH03")
    assert wav_cues(audio) == []


# -- the rule and the gate on their own --------------------------------------------------------


def shot(number: int, seconds: float, camera: str, *cast: str) -> ShotRow:
    return ShotRow(
        shot_id=f"S01_SH{number:02d}",
        scene_id="S01",
        duration_s=seconds,
        camera_type=camera,
        blocking_summary="the office",
        set_id="OFFICE",
        char_ids=list(cast),
        hero_tier="B",
        complexity_level="low",
        regen_risk_estimate="low",
    )


def scene(summary: str, *cast: str) -> SceneRow:
    return SceneRow(scene_id="S01", summary=summary, location="OFFICE", characters_present=cast)


def test_a_line_goes_to_a_shot_that_shows_its_speaker_never_an_earlier_one() -> None:
    shots = [
        shot(1, 4, "close_up", "BRAM"),
        shot(2, 3, "insert", "ADA"),
        shot(3, 3, "medium", "ADA"),
    ]
    lines = scene_lines(
        None, scene('Ada says "Hold the lamp." Bram answers "It is out."', "Ada", "Bram")
    )
    rows = assign_lines(lines, shots)
    # Ada's line skips the insert (no face); Bram's, later, may not go back to SH01
    assert [(r.shot_id, r.character, r.on_screen) for r in rows] == [
        ("S01_SH03", "ADA", "yes"),
        ("S01_SH03", "BRAM", "no"),
    ]
    assert dialogue_failures(DialogueShots(rows=rows), lines, shots) == []


def test_only_a_quotation_a_character_speaks_is_a_line_of_the_summary() -> None:
    row = scene('A sign reads "Closed". Nell whispers "Go." Then Quill nods.', "Nell", "Quill")
    assert [(line.character, line.text) for line in scene_lines(None, row)] == [("NELL", "Go.")]
    row = scene('The old fisherman mutters "Storm by dawn."', "OLD_FISHERMAN")
    assert [line.character for line in scene_lines(None, row)] == ["OLD_FISHERMAN"]


def test_the_gate_names_a_changed_line_and_a_shot_nobody_planned() -> None:
    shots = [shot(1, 4, "medium", "ADA")]
    lines = scene_lines(None, scene('Ada says "Hold the lamp."', "Ada"))
    bad = DialogueShots(
        rows=[DialogueRow(shot_id="S01_SH07", line_order=1, character="ADA", text="Drop it.")]
    )
    reasons = dialogue_failures(bad, lines, shots)
    assert any("line 1 reads ADA: 'Drop it.'" in r for r in reasons), reasons
    assert any("S01_SH07, which is not in the shot list" in r for r in reasons), reasons
