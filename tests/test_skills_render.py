"""render-proxy, render-final and assemble-cut through the real runner, store and ledger."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import pytest

from filmslate import Project
from filmslate.core._errors import (
    InputNotReady,
    NoAcceptedTake,
    ProviderError,
    ProxyFirst,
    RegenRefused,
)
from filmslate.engine._render import CRASH_AFTER_JOB, RenderService
from filmslate.engine._runner import Runner
from filmslate.engine._skill import Registry
from filmslate.engine._video import JobStatus, VideoJob, VideoProvider
from filmslate.providers.animatic import render
from filmslate.rules._media import probe
from filmslate.schemas import GenPack, QcBatch, QcRow, SceneRow, Scenes, ShotList, ShotRow
from filmslate.skills.production import AssembleCut, RenderFinal, RenderProxy, pack_digest
from test_runtime import configure
from test_skills_production import put

REPO = Path(__file__).resolve().parents[1]
PRICES = (
    '# video = { "fal:some-model"',
    'video = { "fake:clip" = { proxy = 1.0, final = 2.0 }, "fal:some-model"',
)


class FileFake(VideoProvider):
    """A hosted-model stand-in whose state lives in files, so it survives a killed process:
    it counts submissions, says "running" for a few polls, then serves an animatic clip."""

    name: ClassVar[str] = "fake"

    def __init__(self, folder: Path, polls: int = 3, fail: bool = False) -> None:
        self.folder = folder
        self.polls = polls
        self.fail = fail
        folder.mkdir(parents=True, exist_ok=True)

    @property
    def submits(self) -> int:
        counter = self.folder / "submits"
        return int(counter.read_text()) if counter.exists() else 0

    def submit(self, job: VideoJob) -> str:
        job_id = f"fake-{job.shot_id}-{self.submits + 1}"
        render(job, self.folder / f"{job_id}.mp4")
        (self.folder / f"{job_id}.polls").write_text(str(self.polls))
        (self.folder / "submits").write_text(str(self.submits + 1))
        return job_id

    def poll(self, job_id: str) -> JobStatus:
        left_file = self.folder / f"{job_id}.polls"
        left = int(left_file.read_text())
        if left > 0:
            left_file.write_text(str(left - 1))
            return JobStatus("running")
        return JobStatus("failed", "content filter") if self.fail else JobStatus("done")

    def download(self, job_id: str) -> bytes:
        return (self.folder / f"{job_id}.mp4").read_bytes()

    def price_per_second(self, width: int, height: int) -> float:
        return 0.5  # the actual price: half the configured worst case


def _shot(n: int, hero: str, duration: float) -> ShotRow:
    return ShotRow.model_validate(
        {
            "shot_id": f"S01_SH{n:02d}",
            "scene_id": "S01",
            "duration_s": duration,
            "camera_type": "medium",
            "blocking_summary": f"Alex waits ({n}).",
            "set_id": "OLD_MILL",
            "char_ids": ["ALEX"],
            "hero_tier": hero,
            "complexity_level": "low",
            "regen_risk_estimate": "low",
            "notes": "",
        }
    )


def _pack(shot_id: str, action: str = "Alex waits.") -> GenPack:
    return GenPack(
        shot_id=shot_id,
        style="NOIR",
        set="OLD_MILL lock",
        characters="ALEX lock",
        action=action,
        negatives="- no beard",
        settings="resolution_tier: proxy\ncamera_type: medium",
    )


@pytest.fixture
def film(tmp_path: Path) -> Path:
    with Project.init(tmp_path / "film", name="film") as project:
        root = project.root
    # hero B shots route to the priced fake model; small frames keep the tests quick
    configure(
        root,
        **{
            'mid = "animatic"': 'mid = "fake:clip"',
            PRICES[0]: PRICES[1],
            "width = 640": "width = 96",
            "height = 360": "height = 64",
            "width = 1920": "width = 160",
            "height = 1080": "height = 96",
        },
    )
    project = Project(root)
    put(
        project,
        "SCENES",
        None,
        Scenes(
            rows=[
                SceneRow(
                    scene_id=s,
                    summary="Alex waits.",
                    location="Old Mill",
                    characters_present=["ALEX"],
                )
                for s in ("S01", "S02")
            ]
        ),
    )
    put(project, "SHOTLIST", "S01", ShotList(rows=[_shot(1, "C", 3.0), _shot(2, "B", 4.0)]))
    for n in (1, 2):
        put(project, "GENPACK", f"S01_SH{n:02d}", _pack(f"S01_SH{n:02d}"))
    project.close()
    return root


def make_runner(
    root: Path, fake: Path | None = None, polls: int = 3
) -> tuple[Runner, RenderService, FileFake]:
    project = Project(root)
    registry = Registry()
    for skill in (RenderProxy, RenderFinal, AssembleCut):
        registry.register(skill)
    provider = FileFake(fake or root.parent / "fake", polls)
    service = RenderService(project, providers={"fake": provider}, poll_interval_s=0.0)
    return Runner(project, registry), service, provider


def qc(root: Path, *rows: tuple[str, int, str]) -> None:
    """Write the scene's QC batch directly (the qc-grader's output)."""
    score = {"PASS": 2, "FIX": 1, "FAIL": 0}
    with Project(root) as project:
        batch = QcBatch(
            rows=[
                QcRow.model_validate(
                    {
                        "shot_id": shot,
                        "attempt_number": attempt,
                        "face_consistency": score[verdict],
                        "wardrobe_consistency": 2,
                        "set_continuity": 2,
                        "prop_accuracy": 2,
                        "lighting_consistency": 2,
                        "motion_integrity": 2,
                        "total_score": 10 + score[verdict],
                        "verdict": verdict,
                        "notes": graded_note(project, shot),
                    }
                )
                for shot, attempt, verdict in rows
            ]
        )
        put(project, "QC_BATCH", "S01", batch)


def graded_note(project: Project, shot: str) -> str:
    """The note qc-grader writes: which GenPack the graded take was made from."""
    record = project.store.latest("GENPACK", shot)
    if record is None:
        return ""
    pack = project.store.load(record.name)
    assert isinstance(pack, GenPack)
    return f"genpack {record.filename} sha256:{pack_digest(pack)}"


def spends(r: Runner, shot: str) -> list[tuple[float, float]]:
    return [
        (float(e), float(a))
        for e, a in r.store.conn.execute(
            "SELECT estimated_cost, actual_cost FROM runlog WHERE event = 'spend' AND shot_id = ?",
            (shot,),
        ).fetchall()
    ]


def test_proxy_renders_through_the_runner_with_the_animatic(film: Path) -> None:
    r, service, _ = make_runner(film)
    result = r.run("render-proxy", "S01_SH01", params={"render": service})
    assert result.gate.passed, result.gate.reasons
    assert result.records[0].filename == "PROXY_S01_SH01_v001.mp4"
    info = probe(r.store.read("PROXY_S01_SH01_v001.mp4"))
    assert (info.width, info.height, info.fps) == (96, 64, 12)
    assert abs(info.duration_s - 3.0) <= 1 / 12
    assert set(r.store.lineage("PROXY_S01_SH01_v001.mp4")) >= {
        r.store.latest("GENPACK", "S01_SH01").name
    }  # type: ignore[union-attr]
    job = service.job(
        "S01_SH01",
        "proxy",
        service.store.conn.execute("SELECT genpack_sha FROM render_jobs").fetchone()[0],
    )
    assert job is not None and job.state == "done" and job.provider == "animatic"
    assert spends(r, "S01_SH01") == [(0.0, 0.0)]  # free, but metered all the same


def test_cost_is_reserved_at_worst_case_and_settled_at_actual(film: Path) -> None:
    r, service, fake = make_runner(film)
    assert r.run("render-proxy", "S01_SH02", params={"render": service}).gate.passed
    assert fake.submits == 1
    assert spends(r, "S01_SH02") == [(4.0, 2.0)]  # 4s x 1.0 reserved, 4s x 0.5 settled
    state = r.ledger.state("shot", "S01_SH02")
    assert state is not None and state.settled == 2.0 and state.reserved == 0.0
    assert r.ledger.open_reservations() == 0
    assert (service.estimated, service.spent) == (4.0, 2.0)


def test_an_unknown_video_model_is_a_clear_error(film: Path) -> None:
    r, service, _ = make_runner(film)
    service.providers.pop("fake")
    with pytest.raises(Exception, match="no video provider for model 'fake:clip'"):
        r.run("render-proxy", "S01_SH02", params={"render": service})
    assert r.ledger.open_reservations() == 0


def test_a_regen_with_an_unchanged_genpack_is_refused(film: Path) -> None:
    r, service, _ = make_runner(film)
    assert r.run("render-proxy", "S01_SH01", params={"render": service}).gate.passed
    qc(film, ("S01_SH01", 1, "FAIL"))
    with pytest.raises(RegenRefused, match="GenPack is unchanged"):
        r.run("render-proxy", "S01_SH01", force=True, params={"render": service})
    put(r.project, "GENPACK", "S01_SH01", _pack("S01_SH01", "Alex waits, hands still."))
    again = r.run("render-proxy", "S01_SH01", params={"render": service})
    assert again.gate.passed and again.records[0].filename == "PROXY_S01_SH01_v002.mp4"


def test_final_waits_for_a_passed_proxy(film: Path) -> None:
    r, service, _ = make_runner(film)
    params = {"render": service}
    with pytest.raises(InputNotReady, match="PROXY_S01_SH01"):
        r.run("render-final", "S01_SH01", params=params)
    assert r.run("render-proxy", "S01_SH01", params=params).gate.passed
    with pytest.raises(InputNotReady, match="QC_BATCH_S01"):
        r.run("render-final", "S01_SH01", params=params)
    qc(film, ("S01_SH01", 1, "FAIL"))
    with pytest.raises(ProxyFirst, match="last QC: attempt 1: FAIL"):
        r.run("render-final", "S01_SH01", params=params)
    qc(film, ("S01_SH01", 1, "FAIL"), ("S01_SH01", 2, "PASS"))
    result = r.run("render-final", "S01_SH01", params=params)
    assert result.gate.passed and result.records[0].filename == "FINAL_S01_SH01_v001.mp4"
    info = probe(r.store.read("FINAL_S01_SH01_v001.mp4"))
    assert (info.width, info.height, info.fps) == (160, 96, 24)


def test_a_pass_of_an_earlier_genpack_does_not_admit_the_final(film: Path) -> None:
    r, service, _ = make_runner(film)
    params = {"render": service}
    assert r.run("render-proxy", "S01_SH01", params=params).gate.passed
    qc(film, ("S01_SH01", 1, "PASS"))
    put(r.project, "GENPACK", "S01_SH01", _pack("S01_SH01", "Alex turns to the door."))
    assert r.run("render-proxy", "S01_SH01", params=params).gate.passed  # ungraded take
    with pytest.raises(ProxyFirst, match="graded an earlier GenPack"):
        r.run("render-final", "S01_SH01", params=params)


def child(root: str, fake: str) -> None:
    """The first run of the crash test (a separate process, killed after the job id)."""
    r, service, _ = make_runner(Path(root), Path(fake))
    r.run("render-proxy", "S01_SH02", params={"render": service})


def test_a_killed_render_resumes_its_job_without_paying_twice(film: Path) -> None:
    fake = film.parent / "fake"
    code = f"import test_skills_render as t; t.child({str(film)!r}, {str(fake)!r})"
    env = {
        **os.environ,
        "FILMSLATE_CRASH_AT": CRASH_AFTER_JOB,
        "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO / "tests")]),
    }
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=REPO, check=False, capture_output=True
    )
    assert done.returncode == -9, done.stderr.decode()[-2000:]
    r, service, provider = make_runner(film, fake)
    job = r.store.conn.execute("SELECT job_id, state FROM render_jobs").fetchall()
    assert job == [("fake-S01_SH02-1", "submitted")]
    assert r.ledger.open_reservations() == 1 and provider.submits == 1
    result = r.run("render-proxy", "S01_SH02", params={"render": service})
    assert result.gate.passed and result.records[0].filename == "PROXY_S01_SH02_v001.mp4"
    assert provider.submits == 1  # resumed polling, never submitted again
    assert spends(r, "S01_SH02") == [(4.0, 2.0)]  # settled once, at the actual cost
    assert r.ledger.open_reservations() == 0
    assert r.store.conn.execute("SELECT state FROM render_jobs").fetchall() == [("done",)]


def test_a_timed_out_job_is_resumed_by_the_next_run(film: Path) -> None:
    r, service, fake = make_runner(film, polls=3)
    service.timeout_s = 0.0
    with pytest.raises(ProviderError, match=r"still running.*run again to resume"):
        r.run("render-proxy", "S01_SH02", params={"render": service})
    assert r.store.conn.execute("SELECT state FROM render_jobs").fetchall() == [("running",)]
    assert r.ledger.open_reservations() == 1
    r2, again, _ = make_runner(film, polls=3)
    assert r2.run("render-proxy", "S01_SH02", params={"render": again}).gate.passed
    assert fake.submits == 1 and spends(r2, "S01_SH02") == [(4.0, 2.0)]
    assert r2.ledger.open_reservations() == 0


def test_a_failed_job_releases_its_reservation_and_may_be_retried(film: Path) -> None:
    r, service, fake = make_runner(film, polls=1)
    fake.fail = True
    with pytest.raises(ProviderError, match="failed: content filter"):
        r.run("render-proxy", "S01_SH02", params={"render": service})
    assert r.ledger.open_reservations() == 0 and spends(r, "S01_SH02") == []
    fake.fail = False
    assert r.run("render-proxy", "S01_SH02", params={"render": service}).gate.passed
    assert fake.submits == 2 and spends(r, "S01_SH02") == [(4.0, 2.0)]


def test_the_cut_joins_the_accepted_takes_in_shot_order(film: Path) -> None:
    r, service, _ = make_runner(film, polls=0)
    params = {"render": service}
    for shot in ("S01_SH01", "S01_SH02"):
        assert r.run("render-proxy", shot, params=params).gate.passed
    qc(film, ("S01_SH01", 1, "PASS"))
    with pytest.raises(NoAcceptedTake, match=r"S01_SH02 \(QC missing\)"):
        r.run("assemble-cut", "S01", params=params)
    qc(film, ("S01_SH01", 1, "PASS"), ("S01_SH02", 1, "PASS"))
    assert r.run("render-final", "S01_SH01", params=params).gate.passed  # mixed resolutions
    result = r.run("assemble-cut", "S01", params=params)
    assert result.gate.passed and result.records[0].filename == "CUT_S01_v001.mp4"
    info = probe(r.store.read("CUT_S01_v001.mp4"))
    assert (info.width, info.height) == (160, 96)  # a final take: the cut is at final size
    assert abs(info.duration_s - 7.0) <= 1 / info.fps + 1e-6
    with pytest.raises(NoAcceptedTake, match=r"S02 \(no shot list\)"):
        r.run("assemble-cut", "PROJECT", params=params)


def test_a_proxy_only_cut_has_the_summed_duration(film: Path) -> None:
    r, service, _ = make_runner(film, polls=0)
    for shot in ("S01_SH01", "S01_SH02"):
        assert r.run("render-proxy", shot, params={"render": service}).gate.passed
    qc(film, ("S01_SH01", 1, "PASS"), ("S01_SH02", 1, "PASS"))
    result = r.run("assemble-cut", "S01")
    info = probe(r.store.read(result.records[0].filename))
    assert (info.width, info.height, info.fps) == (96, 64, 12)
    assert abs(info.duration_s - (3.0 + 4.0)) <= 1 / 12 + 1e-6
    assert info.frames == 84


def test_hero_a_shots_route_premium_within_the_quota(film: Path) -> None:
    _, service, _ = make_runner(film)
    hero = _shot(1, "A", 3.0)
    assert service.route(hero).tier == "visual_premium"
    with service.store.transaction() as conn:  # another shot already rendered premium
        conn.execute(
            "INSERT INTO render_jobs (shot_id, resolution, genpack_sha, provider, "
            "state, tier) VALUES ('S01_SH09', 'proxy', 'x', 'animatic', 'done', "
            "'visual_premium')"
        )
    route = service.route(hero)  # 2 planned shots at 25%: one premium shot at most
    assert route.tier == "visual_mid" and route.model == "fake:clip"
    assert "quota" in route.reason


def test_the_runner_provides_the_render_service_itself(film: Path) -> None:
    r, _, _ = make_runner(film)
    result = r.run("render-proxy", "S01_SH01")  # no params: the runner builds the service
    assert result.gate.passed, result.gate.reasons
    assert result.records[0].filename == "PROXY_S01_SH01_v001.mp4"
    assert r.ledger.open_reservations() == 0
