"""A cost overrun may force narrative simplification (SPEC §6 cross-loop triggers, issue 14).

The demo through `slate run`, its text answered over HTTP by the local OpenAI-compatible
server (as in test_http_production), its video priced so that the planned film projects 5.07
USD and even every cost-plan reduction (cheaper routing, shorter coverage; never a shot
shorter than its dialogue) leaves 4.96: over the 4.94 left under the 5.00 project cap. The
cost loop then sends the overrun to story-architect as a "simplify" revision naming the
costliest scenes (a loop_back row from cost-optimizer, a new BEATS/SCENES version); when the
simpler story fits, planning passes and production goes on; when it does not, the next
overrun past loops.max_revisions is a budget hard stop.

The vision tier hands off, so each run ends waiting at the first shot's vision step: the
cost loop on PROJECT has run by then, and no take is rendered.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from conftest import run_slate
from filmslate import Project
from filmslate.engine._stops import all_open_hard_stops, gate_of
from filmslate.testing.openai_server import OpenAIServer
from filmslate.testing.replay_answers import Asked, ReplayAnswers
from test_http_production import FILM, MODEL, demo_project

pytestmark = pytest.mark.slow

EXPENSIVE = {
    "video = { animatic = { proxy = 0.0001, final = 0.0003 } }": (
        "video = { animatic = { proxy = 0.002995, final = 0.01198 } }"
    ),
    "project_cap = 5.0": "project_cap = 5.0",
    "scene_cap = 0.43": "scene_cap = 3.0",
    "shot_cap = 0.25": "shot_cap = 1.0",
    f'vision = "{MODEL}"': 'vision = "handoff:vision"',
}
LIFTS = "SELECT notes FROM runlog WHERE event = 'override' ORDER BY seq"
NAMED = re.compile(r"\b(S[0-9]{2}) \([0-9]+ shots")


class Simplifying:
    """The demo's answers; told to simplify, the architect trims the two costliest scenes
    the note names (one summary sentence less) and the planner then drops each one's last
    insert (a shot no line is spoken in: every line keeps the picture it takes to say) and
    numbers the rest again (the premium share stays within its 25% quota)."""

    def __init__(self, simplifies: bool) -> None:
        self.simplifies = simplifies
        self.named: set[str] = set()

    def edit(self, asked: Asked, answer: dict[str, Any] | None) -> dict[str, Any] | None:
        if answer is None or not self.simplifies:
            return answer
        if asked.skill == "story-architect" and "simplify:" in asked.prompt:
            self.named = set(NAMED.findall(asked.prompt.split("simplify:", 1)[1])[:2])
            return {**answer, "scenes": [self.trim(row) for row in answer["scenes"]]}
        if asked.skill == "shot-planner" and asked.target in self.named:
            rows = answer["rows"]
            last = next(i for i in reversed(range(len(rows))) if rows[i]["camera_type"] == "insert")
            kept = rows[:last] + rows[last + 1 :]
            ids = [f"{asked.target}_SH{n:02d}" for n in range(1, len(kept) + 1)]
            return {**answer, "rows": [{**r, "shot_id": i} for r, i in zip(kept, ids, strict=True)]}
        return answer

    def trim(self, row: dict[str, Any]) -> dict[str, Any]:
        """The scene's summary without its last sentence, when the note names it."""
        if row["scene_id"] not in self.named:
            return row
        sentences = re.split(r"(?<=[.!?]) ", row["summary"])
        return {**row, "summary": " ".join(sentences[:-1] or sentences)}


def produce(tmp_path: Path, answers: Simplifying, *changes: tuple[str, str]) -> tuple[Any, Path]:
    replay = ReplayAnswers(FILM / "replay", answers.edit)
    with OpenAIServer(replay, tokens="measured", timeout_s=180) as server:
        root = tmp_path / "side-b"
        demo_project(root, server, {**EXPENSIVE, **dict(changes)})
        ran = run_slate("run", "-C", str(root))
    assert replay.misses == [], [(a.skill, a.target) for a in replay.misses]
    return ran, root


