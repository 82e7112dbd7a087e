"""Dialogue voice measured by code: profiles, lock checks, drift, distinctiveness."""

from __future__ import annotations

import pytest

from filmslate.rules._stylometry import (
    FUNCTION_WORDS,
    INSUFFICIENT_TEXT,
    MIN_WORDS,
    DriftFlag,
    VoiceExpectation,
    check_against_lock,
    check_drift,
    distinctiveness,
    profile,
    split_sentences,
    syllables,
    voice_distance,
    words_of,
)

# ── dialogue written for these tests ────────────────────────────────────────────────────────

# Jack: terse, plain, contractions, blunt.
JACK_EARLIER = [
    "Get in the car.",
    "No. We don't have time.",
    "I said get in. Now.",
    "She's gone. That's it.",
    "You want answers? Ask him, not me.",
    "I don't care what he told you.",
    "It's cold. Close the door.",
    "We leave at six. Don't be late.",
    "I'm not your friend. I'm your ride.",
    "Eat something. You look bad.",
    "He lied. They all lie.",
    "Keep your head down and your mouth shut.",
]
# Jack, a later scene in the same voice about something else.
JACK_LATER_SAME_VOICE = [
    "Sit down.",
    "The money's gone. All of it.",
    "I didn't take it. Check the safe yourself.",
    "Don't look at me like that.",
    "Who had the code? You. Me. Ray.",
    "Ray's dead. So it wasn't Ray.",
    "Call the bank. Do it now.",
    "I'll wait here. Go.",
    "We're done talking.",
    "You've got one hour. Then I walk.",
]
# Jack, a later scene where the writing has turned florid.
JACK_LATER_FLORID = [
    "The night has settled over this wretched city like a shroud of grey velvet, and I "
    "confess I find myself strangely enchanted by its melancholy.",
    "Do you remember the harbour at dawn, when the gulls wheeled above the water as bright as "
    "scattered coins, and everything seemed possible?",
    "I have wandered through innumerable disappointments, yet none has wounded me as "
    "profoundly as your silence.",
    "Forgive my extravagance; sorrow makes a poet of even the most ordinary man.",
    "Your brother was magnificent, incandescent, a creature of impossible appetites, and the "
    "world extinguished him like a candle in a cathedral draught.",
]
JACK_LOCK = VoiceExpectation(
    sentence_length="short",
    vocabulary_level="simple",
    swearing="never",
    slang_level="none",
    accent_strength="none",
    figurative_language="none",
    directness="blunt",
    hesitations="none",
)

# Earl: strong rural Southern US dialect, lots of slang.
EARL_EARLIER = [
    "Well, I ain't fixin' to argue with y'all 'bout it.",
    "Them boys was runnin' 'round the creek all mornin', hollerin' like a pack of coyotes.",
    "Reckon we oughta get on home 'fore the rain.",
    "He don't know nothin' 'bout no money, I'm tellin' ya.",
    "Y'all gonna eat or just stand there gawkin'?",
    "Shoot, that old truck ain't never gonna run again, buddy.",
    "Yep, Mama's cookin' up a mess of greens for the whole dang county.",
    "Nah, I dunno where Bobby's at. Ask his daddy.",
    "Them cops been sniffin' 'round here all week. Ain't nobody talkin'.",
]
EARL_LATER_SAME_VOICE = [
    "Naw, that ol' dog ain't bit nobody in his whole life, buddy.",
    "Y'all better get them chickens in 'fore dark, hear?",
    "I'm fixin' to drive into town. Gonna need some feed, yep, and a new hose.",
    "Shoot, Bobby's daddy was tellin' me 'bout the flood. Dang near took the barn.",
    "Nah, she don't like strangers much. Reckon she'll warm up.",
    "Mama says supper's at six, so don't y'all be late now.",
    "Dang truck's makin' that noise again. Them cops gonna pull me over.",
]
# Earl, a later scene written in standard English: the dialect is gone.
EARL_LATER_STANDARD = [
    "I do not want to argue with you about it.",
    "The boys were running around the creek all morning, shouting at each other.",
    "I think we should go home before the rain starts.",
    "He does not know anything about the money, I promise you.",
    "Are you going to eat, or are you just going to stand there watching?",
    "That old truck will never run again.",
    "Mother is cooking dinner for everyone tonight.",
    "I have no idea where Robert is. Ask his father.",
    "The police have been asking questions here all week. Nobody is talking.",
]
EARL_LOCK = VoiceExpectation(
    sentence_length="medium",
    swearing="never",
    slang_level="high",
    accent_strength="strong",
    figurative_language="rare",
    hesitations="none",
)

