"""Locks: gates in code, versions, diffs, impact of a change, `lock add`, and the lock skills."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from filmslate import Project
from filmslate.core._config import Config
from filmslate.core._errors import LockRefused, SchemaError, UserError
from filmslate.engine._gateway import TextRequest
from filmslate.engine._runner import Runner
from filmslate.engine._skill import Registry
from filmslate.rules._locks import lock_gate
from filmslate.schemas import (
    Breakdown,
    CharLock,
    GenPack,
    Scenes,
    ScriptScene,
    SetLock,
    ShotList,
    StyleLock,
    VoiceLock,
)
from filmslate.skills.continuity._locks import CharacterLock, SetLockSkill, VoiceLockSkill
from filmslate.store._project import add_lock, check_lock_file
from filmslate.testing import FAKE_MP4, ScriptedTextModel, scripted_runner
from filmslate.workflow._locks import diff_versions, impact, lock_diff
from test_runtime import configure

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "locks"
CONFIG = Config.model_validate({"project": {"name": "t"}})


def example(kind: type[Any], name: str, folder: str = "good") -> Any:
    return kind.parse((EXAMPLES / folder / name).read_bytes())


def good_char() -> dict[str, Any]:
    return example(CharLock, "CHAR_JONAH_LOCK.txt").model_dump()


def good_set() -> dict[str, Any]:
    return example(SetLock, "SET_LIGHTHOUSE_LAMP_ROOM_LOCK.txt").model_dump()


def good_voice() -> dict[str, Any]:
    return example(VoiceLock, "VOICE_NELL_LOCK.txt").model_dump()


def good_style() -> dict[str, Any]:
    return example(StyleLock, "STYLE_NORTH_SEA_NIGHT_LOCK.txt").model_dump()


def changed(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of a lock dict with one dotted field replaced."""
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in data.items()}
    head, _, tail = path.partition(".")
    if tail:
        out[head][tail] = value
    else:
        out[head] = value
    return out


def reasons(kind: type[Any], data: dict[str, Any], config: Config = CONFIG) -> tuple[str, ...]:
    return lock_gate(kind.model_validate(data), config).reasons


# -- the examples ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted((EXAMPLES / "good").glob("*.txt")), ids=lambda p: p.name)
def test_good_examples_pass(path: Path) -> None:
    _, gate = check_lock_file(path, CONFIG)
    assert gate.verdict == "PASS", gate.reasons


