"""A gate's reasons survive the run log (issue 14 §5 follow-up): a run row keeps its reasons
as one cell, and a resume in a new process revises with them. A reason holding the "; "
the cell joins them with used to come back as two (script-breakdown then read one naming no
scene and asked every scene again). Such a row is now written as a JSON list; every other
row, and every row of an older log, is written and read exactly as before, so old logs still
verify.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from filmslate import Project
from filmslate.core._errors import ProviderError
from filmslate.core._reasons import join_reasons, recorded, split_reasons
from filmslate.engine._gateway import TextRequest
from filmslate.store import _runlog
from filmslate.workflow._loops import run_loop
from test_loops import BySkill, film, make_runner, narrative_answers  # noqa: F401 (fixture)
from test_skills_validation import GOOD_REDTEAM

SPLIT = "where the lamp oil comes from; nobody on the island sells it"
REASONS = (f"major plot hole: {SPLIT}", "S02: the keeper knows what she cannot know")


def test_reasons_without_the_separator_are_written_as_they_always_were() -> None:
    assert join_reasons(["a gap", "S01: x;y", "ends;"]) == "a gap; S01: x;y; ends;"
    assert split_reasons("a gap; S01: x;y; ends;") == ("a gap", "S01: x;y", "ends;")


def test_a_reason_holding_the_separator_round_trips() -> None:
    cell = join_reasons(REASONS)
    assert cell.startswith('["') and split_reasons(cell) == REASONS
    assert recorded(REASONS) == REASONS
    assert recorded(["two;\nlines", "b"]) == ("two;\nlines", "b")  # the fold keeps it one
    assert recorded(['["a', 'b"]']) == ('["a', 'b"]')  # joined, they would look like JSON


@pytest.mark.parametrize(
    ("cell", "reasons"),
    [
        ("", ()),
        ("one", ("one",)),
        ("a; b; c", ("a", "b", "c")),
        ("a;; b", ("a;", "b")),
        ('["not json; a", "b"', ('["not json', 'a", "b"')),
        ("[1, 2]", ("[1, 2]",)),
    ],
)
def test_old_rows_are_read_as_before(cell: str, reasons: tuple[str, ...]) -> None:
    assert split_reasons(cell) == reasons


folded = st.text(min_size=1, max_size=40).map(lambda t: " ".join(t.split())).filter(bool)


@settings(max_examples=300, deadline=None)
@given(st.lists(folded, max_size=6))
def test_any_reasons_come_back_as_they_went_in(reasons: list[str]) -> None:
    assert recorded(reasons) == tuple(reasons)


def test_a_log_holding_both_forms_verifies_signed_and_after_reopening(tmp_path: Path) -> None:
    root = tmp_path / "film"
    with Project.init(root, name="film") as project:
        for notes in ("; ".join(REASONS[1:] * 2), join_reasons(REASONS)):
            project.store.log(
                _runlog.LogEntry(
                    run_id=_runlog.new_run_id(), skill_name="narrative-red-team", notes=notes
                )
            )
    with Project(root) as project:
        assert project.verify() == []
        cells = [
            n
            for (n,) in project.store.conn.execute(
                "SELECT notes FROM runlog WHERE skill_name = 'narrative-red-team' ORDER BY seq"
            )
        ]
    assert [split_reasons(c) for c in cells] == [REASONS[1:] * 2, REASONS]


def test_a_resume_in_a_new_process_revises_with_each_reason_whole(film: Path) -> None:  # noqa: F811
    # the red team's answer has its own defect (no hidden weaknesses) and a finding holding
    # "; ": not all about the work, so the red team itself is asked again, which fails
    bad = {
        **GOOD_REDTEAM,
        "hidden_weaknesses": [],
        "critical_failures": [{"kind": "major plot hole", "description": SPLIT}],
    }
    answers = BySkill(narrative_answers(**{"narrative-red-team": [bad]}))

    def first(request: TextRequest) -> Any:
        if request.skill == "narrative-red-team" and not answers.answers[request.skill]:
            raise ProviderError("the model went away")
        return answers(request)

    r, _ = make_runner(film, first)
    stopped = run_loop(r, "narrative").stopped_at
    assert stopped is not None and stopped.skill == "narrative-red-team"
    r.project.close()
    # a new process: the revision reads the failed run's reasons back from the log
    again, model = make_runner(film, BySkill({"narrative-red-team": [GOOD_REDTEAM]}))
    result = again.run("narrative-red-team", "PROJECT")
    assert result.gate.passed and result.attempt == 2
    [request] = model.requests
    note = request.prompt.split("REVISION: your previous answer failed these checks:\n")[1]
    bullets = [line for line in note.splitlines() if line.startswith("- ")]
    assert f"- major plot hole: {SPLIT}" in bullets
    assert "- nobody on the island sells it" not in bullets
    assert len(bullets) == 2  # the defect and the finding, nothing split off
