"""The provider prompt composed from a GenPack the real packager made (rules._compose)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from filmslate import Project
from filmslate.core._catalogue import ModelEntry, load_catalogue
from filmslate.rules._compose import compose
from filmslate.schemas import AdjustmentRule, GenPack, RegenRules
from test_runtime import configure
from test_skills_production import (
    ALEX,
    BEN,
    BREAKDOWN,
    MILL,
    MIRA,
    NOIR,
    SCENES,
    _report,
    plan,
    put,
)

KLING = "fal:fal-ai/kling-video/v2.1/standard/image-to-video"  # negative prompt, 2500 chars
SORA = "fal:fal-ai/sora-2/image-to-video"  # no negative prompt, no published limit


def make_film(root: Path) -> Path:
    """test_skills_production's one-scene project: three characters at the OLD_MILL."""
    Project.init(root, name="film").close()
    configure(root)
    project = Project(root)
    put(project, "SCENES", None, SCENES)
    put(project, "BREAKDOWN", None, BREAKDOWN)
    put(project, "CONTINUITY_REPORT", "S01", _report())
    for lock in (ALEX, MIRA, BEN):
        put(project, "CHAR_LOCK", lock.name, lock)
    put(project, "SET_LOCK", "OLD_MILL", MILL)
    return root


@pytest.fixture
def film(tmp_path: Path) -> Path:
    return make_film(tmp_path / "film")


@pytest.fixture
def film_with_style(film: Path) -> Path:
    put(Project(film), "STYLE_LOCK", "NOIR", NOIR)
    return film


def _pack(root: Path, shot: str) -> GenPack:
    r = plan(root)
    result = r.run("prompt-packager", shot)
    assert result.gate.passed
    return GenPack.parse(r.store.read(result.records[0].name))


def _entry(key: str, **change: object) -> ModelEntry:
    return load_catalogue().get(key).model_copy(update=change)


def test_the_prompt_says_style_set_characters_action_and_camera_in_order(
    film_with_style: Path,
) -> None:
    pack = _pack(film_with_style, "S01_SH04")
    composed = compose(pack, _entry(KLING))
    prompt = composed.prompt
    order = ["Style: 35mm film", "Setting: old mill, dusk", "millstone", "ALEX: alex anchor"]
    order += ["MIRA: mira anchor", "BEN: ben anchor", "Ben walks in between them.", "medium shot"]
    positions = [prompt.find(text) for text in order]
    assert -1 not in positions and positions == sorted(positions), prompt
    assert "wearing navy peacoat" in prompt and "scar over left eyebrow" in prompt
    assert "Left to right: ALEX, MIRA, BEN." in prompt
    assert composed.dropped == ()
    assert len(prompt) < len(pack.render()) // 2  # not the whole pack
    assert compose(pack, _entry(KLING)) == composed  # deterministic


def test_forbidden_drift_is_the_negative_prompt_and_never_positive_text(
    film_with_style: Path,
) -> None:
    pack = _pack(film_with_style, "S01_SH04")
    kling = compose(pack, _entry(KLING))
    assert kling.negative_prompt == ("saturated colour, modern light fixtures, beard, glasses, hat")
    sora = compose(pack, _entry(SORA))
    assert sora.negative_prompt == ""
    assert sora.prompt == kling.prompt
    for word in ("beard", "glasses", "saturated", "fixtures"):
        assert word not in sora.prompt
    assert any("forbidden-drift" in line for line in sora.dropped)
    prompt, negative = sora  # unpacks as the two strings sent
    assert (prompt, negative) == (sora.prompt, "")


def test_a_short_limit_drops_the_least_important_parts_whole(film_with_style: Path) -> None:
    pack = _pack(film_with_style, "S01_SH04")
    full = compose(pack, _entry(KLING)).prompt
    for limit in (400, 250, 120):
        composed = compose(pack, _entry(KLING, max_prompt_chars=limit))
        assert len(composed.prompt) <= limit < len(full)
        assert composed.dropped, limit
        # whole parts only: every word of the short prompt is a word of the full one
        words = set(full.replace(";", " ").replace(".", " ").replace(":", " ").split())
        assert (
            set(composed.prompt.replace(";", " ").replace(".", " ").replace(":", " ").split())
            <= words
        )
        assert "Ben walks in between them." in composed.prompt  # the action goes last
    short = compose(pack, _entry(KLING, max_prompt_chars=250))
    assert "style NOIR lens and grading" in short.dropped  # the look goes before the anchors
    assert "ALEX: alex anchor" in short.prompt