def loop_backs(project: Project) -> list[tuple[str, str, str, str]]:
    return [
        tuple(row)
        for row in project.store.conn.execute(
            "SELECT skill_name, target, artifact_output, notes FROM runlog "
            "WHERE event = 'loop_back' ORDER BY seq"
        ).fetchall()
    ]


def test_an_overrun_no_reduction_fits_simplifies_the_story(tmp_path: Path) -> None:
    answers = Simplifying(simplifies=True)
    ran, root = produce(tmp_path, answers)
    assert ran.returncode == 3, ran.stdout + ran.stderr  # waiting at the first vision step
    assert "waiting at" in ran.stdout
    with Project(root) as project:
        store = project.store
        [(skill, target, report, notes)] = loop_backs(project)
        assert (skill, target) == ("cost-optimizer", "PROJECT")
        assert report == "COST_REPORT_PROJECT_v001.md"
        assert notes.startswith(
            "to story-architect on PROJECT: simplify: the PROJECT projection 5.07"
        )
        assert "even after every cheaper routing and shorter shot (4.96" in notes
        assert len(re.findall(NAMED, notes)) == 3  # the costliest three, of which two changed
        assert len(answers.named) == 2 and all(f"{s} (" in notes for s in answers.named)
        # the simpler story is a new version; the plan made from it fits and passes
        for kind in ("BEATS", "SCENES"):
            latest = store.latest(kind)
            assert latest is not None and latest.name.version == 2
        cost = store.latest("COST_REPORT", "PROJECT")
        assert cost is not None and gate_of(project, cost.filename) == "PASS"
        lists = store.latest_of_each("SHOTLIST")
        scripts = {r.filename for r in store.latest_of_each("SCRIPT")}  # the voices' lines
        made_from = {n.filename for n in store.lineage(cost.name)}
        assert made_from == {r.filename for r in lists} | scripts
        for shotlist in lists:  # planned from the simpler story (some then cut by the plan)
            assert "SCENES_v002.csv" in [n.filename for n in store.lineage(shotlist.name)]
        assert sum(len(store.load(r.name).rows) for r in lists) == 40 - 2  # type: ignore[attr-defined]
        story = store.conn.execute(
            "SELECT notes FROM runlog WHERE skill_name = 'story-architect' AND event = 'run' "
            "ORDER BY seq"
        ).fetchall()
        assert len(story) == 2
        # cost-optimizer's stops were lifted by the simplifications, each logged as such
        assert all_open_hard_stops(project) == []
        lifted = [n for (n,) in store.conn.execute(LIFTS).fetchall()]
        assert len(lifted) == 2 and all("structural simplification: " in n for n in lifted)
        assert "story-architect revises the story for the overrun" in lifted[0]
        assert "the cost plan wrote SHOTLIST_" in lifted[1]


def test_past_max_revisions_the_overrun_is_a_budget_hard_stop(tmp_path: Path) -> None:
    answers = Simplifying(simplifies=False)  # the revised story plans the same shots
    ran, root = produce(tmp_path, answers, ("max_revisions = 2", "max_revisions = 1"))
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert "stopped at cost-optimizer on PROJECT" in ran.stdout
    assert "1 story simplification(s) by story-architect" in ran.stdout
    with Project(root) as project:
        [(skill, _, _, notes)] = loop_backs(project)
        assert skill == "cost-optimizer" and "simplify:" in notes
        # the first gate stop was lifted for the simplification; the budget stop is open
        stops = {(s.kind, s.target, s.skill): s.reason for s in all_open_hard_stops(project)}
        reason = stops[("budget", "PROJECT", "cost-optimizer")]
        assert "even after every reduction" in reason and "1 story simplification(s)" in reason
        assert len(project.store.conn.execute(LIFTS).fetchall()) == 1
        assert project.store.latest("SCENES").name.version == 2  # type: ignore[union-attr]