# Maya: hesitant, hedging, indirect.
MAYA_EARLIER = [
    "I... I don't know. Maybe we should wait for the others?",
    "It's just, um, I think the lock was already broken when we got here.",
    "You know, I'm not sure he even saw us.",
    "Sorry. I mean, I probably should have said something earlier.",
    "Could be nothing. Could be the wind, right?",
    "I guess we could go in. If you want to.",
]
MAYA_LATER = [
    "I think the train's late again. Or maybe I got the time wrong?",
    "Um, my sister said she'd meet us... she probably forgot.",
    "I'm not sure we should call her. She gets, you know, upset.",
    "It was kind of my fault, I guess. I told her the wrong platform.",
    "We could wait a little longer? I don't mind.",
    "Sorry, I'm rambling. I do that when I'm nervous.",
]
MAYA_LOCK = VoiceExpectation(
    sentence_length="short",
    vocabulary_level="everyday",
    swearing="never",
    slang_level="none",
    accent_strength="none",
    figurative_language="none",
    directness="evasive",
    hesitations="frequent",
)

# Eleanor: locked to never swear.
ELEANOR_SWEARING = [
    "Oh, damn it all. Where the hell is the car?",
    "I told you twice, the train leaves at noon and we are still standing here.",
    "This is bullshit, Harold. Absolute bullshit.",
    "Pick up the bags and let us go.",
]

# Two detectives written to sound the same.
REYES = [
    "We go in at six. Front door. You take the back.",
    "He's got a gun. Don't be a hero.",
    "I'll call it. Wait for my word.",
    "If he runs, let him run. We'll get him later.",
    "Radio's on channel four. Keep it quiet.",
]
COLE = [
    "Six is late. We go at five. I take the front.",
    "He's got two guns. Don't be stupid.",
    "You call it. I'll wait for my word.",
    "If he runs, I'll chase him. He won't get far.",
    "Channel four's fine. Keep it down.",
]
# A professor, who sounds like nobody else.
PROFESSOR = [
    "I would suggest, with the greatest respect, that your hypothesis is somewhat premature.",
    "Perhaps we might consider the alternative interpretation, which the evidence rather "
    "conspicuously supports.",
    "The documentation is, I think, remarkably incomplete; one can hardly draw conclusions "
    "from fragments.",
    "Would you be so kind as to fetch the original manuscripts from the archive?",
]


def drift_flags(flags: list[DriftFlag]) -> list[DriftFlag]:
    return [f for f in flags if f.is_drift]


def metrics(flags: list[DriftFlag]) -> dict[str, str]:
    return {f.metric: f.severity for f in flags}


# ── tokenisation ────────────────────────────────────────────────────────────────────────────


def test_contractions_and_curly_apostrophes_stay_one_word() -> None:
    assert words_of("I don\u2019t know, it\u2019s Ma\u2019am\u2019s call.") == [
        "i", "don't", "know", "it's", "ma'am's", "call",
    ]  # fmt: skip


def test_elisions_are_kept_and_quotation_marks_are_not() -> None:
    assert words_of("Runnin' 'em off, 'cause ol' Pete said 'Go'.") == [
        "runnin'", "'em", "off", "'cause", "ol'", "pete", "said", "go",
    ]  # fmt: skip


def test_titles_initialisms_and_decimals_do_not_end_sentences() -> None:
    sentences = split_sentences("Mr. Grant met Dr. Oyelaran in the U.S. Army. It was 3.5 miles.")
    assert [s.words for s in sentences] == [
        ("mr", "grant", "met", "dr", "oyelaran", "in", "the", "u.s", "army"),
        ("it", "was", "3.5", "miles"),
    ]