def test_an_action_longer_than_the_limit_is_cut_between_words(film: Path) -> None:
    pack = _pack(film, "S01_SH04")
    composed = compose(pack, _entry(KLING, max_prompt_chars=12))
    assert composed.prompt == "Ben walks."
    assert "action (cut after 2 words)" in composed.dropped
    assert len(composed.negative_prompt) <= 12 and "negative 'hat'" in composed.dropped


def test_regen_rules_are_instructions_in_the_prompt(film: Path) -> None:
    rules = RegenRules(
        failure_pattern_summary="Ben's hat keeps appearing.",
        root_cause_hypothesis="the lock is not stated",
        prompt_adjustment_rules=[
            AdjustmentRule(type="anchor_reinforcement", scope="S01_SH04", rule="Ben bareheaded"),
            AdjustmentRule(type="tier_escalation", scope="S01_SH04", rule="render one tier up"),
            AdjustmentRule(type="constraint_tightening", scope="ALL", rule="no lens flares"),
        ],
    )
    put(Project(film), "REGEN_RULES", None, rules)
    pack = _pack(film, "S01_SH04")
    composed = compose(pack, _entry(KLING))
    assert "Hold: Ben bareheaded." in composed.prompt
    assert "tier up" not in composed.prompt and "bareheaded" not in composed.negative_prompt
    assert BEN.forbidden_drift == ["no hat"] and "hat" in composed.negative_prompt
    assert "flares" not in composed.prompt and composed.negative_prompt.endswith("lens flares")
    sora = compose(pack, _entry(SORA))  # no negative prompt: not sent
    assert "flares" not in sora.prompt and "Hold: Ben bareheaded." in sora.prompt


def test_no_entry_means_no_limit_and_the_negatives_offered(film: Path) -> None:
    pack = _pack(film, "S01_SH02")
    composed = compose(pack, None)
    assert composed.dropped == ()
    assert composed.negative_prompt == "modern light fixtures, beard, glasses"
    assert MILL.name.replace("_", " ").lower() in composed.prompt


_TEXT = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs",),
        blacklist_characters="\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029",
    ),
    max_size=120,
)
# Real lock and pack lines among the noise: whole locks, broken locks, regen rules, camera.
_LINES = [
    *(line for lock in (ALEX, MILL, NOIR) for line in lock.render().decode().split("\n")),
    "camera: close_up",
    "in frame (left to right): ALEX, MIRA",
    "- regen rule (anchor_reinforcement, ALL): keep the scar",
    "- regen rule (constraint_tightening, ALL): no lens flares",
    "- CHAR ALEX: no beard",
]
_WHOLE = [lock.render().decode().removesuffix("\n") for lock in (ALEX, MIRA, MILL, NOIR)]
_PIECES = st.one_of(_TEXT, st.sampled_from(_LINES), st.sampled_from(_WHOLE))
_BODY = st.lists(_PIECES, max_size=30).map("\n".join)


@settings(deadline=None, max_examples=200)
@given(
    style=_BODY,
    set_text=_BODY,
    characters=_BODY,
    action=_BODY,
    negatives=_BODY,
    limit=st.one_of(st.none(), st.integers(1, 400)),
)
def test_any_pack_composes_within_the_limit(
    style: str, set_text: str, characters: str, action: str, negatives: str, limit: int | None
) -> None:
    try:
        pack = GenPack(
            shot_id="S01_SH01",
            style=style,
            set=set_text,
            characters=characters,
            action=action,
            negatives=negatives,
            settings="seed: 1",
        )
    except ValueError:
        return  # not a GenPack the store would take
    entry = _entry(KLING, max_prompt_chars=limit)
    composed = compose(pack, entry)
    if limit is not None:
        assert len(composed.prompt) <= limit and len(composed.negative_prompt) <= limit
    else:
        assert not any(d.startswith("negative ") for d in composed.dropped)
    for drift in ("no beard", "no glasses", "no modern light fixtures", "no lens flares"):
        if drift not in action:  # the action is the shot's own words, sent as they are
            assert drift not in composed.prompt  # forbidden drift is never positive text
    assert compose(pack, entry) == composed
