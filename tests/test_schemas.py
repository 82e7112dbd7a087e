"""Artifact schemas: lossless round trips for every kind, golden renders, readable errors."""

from __future__ import annotations

import re
import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin, get_type_hints

import annotated_types
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from filmslate import ArtifactNameError, SchemaError
from filmslate.schemas import (
    NONE_MARKER,
    SCHEMAS,
    Appearance,
    Behavior,
    CharacterState,
    CharLock,
    Currency,
    Entry,
    EpisodeId,
    GenPack,
    HexColour,
    Id,
    Item,
    Name,
    Paragraphs,
    PropState,
    Psych,
    PsychAssessment,
    SceneId,
    SceneRow,
    Scenes,
    ShotId,
    StyleLock,
    Target,
    Text,
    Timeline,
    Wardrobe,
    WorldState,
    schema_for,
)
from filmslate.schemas._document import BRACKET_HEADING, MD_HEADING, TXT_HEADING
from filmslate.schemas._export import OtioObject
from filmslate.schemas._genpack import PackBody
from filmslate.schemas._governance import Cell, KeyCell
from filmslate.schemas._narrative import StoryPosition
from filmslate.schemas._production import Scope

# -- strategies built from the models' own type hints ---------------------------------------

_FORBIDDEN = ("Cc", "Cs", "Zl", "Zp")
# Characters that stress the formats: separators, quotes, escapes, heading and list marks.
_TRICKY = [*",;|\\\"'#-:()[]* ", "é", "—", "\u00a0", "🎬"]


def _chars(no: str = "") -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from([c for c in _TRICKY if c not in no]),
        st.characters(exclude_categories=_FORBIDDEN, exclude_characters=no),
    )


_CHARS = _chars()


def _plain_line(line: str) -> bool:
    return not any(p.fullmatch(line) for p in (MD_HEADING, TXT_HEADING, BRACKET_HEADING))


def _line(no: str = "", min_size: int = 0) -> st.SearchStrategy[str]:
    raw = st.text(_chars(no), min_size=min_size, max_size=16).map(str.strip)
    return raw.filter(lambda s: len(s) >= min_size and s != NONE_MARKER and _plain_line(s))


def _paragraphs(min_size: int = 0) -> st.SearchStrategy[str]:
    lines = st.lists(st.one_of(st.just(""), st.text(_CHARS, max_size=16)), max_size=3)
    text = lines.map(lambda ls: "\n".join(line.rstrip() for line in ls).strip())
    return text.filter(
        lambda s: (
            len(s) >= min_size
            and s != NONE_MARKER
            and all(_plain_line(line) for line in s.split("\n"))
        )
    )


def _raw_cell(nonblank: bool = False) -> st.SearchStrategy[str]:
    text = st.text(_CHARS, max_size=16)
    return text.filter(lambda s: s.strip() != "") if nonblank else text


_SCENE = st.integers(1, 120).map(lambda n: f"S{n:02d}")
_SHOT = st.tuples(st.integers(1, 120), st.integers(1, 120)).map(
    lambda t: f"S{t[0]:02d}_SH{t[1]:02d}"
)
_NAME = st.from_regex(re.compile(r"[A-Z0-9]{1,6}(_[A-Z0-9]{1,6}){0,2}"), fullmatch=True)