def test_ellipses_and_dashes_are_pauses_not_sentence_ends() -> None:
    sentences = split_sentences("Wait... no\u2014I mean . . . who are you? Get out -- now!")
    assert [(len(s.words), s.end) for s in sentences] == [(7, "?"), (3, "!")]
    prof = profile(["Wait... no\u2014I mean . . . who are you? Get out -- now!"])
    assert (prof.count("ellipsis_rate"), prof.count("dash_rate")) == (2, 2)


def test_every_line_ends_a_sentence_and_empty_lines_are_ignored() -> None:
    prof = profile(["Hold on", "", "Right there"])
    assert (prof.lines, prof.words, prof.mean_sentence_words) == (3, 4, 2.0)


def test_a_bare_string_is_one_line() -> None:
    assert profile("Get in the car.") == profile(["Get in the car."])


@pytest.mark.parametrize(
    ("word", "count"),
    [("cat", 1), ("make", 1), ("horses", 2), ("wanted", 2), ("little", 2), ("melancholy", 4),
     ("incandescent", 4), ("", 0)],
)  # fmt: skip
def test_syllable_heuristic(word: str, count: int) -> None:
    assert syllables(word) == count


# ── profile ─────────────────────────────────────────────────────────────────────────────────


def test_profile_of_a_hand_counted_sample() -> None:
    prof = profile(
        ["Mr. Smith isn't here... Maybe he's gone?", "Damn it \u2014 we're runnin' late, y'all!"]
    )
    # Words: mr smith isn't here maybe he's gone | damn it we're runnin' late y'all = 7 + 6.
    assert (prof.lines, prof.words, prof.sentences) == (2, 13, 2)
    assert prof.mean_sentence_words == 6.5
    assert prof.type_token_ratio == 1.0  # 13 distinct words, shorter than the MATTR window
    assert prof.mean_word_length == pytest.approx(51 / 13)  # 27 + 24 letters, apostrophes out
    assert prof.long_word_rate == 0.0
    assert prof.contraction_rate == pytest.approx(3 / 13)  # isn't, he's, we're
    assert (prof.question_rate, prof.exclamation_rate) == (0.5, 0.5)
    assert prof.profanity_rate == pytest.approx(1 / 13)  # damn
    assert prof.slang_rate == 0.0
    assert prof.dialect_marker_rate == pytest.approx(2 / 13)  # runnin', y'all
    assert prof.hedge_rate == pytest.approx(1 / 13)  # maybe
    assert (prof.filler_rate, prof.figurative_rate) == (0.0, 0.0)
    assert prof.ellipsis_rate == pytest.approx(1 / 13)
    assert prof.dash_rate == pytest.approx(1 / 13)
    # Contractions are expanded for function words: isn't -> is not, he's -> he is, ...
    expected = {"is": 2, "not": 1, "he": 1, "it": 1, "we": 1, "are": 1}
    got = {
        w: round(f * 13)
        for w, f in zip(FUNCTION_WORDS, prof.function_word_profile, strict=True)
        if f
    }
    assert got == expected
    assert len(prof.function_word_profile) == len(FUNCTION_WORDS) == 50


def test_markers_in_context() -> None:
    prof = profile([
        "I'd like a coffee. He fought like a lion, as cold as ice.",  # 1 verb, 2 similes
        "As soon as you can. What kind of car? It's kind of late.",  # idiom; noun; 1 hedge
        "Do you know where? It was, like, huge, you know.",  # question; 2 fillers
    ])  # fmt: skip
    assert (prof.count("figurative_rate"), prof.count("hedge_rate")) == (2, 1)
    assert prof.count("filler_rate") == 2


def test_rates_do_not_depend_on_sample_length() -> None:
    once, three_times = profile(JACK_EARLIER), profile(JACK_EARLIER * 3)
    assert three_times.contraction_rate == pytest.approx(once.contraction_rate)
    assert three_times.mean_sentence_words == pytest.approx(once.mean_sentence_words)
    assert three_times.function_word_profile == pytest.approx(once.function_word_profile)
    assert three_times.type_token_ratio == pytest.approx(once.type_token_ratio, abs=0.05)


def test_empty_profile_is_all_zero() -> None:
    prof = profile([])
    assert (prof.words, prof.sentences, prof.mean_sentence_words, prof.type_token_ratio) == (
        0, 0, 0.0, 0.0,
    )  # fmt: skip