BAD = {
    "CHAR_MR_QUILL_LOCK.txt": [
        "age_range 'old' is ambiguous",
        "'pale' names no colour",
        "'slim' and 'heavyset'",
        "'sort of'",
        "'normal'",
        "'sometimes'",
        "forbidden_drift is empty",
    ],
    "SET_LIGHTHOUSE_COTTAGE_LOCK.txt": [
        "2 distinct anchor(s); a set lock needs 3-5",
        "'night' and lighting.primary_source 'daylight'",
        "2700K does not fit",
    ],
    "VOICE_JONAH_LOCK.txt": [
        "pitch 'high' and tone.timbre 'deep'",
        "swearing 'never' and signature_phrases",
        "strength is 'none' but accent.region is 'Shetland'",
    ],
    "STYLE_HARBOUR_DAY_LOCK.txt": ["#D9A400 is also in forbidden_drift[0]", "'etc'"],
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_examples_fail_with_every_reason(name: str) -> None:
    _, gate = check_lock_file(EXAMPLES / "bad" / name, CONFIG)
    assert gate.verdict == "FAIL"
    text = "\n".join(gate.reasons)
    for expected in BAD[name]:
        assert expected in text
    assert len(gate.reasons) == len(BAD[name])


# -- gate rules, one at a time --------------------------------------------------------------

CHAR_REFUSED = [
    ("appearance.hair", "", "appearance.hair is empty"),
    ("appearance.build", "TBD", "appearance.build is empty ('TBD')"),
    ("behavior.temperament", "kind of moody", "behavior.temperament: 'kind of'"),
    ("behavior.temperament", "Normal for his age", "behavior.temperament: 'normal'"),
    ("wardrobe.default_outfit", "jeans, jacket, etc.", "wardrobe.default_outfit: 'etc'"),
    ("knowledge_at_introduction", [], "knowledge_at_introduction is empty"),
    ("visual_anchors", [], "visual_anchors is empty"),
    ("forbidden_drift", [], "forbidden_drift is empty"),
    ("forbidden_drift", ["none"], "forbidden_drift is empty"),
    ("appearance.age_range", "late teens", "age_range 'late teens' is ambiguous"),
    ("appearance.age_range", "40-30", "runs backwards"),
    ("appearance.eyes", "piercing", "'piercing' names no colour"),
    ("appearance.eyes", "blue, brown", "colour listed twice differently"),
    ("appearance.build", "wiry and stocky", "'wiry' and 'stocky'"),
    ("appearance.hair", "short, long at the back", "'short' and 'long'"),
    ("forbidden_drift", ["#1B2A41 anywhere"], "palette colour #1B2A41 is also in forbidden"),
    ("forbidden_drift", ["Black wool beanie"], "is both a visual anchor and forbidden drift"),
]


@pytest.mark.parametrize(("path", "value", "reason"), CHAR_REFUSED)
def test_char_lock_rules_refuse(path: str, value: Any, reason: str) -> None:
    found = reasons(CharLock, changed(good_char(), path, value))
    assert any(reason in r for r in found), found


CHAR_ACCEPTED = [
    ("appearance.age_range", "32-36"),
    ("appearance.age_range", "34 years old"),
    ("appearance.age_range", "30 to 34"),
    ("appearance.eyes", "grey-green"),
    ("appearance.eyes", "heterochromia: left blue, right brown"),
    ("appearance.eyes", "brown, flecked with green"),
    ("appearance.hair", "short, never long"),  # a negated word is not a trait
    ("behavior.temperament", "abnormally patient"),  # whole words only: not 'normally'
    ("behavior.stress_behavior", "explosive"),  # calm temperament, explosive under stress
]


@pytest.mark.parametrize(("path", "value"), CHAR_ACCEPTED)
def test_char_lock_rules_accept(path: str, value: Any) -> None:
    data = changed(good_char(), "behavior.temperament", "calm")
    assert reasons(CharLock, changed(data, path, value)) == ()


SET_REFUSED = [
    ("visual_anchors", ["lens", "hatch"], "2 distinct anchor(s); a set lock needs 3-5"),
    ("visual_anchors", ["lens", "Lens", "LENS", "hatch"], "2 distinct anchor(s)"),
    ("visual_anchors", [f"anchor {i}" for i in range(6)], "6 distinct anchor(s)"),
    ("lighting.primary_source", "daylight through the panes", "3200K does not fit"),
    ("lighting.primary_source", "tungsten lamp and the sun", "'night' and lighting"),
    ("layout.geometry", "big", "layout.geometry 'big' is not concrete"),
    ("layout.entries_exits", "yes", "layout.entries_exits 'yes' is not concrete"),
    ("layout.windows", "", "layout.windows is empty"),
    ("lighting.shadow", "soft yet harsh", "'soft' and 'harsh'"),
    ("prop_anchors", [], "prop_anchors is empty"),
    ("tone_rules", [], "tone_rules is empty"),
    ("environment.ambient_sound", "various noises", "'various'"),
]


@pytest.mark.parametrize(("path", "value", "reason"), SET_REFUSED)
def test_set_lock_rules_refuse(path: str, value: Any, reason: str) -> None:
    found = reasons(SetLock, changed(good_set(), path, value))
    assert any(reason in r for r in found), found


def test_set_lock_rules_accept() -> None:
    data = changed(good_set(), "layout.windows", "none")
    data = changed(data, "lighting.primary_source", "tungsten lamp and moonlight; no sun")
    assert reasons(SetLock, data) == ()
    day = changed(
        changed(good_set(), "lighting.temperature_k", 5600),
        "lighting.primary_source",
        "daylight through the panes",
    )
    assert reasons(SetLock, changed(day, "environment.time_of_day", "midday")) == ()


def test_set_anchor_range_comes_from_config() -> None:
    wide = Config.model_validate({"project": {"name": "t"}, "thresholds": {"set_anchors_max": 6}})
    six = changed(good_set(), "visual_anchors", [f"anchor {i}" for i in range(6)])
    assert reasons(SetLock, six, wide) == ()
    assert reasons(SetLock, six) != ()


VOICE_REFUSED = [
    (
        "tone",
        {"pitch": "high", "timbre": "deep bass", "energy": "eager"},
        "pitch 'high' and tone.timbre 'deep'",
    ),
    (
        "tone",
        {"pitch": "low", "timbre": "shrill", "energy": "eager"},
        "pitch 'low' and tone.timbre 'shrill'",
    ),
    ("signature_phrases", ["No bloody way."], "never' and signature_phrases 'bloody'"),
    (
        "accent",
        {"region": "Glasgow", "strength": "none", "vocabulary": "local", "slang_level": "low"},
        "strength is 'none' but accent.region is 'Glasgow'",
    ),
    (
        "emotional_range",
        {"default": "", "upper_limit": "a shout", "baseline": "dry", "stress_reaction": "quiet"},
        "emotional_range.default is empty",
    ),
    ("forbidden_drift", [], "forbidden_drift is empty"),
    (
        "cadence",
        {"sentence_length": "short", "pauses": "maybe", "speed": "slow", "hesitations": "none"},
        "cadence.pauses: 'maybe'",
    ),
]


@pytest.mark.parametrize(("path", "value", "reason"), VOICE_REFUSED)
def test_voice_lock_rules_refuse(path: str, value: Any, reason: str) -> None:
    data = changed(good_voice(), "constraints.swearing", "never")
    found = reasons(VoiceLock, changed(data, path, value))
    assert any(reason in r for r in found), found


def test_voice_lock_rules_accept() -> None:
    rare = changed(good_voice(), "signature_phrases", ["No bloody way."])
    assert reasons(VoiceLock, rare) == ()  # swearing "rare" allows it
    quoted = changed(good_voice(), "signature_phrases", ["Maybe. Maybe not."])
    assert reasons(VoiceLock, quoted) == ()  # speech may be vague; the lock may not
    neutral = changed(
        good_voice(),
        "accent",
        {"region": "neutral", "strength": "none", "vocabulary": "plain", "slang_level": "none"},
    )
    assert reasons(VoiceLock, neutral) == ()


def test_style_lock_rules() -> None:
    assert any("palette is empty" in r for r in reasons(StyleLock, {**good_style(), "palette": []}))
    assert any(
        "forbidden_drift is empty" in r
        for r in reasons(StyleLock, {**good_style(), "forbidden_drift": []})
    )
    lens = {**good_style(), "lens_film_look": "a normal lens, 50mm"}  # an exact term
    assert reasons(StyleLock, lens) == ()


def test_lock_gate_refuses_what_is_not_a_lock() -> None:
    with pytest.raises(UserError, match="not a lock"):
        lock_gate(Scenes(rows=[]), CONFIG)


# -- lock add, versions, diff ---------------------------------------------------------------


def hand_file(folder: Path, filename: str, lock: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / filename
    path.write_bytes(lock.render())
    return path


def counts(project: Project) -> tuple[int, int]:
    conn = project.store.conn
    return (
        conn.execute("SELECT count(*) FROM artifacts").fetchone()[0],
        conn.execute("SELECT count(*) FROM runlog").fetchone()[0],
    )


def test_add_lock_refuses_a_vague_lock_and_writes_nothing(project: Project) -> None:
    before = counts(project)
    with pytest.raises(LockRefused) as refused:
        add_lock(project, EXAMPLES / "bad" / "CHAR_MR_QUILL_LOCK.txt", "from the director")
    assert len(refused.value.reasons) == 7
    assert "'sort of'" in str(refused.value) and "nothing was written" in str(refused.value)
    assert counts(project) == before
    assert not list((project.root / "continuity").iterdir())


def test_add_lock_refuses_other_files_and_mismatched_names(
    project: Project, tmp_path: Path
) -> None:
    scenes = tmp_path / "in" / "SCENES.csv"
    scenes.parent.mkdir()
    scenes.write_bytes(Scenes(rows=[]).render())
    with pytest.raises(UserError, match="not a lock"):
        add_lock(project, scenes)
    wrong = hand_file(
        tmp_path / "in", "CHAR_NELL_LOCK.txt", example(CharLock, "CHAR_JONAH_LOCK.txt")
    )
    with pytest.raises(SchemaError, match="named for NELL but its title says JONAH"):
        add_lock(project, wrong)
    versioned = hand_file(
        tmp_path / "in", "CHAR_JONAH_LOCK_v001.txt", example(CharLock, "CHAR_JONAH_LOCK.txt")
    )
    with pytest.raises(UserError, match="already carries a version"):
        add_lock(project, versioned)


def test_a_changed_lock_is_a_new_version_and_diff_shows_it(
    project: Project, tmp_path: Path
) -> None:
    first, gate = add_lock(project, EXAMPLES / "good" / "CHAR_JONAH_LOCK.txt", "cast")
    assert (first.filename, gate.verdict) == ("CHAR_JONAH_LOCK_v001.txt", "PASS")
    row = project.store.conn.execute(
        "SELECT skill_name, outcome, model_used, notes FROM runlog WHERE artifact_output = ?",
        (first.filename,),
    ).fetchone()
    assert row == ("manual", "PASS", "human", "cast")
    again, _ = add_lock(project, EXAMPLES / "good" / "CHAR_JONAH_LOCK.txt")
    assert again.filename == first.filename  # identical: no new version
    edited = changed(good_char(), "appearance.hair", "dark auburn, buzzed short")
    edited["forbidden_drift"] = [*edited["forbidden_drift"], "no hat indoors"]
    path = hand_file(tmp_path / "edit", "CHAR_JONAH_LOCK.txt", CharLock.model_validate(edited))
    second, _ = add_lock(project, path, "new haircut from S04")
    assert second.filename == "CHAR_JONAH_LOCK_v002.txt"
    assert (
        project.store.read(first.name) == (EXAMPLES / "good" / "CHAR_JONAH_LOCK.txt").read_bytes()
    )  # v001 untouched
    diff = diff_versions(project, "CHAR_JONAH_LOCK", "v001", "v002")
    assert diff == [
        (
            "appearance.hair",
            "dark auburn, short, damp curls at the neck",
            "dark auburn, buzzed short",
        ),
        (
            "forbidden_drift",
            "no beard or stubble; never taller than the doorframe of the "
            "cottage; jacket never unzipped outdoors",
            "no beard or stubble; never taller than "
            "the doorframe of the cottage; jacket never unzipped outdoors; no hat indoors",
        ),
    ]
    assert (
        diff_versions(project, "CHAR_JONAH_LOCK_v002.txt", "1", "CHAR_JONAH_LOCK_v002.txt") == diff
    )
    assert lock_diff(project.store.load(first.name), project.store.load(first.name)) == []


def test_lock_diff_reports_optional_values_as_none() -> None:
    old = CharLock.model_validate(good_char())
    new = CharLock.model_validate(changed(good_char(), "appearance.ethnicity", "Shetlander"))
    assert lock_diff(old, new) == [("appearance.ethnicity", "(none)", "Shetlander")]


# -- the lock skills through the real runner ------------------------------------------------

SCRIPT_S01 = """EXT. HOLM SOUND - ROWING BOAT - NIGHT

Nell pulls the oars. Jonah hugs the RADIO.

MR. QUILL (V.O.)
Lamp room, top of the tower.

JONAH
What's in a logbook?

NELL
He's paying us not to ask."""


@pytest.fixture
def film(tmp_path: Path) -> Path:
    """A project with three scenes, their breakdown and the script of S01."""
    with Project.init(tmp_path / "film", name="film") as p:
        root = p.root
        p.store.write(
            "SCENES",
            None,
            Scenes.model_validate(
                {
                    "rows": [
                        {
                            "scene_id": "S01",
                            "summary": "Nell and Jonah row out to the dark lighthouse.",
                            "location": "HOLM_SOUND_ROWING_BOAT",
                            "time_of_day": "NIGHT",
                            "characters_present": ["NELL", "JONAH"],
                        },
                        {
                            "scene_id": "S02",
                            "summary": "Nell climbs to the lamp room alone.",
                            "goal": "take the logbook",
                            "location": "LIGHTHOUSE_LAMP_ROOM",
                            "time_of_day": "NIGHT",
                            "characters_present": ["NELL"],
                        },
                        {
                            "scene_id": "S03",
                            "summary": "The empty lamp room; the lens turns.",
                            "location": "LIGHTHOUSE_LAMP_ROOM",
                            "time_of_day": "NIGHT",
                        },
                    ]
                }
            ),
        )
        p.store.write(
            "BREAKDOWN",
            None,
            Breakdown.model_validate(
                {
                    "rows": [
                        {
                            "scene_id": "S01",
                            "characters_present": ["NELL", "JONAH"],
                            "new_characters_introduced": ["NELL", "JONAH"],
                            "locations_used": ["HOLM_SOUND_ROWING_BOAT"],
                            "new_locations_introduced": ["HOLM_SOUND_ROWING_BOAT"],
                            "props_used": ["RADIO"],
                            "continuity_risks": ["heard only in voice-over: MR_QUILL"],
                            "lock_requirements": [
                                "CHAR_NELL_LOCK",
                                "CHAR_JONAH_LOCK",
                                "VOICE_MR_QUILL_LOCK",
                            ],
                        },
                        {
                            "scene_id": "S02",
                            "characters_present": ["NELL"],
                            "locations_used": ["LIGHTHOUSE_LAMP_ROOM"],
                            "new_locations_introduced": ["LIGHTHOUSE_LAMP_ROOM"],
                            "props_used": ["LOGBOOK"],
                            "state_changes": ["NELL takes the LOGBOOK", "JONAH waits below"],
                        },
                        {"scene_id": "S03", "locations_used": ["LIGHTHOUSE_LAMP_ROOM"]},
                    ]
                }
            ),
        )
        p.store.write("SCRIPT", "S01", ScriptScene(scene_id="S01", text=SCRIPT_S01))
    configure(root)
    return root


SUBJECT = re.compile(r"Write the (CHARACTER|SET|VOICE) LOCK for (\S+)\.")
BODIES = {"CHARACTER": good_char, "SET": good_set, "VOICE": good_voice}


def subject_of(request: TextRequest) -> tuple[str, str]:
    match = SUBJECT.match(request.prompt)
    assert match is not None, request.prompt[:80]
    return match.group(1), match.group(2)


def answer_good(request: TextRequest) -> dict[str, Any]:
    kind, _ = subject_of(request)
    return BODIES[kind]()


def lock_runner(root: Path, script: Any, cost: float = 0.0) -> tuple[Runner, ScriptedTextModel]:
    registry = Registry()
    for skill in (CharacterLock, SetLockSkill, VoiceLockSkill):
        registry.register(skill)
    return scripted_runner(root, script, registry, cost=cost, worst_case=max(cost, 0.01))


def test_character_lock_writes_a_gated_lock_per_character(film: Path) -> None:
    r, model = lock_runner(film, answer_good)
    result = r.run("character-lock", "S01")
    assert result.gate.verdict == "PASS"
    assert [rec.filename for rec in result.records] == [
        "CHAR_NELL_LOCK_v001.txt",
        "CHAR_JONAH_LOCK_v001.txt",
    ]
    nell = r.store.load("CHAR_NELL_LOCK_v001.txt")
    assert isinstance(nell, CharLock) and nell.name == "NELL"  # filed under its subject
    assert [subject_of(q) for q in model.requests] == [
        ("CHARACTER", "NELL"),
        ("CHARACTER", "JONAH"),
    ]
    prompt = model.requests[0].prompt
    assert "SCENE S01 | HOLM_SOUND_ROWING_BOAT | NIGHT" in prompt
    assert "There is no style lock yet." in prompt and '"kind of"' in prompt
    assert "lamp room alone" not in prompt  # other scenes stay out of the prompt
    # scenes and breakdown are context, not lineage: a new SCENES version must not make
    # every lock (and so every GenPack and render) stale
    assert r.store.lineage("CHAR_NELL_LOCK_v001.txt") == []


def test_character_lock_prompt_is_bounded_to_the_subject(film: Path) -> None:
    with Project(film) as p:
        add_lock(p, EXAMPLES / "good" / "STYLE_NORTH_SEA_NIGHT_LOCK.txt")
    r, model = lock_runner(film, answer_good)
    assert r.run("character-lock", "S02").gate.verdict == "PASS"
    prompt = model.requests[0].prompt
    assert "STYLE LOCK: NORTH_SEA_NIGHT" in prompt  # verbatim
    assert "state changes: NELL takes the LOGBOOK" in prompt
    assert "JONAH waits below" not in prompt  # a note about someone else
    assert "Where NELL first appears:\nSCENE S01" in prompt
    lineage = {n.filename for n in r.store.lineage("CHAR_NELL_LOCK_v001.txt")}
    assert "STYLE_NORTH_SEA_NIGHT_LOCK_v001.txt" in lineage


def test_a_failed_lock_fails_the_run_and_the_revision_gets_its_reasons(film: Path) -> None:
    vague = changed(good_char(), "behavior.temperament", "kind of moody")
    calls: list[str] = []

    def answer(request: TextRequest) -> dict[str, Any]:
        _, subject = subject_of(request)
        calls.append(subject)
        first_jonah = subject == "JONAH" and calls.count("JONAH") == 1
        return vague if first_jonah else good_char()

    r, model = lock_runner(film, answer)
    result = r.run("character-lock", "S01")
    assert result.gate.verdict == "PASS" and result.attempt == 2
    runs = r.store.conn.execute(
        "SELECT outcome, notes FROM runlog WHERE event = 'run' AND "
        "skill_name = 'character-lock' ORDER BY seq"
    ).fetchall()
    assert runs[0][0] == "FAIL"
    assert runs[0][1] == (
        "CHAR_JONAH_LOCK: vague phrasing in behavior.temperament: 'kind of' "
        "(say exactly what is seen or heard)"
    )
    revised = [q.prompt for q in model.requests if subject_of(q)[1] == "JONAH"][1]
    assert "Your previous draft of CHAR_JONAH_LOCK was refused" in revised
    assert "- vague phrasing in behavior.temperament: 'kind of'" in revised
    nell_prompts = [q.prompt for q in model.requests if subject_of(q)[1] == "NELL"]
    assert all("previous draft" not in p for p in nell_prompts)  # NELL had nothing to fix
    assert r.store.latest("CHAR_LOCK", "JONAH").filename == "CHAR_JONAH_LOCK_v002.txt"


def test_set_lock_and_an_empty_scene(film: Path) -> None:
    r, model = lock_runner(film, answer_good)
    result = r.run("set-lock", "S02")
    assert [rec.filename for rec in result.records] == ["SET_LIGHTHOUSE_LAMP_ROOM_LOCK_v001.txt"]
    assert "3 to 5 distinct landmarks" in model.requests[0].prompt
    # A scene with nobody in it needs no character lock: an empty run that passes.
    empty = r.run("character-lock", "S03")
    assert (empty.gate.verdict, empty.records) == ("PASS", [])
    assert len(model.requests) == 1


def test_voice_lock_covers_the_speakers_of_the_script(film: Path) -> None:
    r, model = lock_runner(film, answer_good)
    result = r.run("voice-lock", "S01")
    assert [rec.filename for rec in result.records] == [
        "VOICE_MR_QUILL_LOCK_v001.txt",
        "VOICE_JONAH_LOCK_v001.txt",
        "VOICE_NELL_LOCK_v001.txt",
    ]
    quill = model.requests[0].prompt
    assert "MR_QUILL's 1 line(s) in S01:\n- (V.O.) Lamp room, top of the tower." in quill
    assert r.store.lineage("VOICE_NELL_LOCK_v001.txt") == []  # the script is context


def test_voice_lock_without_a_script_covers_everyone_present(film: Path) -> None:
    r, model = lock_runner(film, answer_good)
    result = r.run("voice-lock", "S02")
    assert [rec.filename for rec in result.records] == ["VOICE_NELL_LOCK_v001.txt"]
    assert "No lines of NELL are available for S02." in model.requests[0].prompt


def test_voice_lock_falls_back_when_a_speaker_is_an_unknown_alias(film: Path) -> None:
    with Project(film) as p:
        p.store.write(
            "SCRIPT",
            "S02",
            ScriptScene(
                scene_id="S02",
                text=(
                    "INT. LIGHTHOUSE - LAMP ROOM - NIGHT\n\nNell climbs in.\n\nKEEPER (O.S.)\n"
                    "Who's up there?"
                ),
            ),
        )
    r, _ = lock_runner(film, answer_good)
    result = r.run("voice-lock", "S02")
    assert [rec.filename for rec in result.records] == ["VOICE_NELL_LOCK_v001.txt"]


def test_existing_passing_locks_are_not_drafted_again(film: Path) -> None:
    r, model = lock_runner(film, answer_good)
    r.run("character-lock", "S01")
    asked = len(model.requests)
    again = r.run("character-lock", "S02")  # NELL already has a passing lock
    assert (again.gate.verdict, again.records, len(model.requests)) == ("PASS", [], asked)
    with Project(film) as p:
        add_lock(p, EXAMPLES / "good" / "STYLE_NORTH_SEA_NIGHT_LOCK.txt")
    # NELL's lock is still fresh: it was not made from a style lock.
    assert r.run("character-lock", "S02").records == []


def test_failed_drafts_are_drafted_again(film: Path) -> None:
    vague = changed(good_char(), "behavior.temperament", "kind of moody")
    r, model = lock_runner(film, [vague, good_char(), good_char(), good_char()])
    result = r.run("character-lock", "S01")
    assert result.gate.verdict == "PASS"
    # Both drafts of the failed run carry its FAIL, so both are asked again.
    assert [subject_of(q)[1] for q in model.requests] == ["NELL", "JONAH", "NELL", "JONAH"]


# -- impact ---------------------------------------------------------------------------------

PRICED = {
    'premium = "animatic"': 'premium = "fake:hero"',
    "[prices]\n": '[prices]\nvideo = { "fake:hero" = { proxy = 0.5, final = 2.0 } }\n',
}


def genpack(shot: str) -> GenPack:
    return GenPack(
        shot_id=shot,
        set="SET LOCK",
        characters="CHARACTER LOCK",
        action="rows",
        negatives="none",
        settings="proxy",
    )


def test_impact_lists_stale_dependents_with_their_cost(film: Path, tmp_path: Path) -> None:
    configure(film, **PRICED)
    with Project(film) as p:
        add_lock(p, EXAMPLES / "good" / "STYLE_NORTH_SEA_NIGHT_LOCK.txt")
    r, _ = lock_runner(film, answer_good, cost=0.25)
    r.run("character-lock", "S02")  # CHAR_NELL_LOCK_v001, made from the style lock
    store = r.store
    store.write(
        "SHOTLIST",
        "S02",
        ShotList.model_validate(
            {
                "rows": [
                    {
                        "shot_id": "S02_SH01",
                        "scene_id": "S02",
                        "duration_s": 4,
                        "camera_type": "close_up",
                        "blocking_summary": "Nell lifts the logbook",
                        "set_id": "LIGHTHOUSE_LAMP_ROOM",
                        "char_ids": ["NELL"],
                        "hero_tier": "A",
                        "complexity_level": "low",
                        "regen_risk_estimate": "medium",
                    }
                ]
            }
        ),
    )
    store.write("GENPACK", "S02_SH01", genpack("S02_SH01"), inputs=["CHAR_NELL_LOCK_v001.txt"])
    store.write("PROXY", "S02_SH01", FAKE_MP4, inputs=["GENPACK_S02_SH01_v001.txt"])
    assert impact(r.project, "CHAR_NELL_LOCK").rows == ()  # nothing older than v001

    style = changed(good_style(), "grading", "Cold teal shadows, crushed blacks.")
    path = hand_file(
        tmp_path / "edit", "STYLE_NORTH_SEA_NIGHT_LOCK.txt", StyleLock.model_validate(style)
    )
    add_lock(r.project, path, "darker grade")
    report = impact(r.project, "STYLE_NORTH_SEA_NIGHT_LOCK")
    assert report.current == "STYLE_NORTH_SEA_NIGHT_LOCK_v002.txt"
    assert [(row.artifact, row.made_from, row.est_cost) for row in report.rows] == [
        ("CHAR_NELL_LOCK_v001.txt", "STYLE_NORTH_SEA_NIGHT_LOCK_v001.txt", 0.25),
        ("GENPACK_S02_SH01_v001.txt", "STYLE_NORTH_SEA_NIGHT_LOCK_v001.txt", 0.0),
        ("PROXY_S02_SH01_v001.mp4", "STYLE_NORTH_SEA_NIGHT_LOCK_v001.txt", 2.6),
    ]
    assert report.total == pytest.approx(2.85) and report.currency == "USD"
    assert "4s x 0.5/s (fake:hero, proxy, hero A) x 1.3" in report.rows[2].basis
    # A versioned name asks the same question; v001 itself has nothing older.
    assert impact(r.project, "STYLE_NORTH_SEA_NIGHT_LOCK_v002.txt") == report
    assert impact(r.project, "STYLE_NORTH_SEA_NIGHT_LOCK_v001.txt").rows == ()
    # A redone GenPack is no longer work to do; the render made from the old one still is.
    store.write("GENPACK", "S02_SH01", genpack("S02_SH01"))
    again = impact(r.project, "STYLE_NORTH_SEA_NIGHT_LOCK")
    assert [row.artifact for row in again.rows] == [
        "CHAR_NELL_LOCK_v001.txt",
        "PROXY_S02_SH01_v001.mp4",
    ]


def test_impact_refuses_what_is_not_a_lock(film: Path) -> None:
    with Project(film) as p:
        with pytest.raises(UserError, match="not a lock"):
            impact(p, "SCENES")
        with pytest.raises(UserError, match="no version"):
            impact(p, "CHAR_NOBODY_LOCK")