SPECIAL: list[tuple[Any, st.SearchStrategy[Any]]] = [
    (Text, _line()),
    (Item, _line(min_size=1)),
    (Entry, _line(no=";", min_size=1)),
    (Id, _line(no=",;", min_size=1)),
    (Paragraphs, _paragraphs()),
    (PackBody, _paragraphs()),
    (HexColour, st.from_regex(re.compile(r"#[0-9a-fA-F]{6}"), fullmatch=True)),
    (SceneId, _SCENE),
    (ShotId, _SHOT),
    (EpisodeId, st.integers(1, 120).map(lambda n: f"E{n:02d}")),
    (
        Target,
        st.one_of(
            _SCENE,
            st.just("PROJECT"),
            st.integers(1, 9).map(lambda n: f"ACT_{n}"),
            st.integers(1, 30).map(lambda n: f"E{n:02d}"),
        ),
    ),
    (Name, _NAME),
    (Currency, st.sampled_from(["USD", "EUR", "JPY"])),
    (Scope, st.one_of(st.just("ALL"), _SCENE, _SHOT)),
    (StoryPosition, st.one_of(st.just(""), _SCENE.map(lambda s: f"before {s}"))),
    (Cell, _raw_cell()),
    (KeyCell, _raw_cell(nonblank=True)),
    # an OpenTimelineIO object: any JSON object (what lies inside is OTIO's schema)
    (
        OtioObject,
        st.dictionaries(
            _line(),
            st.recursive(
                st.none()
                | st.booleans()
                | st.integers()
                | st.floats(allow_nan=False, allow_infinity=False)
                | _line(),
                lambda inner: st.lists(inner, max_size=2) | st.dictionaries(_line(), inner),
                max_leaves=4,
            ),
            max_size=2,
        ),
    ),
]


