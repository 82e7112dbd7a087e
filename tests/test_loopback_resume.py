"""A killed loop-back resumes (issue 14 §1; SPEC: a kill -9 loses nothing): when a run dies
right after its ``loop_back`` row, the next run makes that revision with the recorded notes,
as the same revision, and nothing is asked, logged or written twice.

Each case runs the synthetic film (real runner, store, skills and media) twice: once
uninterrupted, and once in a child process killed with SIGKILL at the ``loop_back_recorded``
checkpoint (``FILMSLATE_CRASH_AT``, right after the row is committed), then resumed by a
second child. Every model request is journaled beside the project: the killed-and-resumed
production asks exactly what the uninterrupted one asks, in the same order, with the same
prompts (the revision's notes among them), and ends with the same loop_back rows, the same
versions and the same spend.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest
from pydantic import BaseModel

import test_imported_routing as routing
import test_visual_continuity as vc
from conftest import run_slate
from e2e_film import make_film, plugin_env
from filmslate.engine._gateway import ProviderContext, TextProvider, TextRequest
from filmslate.schemas import StateDiff
from filmslate.skills.continuity import ShotAnswer
from filmslate.skills.validation import CriticalFailure
from filmslate.synthetic import SyntheticFilm, synthetic_project
from filmslate.testing import ScriptedTextModel
from filmslate.testing.openai_server import OpenAIServer
from filmslate.testing.replay_answers import ReplayAnswers
from filmslate.workflow._backward import CRASH_AFTER_LOOP_BACK
from filmslate.workflow._loops import run_loop
from filmslate.workflow._orchestrator import Orchestrator
from routed_films import runner_answering
from test_backward_routing import revise_or_answer
from test_breakdown_props import PLAY
from test_cost_simplify import EXPENSIVE, LIFTS, Simplifying
from test_http_production import FILM, demo_project

REPO = Path(__file__).resolve().parents[1]
SHAPE = (2, 1)
JOURNAL = "requests.jsonl"  # beside the project: every request the text model answered
# (the auditor, its target, the skill that fixes it, and what its notes must say)
CASES = {
    "red-team": (
        "narrative-red-team",
        "PROJECT",
        "story-architect",
        "major plot hole: nobody says who cut the relay cable",  # the double space folded
    ),
    "plausibility": ("plausibility-auditor", "S02", "scene-revision", "logistical scores 0"),
}
# A finding as a model may write one: a double space (the row folds it) and the log's own
# separator, "; ", within one finding
HOLE = "nobody says who cut the relay  cable; the quay was locked"


def answerer(root: Path, auditor: str, target: str) -> object:
    """The film's answers, except the auditor's first answer on the target, which carries a
    finding about the work. What was asked is kept in files beside the project, so a second
    process goes on where the first stopped."""
    film = SyntheticFilm(*SHAPE)
    failed = root.parent / "failed-once"

    def answer(request: TextRequest) -> BaseModel:
        with open(root.parent / JOURNAL, "a", encoding="utf-8") as fh:
            fh.write(json.dumps([request.skill, request.target, request.prompt]) + "\n")
        reply = revise_or_answer(film, request)
        if (request.skill, request.target) != (auditor, target) or failed.exists():
            return reply
        failed.touch()
        if auditor == "narrative-red-team":
            hole = CriticalFailure(kind="major plot hole", description=HOLE)
            return reply.model_copy(update={"critical_failures": [hole]})
        return reply.model_copy(update={"logistical": 0})

    return answer


def child(root: str, case: str, loop: str = "") -> None:
    """One production run, or one run of the named loop (`slate run narrative`), in a
    separate process: the first one is killed at the checkpoint."""
    auditor, target, _, _ = CASES[case]
    runner, _ = runner_answering(Path(root), answerer(Path(root), auditor, target))
    if loop:
        done = run_loop(runner, loop)
        print("complete" if done.passed else done.describe(), flush=True)
        return
    print(Orchestrator(runner).run().status, flush=True)


def run_child(root: Path, case: str, crash_at: str = "", loop: str = "") -> int:
    code = f"import test_loopback_resume as t; t.child({str(root)!r}, {case!r}, {loop!r})"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO / "tests")])}
    env.pop("FILMSLATE_CRASH_AT", None)
    if crash_at:
        env["FILMSLATE_CRASH_AT"] = crash_at
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, timeout=600
    )
    assert done.returncode in (0, -9), done.stderr.decode()[-3000:]
    if done.returncode == 0:
        assert done.stdout.decode().split() == ["complete"], done.stdout.decode()[-2000:]
    return done.returncode


def production(tmp_path: Path, name: str) -> Path:
    root = tmp_path / name / "film"
    runner, _ = synthetic_project(root, *SHAPE)
    runner.project.close()
    return root


def query(root: Path, sql: str) -> list[tuple[str, ...]]:
    with closing(sqlite3.connect(root / ".filmslate" / "index.sqlite", timeout=60)) as conn:
        return [tuple(map(str, row)) for row in conn.execute(sql).fetchall()]


def logged(root: Path) -> dict[str, list[tuple[str, ...]]]:
    """What a production logged, wrote and spent (run ids and times aside)."""
    return {
        "loop_backs": query(
            root,
            "SELECT skill_name, target, artifact_output, notes FROM runlog "
            "WHERE event = 'loop_back' ORDER BY seq",
        ),
        "runs": query(
            root,
            "SELECT skill_name, target, outcome, artifact_output FROM runlog "
            "WHERE event = 'run' ORDER BY seq",
        ),
        "overrides": query(root, LIFTS),
        "versions": query(root, "SELECT name FROM artifacts ORDER BY name"),
        "lineage": query(root, "SELECT artifact, input FROM lineage ORDER BY artifact, input"),
        "spend": query(
            root,
            "SELECT round(coalesce(sum(CAST(actual_cost AS REAL)), 0), 9) FROM runlog "
            "WHERE event = 'spend'",
        ),
    }


def same_as(got: Path, want: Path) -> None:
    """The killed-and-resumed production logged, wrote and spent what the uninterrupted did."""
    have, expected = logged(got), logged(want)
    for key, rows in expected.items():
        assert have[key] == rows, key


def journal(root: Path) -> list[tuple[str, str, str]]:
    """(skill, target, prompt) of every request the text model answered, in order."""
    lines = (root.parent / JOURNAL).read_text(encoding="utf-8").splitlines()
    return [tuple(json.loads(line)) for line in lines]


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(CASES))
def test_a_run_killed_after_its_loop_back_row_makes_that_revision_on_resume(
    tmp_path: Path, case: str
) -> None:
    auditor, target, fixer, finding = CASES[case]
    baseline = production(tmp_path, "baseline")
    assert run_child(baseline, case) == 0
    killed = production(tmp_path, "killed")
    assert run_child(killed, case, CRASH_AFTER_LOOP_BACK) == -9
    [(row_skill, row_target, notes)] = query(
        killed, "SELECT skill_name, target, notes FROM runlog WHERE event = 'loop_back'"
    )
    assert (row_skill, row_target) == (auditor, target)
    assert notes.startswith(f"to {fixer} on {target}: ") and finding in notes
    assert not query(
        killed,
        f"SELECT 1 FROM runlog WHERE skill_name = '{fixer}' AND seq > "
        "(SELECT max(seq) FROM runlog WHERE event = 'loop_back')",
    )
    assert run_child(killed, case) == 0  # the resume
    assert journal(killed) == journal(baseline)  # nothing asked twice, the same prompts
    same_as(killed, baseline)
    # the revision was asked once, with the notes the row records (one loop_back: one revision)
    assert sum(1 for s, t, p in journal(killed) if (s, t) == (fixer, target) and finding in p) == 1
    rows = "SELECT count(*) FROM runlog"
    assert query(killed, rows) == query(baseline, rows)


@pytest.mark.slow
def test_slate_run_narrative_killed_after_its_loop_back_row_makes_that_revision(
    tmp_path: Path,
) -> None:
    baseline = production(tmp_path, "baseline")
    assert run_child(baseline, "red-team", loop="narrative") == 0
    killed = production(tmp_path, "killed")
    assert run_child(killed, "red-team", CRASH_AFTER_LOOP_BACK, "narrative") == -9
    assert run_child(killed, "red-team", loop="narrative") == 0
    assert journal(killed) == journal(baseline)
    same_as(killed, baseline)
    assert len(logged(killed)["loop_backs"]) == 1


# -- visual continuity: a High finding on two shots of one look ------------------------------

TWO_SHOTS = ("S02_SH02", "S02_SH03")  # BRAM's cut missing; his ledger gone from his hand


def text_provider(context: ProviderContext) -> TextProvider:
    """The synthetic film with BRAM's cut (``test_visual_continuity``), whose first takes of
    S02_SH02 and S02_SH03 break continuity: the first look sends two shots back."""
    film = SyntheticFilm(*vc.SHAPE)

    def answer(request: TextRequest) -> BaseModel:
        if request.skill != "visual-continuity":
            out = film.answer(request)
            if request.skill == "world-state-tracker" and request.target == "S01":
                assert isinstance(out, StateDiff)
                out.character_updates["BRAM"].add_injuries.append(vc.CUT)
            return out
        with open(os.environ[vc.ASKED_ENV], "a", encoding="utf-8") as asked:
            asked.write(vc._found(r"take (PROXY_\S+?\.mp4)", request.prompt) + "\n")
        seen = vc.sighting(film, "injury", request.prompt)
        if "take PROXY_S02_SH03_v001.mp4" in request.prompt:
            return ShotAnswer.model_validate(
                {
                    **seen.model_dump(),
                    "characters": [{**c.model_dump(), "holding": []} for c in seen.characters],
                }
            )
        return seen

    return ScriptedTextModel(answer)


def slate_run(tmp_path: Path, crash_at: str = "") -> tuple[Path, int]:
    """`slate run` on a synthetic film with the visual pass on (made on the first call)."""
    root = tmp_path / "film"
    site = tmp_path / "site"
    if not root.exists():
        settings = {("visual", tier): '"animatic"' for tier in ("premium", "mid", "low")}
        make_film(root, *vc.SHAPE, {**settings, ("qc", "visual_continuity"): "true"})
    env = plugin_env(site, *vc.SHAPE, {vc.ASKED_ENV: str(tmp_path / "asked.txt")})
    info = site / "e2e_film_text-0.1.dist-info" / "entry_points.txt"
    info.write_text("[filmslate.text_providers]\nscripted = test_loopback_resume:text_provider\n")
    if crash_at:
        env["FILMSLATE_CRASH_AT"] = crash_at
    result = run_slate("run", "-C", str(root), env=env)
    assert result.returncode in (0, -9), result.stdout + result.stderr
    return root, result.returncode


def looked(root: Path) -> list[str]:
    """The takes the vision tier was asked about, in order."""
    return (root.parent / "asked.txt").read_text(encoding="utf-8").splitlines()


@pytest.mark.slow
def test_a_visual_pass_killed_between_two_sends_resumes_both(tmp_path: Path) -> None:
    base, code = slate_run(tmp_path / "baseline")
    assert code == 0
    sent = "SELECT target FROM runlog WHERE event = 'loop_back' ORDER BY seq"
    assert query(base, sent) == [(shot,) for shot in TWO_SHOTS]  # one look, two shots
    killed, code = slate_run(tmp_path / "killed", CRASH_AFTER_LOOP_BACK)
    assert code == -9  # right after S02_SH02's row: its regen and S02_SH03's send not made
    assert query(killed, sent) == [(TWO_SHOTS[0],)]
    _, code = slate_run(tmp_path / "killed")
    assert code == 0
    assert looked(killed) == looked(base)  # no extra look
    same_as(killed, base)


# -- a cost overrun no reduction fits: story-architect simplifies -----------------------------


def simplified(tmp_path: Path, crash_at: str = "") -> tuple[Path, list[str]]:
    """The demo over its cap through `slate run` (``test_cost_simplify``): killed at
    ``crash_at`` and run again, or run once; it waits at the first vision step. Returns the
    project and the text of every request the local server answered, in order."""
    replay = ReplayAnswers(FILM / "replay", Simplifying(simplifies=True).edit)
    with OpenAIServer(replay, tokens="measured", timeout_s=180) as server:
        root = tmp_path / "side-b"
        demo_project(root, server, EXPENSIVE)
        if crash_at:
            ran = run_slate("run", "-C", str(root), env={"FILMSLATE_CRASH_AT": crash_at})
            assert ran.returncode == -9, ran.stdout + ran.stderr
        ran = run_slate("run", "-C", str(root))
        asked = [vc.texts(r.body) for r in server.completions()]
    assert ran.returncode == 3, ran.stdout + ran.stderr  # waiting at the first vision step
    assert replay.misses == [], [(a.skill, a.target) for a in replay.misses]
    return root, asked


@pytest.mark.slow
def test_a_cost_simplification_killed_after_its_row_is_made_on_resume(tmp_path: Path) -> None:
    base, want_asked = simplified(tmp_path / "baseline")
    killed, got_asked = simplified(tmp_path / "killed", CRASH_AFTER_LOOP_BACK)
    assert got_asked == want_asked  # nothing asked twice, the revision's notes as recorded
    same_as(killed, base)
    [(skill, target, _, notes)] = logged(killed)["loop_backs"]
    assert (skill, target) == ("cost-optimizer", "PROJECT")
    revisions = [a for a in got_asked if "simplify:" in a]
    assert len(revisions) == 1 and notes.split(": ", 1)[1] in revisions[0]


# -- imported scenes: one review, two scenes revised, killed between the two rows ------------


def imported_review(tmp_path: Path, crash_at: str = "") -> Path:
    """``test_imported_routing``'s two-scene play, its red team naming both scenes, through
    `slate run narrative` (killed at ``crash_at`` and run again, or run once): both scenes
    revised in one round, then the review still FAILs past loops.max_revisions = 1."""
    tmp_path.mkdir(parents=True)
    root = routing.imported(tmp_path, max_revisions=1)
    other = "the boathouse scene (S1) never shows the tide"
    routing.answer(
        root, "narrative-red-team", "PROJECT", "1.json", routing.red_team(routing.HOLE, other)
    )
    script = PLAY.split("EXT. JETTY")[0].split("Title: The Key")[1].strip()
    tide = {
        "row": routing.boathouse(),
        "script": f"{script}\n\nThe tide climbs.",
        "changes": ["tide"],
    }
    routing.answer(root, "scene-revision", "S01", "1.json", tide)
    if crash_at:
        ran = run_slate("run", "narrative", cwd=root, env={"FILMSLATE_CRASH_AT": crash_at})
        assert ran.returncode == -9, ran.stdout + ran.stderr
        sent = "SELECT notes FROM runlog WHERE event = 'loop_back'"
        assert [n.split(":")[0] for (n,) in query(root, sent)] == ["to scene-revision on S01"]
    done = run_slate("run", "narrative", cwd=root)
    assert done.returncode == 1 and "still FAILs after 1 revision(s)" in done.stdout, done.stdout
    return root


@pytest.mark.slow
def test_a_review_of_imported_scenes_killed_between_its_rows_sends_the_rest(
    tmp_path: Path,
) -> None:
    base = imported_review(tmp_path / "baseline")
    killed = imported_review(tmp_path / "killed", CRASH_AFTER_LOOP_BACK)
    same_as(killed, base)
    targets = "SELECT target FROM runlog WHERE event = 'run' AND skill_name = 'scene-revision'"
    assert query(killed, targets) == [("S01",), ("S02",)]
