"""`slate import` of two original screenplays that use the whole Fountain syntax.

tests/fixtures/night_ferry.fountain and tests/fixtures/market_kitchen.fountain (written for
these tests) hold a title page, headings of every kind (INT., EXT., INT./EXT., I/E, EST., a
lowercase one, forced ``.HEADING``, scene numbers), cue extensions (V.O., O.S., O.C., ON
PHONE, ON SPEAKER, CONT'D), parentheticals, dual dialogue, lyrics, centered text,
transitions and forced transitions, page breaks, notes, boneyards, sections, synopses,
emphasis, forced action and forced characters. Checked per scene: who is present (names in
action by first name, surname, alias or title in any case; a character named only in mixed
case who speaks off screen), how an off-screen speaker is heard, and that no convention line
and no capitalised sound, verb or shout becomes cast or a prop.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import run_slate
from filmslate import Project
from filmslate.schemas import Breakdown, Scenes

FIXTURES = Path(__file__).resolve().parent / "fixtures"
FERRY = FIXTURES / "night_ferry.fountain"
KITCHEN = FIXTURES / "market_kitchen.fountain"
KITCHEN_ALIASES = ("--alias", "THE WIDOW=ROSA", "--alias", "ROSA MENDES=ROSA")

pytestmark = pytest.mark.slow  # the real `slate` command, in subprocesses


class Imported:
    """One screenplay imported through the `slate` command into a fresh project."""

    def __init__(self, root: Path, script: Path, *options: str) -> None:
        run_slate("init", str(root), check=True)
        self.result = run_slate("import", str(script), *options, cwd=root, check=True)
        self.verify = run_slate("verify", cwd=root)
        with Project(root) as project:
            scenes = project.store.load("SCENES_v001.csv")
            breakdown = project.store.load("BREAKDOWN_v001.csv")
        assert isinstance(scenes, Scenes) and isinstance(breakdown, Breakdown)
        self.present = {row.scene_id: row.characters_present for row in scenes.rows}
        self.rows = {row.scene_id: row for row in breakdown.rows}

    def heard(self, scene_id: str) -> list[str]:
        """The BREAKDOWN notes on how the scene's off-screen speakers are heard."""
        return [r for r in self.rows[scene_id].continuity_risks if "heard" in r]

    def props(self) -> dict[str, list[str]]:
        return {s: row.props_used for s, row in self.rows.items()}


@pytest.fixture(scope="module")
def ferry(tmp_path_factory: pytest.TempPathFactory) -> Imported:
    return Imported(tmp_path_factory.mktemp("ferry") / "film", FERRY)


@pytest.fixture(scope="module")
def kitchen(tmp_path_factory: pytest.TempPathFactory) -> Imported:
    return Imported(tmp_path_factory.mktemp("kitchen") / "film", KITCHEN, *KITCHEN_ALIASES)


# --- the night ferry ---------------------------------------------------------------------------


def test_ferry_imports_and_verifies(ferry: Imported) -> None:
    assert "imported 8 scenes, 4 characters (TEODOR, MARGUERITE, IDA, MCCAFFREY)" in (
        ferry.result.stdout
    )
    assert ferry.verify.returncode == 0, ferry.verify.stdout + ferry.verify.stderr


def test_ferry_cast_per_scene(ferry: Imported) -> None:
    assert ferry.present == {
        "S01": ["TEODOR", "MARGUERITE"],
        "S02": ["MARGUERITE", "TEODOR"],  # O.S. on the quay: in the scene, off camera
        "S03": ["TEODOR", "IDA"],
        "S04": [],  # a centered card "> IDA'S SONG <" and lyrics name nobody
        "S05": [],  # only a voice on the radio
        "S06": ["IDA", "MCCAFFREY", "TEODOR"],  # "Branko": Teodor's surname, learned in S01
        # "Mrs. Vance", mixed case and only in the action, speaks in voice-over: present
        "S07": ["MARGUERITE"],
        "S08": ["MARGUERITE", "IDA", "MCCAFFREY"],  # "McCaffrey" in mixed case
    }