def _bounds(metadata: list[Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for item in metadata:
        if isinstance(item, FieldInfo):
            found |= _bounds(item.metadata)
        for attr, key in (
            ("ge", "min_value"),
            ("gt", "min_value"),
            ("le", "max_value"),
            ("lt", "max_value"),
        ):
            if isinstance(item, getattr(annotated_types, attr.capitalize())):
                found[key] = getattr(item, attr)
                if attr in ("gt", "lt"):
                    found["exclude_" + key.split("_")[0]] = True
    return found


def strategy(tp: Any) -> st.SearchStrategy[Any]:
    """A strategy of valid values for a schema annotation."""
    special = next((s for alias, s in SPECIAL if tp == alias), None)
    if special is not None:
        return special
    origin, args = get_origin(tp), get_args(tp)
    if origin is Annotated:
        if args[0] in (int, float):
            return _number(args[0], _bounds(list(args[1:])))
        return strategy(args[0])  # a marker such as Joined("; ")
    if origin is Literal:
        return st.sampled_from(args)
    if origin in (Union, types.UnionType):
        return st.one_of(*(st.none() if a is type(None) else strategy(a) for a in args))
    if origin is list:
        return st.lists(strategy(args[0]), max_size=3)
    if origin is dict:
        return st.dictionaries(strategy(args[0]), strategy(args[1]), max_size=2)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return _model(tp)
    return _number(tp, {})


def _number(tp: Any, bounds: dict[str, Any]) -> st.SearchStrategy[Any]:
    if tp is int:
        return st.integers(bounds.get("min_value", -1000), bounds.get("max_value", 10**6))
    if tp is float:
        return st.floats(allow_nan=False, allow_infinity=False, **bounds)
    raise TypeError(f"no strategy for {tp!r}")


def _model(model: type[BaseModel]) -> st.SearchStrategy[Any]:
    hints = get_type_hints(model, include_extras=True)
    fields = st.fixed_dictionaries({name: strategy(hints[name]) for name in model.model_fields})
    return fields.map(FIXUPS.get(model.__name__, lambda d: d)).map(lambda d: model(**d))


def _renumber_scenes(d: dict[str, Any]) -> dict[str, Any]:
    rows = [r.model_copy(update={"scene_id": f"S{i + 1:02d}"}) for i, r in enumerate(d["rows"])]
    if rows and hasattr(rows[0], "story_position"):  # a position names another scene
        rows = [
            r.model_copy(update={"story_position": "before S01" if r.story_position else ""})
            if i
            else r.model_copy(update={"story_position": ""})
            for i, r in enumerate(rows)
        ]
    return {**d, "rows": rows}


def _one_scene_of_shots(d: dict[str, Any]) -> dict[str, Any]:
    rows = [
        r.model_copy(update={"scene_id": "S01", "shot_id": f"S01_SH{i + 1:02d}"})
        for i, r in enumerate(d["rows"])
    ]
    return {**d, "rows": rows}


QC = (
    "face_consistency",
    "wardrobe_consistency",
    "set_continuity",
    "prop_accuracy",
    "lighting_consistency",
    "motion_integrity",
    "audio_consistency",
)
PLAUS = ("procedural", "physical", "emotional", "logistical", "internal_consistency")


def _one_after_another(cues: list[Any]) -> list[Any]:
    """Cues laid end to end in the drawn order, each keeping its own length."""
    laid, at = [], 0
    for cue in cues:
        length = cue.end_ms - cue.start_ms
        laid.append(cue.model_copy(update={"start_ms": at, "end_ms": at + length}))
        at += length
    return laid


# Cross-field rules a generic strategy cannot know: make the drawn values consistent.
FIXUPS = {
    "FcpXmlExport": lambda d: {**d, "document": '<?xml version="1.0" ?>\n<xmeml>' + d["document"]},
    "EdlExport": lambda d: {**d, "document": "TITLE: " + d["document"]},
    "Plausibility": lambda d: {**d, "total": sum(d[k] for k in PLAUS)},
    "QcRow": lambda d: {**d, "total_score": sum(d[k] or 0 for k in QC)},
    "QcBatch": lambda d: {
        **d,
        "rows": [r.model_copy(update={"attempt_number": i + 1}) for i, r in enumerate(d["rows"])],
    },
    "ShotRow": lambda d: {**d, "shot_id": d["scene_id"] + "_SH01"},
    "ShotList": _one_scene_of_shots,
    "Scenes": _renumber_scenes,
    "Breakdown": _renumber_scenes,
    "Override": lambda d: {**d, "reason": d["reason"] or "the director asked"},
    # a cue lasts some time, and cues follow one another
    "SubtitleCue": lambda d: {**d, "end_ms": d["start_ms"] + 1 + d["end_ms"] % 5000},
    "SubtitlesSrt": lambda d: {**d, "cues": _one_after_another(d["cues"])},
    "SubtitlesVtt": lambda d: {**d, "cues": _one_after_another(d["cues"])},
}

# -- round trips ----------------------------------------------------------------------------

ROUND_TRIP = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@pytest.mark.parametrize("kind", sorted(SCHEMAS))
def test_every_kind_round_trips(kind: str) -> None:
    model = SCHEMAS[kind]

    @ROUND_TRIP
    @given(_model(model))
    def check(artifact: Any) -> None:
        data = artifact.render()
        assert data.endswith(b"\n") and b"\r" not in data
        again = model.parse(data)
        assert again == artifact
        assert again.render() == data

    check()


def test_schemas_cover_every_text_kind_and_no_binary_one() -> None:
    from filmslate.core._names import KINDS

    assert set(SCHEMAS) == {k for k, spec in KINDS.items() if not spec.binary}
    for kind, model in SCHEMAS.items():
        assert (kind, KINDS[kind].extension) == (model.KIND, model.EXTENSION)


def test_run_log_columns_follow_the_run_log() -> None:
    from filmslate.store import _runlog

    assert SCHEMAS["RUN_LOG"].header() == _runlog.COLUMNS


def test_schema_for_unknown_or_binary_kind() -> None:
    assert schema_for("SCENES") is Scenes
    for kind in ("NOPE", "STORYBOARD"):
        with pytest.raises(ArtifactNameError, match="no text schema"):
            schema_for(kind)


# -- golden renders -------------------------------------------------------------------------

SCENES_TEXT = """\
scene_id,summary,goal,conflict,outcome,location,time_of_day,characters_present
S01,"Alex slips in, ""quietly"".",Find the ledger,,,Old Mill,NIGHT,"ALEX, BEN"
S02,Ben waits.,,,,Old Mill,NIGHT,
"""


def test_scenes_golden() -> None:
    scenes = Scenes(
        rows=[
            SceneRow(
                scene_id="S01",
                summary=' Alex slips in, "quietly". ',
                goal="Find the ledger",
                location="Old Mill",
                time_of_day="NIGHT",
                characters_present=["ALEX", " BEN"],
            ),
            SceneRow(
                scene_id="S02", summary="Ben waits.", location="Old Mill", time_of_day="NIGHT"
            ),
        ]
    )
    assert scenes.render().decode() == SCENES_TEXT
    assert Scenes.parse(SCENES_TEXT.encode()) == scenes


WORLD_TEXT = """\
{
  "timeline": {
    "current_scene": "S02",
    "elapsed_time": "2 hours",
    "global_notes": []
  },
  "characters": {
    "ALEX": {
      "injuries": [
        "cut left hand"
      ],
      "knowledge": [],
      "inventory": [],
      "emotional_state": "wary",
      "location": "Old Mill"
    },
    "BEN": {
      "injuries": [],
      "knowledge": [],
      "inventory": [],
      "emotional_state": "",
      "location": ""
    }
  },
  "props": {
    "LEDGER": {
      "owner": "ALEX",
      "location": "satchel",
      "status": "intact"
    }
  },
  "locations": {},
  "rules": {
    "fictional_constraints": [],
    "modified_rules": []
  }
}
"""


def test_world_state_golden_and_sorted_by_id() -> None:
    state = WorldState(
        timeline=Timeline(current_scene="S02", elapsed_time="2 hours"),
        characters={
            "BEN": CharacterState(),
            "ALEX": CharacterState(
                injuries=["cut left hand"], emotional_state="wary", location="Old Mill"
            ),
        },
        props={"LEDGER": PropState(owner="ALEX", location="satchel", status="intact")},
    )
    assert list(state.characters) == ["ALEX", "BEN"]
    assert state.render().decode() == WORLD_TEXT
    assert WorldState.parse(WORLD_TEXT.encode()) == state


LOCK_TEXT = """\
CHARACTER LOCK: ALEX_REYES
CANONICAL APPEARANCE:
- age range: 30-35
- build: lean, 1.80 m
- hair: short black, side part
- eyes: brown
- distinguishing marks: scar over left eyebrow; chipped front tooth
- ethnicity: (none)
WARDROBE BASELINE:
- default outfit: navy peacoat over grey hoodie
- palette: #1B2A41; #8A8D91
- accessories: steel watch
- justified variants: (none)
BEHAVIORAL BASELINE:
- speech patterns: short declaratives
- temperament: guarded
- decision style: fast, then second-guesses
- stress behavior: goes quiet
- default emotional tone: wry
VOICE PROFILE:
Low, measured, slightly hoarse.
KNOWLEDGE AT INTRODUCTION:
- the mill's back door is unlocked
VISUAL ANCHORS:
- scar over left eyebrow
- navy peacoat
FORBIDDEN DRIFT:
- no beard
- no glasses
"""


def _alex() -> CharLock:
    return CharLock(
        name="Alex Reyes",
        appearance=Appearance(
            age_range="30-35",
            build="lean, 1.80 m",
            hair="short black, side part",
            eyes="brown",
            distinguishing_marks=["scar over left eyebrow", "chipped front tooth"],
        ),
        wardrobe=Wardrobe(
            default_outfit="navy peacoat over grey hoodie",
            palette=["#1b2a41", "#8A8D91"],
            accessories=["steel watch"],
        ),
        behavior=Behavior(
            speech_patterns="short declaratives",
            temperament="guarded",
            decision_style="fast, then second-guesses",
            stress_behavior="goes quiet",
            default_emotional_tone="wry",
        ),
        voice_profile="Low, measured, slightly hoarse.",
        knowledge_at_introduction=["the mill's back door is unlocked"],
        visual_anchors=["scar over left eyebrow", "navy peacoat"],
        forbidden_drift=["no beard", "no glasses"],
    )


def test_char_lock_golden() -> None:
    lock = _alex()
    assert lock.name == "ALEX_REYES" and lock.wardrobe.palette[0] == "#1B2A41"
    assert lock.render().decode() == LOCK_TEXT
    assert CharLock.parse(LOCK_TEXT.encode()) == lock


GENPACK_TEXT = """\
GENPACK: S01_SH02

[STYLE]

[SET]
SET LOCK: OLD_MILL
LAYOUT: one long room

[CHARACTERS]
CHARACTER LOCK: ALEX_REYES

[ACTION]
Alex crosses to the desk.

[NEGATIVES / NO-DRIFT]
- no beard

[SETTINGS]
resolution: proxy
"""


def test_genpack_golden() -> None:
    pack = GenPack(
        shot_id="S01_SH02",
        set="SET LOCK: OLD_MILL\nLAYOUT: one long room",
        characters="CHARACTER LOCK: ALEX_REYES",
        action="Alex crosses to the desk.",
        negatives="- no beard",
        settings="resolution: proxy",
    )
    assert pack.render().decode() == GENPACK_TEXT
    assert GenPack.parse(GENPACK_TEXT.encode()) == pack
    assert pack.subject == "S01_SH02"


def test_markdown_table_escapes_pipes_and_backslashes() -> None:
    psych = Psych(
        scene_id="S01",
        characters=[
            PsychAssessment(
                character="ALEX",
                motivation_alignment="wants a|b",
                emotional_continuity="ok \\ fine",
                trauma_history_influence="",
                arc_progression_status="on track",
                drift_warning="NO",
            )
        ],
    )
    text = psych.render().decode()
    assert "| ALEX | wants a\\|b | ok \\\\ fine |  | on track | NO |  |" in text
    assert text.startswith("# PSYCH S01\n\n## Characters\n\n| character | motivation alignment")
    assert Psych.parse(text.encode()) == psych


# -- parse errors name the line and field ---------------------------------------------------


def _error(model: Any, text: str) -> SchemaError:
    with pytest.raises(SchemaError) as info:
        model.parse(text.encode())
    return info.value


def test_csv_wrong_header() -> None:
    err = _error(Scenes, "scene_id,summary,goal\nS01,a,b\n")
    assert "line 1" in str(err) and "expected scene_id,summary,goal,conflict" in str(err)
    assert "got scene_id,summary,goal" in str(err)


def test_csv_blank_row_and_column_count() -> None:
    header = SCENES_TEXT.splitlines()[0]
    err = _error(Scenes, f"{header}\nS01,a,,,,Mill,,\n\nS02,b,,,,Mill,,\n")
    assert "line 3: blank row" in str(err) and err.context["line"] == 3
    err = _error(Scenes, f"{header}\nS01,a,,,,Mill,\n")
    assert "line 2: expected 8 columns, got 7" in str(err)


def test_csv_bad_score_names_line_and_column() -> None:
    header = (
        "shot_id,attempt_number,face_consistency,wardrobe_consistency,set_continuity,"
        "prop_accuracy,lighting_consistency,motion_integrity,audio_consistency,"
        "total_score,verdict,notes"
    )
    err = _error(
        SCHEMAS["QC_BATCH"],
        f"{header}\nS01_SH01,1,2,2,2,2,2,2,,12,PASS,\nS01_SH01,2,3,2,2,2,2,2,,13,PASS,\n",
    )
    assert "line 3, column 'face_consistency'" in str(err)
    assert "less than or equal to 2" in str(err) and err.context["line"] == 3


def test_csv_list_item_with_separator_is_refused() -> None:
    with pytest.raises(ValidationError, match="must not contain ','"):
        SceneRow(scene_id="S01", summary="x", location="Mill", characters_present=["A, B"])


def test_markdown_missing_section() -> None:
    text = (
        "# OVERRIDE PROJECT\n\n## Hard Stop\n\nbudget cap\n\n## Cost Impact\n\n10.0\n\n"
        "## Approved By\n\nJo\n"
    )
    err = _error(SCHEMAS["OVERRIDE"], text)
    assert "line 7: missing section '## Reason'" in str(err)


def test_markdown_bad_value_names_line_and_field() -> None:
    text = (
        Psych(
            scene_id="S01",
            characters=[
                PsychAssessment(
                    character="ALEX",
                    motivation_alignment="a",
                    emotional_continuity="b",
                    trauma_history_influence="c",
                    arc_progression_status="d",
                    drift_warning="NO",
                )
            ],
        )
        .render()
        .decode()
        .replace("| NO |", "| MAYBE |")
    )
    err = _error(Psych, text)
    assert "line 7, field 'characters[0].drift_warning'" in str(err) and "MAYBE" in str(err)


def test_genpack_sections_out_of_order() -> None:
    text = (
        GENPACK_TEXT.replace("[STYLE]", "[TMP]")
        .replace("[SET]", "[STYLE]")
        .replace("[TMP]", "[SET]")
    )
    err = _error(GenPack, text)
    assert "line 3: section '[SET]' is out of order; expected '[STYLE]'" in str(err)


def test_genpack_duplicate_and_missing_sections() -> None:
    err = _error(GenPack, GENPACK_TEXT.replace("[ACTION]", "[SET]"))
    assert "duplicate section '[SET]' (first on line 5)" in str(err)
    err = _error(GenPack, GENPACK_TEXT.replace("[SETTINGS]\nresolution: proxy\n", ""))
    assert "missing section '[SETTINGS]'" in str(err)


def test_genpack_body_cannot_hold_a_section_heading() -> None:
    with pytest.raises(ValidationError, match="GenPack section heading"):
        GenPack(
            shot_id="S01_SH01", set="[ACTION]", characters="", action="", negatives="", settings=""
        )


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda t: t.replace('  "rules"', '  "extra": 1,\n  "rules"'), "unexpected 'extra'"),
        (lambda t: t.replace('  "locations": {},\n', ""), "missing 'locations'"),
        (
            lambda t: t.replace(
                '"injuries": [\n        "cut left hand"\n      ]', '"injuries": "x"'
            ),
            "field 'characters.ALEX.injuries'",
        ),
    ],
)
def test_json_top_level_keys_and_fields(change: Any, words: str) -> None:
    err = _error(WorldState, change(WORLD_TEXT))
    assert words in str(err)


