"""The demo film, produced end to end by the orchestrator with its authored answers: every
scenario it promises happens, a rerun does nothing, and revising one character's lock
regenerates exactly the shots that show the character."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import DEMO as FILM
from conftest import FinishedDemo
from filmslate import Project
from filmslate.engine._runner import Runner
from filmslate.engine._speech import read_wav
from filmslate.engine._stops import gate_of
from filmslate.rules._media import probe
from filmslate.schemas import QcBatch, ShotList
from filmslate.store._project import add_lock
from filmslate.workflow._orchestrator import Orchestrator


@pytest.fixture(scope="module")
def produced(
    tmp_path_factory: pytest.TempPathFactory, finished_demo: FinishedDemo
) -> tuple[Path, FinishedDemo]:
    """This module's own copy of the finished demo (conftest produces it once per test run):
    the tests below run it again and revise a lock in it."""
    root = tmp_path_factory.mktemp("demo") / "side-b"
    shutil.copytree(finished_demo.root, root, symlinks=True)
    return root, finished_demo


def verdicts(project: Project, kind: str, subject: str) -> list[str | None]:
    return [gate_of(project, r.filename) for r in project.store.versions(kind, subject)]


def test_the_demo_runs_from_premise_to_a_playable_cut(produced: tuple[Path, FinishedDemo]) -> None:
    root, outcome = produced
    assert outcome.status == "complete", outcome.describe()
    with Project(root) as project:
        assert project.verify() == []
        cut = project.store.latest("CUT", "PROJECT")
        assert cut is not None
        shots = [
            row
            for rec in project.store.latest_of_each("SHOTLIST")
            for row in project.store.load(rec.name).rows
        ]  # type: ignore[attr-defined]
        assert len(shots) == 40  # as many shots as its 36 lines need to be said whole
        info = probe(project.store.read(cut.name))
        assert abs(info.duration_s - sum(s.duration_s for s in shots)) <= 0.5
        kinds = {k for (k,) in project.store.conn.execute("SELECT DISTINCT kind FROM artifacts")}
        assert kinds >= {
            "BEATS",
            "SCENES",
            "BREAKDOWN",
            "PSYCH",
            "TRUTH",
            "PLAUS",
            "REDTEAM",
            "AUDIENCE",
            "CHAR_LOCK",
            "SET_LOCK",
            "VOICE_LOCK",
            "STYLE_LOCK",
            "WORLD_STATE",
            "STATE_DIFF",
            "CONTINUITY_REPORT",
            "SHOTLIST",
            "GENPACK",
            "CHAR_REF",
            "SET_REF",
            "STORYBOARD",
            "STORYBOARD_REPORT",
            "PROXY",
            "QC_BATCH",
            "REGEN_RULES",
            "FINAL",
            "COST_REPORT",
            "ROUTING_DECISION",
            "BUDGET_STATUS",
            "CUT",
        }


def test_the_cut_plays_the_dialogue_with_its_subtitles(
    produced: tuple[Path, FinishedDemo],
) -> None:
    """Issue 15 §3: speech where the plan plays each line, room tone elsewhere, -23 LUFS, one
    subtitle per line (tests/test_cut_sound.check_cut_sound)."""
    from test_cut_sound import check_cut_sound

    root, _ = produced
    with Project(root) as project:
        lines, cut_off, _ = check_cut_sound(project)
    assert lines == 36  # every line of the demo's scripts, one subtitle each
    assert cut_off == 0  # each heard whole: its shot lasts as long as it takes to say


def test_every_line_s_speech_lies_inside_its_subtitle_in_the_cut(
    produced: tuple[Path, FinishedDemo],
) -> None:
    """Issue 15: measured on the decoded cut, each subtitle's window holds speech, and the
    speech of each shot's lines (its AUDIO's energy) ends before the cut leaves its sound."""
    from test_cut_sound import RATE, ROOM_RMS, decoded, rms, srt_times

    root, _ = produced
    with Project(root) as project:
        store = project.store
        cut = store.read(store.latest("CUT", "PROJECT").name)  # type: ignore[union-attr]
        srt = store.read(store.latest("SUBTITLES", "PROJECT").name).decode()  # type: ignore[union-attr]
        plan = store.load(store.latest("EDIT", "PROJECT").name)  # type: ignore[union-attr]
        samples = decoded(cut)
        windows = srt_times(srt, ",")
        assert len(windows) == 36
        for a, b in windows:
            assert rms(samples, a + 0.05, b - 0.05) > 20 * ROOM_RMS, (a, b)
        for row in plan.rows:  # type: ignore[attr-defined]
            audio = store.read(store.latest("AUDIO", row.shot_id).name)  # type: ignore[union-attr]
            voiced, rate = read_wav(audio)
            loud = np.flatnonzero(np.abs(voiced.astype(np.int32)) > 300)
            spoken_to = (loud[-1] + 1) / rate if len(loud) else 0.0
            assert spoken_to <= row.out_s + row.audio_lag_s + 1 / RATE, row.shot_id


def test_the_planned_failures_happen_and_recover(produced: tuple[Path, FinishedDemo]) -> None:
    root, _ = produced
    with Project(root) as project:
        # a continuity error (a teleporting cassette) caught by the gate, fixed by revision
        assert verdicts(project, "STATE_DIFF", "S04") == ["FAIL", "PASS"]
        # a hero-A shot: FIX, then FAIL, then PASS through regen-analyzer's rules
        record = project.store.latest("QC_BATCH", "S04")
        assert record is not None
        batch = project.store.load(record.name)
        assert isinstance(batch, QcBatch)
        assert [r.verdict for r in batch.rows if r.shot_id == "S04_SH03"] == ["FIX", "FAIL", "PASS"]
        assert len(project.store.versions("GENPACK", "S04_SH03")) == 3
        analyzer = project.store.conn.execute(
            "SELECT count(*) FROM runlog WHERE skill_name = 'regen-analyzer' AND event = 'run' "
            "AND outcome = 'PASS' AND target = 'S04_SH03'"
        ).fetchone()[0]
        assert analyzer == 2
        # a budget warning on scene S04, and a cost review after it
        warned = project.store.conn.execute(
            "SELECT count(*) FROM runlog WHERE event = 'budget_warning' AND scene_id = 'S04'"
        ).fetchone()[0]
        assert warned == 1
        assert len(project.store.versions("COST_REPORT", "S04")) >= 2


def test_a_rerun_changes_nothing(produced: tuple[Path, FinishedDemo]) -> None:
    root, _ = produced
    with Project(root) as project:
        before = project.store.conn.execute("SELECT count(*) FROM runlog").fetchone()[0]
        again = Orchestrator(Runner(project)).run()
        after = project.store.conn.execute("SELECT count(*) FROM runlog").fetchone()[0]
    assert again.status == "complete" and again.ran == [] and after == before


def test_revising_a_lock_regenerates_exactly_its_shots(produced: tuple[Path, FinishedDemo]) -> None:
    root, _ = produced
    with Project(root) as project:
        revision = next((FILM / "revisions").glob("CHAR_*_LOCK.txt"))
        character = revision.stem.removeprefix("CHAR_").removesuffix("_LOCK")
        before = {kind: latest(project, kind) for kind in REDONE}
        add_lock(project, revision, "wardrobe revised")
        outcome = Orchestrator(Runner(project)).run()
        assert outcome.status == "complete", outcome.describe()
        after = {kind: latest(project, kind) for kind in REDONE}
        redone = {
            kind: {s for s, version in after[kind].items() if version != before[kind].get(s)}
            for kind in REDONE
        }
        showing = set()
        for record in project.store.latest_of_each("SHOTLIST"):
            shotlist = project.store.load(record.name)
            assert isinstance(shotlist, ShotList)
            showing |= {row.shot_id for row in shotlist.rows if character in row.char_ids}
        assert showing
        # exactly the character's sheet, and every storyboard, GenPack and take showing them
        assert redone["CHAR_REF"] == {character} and redone["SET_REF"] == set()
        for kind in ("STORYBOARD", "GENPACK", "PROXY", "FINAL"):
            assert redone[kind] == showing, kind
        assert project.verify() == []


REDONE = ("CHAR_REF", "SET_REF", "STORYBOARD", "GENPACK", "PROXY", "FINAL")


def latest(project: Project, kind: str) -> dict[str | None, int]:
    return {r.name.subject: r.name.version for r in project.store.latest_of_each(kind)}
