"""The Fountain importer: headings, cues, aliases, props, errors and the example screenplay."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from filmslate.core._errors import SchemaError
from filmslate.rules import _fountain_props as lexicon
from filmslate.rules._fountain import (
    DialogueLine,
    ParsedScene,
    Screenplay,
    canonical_id,
    parse_fountain,
)
from filmslate.rules._script_tables import present, voice_notes

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "heist_at_the_lighthouse.fountain"


def one_scene(body: str, **kwargs: object) -> ParsedScene:
    play = parse_fountain(body, **kwargs)  # type: ignore[arg-type]
    assert len(play.scenes) == 1
    return play.scenes[0]


def heading(line: str) -> ParsedScene:
    return one_scene(f"{line}\n\nSomething happens.\n")


# --- headings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "interior", "location", "time"),
    [
        ("INT. KITCHEN - NIGHT", "INT", "KITCHEN", "NIGHT"),
        ("EXT. BEACH - DAY", "EXT", "BEACH", "DAY"),
        ("INT./EXT. CAR - DUSK", "INT/EXT", "CAR", "DUSK"),
        ("INT/EXT CAR - DAWN", "INT/EXT", "CAR", "DAWN"),
        ("I/E. VAN - MORNING", "INT/EXT", "VAN", "MORNING"),
        ("EXT./INT. BARN - EVENING", "INT/EXT", "BARN", "EVENING"),
        ("EST. CITY SKYLINE - NIGHT", "EXT", "CITY SKYLINE", "NIGHT"),
        ("INT KITCHEN - NIGHT", "INT", "KITCHEN", "NIGHT"),
        ("INT. KITCHEN -- NIGHT", "INT", "KITCHEN", "NIGHT"),
        ("INT. KITCHEN — NIGHT", "INT", "KITCHEN", "NIGHT"),
        ("INT. HOUSE - KITCHEN - NIGHT", "INT", "HOUSE KITCHEN", "NIGHT"),
        ("INT. LIGHTHOUSE - LAMP ROOM - LATER", "INT", "LIGHTHOUSE LAMP ROOM", "LATER"),
        ("INT. HOUSE - KITCHEN", "INT", "HOUSE KITCHEN", ""),
        ("EXT. SAINT-MALO HARBOUR", "EXT", "SAINT-MALO HARBOUR", ""),
        ("int. kitchen - night", "INT", "KITCHEN", "NIGHT"),
        ("INT. KITCHEN - NIGHT #12#", "INT", "KITCHEN", "NIGHT"),
        ("INT. KITCHEN - NIGHT #12A#", "INT", "KITCHEN", "NIGHT"),
        (".FLASHBACK - THE PIER - NIGHT", "", "THE PIER", "NIGHT (FLASHBACK)"),  # issue 16 §2
        (".INT. KITCHEN - NIGHT", "INT", "KITCHEN", "NIGHT"),
        ("INT. KITCHEN - EARLY MORNING", "INT", "KITCHEN", "EARLY MORNING"),
        ("INT. KITCHEN - LATER THAT NIGHT", "INT", "KITCHEN", "LATER THAT NIGHT"),
        ("EXT. BEACH - DAY (1987)", "EXT", "BEACH", "DAY"),
        ("INT. KITCHEN - (CONTINUOUS)", "INT", "KITCHEN", "CONTINUOUS"),
        ("INT. MOTEL 6 - ROOM 12 - NIGHT", "INT", "MOTEL 6 ROOM 12", "NIGHT"),
    ],
)
def test_heading_variants(line: str, interior: str, location: str, time: str) -> None:
    scene = heading(line)
    assert (scene.interior, scene.location, scene.time_of_day) == (interior, location, time)
    assert scene.scene_id == "S01"
    assert scene.line == 1


def test_heading_keeps_text_but_drops_scene_number_and_forcing_dot() -> None:
    assert heading("INT. KITCHEN - NIGHT #12#").heading == "INT. KITCHEN - NIGHT"
    assert heading(".THE VOID").heading == "THE VOID"
    assert heading(".THE VOID").location == "THE VOID"


@pytest.mark.parametrize(
    ("time", "continuous"),
    [
        ("CONTINUOUS", True),
        ("SAME", True),
        ("SAME TIME", True),
        ("MOMENTS LATER", True),
        ("A MOMENT LATER", True),
        ("SECONDS LATER", True),
        ("LATER", False),
        ("HOURS LATER", False),
        ("NIGHT", False),
        ("DAY", False),
    ],
)
def test_continuous_times(time: str, continuous: bool) -> None:
    scene = heading(f"INT. KITCHEN - {time}")
    assert scene.time_of_day == time
    assert scene.continuous is continuous


def test_a_heading_needs_a_blank_line_before_it() -> None:
    play = parse_fountain("INT. A - DAY\n\nShe walks.\nINT. B - DAY\n\nMore.\n")
    assert [s.location for s in play.scenes] == ["A"]


def test_lowercase_heading_needs_a_blank_line_after_it() -> None:
    play = parse_fountain("INT. A - DAY\n\nInt. and ext. are words she likes.\nShe smiles.\n")
    assert len(play.scenes) == 1
    assert play.scenes[0].action == ("Int. and ext. are words she likes. She smiles.",)


def test_cue_may_follow_a_heading_directly() -> None:
    scene = one_scene("INT. A - DAY\nNELL\nHi.\n")
    assert scene.dialogue == (DialogueLine("NELL", "Hi.", 2, None),)


def test_ellipsis_is_action_not_a_forced_heading() -> None:
    scene = one_scene("INT. A - DAY\n\n...and then nothing.\n")
    assert scene.action == ("...and then nothing.",)


# --- scene ids -------------------------------------------------------------------------------


def test_scene_ids_are_two_digits_up_to_99() -> None:
    text = "".join(f"INT. ROOM {n} - DAY\n\nAction.\n\n" for n in range(1, 100))
    ids = [s.scene_id for s in parse_fountain(text).scenes]
    assert ids[0] == "S01" and ids[-1] == "S99" and len(ids) == 99


def test_scene_ids_widen_to_three_digits_above_99() -> None:
    text = "".join(f"INT. ROOM {n} - DAY\n\nAction.\n\n" for n in range(1, 101))
    ids = [s.scene_id for s in parse_fountain(text).scenes]
    assert ids[0] == "S001" and ids[9] == "S010" and ids[-1] == "S100"
    assert all(len(i) == 4 for i in ids)


# --- cues and dialogue ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cue", "speaker", "extension"),
    [
        ("NELL", "NELL", None),
        ("NELL (V.O.)", "NELL", "V.O."),
        ("NELL (VO)", "NELL", "V.O."),
        ("NELL (O.S.)", "NELL", "O.S."),
        ("NELL (O.C.)", "NELL", "O.C."),
        ("NELL (V/O)", "NELL", "V.O."),
        ("NELL (O/S)", "NELL", "O.S."),
        ("NELL (CONT'D)", "NELL", None),
        ("NELL (CONT’D)", "NELL", None),
        ("NELL (CONTD)", "NELL", None),
        ("NELL (CONT'D) (V.O.)", "NELL", "V.O."),
        ("NELL (V.O.) (CONT'D)", "NELL", "V.O."),
        ("NELL (into radio)", "NELL", "INTO RADIO"),
        ("MRS. HALE", "MRS_HALE", None),
        ("DR. J.R. OKAFOR", "DR_JR_OKAFOR", None),
        ("MARY-ANNE", "MARY_ANNE", None),
        ("O'BRIEN (O.S.)", "OBRIEN", "O.S."),
        ("JOSÉ", "JOSE", None),
        ("GUARD 2", "GUARD_2", None),
        ("@McCLANE", "MCCLANE", None),
        ("@Tom (V.O.)", "TOM", "V.O."),
    ],
)
def test_cue_extensions_and_ids(cue: str, speaker: str, extension: str | None) -> None:
    scene = one_scene(f"INT. A - DAY\n\n{cue}\nHello there.\n")
    assert scene.dialogue == (DialogueLine(speaker, "Hello there.", 3, extension),)
    assert scene.characters == (speaker,)


def test_parentheticals_are_dropped_and_lines_joined() -> None:
    scene = one_scene(
        "INT. A - DAY\n\nNELL\n(quietly)\nFirst line,\nsecond line.\n(beat)\n*Last*.\n"
    )
    assert scene.dialogue[0].text == "First line, second line. Last."


def test_speakers_in_order_of_first_cue() -> None:
    scene = one_scene("INT. A - DAY\n\nB\nHi.\n\nA\nHi.\n\nB\nAgain.\n")
    assert scene.characters == ("B", "A")
    assert [d.line for d in scene.dialogue] == [3, 6, 9]


def test_aliases_merge_names() -> None:
    text = (
        "INT. A - DAY\n\nDETECTIVE RUIZ\nFreeze.\n\nRUIZ (O.S.)\nI said freeze.\n\n"
        "Detective Ruiz draws.\n"
    )
    scene = one_scene(text, aliases={"Detective Ruiz": "ruiz"})
    assert [d.speaker for d in scene.dialogue] == ["RUIZ", "RUIZ"]
    assert scene.characters == ("RUIZ",)
    plain = one_scene(text)
    assert plain.characters == ("DETECTIVE_RUIZ", "RUIZ")


def test_empty_alias_is_refused() -> None:
    with pytest.raises(SchemaError, match="alias"):
        parse_fountain("INT. A - DAY\n\nHi.\n", aliases={"...": "RUIZ"})


def test_dual_dialogue() -> None:
    scene = one_scene("INT. A - DAY\n\nNELL\nLeft!\n\nJONAH ^\nRight!\n")
    assert scene.dialogue == (
        DialogueLine("NELL", "Left!", 3, None),
        DialogueLine("JONAH", "Right!", 6, None),
    )


def test_forced_character_with_lowercase_name() -> None:
    scene = one_scene("INT. A - DAY\n\n@the stranger\nEvening.\n")
    assert scene.dialogue[0].speaker == "THE_STRANGER"


def test_uppercase_line_needs_blank_before_to_be_a_cue() -> None:
    scene = one_scene("INT. A - DAY\n\nShe reads the sign:\nNO ENTRY\nand goes in.\n")
    assert scene.dialogue == ()
    assert scene.action == ("She reads the sign: NO ENTRY and goes in.",)


def test_shouted_caps_action_is_not_a_cue() -> None:
    scene = one_scene("INT. A - DAY\n\nBOOM!\nThe door flies open.\n")
    assert scene.dialogue == ()


# --- forced and skipped elements -------------------------------------------------------------


def test_forced_action_and_centered_text() -> None:
    scene = one_scene("INT. A - DAY\n\n!SCREAMS FROM BELOW\nShe runs.\n\n>THE HOUSE<\n")
    assert scene.dialogue == ()
    assert scene.action == ("SCREAMS FROM BELOW She runs.",)  # a centered card is not action
    assert scene.props == ()


def test_transitions_sections_synopses_page_breaks_are_skipped() -> None:
    text = (
        "FADE IN:\n\n# ACT ONE\n\n= The set-up.\n\nINT. A - DAY\n\n= A synopsis.\n\n"
        "She waits.\n\nCUT TO:\n\n>SMASH CUT\n\n===\n\nEXT. B - NIGHT\n\nRain.\n\nFADE OUT.\n"
    )
    play = parse_fountain(text)
    assert [s.action for s in play.scenes] == [("She waits.",), ("Rain.",)]
    assert play.props == ()


def test_transition_needs_uppercase_and_to() -> None:
    scene = one_scene("INT. A - DAY\n\nShe heads back to:\n\nHe waits.\n")
    assert scene.action == ("She heads back to:", "He waits.")


def test_title_page() -> None:
    text = (
        "Title: **THE LONG NIGHT**\nCredit: Written by\nAuthor: A. Writer\n"
        "Notes:\n    Line one\n    Line two\n\nINT. A - DAY\n\nAction.\n"
    )
    play = parse_fountain(text)
    assert play.title == "THE LONG NIGHT"
    assert play.scenes[0].line == 8


def test_multiline_title() -> None:
    play = parse_fountain("Title:\n    _Heist at_\n    the Lighthouse\n\nINT. A - DAY\n\nX.\n")
    assert play.title == "Heist at the Lighthouse"


def test_no_title_page() -> None:
    assert parse_fountain("INT. A - DAY\n\nAction.\n").title is None
    assert parse_fountain("FADE IN:\n\nINT. A - DAY\n\nAction.\n").title is None
    assert parse_fountain("Author: Somebody\n\nINT. A - DAY\n\nAction.\n").title is None


def test_notes_and_boneyard_are_skipped_and_lines_stay_true() -> None:
    text = (
        "INT. A - DAY\n"  # 1
        "\n"  # 2
        "She [[a note]] waits.\n"  # 3
        "\n"  # 4
        "/* a cut\n"  # 5
        "\n"  # 6
        "GHOST\n"  # 7
        "Boo.\n"  # 8
        "*/\n"  # 9
        "\n"  # 10
        "NELL\n"  # 11
        "[[ spanning\n"  # 12
        "note ]]\n"  # 13
        "Hello.\n"  # 14
        "\n"  # 15
        "INT. B - NIGHT\n"  # 16
    )
    play = parse_fountain(text)
    first, second = play.scenes
    assert first.action == ("She waits.",)
    assert first.dialogue == (DialogueLine("NELL", "Hello.", 11, None),)
    assert "GHOST" not in play.characters
    assert second.line == 16


# --- characters mentioned in action ----------------------------------------------------------


def test_mentioned_characters() -> None:
    text = (
        "INT. A - DAY\n\nNELL\nWho's there?\n\nINT. B - DAY\n\nNELL ADAIR (34) hides. "
        "MR. QUILL watches. Jonah's hand shakes.\n\nJONAH\nQuiet.\n\n"
        "MR. QUILL\nI see you.\n"
    )
    play = parse_fountain(text)
    second = play.scenes[1]
    assert second.characters == ("JONAH", "MR_QUILL")
    assert second.mentioned_characters == ("NELL",)
    assert second.props == ()
    assert play.characters == ("NELL", "MR_QUILL", "JONAH")


def test_honorific_dropped_surname_is_a_mention() -> None:
    text = "INT. A - DAY\n\nMR. QUILL\nHello.\n\nINT. B - DAY\n\nQuill waits.\n"
    assert parse_fountain(text).scenes[1].mentioned_characters == ("MR_QUILL",)


def test_nonspeaking_character_introduced_with_age() -> None:
    text = (
        "INT. A - DAY\n\nAn OLD FISHERMAN (70s) mends a NET.\n\n"
        "INT. B - DAY\n\nThe OLD FISHERMAN is gone.\n"
    )
    play = parse_fountain(text)
    assert play.scenes[0].mentioned_characters == ("OLD_FISHERMAN",)
    assert play.scenes[0].props == ("NET",)
    assert play.scenes[1].mentioned_characters == ("OLD_FISHERMAN",)
    assert play.characters == ("OLD_FISHERMAN",)
    assert play.props == ("NET",)


def test_alias_names_in_action_are_mentions() -> None:
    text = "INT. A - DAY\n\nTHE KEEPER (70s) sleeps.\n\nINT. B - DAY\n\nGUS\nMorning.\n"
    play = parse_fountain(text, aliases={"KEEPER": "GUS"})
    assert play.scenes[0].mentioned_characters == ("GUS",)
    assert play.characters == ("GUS",)


# --- props -----------------------------------------------------------------------------------


def test_props_are_caps_nouns_in_action() -> None:
    scene = one_scene(
        "INT. A - DAY\n\nShe lifts a BRASS KEY and a FLARE-GUN. The brass key "
        "is old. Her SCARF, her TORCH.\n\nNELL\nMy KNIFE.\n"
    )
    assert scene.props == ("BRASS_KEY", "FLARE_GUN", "SCARF", "TORCH")


def test_props_exclude_characters_sounds_and_directions() -> None:
    text = (
        "INT. A - DAY\n\n"
        "NELL\nHi.\n\n"
        "NELL opens the SAFE. A GUNSHOT. Glass SHATTERS. The phone RINGS. BANG!\n\n"
        "CLOSE ON the LEDGER. We hear KNOCKING and THUNDER CRASHES.\n\n"
        "BACK TO SCENE. MONTAGE: she runs. INTERCUT with the CONTINUED PHONE.\n\n"
        "Nell's KNIFE. NELL'S COAT. MR. QUILL'S RING.\n\n"
        "SILENCE.\n\n"
        "SUPER: THREE DAYS EARLIER\n\n"
        "(V.O.) is heard. She says OK.\n"
    )
    scene = one_scene(text)
    assert scene.props == ("SAFE", "LEDGER", "PHONE", "KNIFE", "COAT", "RING")
    assert scene.mentioned_characters == ()


def test_props_strip_leading_articles() -> None:
    scene = one_scene("INT. A - DAY\n\nTHE LOCKET glints. She hides THE MAP OF THE ISLE.\n")
    assert scene.props == ("LOCKET", "MAP_OF_THE_ISLE")


def test_props_in_screenplay_in_first_use_order() -> None:
    play = parse_fountain(
        "INT. A - DAY\n\nA ROPE, a HOOK.\n\nINT. B - DAY\n\nThe HOOK, a LAMP, the ROPE.\n"
    )
    assert play.scenes[1].props == ("HOOK", "LAMP", "ROPE")
    assert play.props == ("ROPE", "HOOK", "LAMP")


@pytest.mark.parametrize(
    ("action", "props"),
    [
        ("The door SLAMS. A gate BANGS. Thunder RUMBLING.", ()),  # sounds, inflected
        ("BANG! He is DEAD! BOOM. It goes KABOOM.", ()),  # a shout, sounds
        ("AAAAH! BRRR. TICK-TOCK. DING-DONG. TOOT TOOT. Psst, PSST.", ()),  # sound shapes
        ("She RUNS to the GATE and GRABBED the LATCH.", ("GATE", "LATCH")),  # listed verbs
        ("She BOLTS. He tightens the BOLTS.", ("BOLTS",)),  # verb after a subject, plural
        ("The phone RINGS. She pockets the RING. Her RINGS glint.", ("RING", "RINGS")),
        ("She is NOT going. It is OVER. EVERYONE waits. She moves SLOWLY.", ()),  # emphasis
        ("He keeps STARING and LIMPED off.", ()),  # -ING / -ED without a determiner
        (
            "A small ROWING BOAT. A FOLDED NOTE. BROKEN GLASS.",
            ("ROWING_BOAT", "FOLDED_NOTE", "BROKEN_GLASS"),
        ),
        (
            "She paints the CEILING. A PAINTING hangs. Her WEDDING RING.",
            ("CEILING", "PAINTING", "WEDDING_RING"),
        ),
        ("CLOSE ON the LEDGER. PAN UP to the WINDOW.", ("LEDGER", "WINDOW")),
        ("Her MOTHER'S RING. The CAR'S keys. GLASS lies EVERYWHERE.", ("RING", "CAR", "GLASS")),
    ],
)
def test_caps_sounds_verbs_and_emphasis_are_not_props(action: str, props: tuple[str, ...]) -> None:
    assert one_scene(f"INT. A - DAY\n\n{action}\n").props == props


def test_a_verb_after_a_character_is_not_a_prop() -> None:
    scene = one_scene(
        "INT. A - DAY\n\nJONAH\nHi.\n\nNELL\nHo.\n\nJonah WHISPERS. NELL BOLTS. The guard FALLS.\n"
    )
    assert scene.props == ()


_MIXED = [
    *sorted(lexicon.SOUNDS)[:40],
    *sorted(lexicon.DIRECTIONS)[:40],
    *sorted(lexicon.EMPHASIS)[:40],
    "SLAMS", "RUNS", "GRABBED", "LUNGING", "FELL", "KEY", "LANTERN", "ROPE", "the", "a", "her",
    "she", "Nell", "waits", "by", "!", ".", ",",
]  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(_MIXED), min_size=1, max_size=30))
def test_no_prop_holds_a_sound_direction_or_emphasis_word(words: list[str]) -> None:
    text = "INT. A - DAY\n\nNELL\nHi.\n\n" + " ".join(words) + " and more.\n"
    banned = lexicon.SOUNDS | lexicon.DIRECTIONS | lexicon.EMPHASIS
    for prop in parse_fountain(text).scenes[0].props:
        assert not set(prop.split("_")) & banned, prop


# --- names in action, every written form -------------------------------------------------------


def test_surname_and_first_name_of_an_introduced_full_name() -> None:
    text = (
        "INT. A - DAY\n\nNELL OKAFOR (34) waits.\n\nNELL\nHi.\n\n"
        "INT. B - DAY\n\nMs. Okafor sits.\n\nINT. C - DAY\n\nOKAFOR sits.\n\n"
        "INT. D - DAY\n\nNell's coat hangs.\n\nINT. E - DAY\n\nokafor and nell are words here.\n"
    )
    play = parse_fountain(text)
    assert [s.mentioned_characters for s in play.scenes] == [(), *[("NELL",)] * 3, ()]
    assert play.characters == ("NELL",)
    assert all(s.props == () for s in play.scenes)


@pytest.mark.parametrize("quotes", ['""', "\u201c\u201d"])
def test_a_quoted_nickname_inside_a_full_name_is_the_speaker(quotes: str) -> None:
    """MARGARET "MAGGIE" OKAFOR (60s) introduces the speaker MAGGIE: her first name, surname
    and honorific name her, and no part of the name is a prop or a second character."""
    nickname = f"{quotes[0]}MAGGIE{quotes[1]}"
    text = (
        f"INT. A - NIGHT\n\nMARGARET {nickname} OKAFOR (60s) counts coins into a TIN.\n\n"
        "MAGGIE\nCounted.\n\nINT. B - NIGHT\n\nMrs. Okafor turns.\n\n"
        "INT. C - NIGHT\n\nOKAFOR sits. Margaret sleeps.\n"
    )
    play = parse_fountain(text)
    assert play.characters == ("MAGGIE",)
    assert [s.mentioned_characters for s in play.scenes] == [(), ("MAGGIE",), ("MAGGIE",)]
    assert play.props == ("TIN",)


def test_a_shared_surname_names_nobody() -> None:
    text = (
        "INT. A - DAY\n\nNELL ADAIR (34) and JONAH ADAIR (19) row.\n\nNELL\nRow.\n\n"
        "JONAH\nRowing.\n\nINT. B - DAY\n\nAdair waits. Jonah waits.\n"
    )
    assert parse_fountain(text).scenes[1].mentioned_characters == ("JONAH",)


def test_alias_parts_name_the_character() -> None:
    text = "INT. A - DAY\n\nROSA\nHi.\n\nINT. B - DAY\n\nMendes waits.\n"
    scene = parse_fountain(text, aliases={"ROSA MENDES": "ROSA"}).scenes[1]
    assert scene.mentioned_characters == ("ROSA",)


def test_descriptive_names_are_not_split() -> None:
    text = (
        "INT. A - DAY\n\nOLD MAN\nHi.\n\nGUARD 2\nHalt.\n\n"
        "INT. B - DAY\n\nOld habits. Guard the door. Man overboard.\n"
    )
    assert parse_fountain(text).scenes[1].mentioned_characters == ()


def test_voice_over_speaker_named_in_action_is_seen() -> None:
    text = "INT. A - DAY\n\nNELL\nHi.\n\nINT. B - DAY\n\nNell stares out.\n\nNELL (V.O.)\nI knew.\n"
    scene = parse_fountain(text).scenes[1]
    assert scene.characters == ("NELL",) and scene.mentioned_characters == ()
    assert scene.named_in_action == ("NELL",)


def test_centered_text_transitions_and_lyrics_name_nobody() -> None:
    text = (
        "INT. A - DAY\n\nNELL\nHi.\n\nINT. B - DAY\n\n> NELL'S SONG <\n\n"
        "~NELL, oh NELL, the LANTERN~\n\nRain falls.\n> SMASH CUT TO NELL.\n"
    )
    scene = parse_fountain(text).scenes[1]
    assert scene.action == ("Rain falls.",)
    assert scene.mentioned_characters == () and scene.props == ()


@pytest.mark.parametrize(
    ("cue", "cast", "note"),
    [
        ("GUS (O.S.)", ["NELL", "GUS"], "present, heard off screen: GUS (O.S.)"),
        ("GUS (OFF SCREEN)", ["NELL", "GUS"], "present, heard off screen: GUS (OFF SCREEN)"),
        ("GUS (V.O.)", ["NELL"], "heard only in voice-over: GUS (V.O.)"),
        ("GUS (ON THE PHONE)", ["NELL"], "heard only in voice-over: GUS (ON THE PHONE)"),
        ("GUS (PRE-LAP)", ["NELL"], "heard only in voice-over: GUS (PRE-LAP)"),
        ("GUS (INTO RADIO)", ["NELL", "GUS"], None),  # he is here, speaking into it
        ("GUS (CONT'D)", ["NELL", "GUS"], None),
    ],
)
def test_how_a_speaker_is_heard(cue: str, cast: list[str], note: str | None) -> None:
    scene = one_scene(f"INT. A - DAY\n\nNELL\nWho's there?\n\n{cue}\nMe.\n")
    assert present(scene) == cast
    assert voice_notes(scene) == ([note] if note else [])


# --- canonical ids ---------------------------------------------------------------------------


def test_canonical_id() -> None:
    assert canonical_id("Mrs. Hale") == "MRS_HALE"
    assert canonical_id("brass  key") == "BRASS_KEY"
    assert canonical_id("O’Brien") == "OBRIEN"
    assert canonical_id("Zoë") == "ZOE"


# --- errors ----------------------------------------------------------------------------------


def error_for(text: str, **kwargs: object) -> SchemaError:
    with pytest.raises(SchemaError) as caught:
        parse_fountain(text, source="script.fountain", **kwargs)  # type: ignore[arg-type]
    return caught.value


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\n",
        "scene_id,summary,goal\nS01,She waits,to leave\n",
        json.dumps({"scenes": [{"scene_id": "S01", "summary": "She waits."}]}, indent=2),
        "Just some prose about a film.\nNo headings here.\n",
    ],
)
def test_not_a_screenplay(text: str) -> None:
    error = error_for(text)
    assert error.context == {"line": 1, "source": "script.fountain"}
    assert str(error).startswith("script.fountain:1: ")
    assert "INT. KITCHEN - NIGHT" in str(error)


def test_binary_file() -> None:
    error = error_for("INT. A - DAY\n\n\x00\x01\x02PNG\n")
    assert error.context["line"] == 3
    assert "binary" in str(error) and "script.fountain:3:" in str(error)


def test_dialogue_before_any_heading() -> None:
    error = error_for("Title: X\n\nNELL\nHello?\n\nINT. A - DAY\n\nAction.\n")
    assert error.context["line"] == 3
    assert "before any scene heading" in str(error) and "script.fountain:3:" in str(error)


def test_cue_without_dialogue() -> None:
    error = error_for("INT. A - DAY\n\nNELL (V.O.)\n\nShe waits.\n")
    assert error.context["line"] == 3
    assert "no dialogue" in str(error)


def test_cue_of_known_speaker_without_dialogue() -> None:
    error = error_for("INT. A - DAY\n\nNELL\nHi.\n\nNELL\n")
    assert error.context["line"] == 6


@pytest.mark.parametrize("cue", ["@nell", "NELL ^", "JONAH (CONT'D)"])
def test_forced_or_extended_cue_without_dialogue(cue: str) -> None:
    assert error_for(f"INT. A - DAY\n\n{cue}\n\nMore.\n").context["line"] == 3


def test_cue_with_only_a_parenthetical() -> None:
    error = error_for("INT. A - DAY\n\nNELL\n(nods)\n")
    assert error.context["line"] == 3
    assert "parenthetical" in str(error)


def test_caps_action_line_alone_is_not_an_error() -> None:
    scene = one_scene("INT. A - DAY\n\nNELL\nHi.\n\nSILENCE.\n\nTHE KEEPER (70s)\n")
    assert scene.action == ("SILENCE.", "THE KEEPER (70s)")
    assert scene.mentioned_characters == ("KEEPER",)


def test_caps_title_line_before_the_first_heading_is_ignored() -> None:
    play = parse_fountain("HEIST (A SHORT FILM)\n\nINT. A - DAY\n\nAction.\n")
    assert play.scenes[0].action == ("Action.",)


def test_unterminated_boneyard() -> None:
    error = error_for("INT. A - DAY\n\nAction.\n\n/* cut from here\n\nNELL\nHi.\n")
    assert error.context["line"] == 5
    assert "'*/'" in str(error) and "script.fountain:5:" in str(error)


def test_unterminated_note() -> None:
    error = error_for("INT. A - DAY\n\nAction. [[ remember the key\n\nMore.\n")
    assert error.context["line"] == 3
    assert "']]'" in str(error)


@pytest.mark.parametrize("line", ["INT.", "INT. - NIGHT", "EXT. DAY", "I/E -- CONTINUOUS"])
def test_heading_without_location(line: str) -> None:
    error = error_for(f"INT. A - DAY\n\nAction.\n\n{line}\n\nMore.\n")
    assert error.context["line"] == 5
    assert "no location" in str(error) and "INT. LOCATION - TIME" in str(error)


def test_errors_are_filmslate_user_errors() -> None:
    from filmslate.core._errors import FilmslateError, UserError

    error = error_for("")
    assert isinstance(error, UserError) and isinstance(error, FilmslateError)


# --- the example screenplay ------------------------------------------------------------------


@pytest.fixture(scope="module")
def example() -> Screenplay:
    return parse_fountain(
        EXAMPLE.read_text(encoding="utf-8"), aliases={"KEEPER": "GUS"}, source=EXAMPLE.name
    )


def test_example_totals(example: Screenplay) -> None:
    assert example.title == "Heist at the Lighthouse"
    assert example.characters == ("NELL", "JONAH", "MR_QUILL", "GUS")
    assert example.locations == (
        "HOLM SOUND ROWING BOAT",
        "HARBOUR ROAD SALOON CAR",
        "LIGHTHOUSE COTTAGE",
        "LIGHTHOUSE STAIRWELL",
        "LIGHTHOUSE LAMP ROOM",
        "HARBOUR ROAD",
    )
    assert example.props == (
        "ROWING_BOAT",
        "RADIO",
        "CROWBAR",
        "TORCH",
        "RADIO_HANDSET",
        "NEWSPAPER_CLIPPING",
        "LIGHTER",
        "BRASS_KEY",
        "LENS",
        "LOCKER",
        "LOGBOOK",
        "SCARF",
        "FLARE_GUN",
        "BREAKER",
    )


def test_example_scenes(example: Screenplay) -> None:
    rows = [
        (
            s.scene_id,
            s.line,
            s.interior,
            s.location,
            s.time_of_day,
            s.continuous,
            s.characters,
            s.mentioned_characters,
            s.props,
        )
        for s in example.scenes
    ]
    # fmt: off
    assert rows == [
        ("S01", 14, "EXT", "HOLM SOUND ROWING BOAT", "NIGHT", False,
         ("MR_QUILL", "JONAH", "NELL"), (), ("ROWING_BOAT", "RADIO", "CROWBAR", "TORCH")),
        ("S02", 41, "INT/EXT", "HARBOUR ROAD SALOON CAR", "NIGHT", False,
         ("MR_QUILL",), (), ("RADIO_HANDSET", "NEWSPAPER_CLIPPING", "LIGHTER")),
        ("S03", 53, "INT", "LIGHTHOUSE COTTAGE", "NIGHT", False,
         ("GUS",), ("NELL", "JONAH"), ("BRASS_KEY",)),
        ("S04", 69, "INT", "LIGHTHOUSE STAIRWELL", "CONTINUOUS", True,
         ("JONAH", "NELL"), (), ("TORCH", "RADIO", "BRASS_KEY")),
        ("S05", 83, "INT", "LIGHTHOUSE LAMP ROOM", "MOMENTS LATER", True,
         ("JONAH", "NELL", "MR_QUILL", "GUS"), (),
         ("LENS", "LOCKER", "LOGBOOK", "SCARF", "FLARE_GUN")),
        ("S06", 116, "INT", "LIGHTHOUSE LAMP ROOM", "LATER", False,
         ("GUS", "JONAH", "NELL"), (), ("LOGBOOK",)),
        ("S07", 157, "INT/EXT", "HARBOUR ROAD SALOON CAR", "NIGHT", False,
         ("MR_QUILL",), (), ("RADIO_HANDSET", "LIGHTER")),
        ("S08", 165, "INT", "LIGHTHOUSE LAMP ROOM", "CONTINUOUS", True,
         ("NELL", "GUS"), ("JONAH",), ("LENS", "BREAKER", "RADIO")),
        ("S09", 183, "EXT", "HARBOUR ROAD", "CONTINUOUS", True,
         ("NELL",), ("MR_QUILL",), ("LIGHTER",)),
    ]
    # fmt: on


def test_example_dialogue_extensions(example: Screenplay) -> None:
    cues = [
        (s.scene_id, d.speaker, d.extension, d.line)
        for s in example.scenes
        for d in s.dialogue
        if d.extension
    ]
    assert cues == [
        ("S01", "MR_QUILL", "V.O.", 24),
        ("S01", "MR_QUILL", "V.O.", 31),
        ("S05", "MR_QUILL", "V.O.", 106),
        ("S05", "GUS", "O.S.", 111),
        ("S09", "NELL", "V.O.", 187),
    ]
    lamp_room = example.scenes[4]
    assert [d.speaker for d in lamp_room.dialogue][:2] == ["JONAH", "JONAH"]  # CONT'D dropped
    assert lamp_room.dialogue[1].extension is None


def test_example_secret_is_in_the_dialogue(example: Screenplay) -> None:
    words = " ".join(d.text for d in example.scenes[5].dialogue)
    assert "Received of Mr. A. Quill, five hundred pounds" in words
    assert "Tom Adair" in words


def test_example_without_alias_keeps_two_names(example: Screenplay) -> None:
    plain = parse_fountain(EXAMPLE.read_text(encoding="utf-8"))
    assert plain.characters == ("NELL", "JONAH", "MR_QUILL", "KEEPER", "GUS")
    assert plain.scenes == tuple(plain.scenes)  # frozen tuples all the way down


def test_results_are_frozen(example: Screenplay) -> None:
    with pytest.raises(AttributeError):
        example.scenes[0].location = "ELSEWHERE"  # type: ignore[misc]