def test_ferry_off_screen_speakers_are_marked(ferry: Imported) -> None:
    assert ferry.heard("S02") == ["present, heard off screen: MARGUERITE (O.S.)"]
    assert ferry.heard("S05") == ["heard only in voice-over: MARGUERITE (V.O.)"]
    assert ferry.heard("S06") == [
        "heard only in voice-over: MARGUERITE (ON SPEAKER)",
        "present, heard off screen: MCCAFFREY (O.C.)",
    ]
    assert ferry.heard("S07") == ["present, heard in voice-over: MARGUERITE (V.O.)"]
    assert ferry.heard("S08") == []  # she speaks on screen there


def test_ferry_props_are_things(ferry: Imported) -> None:
    assert ferry.props() == {
        "S01": ["LIFEBUOY", "MOORING_LINE", "THERMOS"],  # the foghorn BLASTS, a gate SLAMS
        "S02": ["CHART_LAMP"],  # BANG!, BANGS, SPINS, DEAD quiet, DEAD!
        # "Ida BOLTS" is a verb, "the BOLTS" a thing; TICK-TOCK a sound; !THUNDER ROLLS a shout
        "S03": ["TORCH", "DECK_CLOCK", "VAN", "SHOEBOX", "BOLTS"],
        "S04": [],  # a gull CRIES. AAAAH!
        "S05": ["RADIO_HANDSET"],
        "S06": [],
        "S07": [],
        "S08": ["THERMOS", "TICKET"],  # KNOCK-KNOCK
    }


def test_ferry_conventions_make_no_cast(ferry: Imported) -> None:
    cast = {c for row in ferry.rows.values() for c in row.characters_present}
    assert cast == {"TEODOR", "MARGUERITE", "IDA", "MCCAFFREY"}  # not CAPTAIN_ROOK (boneyard)
    everything = " ".join(str(row.model_dump()) for row in ferry.rows.values())
    # the title page, a note, a synopsis, a section, centered text and transitions
    for word in ("FILMSLATE", "LANTERN", "STOWAWAY", "LAST_CROSSING", "ROOK", "FADE", "CUT"):
        assert word not in everything


def test_the_import_says_its_props_are_candidates(ferry: Imported) -> None:
    assert "props_used are candidates" in ferry.result.stdout
    assert "left for the model" in ferry.result.stdout


# --- the market kitchen --------------------------------------------------------------------------


def test_kitchen_cast_per_scene(kitchen: Imported) -> None:
    assert "4 characters (SOL, LENA, ROSA, GRANDPA_ABADI)" in kitchen.result.stdout
    assert kitchen.present == {
        "S01": ["SOL", "LENA"],  # ROSA only in a boneyard and a note
        "S02": ["LENA"],  # Rosa is on the phone, elsewhere
        "S03": ["ROSA"],  # "The Widow" (an alias) speaks on screen
        "S04": ["ROSA"],  # "The Widow's van"; "Abadi" alone names two people: nobody
        "S05": ["ROSA", "SOL", "LENA", "GRANDPA_ABADI"],  # "Mendes" (alias), O.S. grandpa
    }
    assert kitchen.verify.returncode == 0, kitchen.verify.stdout + kitchen.verify.stderr


def test_kitchen_off_screen_speakers_are_marked(kitchen: Imported) -> None:
    assert kitchen.heard("S02") == ["heard only in voice-over: ROSA (ON PHONE)"]
    assert kitchen.heard("S05") == ["present, heard off screen: GRANDPA_ABADI (O.S.)"]
    assert kitchen.rows["S05"].characters_present[-1] == "GRANDPA_ABADI"


def test_kitchen_props_are_things(kitchen: Imported) -> None:
    assert kitchen.props() == {
        # Pans CLATTER, the timer DINGS, Sol GRABS, SLAMS, BANG!, BOOM., **DEAD!**
        "S01": ["PRESSURE_COOKER", "CLEAVER", "ROASTING_TRAY"],
        "S02": ["PHONE"],  # "It RINGS and RINGS"; !NO SHOES ON THE DESK.
        "S03": ["WEDDING_CAKE", "SEATBELT"],  # HONK HONK, SWERVES, BZZZT
        "S04": [],  # SHOUTS, SCATTERING
        # "her RINGS" are things, SLOWLY and WHISPERS are not, CRASH! is a sound
        "S05": ["PASS", "RINGS", "SINK", "BROKEN_PLATE"],
    }