# ── drift: terse to florid ──────────────────────────────────────────────────────────────────


def test_terse_character_turned_florid_drifts_from_own_history() -> None:
    flags = check_drift("JACK", profile(JACK_LATER_FLORID), profile(JACK_EARLIER))
    found = metrics(flags)
    assert found["mean_sentence_words"] == "High"
    assert found["long_word_rate"] in ("Medium", "High")
    assert all(f.speaker == "JACK" and f.is_drift for f in flags)
    sentence_flag = next(f for f in flags if f.metric == "mean_sentence_words")
    assert "longer" in sentence_flag.message
    assert sentence_flag.expected.startswith("3.3") and sentence_flag.observed.startswith("19.8")


def test_terse_character_turned_florid_breaks_the_lock() -> None:
    found = metrics(check_against_lock("JACK", profile(JACK_LATER_FLORID), JACK_LOCK))
    assert found == {
        "mean_sentence_words": "High",  # short expected, long measured
        "long_word_rate": "High",  # simple expected, technical/ornate measured
        "figurative_rate": "High",  # none expected, 4 similes
    }


def test_lock_flag_says_what_was_expected_and_seen() -> None:
    flags = check_against_lock("JACK", profile(JACK_LATER_FLORID), JACK_LOCK)
    vocabulary = next(f for f in flags if f.metric == "long_word_rate")
    assert vocabulary.expected == "vocabulary_level: simple"
    assert vocabulary.observed.startswith("technical/ornate (21 in 99 words")


# ── drift: dialect dropped ──────────────────────────────────────────────────────────────────


def test_dialect_dropped_drifts_from_own_history() -> None:
    flags = check_drift("EARL", profile(EARL_LATER_STANDARD), profile(EARL_EARLIER))
    found = metrics(flags)
    assert found["dialect_marker_rate"] == "High"
    assert "falls" in next(f for f in flags if f.metric == "dialect_marker_rate").message


def test_dialect_dropped_breaks_the_lock() -> None:
    found = metrics(check_against_lock("EARL", profile(EARL_LATER_STANDARD), EARL_LOCK))
    assert found["dialect_marker_rate"] == "High"  # strong expected, none measured
    assert found["slang_rate"] == "High"  # high expected, none measured


# ── swearing ────────────────────────────────────────────────────────────────────────────────


def test_character_locked_never_to_swear_who_swears_is_flagged_high() -> None:
    never = VoiceExpectation(swearing="never")
    flags = check_against_lock("ELEANOR", profile(ELEANOR_SWEARING), never)
    assert [(f.metric, f.severity) for f in flags] == [("profanity_rate", "High")]
    assert "4 in 39 words" in flags[0].observed


def test_one_oath_in_a_single_line_still_breaks_never() -> None:
    never = VoiceExpectation(swearing="never")
    flags = check_against_lock("ELEANOR", profile(["Oh, damn."]), never)
    assert ("profanity_rate", "High") in [(f.metric, f.severity) for f in flags]
    assert any(f.metric == INSUFFICIENT_TEXT for f in flags)


def test_swearing_rare_tolerates_an_oath() -> None:
    lines = [ELEANOR_SWEARING[1], ELEANOR_SWEARING[3], "Damn. We missed it.", "Find a taxi."]
    assert check_against_lock("ELEANOR", profile(lines), VoiceExpectation(swearing="rare")) == []


# ── no false positives ──────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("speaker", "earlier", "later"),
    [
        ("JACK", JACK_EARLIER, JACK_LATER_SAME_VOICE),
        ("EARL", EARL_EARLIER, EARL_LATER_SAME_VOICE),
        ("MAYA", MAYA_EARLIER, MAYA_LATER),
    ],
)
def test_consistent_voice_in_a_new_scene_raises_no_drift(
    speaker: str, earlier: list[str], later: list[str]
) -> None:
    assert check_drift(speaker, profile(later), profile(earlier)) == []
    assert check_drift(speaker, profile(earlier), profile(later)) == []


