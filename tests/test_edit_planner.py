"""edit-planner (issue 15 §4): the EDIT plan of a cut, its gate in code, and assemble-cut
following it. Through the real runner, store and media (animatic takes), `slate run`, and the
orchestrator on a synthetic film; the gate's dialogue rules on planned shots with timed lines."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import imageio_ffmpeg  # type: ignore[import-untyped]
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import run_slate
from filmslate import Project
from filmslate.core._config_edit import EditSection
from filmslate.core._errors import InputNotReady
from filmslate.engine._render import RenderService
from filmslate.engine._runner import Runner
from filmslate.engine._skill import Registry
from filmslate.rules._edit import LineTiming, PlannedShot, propose
from filmslate.rules._edit_gate import overrun_failures, plan_failures
from filmslate.rules._media import probe
from filmslate.schemas import EditPlan, SceneRow, Scenes, ShotList, ShotRow
from filmslate.skills.production import AssembleCut, EditPlanner, RenderProxy
from filmslate.synthetic import SyntheticFilm, set_key, synthetic_project, synthetic_runner
from filmslate.testing import scripted_runner
from filmslate.workflow._orchestrator import Orchestrator
from test_runtime import configure
from test_skills_production import put
from test_skills_render import PRICES, FileFake, _pack, qc

CLEAN = (("medium", "Alex waits by the door.", 3.0), ("close_up", "Alex looks up.", 4.0))
JUMP = (("medium", "Alex waits by the door.", 3.0), ("medium", "Alex waits, later.", 4.0))


def shot(n: int, camera: str, blocking: str, duration: float, notes: str = "") -> ShotRow:
    return ShotRow.model_validate(
        {
            "shot_id": f"S01_SH{n:02d}",
            "scene_id": "S01",
            "duration_s": duration,
            "camera_type": camera,
            "blocking_summary": blocking,
            "set_id": "OLD_MILL",
            "char_ids": ["ALEX"],
            "hero_tier": "B",
            "complexity_level": "low",
            "regen_risk_estimate": "low",
            "notes": notes,
        }
    )


def film_of(
    root: Path, shots: tuple[tuple[str, str, float], ...], edit: dict[str, str] | None = None
) -> Runner:
    """One scene of ``shots`` rendered by the animatic and passed by QC, ready to plan."""
    with Project.init(root, name="film") as project:
        pass
    configure(
        root,
        **{
            'mid = "animatic"': 'mid = "fake:clip"',
            PRICES[0]: PRICES[1],
            "width = 640": "width = 96",
            "height = 360": "height = 64",
        },
    )
    config = root / "filmslate.toml"
    for key, value in (edit or {}).items():
        config.write_text(set_key(config.read_text(), "edit", key, value))
    project = Project(root)
    scene = SceneRow(scene_id="S01", summary="Alex waits.", location="Old Mill")
    put(project, "SCENES", None, Scenes(rows=[scene]))
    rows = [shot(n, *spec) for n, spec in enumerate(shots, start=1)]
    put(project, "SHOTLIST", "S01", ShotList(rows=rows))
    for row in rows:
        put(project, "GENPACK", row.shot_id, _pack(row.shot_id))
    registry = Registry()
    for skill in (RenderProxy, AssembleCut, EditPlanner):
        registry.register(skill)
    service = RenderService(project, providers={"fake": FileFake(root.parent / "fake", 0)})
    runner = Runner(project, registry)
    for row in rows:
        assert runner.run("render-proxy", row.shot_id, params={"render": service}).gate.passed
    qc(root, *((row.shot_id, 1, "PASS") for row in rows))
    return runner


def plan_of(runner: Runner, target: str) -> EditPlan:
    record = runner.store.latest("EDIT", target)
    assert record is not None
    plan = runner.store.load(record.name)
    assert isinstance(plan, EditPlan)
    return plan


def lineage(runner: Runner, name: str) -> list[str]:
    return [n.filename for n in runner.store.lineage(name)]


def test_a_clean_plan_passes_and_the_cut_plays_it(tmp_path: Path) -> None:
    runner = film_of(tmp_path / "film", CLEAN)
    result = runner.run("edit-planner", "S01")
    assert result.gate.passed, result.gate.reasons
    assert result.records[0].filename == "EDIT_S01_v001.csv"
    plan = plan_of(runner, "S01")
    assert [r.shot_id for r in plan.rows] == ["S01_SH01", "S01_SH02"]
    assert [(r.in_s, r.out_s, r.record_in_s) for r in plan.rows] == [(0, 3, 0), (0, 4, 3)]
    assert {r.take for r in plan.rows} == {"PROXY_S01_SH01_v001.mp4", "PROXY_S01_SH02_v001.mp4"}
    assert plan.target_s == 7.0
    cut = runner.run("assemble-cut", "S01")
    assert "EDIT_S01_v001.csv" in lineage(runner, cut.records[0].filename)
    assert abs(probe(runner.store.read(cut.records[0].filename)).duration_s - 7.0) < 1e-6


def test_a_planted_jump_cut_fails_with_its_reason_and_no_cut_follows(tmp_path: Path) -> None:
    runner = film_of(tmp_path / "film", JUMP)
    result = runner.run("edit-planner", "S01")
    assert result.gate.verdict == "FAIL"
    assert result.gate.reasons == (
        "jump cut from S01_SH01 to S01_SH02: both medium of ALEX with no change of angle: "
        "change the camera type or the angle of one in the shot list, or put a shot between "
        "them",
    )
    with pytest.raises(InputNotReady, match=r"EDIT_S01_v001\.csv failed its gate"):
        runner.run("assemble-cut", "S01")


def test_a_change_of_angle_is_no_jump_cut(tmp_path: Path) -> None:
    shots = (JUMP[0], ("medium", "Alex waits, seen from a low angle.", 4.0))
    assert film_of(tmp_path / "film", shots).run("edit-planner", "S01").gate.passed


def test_a_runtime_overrun_fails_through_slate_run(tmp_path: Path) -> None:
    root = tmp_path / "film"
    film_of(root, CLEAN, {"target_runtime_s": "3.0", "min_shot_s": "2.5"}).project.close()
    done = run_slate("run", "edit-planner", "--target", "PROJECT", "-C", str(root))
    assert done.returncode != 0, done.stdout
    out = " ".join((done.stdout + done.stderr).split())
    assert "runtime 5.00s overruns the target 3.00s by 2.00s (66.7%; tolerance 5%)" in out
    with Project(root) as project:
        plan = project.store.load(project.store.versions("EDIT", "PROJECT")[-1].name)
        assert isinstance(plan, EditPlan)
        assert [round(r.length_s, 3) for r in plan.rows] == [2.5, 2.5]  # trimmed to the minimum


def test_a_trimmed_plan_is_the_cut_runtime(tmp_path: Path) -> None:
    runner = film_of(tmp_path / "film", CLEAN, {"target_runtime_s": "5.0"})
    assert runner.run("edit-planner", "PROJECT").gate.passed
    plan = plan_of(runner, "PROJECT")
    assert abs(plan.runtime_s - 5.0) <= 0.25  # within the 5% tolerance, snapped to frames
    for row in plan.rows:  # half from the head, half from the tail; the handles kept
        assert row.in_s > 0 and row.out_s < row.source_s
        assert (row.handle_in_s, row.handle_out_s) == (row.in_s, round(row.source_s - row.out_s, 4))
    cut = runner.run("assemble-cut", "PROJECT").records[0].filename
    info = probe(runner.store.read(cut))
    assert abs(info.duration_s - plan.runtime_s) <= 1 / info.fps + 1e-6


def frames(data: bytes, folder: Path, size: tuple[int, int] = (96, 64)) -> list[np.ndarray]:
    """Every frame of a clip as RGB floats (the proxies and their cut are 96x64)."""
    path = folder / f"clip{len(list(folder.iterdir()))}.mp4"
    path.write_bytes(data)
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    raw = subprocess.run(
        [ffmpeg, "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True,
        check=True,
    ).stdout
    width, height = size
    video = np.frombuffer(raw, np.uint8).reshape(-1, height, width, 3).astype(float)
    return list(video)


def test_the_cut_follows_a_hand_made_plan_s_order_and_trims(tmp_path: Path) -> None:
    runner = film_of(tmp_path / "film", CLEAN)
    assert runner.run("edit-planner", "S01").gate.passed
    rows = plan_of(runner, "S01").rows
    second = rows[1].model_copy(
        update={"position": 1, "in_s": 1.0, "out_s": 3.0, "handle_in_s": 1.0, "handle_out_s": 1.0}
    )
    first = rows[0].model_copy(
        update={"position": 2, "in_s": 0.5, "out_s": 2.0, "handle_in_s": 0.5, "record_in_s": 2.0}
    )
    put(runner.project, "EDIT", "S01", EditPlan(rows=[second, first]))
    cut = runner.run("assemble-cut", "S01").records[0].filename
    info = probe(runner.store.read(cut))
    assert info.frames == 42  # 2.0 s + 1.5 s at 12 fps
    work = tmp_path / "frames"
    work.mkdir()
    played = frames(runner.store.read(cut), work)
    takes = {r.shot_id: frames(runner.store.read(r.take), work) for r in rows}
    for at, (shot_id, frame) in {0: ("S01_SH02", 12), 24: ("S01_SH01", 6)}.items():
        other = "S01_SH01" if shot_id == "S01_SH02" else "S01_SH02"
        mine = np.abs(played[at] - takes[shot_id][frame]).mean()
        theirs = min(np.abs(played[at] - f).mean() for f in takes[other])
        assert mine < theirs, (at, shot_id)


def test_a_plan_of_other_takes_is_refused_by_the_cut(tmp_path: Path) -> None:
    runner = film_of(tmp_path / "film", CLEAN)
    assert runner.run("edit-planner", "S01").gate.passed
    rows = plan_of(runner, "S01").rows
    put(runner.project, "EDIT", "S01", EditPlan(rows=[rows[0]]))
    with pytest.raises(InputNotReady, match=r"S01_SH02 \(not planned\)"):
        runner.run("assemble-cut", "S01")


def test_the_model_adjusts_the_plan_only_when_configured_and_code_keeps_what_passes(
    tmp_path: Path,
) -> None:
    root = tmp_path / "film"
    film_of(root, CLEAN).project.close()
    _, idle = scripted_runner(root, [])
    assert idle.requests == []  # plan_source "rules" (the default): no model is asked
    config = root / "filmslate.toml"
    config.write_text(set_key(config.read_text(), "edit", "plan_source", '"model"'))
    tighter = {
        "shots": [
            {"shot_id": "S01_SH01", "in_s": 0.25, "out_s": 3.0, "reason": "dead air at the head"},
            {"shot_id": "S01_SH02", "in_s": 0.0, "out_s": 4.0},
        ]
    }
    jumbled = {  # a shot trimmed below the minimum: the rules' plan is kept, the gate says why
        "shots": [
            {"shot_id": "S01_SH02", "in_s": 0.0, "out_s": 4.0},
            {"shot_id": "S01_SH01", "in_s": 0.0, "out_s": 0.5},
        ]
    }
    runner, model = scripted_runner(root, [tighter, jumbled])
    first = runner.run("edit-planner", "S01")
    assert first.gate.passed and first.route is not None and first.route.tier == "judgment"
    assert "S01_SH01 (scene S01): medium of ALEX" in model.requests[0].prompt
    rows = plan_of(runner, "S01").rows
    assert [(r.in_s, r.out_s) for r in rows] == [(0.25, 3.0), (0.0, 4.0)]  # 6.75 s of 7
    assert rows[0].notes == "the model: dead air at the head"
    second = runner.run("edit-planner", "S01", force=True)
    (why,) = second.gate.reasons
    assert second.gate.passed and why.startswith("the model's plan was not taken: runtime 4.50s")
    assert "S01_SH01 is trimmed to 0.50s, below the minimum 1s" in why
    assert [(r.shot_id, r.out_s) for r in plan_of(runner, "S01").rows] == [
        ("S01_SH01", 3.0),
        ("S01_SH02", 4.0),
    ]


# -- the gate's sound rules, on planned shots with timed lines ---------------------------------


def planned(n: int, who: str, cue: tuple[float, float] | None, length: float = 3.0) -> PlannedShot:
    row = shot(n, ("medium", "close_up", "wide")[n % 3], f"shot {n}", length)
    line = LineTiming(n, who, *cue) if cue else None
    lines = (line,) if line else ()
    return PlannedShot(row, f"FINAL_{row.shot_id}_v001.mp4", length, 24.0, lines)


def test_a_line_running_past_its_shot_is_carried_by_an_l_cut_where_it_fits() -> None:
    shots = [planned(1, "ALEX", (0.3, 3.4)), planned(2, "BEA", (0.6, 2.0))]
    plan = propose(shots, 6.0, EditSection())
    assert plan.rows[0].audio_lag_s == pytest.approx(0.4, abs=1 / 24)
    assert plan.rows[0].notes == "L cut: the sound runs 0.4167s over the next shot"
    assert plan_failures(plan, shots, 6.0, EditSection()) == []
    assert overrun_failures(plan, shots) == []
    # BEA speaks from 0.3 s: no room for 0.4 s of ALEX; the film's last shot carries nothing
    crowded = [shots[0], planned(2, "BEA", (0.3, 2.0))]
    for case in (crowded, shots[:1]):
        plan = propose(case, 3.0 * len(case), EditSection())
        assert plan.rows[0].audio_lag_s == 0
        assert plan_failures(plan, case, 3.0 * len(case), EditSection()) == []  # no trim cut it
        assert overrun_failures(plan, case) == [
            "S01_SH01: its dialogue runs 0.40s past its take (3.40s of lines in AUDIO_S01_SH01, "
            "a 3s take) and the next shot cannot carry it (line 1), so the cut would end the "
            "line early: lengthen the shot to its measured lines in the shot list"
        ]


def test_an_exchange_gets_a_j_cut_and_a_clash_fails() -> None:
    edit = EditSection(j_cut_s=0.25)
    shots = [planned(1, "ALEX", (0.3, 1.5)), planned(2, "BEA", (0.3, 2.0))]
    plan = propose(shots, 5.5, edit)
    second = plan.rows[1]  # BEA heard 0.25 s (snapped up to a frame) before her picture
    assert second.in_s == second.audio_lead_s == pytest.approx(14 / 24, abs=1e-4)
    assert second.notes == "J cut: the line is heard 0.25s before the picture"
    assert plan_failures(plan, shots, 5.5, edit) == []
    assert propose(shots, 6.0, EditSection()).rows[1].audio_lead_s == 0  # off by default
    late = [planned(1, "ALEX", (0.3, 2.9)), shots[1]]  # ALEX talks to the cut: no room
    assert propose(late, 6.0, edit).rows[1].audio_lead_s == 0
    assert plan_failures(plan, late, 5.5, edit) == [
        "S01_SH01 line 1 (ALEX) and S01_SH02 line 2 (BEA) are heard at once (2.72-2.90s of "
        "the cut): shorten the J/L overlap"
    ]


def test_a_trim_into_a_line_and_below_the_minimum_fail() -> None:
    shots = [planned(1, "ALEX", (0.5, 2.5)), planned(2, "ALEX", None)]
    plan = propose(shots, 6.0, EditSection())
    rows = [
        plan.rows[0].model_copy(update={"out_s": 2.0, "handle_out_s": 1.0}),
        plan.rows[1].model_copy(
            update={
                "record_in_s": 2.0,
                "in_s": 1.0,
                "out_s": 1.5,
                "handle_in_s": 1.0,
                "handle_out_s": 1.5,
            }
        ),
    ]
    failures = plan_failures(EditPlan(rows=rows), shots, 6.0, EditSection())
    assert failures == [
        "runtime 2.50s falls short of the target 6.00s by 3.50s (58.3%; tolerance 5%): add or "
        "lengthen shots, or lower [edit] target_runtime_s",
        "S01_SH02 is trimmed to 0.50s, below the minimum 1s ([edit] min_shot_s): trim it less",
        "S01_SH01 line 1 (ALEX) is cut off: it is spoken 0.50-2.50s into the take, the cut "
        "plays the shot's sound 0.00-2.00s: trim less or carry it over (J/L)",
    ]


def test_screen_direction_kept_where_the_shot_list_says_so() -> None:
    a = planned(1, "ALEX", None)
    moving = a.row.model_copy(update={"blocking_summary": "Alex runs left to right."})
    keep = "keep screen direction"
    wrong = shot(2, "wide", "Alex runs on, right to left.", 3.0, keep)
    right = shot(2, "wide", "Alex runs on, left to right.", 3.0, keep)
    for row, ok in ((wrong, False), (right, True)):
        shots = [PlannedShot(moving, a.take, 3.0, 24.0), PlannedShot(row, "B.mp4", 3.0, 24.0)]
        failures = plan_failures(propose(shots, 6.0, EditSection()), shots, 6.0, EditSection())
        assert (failures == []) is ok, failures
        if not ok:
            assert failures[0].startswith(
                "screen direction broken from S01_SH01 (L>R) to S01_SH02 (R>L)"
            )


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(24, 144),  # frames at 24 fps
            st.one_of(st.none(), st.tuples(st.floats(0, 6), st.floats(0.2, 4))),
            st.sampled_from(["ALEX", "BEA"]),
        ),
        min_size=1,
        max_size=5,
    ),
    st.floats(0.4, 1.3),
    st.sampled_from([0.0, 0.25]),
)
def test_the_rules_plan_never_cuts_a_line_or_a_shot_too_short(
    specs: list[tuple[int, tuple[float, float] | None, str]], share: float, j_cut_s: float
) -> None:
    edit = EditSection(j_cut_s=j_cut_s)
    shots = []
    for n, (frames, cue, who) in enumerate(specs, start=1):
        length = frames / 24
        timed = None
        if cue is not None:  # a line that may start anywhere in the take and run past it
            start = round(min(cue[0], length), 3)
            timed = (start, round(start + cue[1], 3))
        shots.append(planned(n, who, timed, length))
    total = sum(s.source_s for s in shots)
    plan = propose(shots, total * share, edit)
    failures = plan_failures(plan, shots, total * share, edit)
    assert not [f for f in failures if "cut off" in f or "minimum" in f or "at once" in f]
    assert not [f for f in failures if "row" in f or "J cut" in f or "L cut" in f], failures
    assert plan.runtime_s <= total + 1e-3  # the CSV keeps 4 decimals
    if share >= 1:
        assert failures == [] or all(f.startswith("runtime") for f in failures)


# -- the orchestrated run -------------------------------------------------------------------


def test_the_orchestrated_cut_follows_the_film_s_plan(tmp_path: Path) -> None:
    root = tmp_path / "film"
    runner, film = synthetic_project(root, 1, 3)
    runner.project.close()
    config = root / "filmslate.toml"
    config.write_text(set_key(config.read_text(), "edit", "target_runtime_s", "8.0"))
    runner = synthetic_runner(root, film)
    outcome = Orchestrator(runner).run()
    assert outcome.status == "complete", outcome.describe()
    plan = plan_of(runner, "PROJECT")
    assert abs(plan.runtime_s - 8.0) <= 0.4 and runner.store.latest("EDIT", "S01") is not None
    cut = runner.store.latest("CUT", "PROJECT")
    assert cut is not None and "EDIT_PROJECT_v001.csv" in lineage(runner, cut.filename)
    info = probe(runner.store.read(cut.name))
    assert abs(info.duration_s - plan.runtime_s) <= 1 / info.fps + 1e-6
    again = Orchestrator(synthetic_runner(root, film)).run()
    assert again.ran == []  # everything up to date
    shutil.rmtree(root)


class JumpyFilm(SyntheticFilm):
    """The synthetic film with a jump cut planted by its shot planner: S01_SH03 repeats
    S01_SH02's camera type and characters."""

    def shot_list(self, scene_id: str) -> ShotList:
        rows = list(super().shot_list(scene_id).rows)
        if scene_id == "S01":
            same = {"camera_type": rows[1].camera_type, "char_ids": rows[1].char_ids}
            rows[2] = rows[2].model_copy(update=same)
        return ShotList(rows=rows)


def test_an_orchestrated_run_stops_at_a_planted_jump_cut_before_the_cut(tmp_path: Path) -> None:
    root = tmp_path / "film"
    runner, _ = synthetic_project(root, 1, 3)
    runner.project.close()
    outcome = Orchestrator(synthetic_runner(root, JumpyFilm(1, 3))).run()
    assert (outcome.status, outcome.skill, outcome.target) == ("stopped", "edit-planner", "S01")
    assert "FAIL: jump cut from S01_SH02 to S01_SH03: both two_shot of ADA, BRAM" in outcome.reason
    with Project(root) as project:
        assert project.store.latest("CUT", "PROJECT") is None  # nothing after the failed plan
