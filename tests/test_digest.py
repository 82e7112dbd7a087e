"""Bounded context for the whole-story reviews (issue 14 §8): the story digest.

narrative-red-team and audience-simulator read every scene while the scene list fits
``FULL_STORY_CHARS``; past it they read STORY_DIGEST (made by code: at most 16 sequences of
bounded size) and the full text of the scenes that matter now (named by the previous report,
flagged by the digest), so their prompt at 500 scenes stays within 1.5x the one at 50.
Real runner, store and skills; the scripted model answers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import run_slate
from filmslate import Project
from filmslate.core._errors import InputNotReady
from filmslate.rules._digest import (
    FOCUS_CHARS,
    FULL_STORY_CHARS,
    MAX_SEQUENCES,
    ROW_CHARS,
    build_digest,
    digest_problems,
    named_scenes,
    render_digest,
    render_sequence,
)
from filmslate.schemas import Beats, DigestRow, SceneRow, Scenes, StoryDigest
from filmslate.skills.validation import SKILLS
from filmslate.synthetic._narrative import scene_row
from filmslate.synthetic._shape import FilmShape
from filmslate.testing import scripted_runner
from test_runtime import BEATS, configure
from test_skills_validation import GOOD_AUDIENCE, GOOD_REDTEAM, registry


def story_rows(scenes: int) -> list[SceneRow]:
    """The synthetic film's scenes (about 420 characters each as a review's line)."""
    film = FilmShape(scenes=scenes, shots_per_scene=1)
    return [scene_row(film, i) for i in range(scenes)]


def project(root: Path, rows: list[SceneRow]) -> Path:
    with Project.init(root, name="film") as p:
        p.store.write("SCENES", None, Scenes(rows=rows))
        p.store.write("BEATS", None, Beats.model_validate(BEATS))
    configure(root)
    return root


def review_prompt(root: Path, skill: str, answer: dict[str, Any], digest: bool = True) -> str:
    runner, model = scripted_runner(root, [answer], registry())
    if digest:
        runner.run("story-digest", "PROJECT")
    result = runner.run(skill, "PROJECT")
    assert result.gate.verdict == "PASS", result.gate.reasons
    return model.requests[0].prompt


# -- the digest is bounded and covers every scene once ---------------------------------------


@pytest.mark.parametrize("scenes", [1, 2, 5, 16, 17, 50, 149, 300, 500, 1000])
def test_every_scene_is_in_exactly_one_sequence_of_a_bounded_few(scenes: int) -> None:
    rows = story_rows(scenes)
    digest = build_digest(rows)
    assert len(digest.rows) <= MAX_SEQUENCES
    assert [s for seq in digest.rows for s in seq.scenes] == [r.scene_id for r in rows]
    assert digest_problems(digest, rows) == []
    assert StoryDigest.parse(digest.render()) == digest


LONG = st.text(alphabet="abc ;,-", min_size=0, max_size=600)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.tuples(LONG, LONG, LONG, st.sampled_from(["A", "B" * 300, "C; D"])), max_size=60)
)
def test_each_sequence_stays_within_its_size_however_long_the_scenes(
    texts: list[tuple[str, str, str, str]],
) -> None:
    rows = [
        SceneRow(
            scene_id=f"S{i + 1:02d}",
            summary="s",
            goal=goal,
            conflict=conflict,
            outcome=outcome,
            location=place,
            characters_present=[f"PERSON_{n}_{'X' * 40}" for n in range(i % 9)],
        )
        for i, (goal, conflict, outcome, place) in enumerate(texts)
    ]
    digest = build_digest(rows)
    assert digest_problems(digest, rows) == []
    assert all(len(render_sequence(seq)) <= ROW_CHARS for seq in digest.rows)
    assert StoryDigest.parse(digest.render()) == digest


def test_the_digest_flags_the_ending_unstated_parts_and_late_arrivals() -> None:
    rows = story_rows(60)
    rows[10] = rows[10].model_copy(update={"outcome": ""})
    rows[58] = rows[58].model_copy(update={"characters_present": ["ADA", "STRANGER"]})
    text = render_digest(build_digest(rows))
    assert "S11: outcome unstated" in text
    assert "S59: STRANGER first seen in the final sequence" in text
    assert "S60: the final scene" in text


def test_the_digest_says_who_enters_who_is_last_seen_and_which_places_open() -> None:
    rows = story_rows(100)
    rows[3] = rows[3].model_copy(update={"characters_present": ["ADA", "OLD_TOM"]})
    rows[70] = rows[70].model_copy(update={"characters_present": ["ADA", "NEWCOMER"]})
    rows[71] = rows[71].model_copy(update={"location": "LIGHTHOUSE"})
    sequences = build_digest(rows).rows
    [tom] = [q for q in sequences if "S004" in q.scenes]
    [late] = [q for q in sequences if "S071" in q.scenes]
    assert "last seen: OLD_TOM" in tom.state_changes and "OLD_TOM" in tom.state_changes[0]
    assert "enter: NEWCOMER" in late.state_changes
    assert any(c.startswith("new places: LIGHTHOUSE") for c in late.state_changes)


def test_the_gate_names_what_a_digest_gets_wrong() -> None:
    rows = story_rows(6)
    bad = StoryDigest(
        rows=[
            DigestRow(sequence_id="SEQ01", scenes=["S01", "S02", "S09"], flagged=["S05: x"]),
            DigestRow(sequence_id="SEQ02", scenes=["S02", "S04", "S05", "S06"], goal="g" * 1200),
        ]
    )
    problems = digest_problems(bad, rows)
    assert "S03 is in no sequence" in problems
    assert "S02 is in 2 sequences" in problems
    assert "S09 is not in SCENES" in problems
    assert "SEQ01 flags 'S05: x', a scene outside it" in problems
    assert any(p.startswith("SEQ02 takes") and f"over {ROW_CHARS}" in p for p in problems)
    swapped = StoryDigest(rows=[DigestRow(sequence_id="SEQ01", scenes=["S02", "S01"])])
    assert digest_problems(swapped, story_rows(2)) == [
        "the sequences do not hold the scenes in SCENES order"
    ]
    many = StoryDigest(
        rows=[DigestRow(sequence_id=f"Q{i}", scenes=[f"S{i:02d}"]) for i in range(1, 18)]
    )
    assert any("17 sequences" in p for p in digest_problems(many, story_rows(17)))


def test_findings_name_scenes_by_id_padded_or_not() -> None:
    ids = [r.scene_id for r in story_rows(120)]
    texts = ["S7 and S120 contradict", "the S007 fire; S999 is unknown; S120 again", "SS07"]
    assert named_scenes(texts, ids) == ["S007", "S120"]


# -- through the skill and the command --------------------------------------------------------


def test_slate_run_story_digest_writes_a_passing_digest_made_from_the_scenes(
    tmp_path: Path,
) -> None:
    root = project(tmp_path / "film", story_rows(40))
    result = run_slate("run", "story-digest", "-C", str(root))
    assert result.returncode == 0, result.stdout + result.stderr
    with Project(root) as p:
        record = p.store.latest("STORY_DIGEST")
        assert record is not None and record.filename == "STORY_DIGEST_v001.csv"
        assert [n.filename for n in p.store.lineage(record.name)] == ["SCENES_v001.csv"]
        row = p.store.conn.execute(
            "SELECT outcome, model_used FROM runlog WHERE skill_name = 'story-digest' "
            "AND event = 'run'"
        ).fetchone()
        assert tuple(row) == ("PASS", "builtin")


def test_a_small_story_is_reviewed_in_full_without_a_digest(tmp_path: Path) -> None:
    rows = story_rows(50)
    prompt = review_prompt(project(tmp_path / "film", rows), "narrative-red-team", GOOD_REDTEAM)
    assert all(row.summary in prompt for row in rows) and "STORY DIGEST" not in prompt


@pytest.mark.parametrize(
    "skill,answer", [("narrative-red-team", GOOD_REDTEAM), ("audience-simulator", GOOD_AUDIENCE)]
)
def test_the_prompt_at_500_scenes_is_within_1_5x_the_prompt_at_50(
    tmp_path: Path, skill: str, answer: dict[str, Any]
) -> None:
    small = review_prompt(project(tmp_path / "small", story_rows(50)), skill, answer)
    large = review_prompt(project(tmp_path / "large", story_rows(500)), skill, answer)
    assert "STORY DIGEST: 500 scenes in 16 sequences" in large
    assert len(large) <= 1.5 * len(small)
    assert len(large) <= FULL_STORY_CHARS + 2_000  # the beats and headings beside the story


def test_a_long_story_without_its_digest_is_refused_naming_the_step(tmp_path: Path) -> None:
    root = project(tmp_path / "film", story_rows(80))
    runner, model = scripted_runner(root, [GOOD_REDTEAM], registry())
    with pytest.raises(InputNotReady, match=r"run `slate run story-digest` first"):
        runner.run("narrative-red-team", "PROJECT")
    assert model.requests == [] and runner.store.latest("REDTEAM", "PROJECT") is None


def test_the_scenes_the_previous_report_named_come_in_full_next_time(tmp_path: Path) -> None:
    root = project(tmp_path / "film", story_rows(300))
    failing = {
        **GOOD_REDTEAM,
        "critical_failures": [{"kind": "major plot hole", "description": "S120 forgets S044"}],
    }
    runner, model = scripted_runner(root, [failing, GOOD_REDTEAM], registry())
    runner.run("story-digest", "PROJECT")
    first = runner.run("narrative-red-team", "PROJECT")
    assert first.gate.verdict == "FAIL" and first.gate.route is not None
    runner.run("narrative-red-team", "PROJECT")
    before, after = (q.prompt for q in model.requests)
    scene = story_rows(300)[119]
    assert f"Summary: {scene.summary}" not in before
    assert f"Summary: {scene.summary}\n" in after and "named by the previous review" in after
    assert after.index("Scene S120") < after.index("Scene S044")  # in the order named
    assert "Scene S300" in after and "the final scene" in after  # the digest's flag
    full = after.split("SCENES IN FULL", 1)[1]
    assert len(full) <= FOCUS_CHARS + 200


def test_a_new_scene_list_makes_the_digest_and_the_review_stale(tmp_path: Path) -> None:
    rows = story_rows(80)
    root = project(tmp_path / "film", rows)
    review_prompt(root, "audience-simulator", GOOD_AUDIENCE)
    with Project(root) as p:
        report = p.store.latest("AUDIENCE", "PROJECT")
        assert report is not None
        assert "STORY_DIGEST_v001.csv" in [n.filename for n in p.store.lineage(report.name)]
        revised = [*rows[:-1], rows[-1].model_copy(update={"summary": "A new ending."})]
        p.store.write("SCENES", None, Scenes(rows=revised))
        digest = p.store.latest("STORY_DIGEST")
        assert digest is not None and p.store.is_stale(digest.name)
        assert p.store.is_stale(report.name)
    runner, _ = scripted_runner(root, [GOOD_AUDIENCE], registry())
    with pytest.raises(InputNotReady, match=r"STORY_DIGEST_v001\.csv is stale"):
        runner.run("audience-simulator", "PROJECT")
    runner.run("story-digest", "PROJECT")
    assert runner.run("audience-simulator", "PROJECT").gate.verdict == "PASS"


def test_the_validation_package_registers_the_digest_before_the_reviews() -> None:
    names = [s.name for s in SKILLS]
    assert names.index("story-digest") < names.index("narrative-red-team")


def test_the_orchestrator_digests_the_story_before_each_review(tmp_path: Path) -> None:
    from filmslate.synthetic import synthetic_project
    from test_backward_routing import failing_first, produced

    root = tmp_path / "film"
    _, film = synthetic_project(root, 2, 1)
    runner, _ = produced(root, failing_first(film, "narrative-red-team", "PROJECT"))
    store = runner.store
    runs = [
        str(row[0])
        for row in store.conn.execute(
            "SELECT skill_name FROM runlog WHERE event = 'run' AND skill_name IN "
            "('story-digest', 'narrative-red-team', 'story-architect') ORDER BY seq"
        )
    ]
    # the red team's FAIL revised the structure: a new scene list, so a new digest, then
    # the review again
    assert runs == [
        "story-architect",
        "story-digest",
        "narrative-red-team",
        "story-architect",
        "story-digest",
        "narrative-red-team",
    ]
    report = store.latest("REDTEAM", "PROJECT")
    assert report is not None and report.filename == "REDTEAM_PROJECT_v002.md"
    lineage = [n.filename for n in store.lineage(report.name)]
    assert "STORY_DIGEST_v002.csv" in lineage and "SCENES_v002.csv" in lineage