@pytest.mark.parametrize(
    ("speaker", "lock", "scenes"),
    [
        ("JACK", JACK_LOCK, (JACK_EARLIER, JACK_LATER_SAME_VOICE)),
        ("EARL", EARL_LOCK, (EARL_EARLIER, EARL_LATER_SAME_VOICE)),
        ("MAYA", MAYA_LOCK, (MAYA_EARLIER, MAYA_LATER)),
    ],
)
def test_consistent_voice_keeps_its_lock(
    speaker: str, lock: VoiceExpectation, scenes: tuple[list[str], list[str]]
) -> None:
    for lines in scenes:
        assert check_against_lock(speaker, profile(lines), lock) == []


def test_unlocked_fields_are_not_checked() -> None:
    assert check_against_lock("JACK", profile(JACK_LATER_FLORID), VoiceExpectation()) == []


def test_technical_and_ornate_share_the_top_vocabulary_band() -> None:
    florid = profile(JACK_LATER_FLORID)
    for level in ("technical", "ornate"):
        lock = VoiceExpectation(vocabulary_level=level)
        assert check_against_lock("JACK", florid, lock) == []


# ── too little text ─────────────────────────────────────────────────────────────────────────


def test_too_little_text_gives_no_drift_only_an_insufficient_note() -> None:
    short_florid = profile(JACK_LATER_FLORID[3:4])  # 13 words
    assert short_florid.words < MIN_WORDS
    flags = check_drift("JACK", short_florid, profile(JACK_EARLIER))
    assert drift_flags(flags) == []
    assert [(f.metric, f.severity) for f in flags] == [(INSUFFICIENT_TEXT, "Low")]
    assert "insufficient" in flags[0].message
    assert flags[0].observed == "this scene 13 words, earlier scenes 69"


def test_too_little_history_gives_no_drift_either() -> None:
    flags = check_drift("JACK", profile(JACK_LATER_FLORID), profile(["Get in."]))
    assert drift_flags(flags) == [] and len(flags) == 1


def test_too_little_text_skips_the_measured_lock_bands() -> None:
    flags = check_against_lock("JACK", profile(JACK_LATER_FLORID[3:4]), JACK_LOCK)
    assert drift_flags(flags) == []
    assert [f.metric for f in flags] == [INSUFFICIENT_TEXT]


# ── distinctiveness ─────────────────────────────────────────────────────────────────────────


def test_characters_written_alike_are_indistinct() -> None:
    scores = distinctiveness({"REYES": profile(REYES), "COLE": profile(COLE)})
    assert scores["REYES"] <= 2 and scores["COLE"] <= 2


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (JACK_EARLIER, PROFESSOR),
        (JACK_EARLIER, EARL_EARLIER),
        (MAYA_LATER, REYES),
        (EARL_LATER_STANDARD, EARL_EARLIER),
    ],
)
def test_clearly_different_voices_are_distinct(a: list[str], b: list[str]) -> None:
    scores = distinctiveness({"A": profile(a), "B": profile(b)})
    assert scores["A"] >= 3 and scores["B"] >= 3


def test_distinctiveness_is_against_the_nearest_other_speaker() -> None:
    scene = {"REYES": profile(REYES), "COLE": profile(COLE), "PROF": profile(PROFESSOR)}
    scores = distinctiveness(scene)
    assert scores["REYES"] <= 2 and scores["COLE"] <= 2
    assert scores["PROF"] >= 4


def test_one_voice_split_in_two_is_close() -> None:
    lines = JACK_EARLIER + JACK_LATER_SAME_VOICE
    halves = profile(lines[::2]), profile(lines[1::2])
    assert voice_distance(*halves) < 0.5
    assert voice_distance(profile(JACK_EARLIER), profile(JACK_EARLIER)) == 0.0


def test_distinctiveness_edge_cases() -> None:
    assert distinctiveness({}) == {}
    assert distinctiveness({"SOLO": profile(JACK_EARLIER)}) == {"SOLO": 5}


def test_everything_is_deterministic() -> None:
    first = [profile(JACK_LATER_FLORID), profile(EARL_EARLIER)]
    second = [profile(JACK_LATER_FLORID), profile(EARL_EARLIER)]
    assert first == second
    assert check_drift("E", first[1], first[0]) == check_drift("E", second[1], second[0])