def test_json_syntax_error_has_a_line() -> None:
    err = _error(WorldState, '{\n  "timeline": ,\n}')
    assert "line 2" in str(err) and "invalid JSON" in str(err)


def test_bad_hex_colour() -> None:
    text = (
        "STYLE LOCK: NOIR\nMEDIUM:\n35mm film\nPALETTE:\n- #1A2B3C\n- #12345\n"
        "LENS / FILM LOOK:\nanamorphic\nGRADING:\nteal and orange\nFORBIDDEN DRIFT:\n"
        f"- {NONE_MARKER}\n"
    )
    err = _error(StyleLock, text)
    assert "line 6, field 'palette[1]': must be a hex colour" in str(err)


# -- construction normalises, and refuses what a file could not carry back ------------------


def test_none_marker_and_headings_are_refused_as_values() -> None:
    with pytest.raises(ValidationError, match="not a valid list item"):
        CharLock.model_validate({**_alex().model_dump(), "forbidden_drift": [NONE_MARKER]})
    with pytest.raises(ValidationError, match="section heading"):
        CharLock.model_validate({**_alex().model_dump(), "voice_profile": "Low.\nNOTE:"})


def test_text_cells_are_single_lines() -> None:
    with pytest.raises(ValidationError, match="line breaks"):
        SceneRow(scene_id="S01", summary="two\nlines", location="Mill")


def test_pasted_tabs_become_spaces_and_names_are_normalised() -> None:
    row = SceneRow(scene_id="S01", summary="a\tb", location="Mill")
    assert row.summary == "a b"
    assert (
        StyleLock(name="film noir", medium="35mm", lens_film_look="", grading="").name
        == "FILM_NOIR"
    )
