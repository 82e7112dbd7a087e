"""The render service with a catalogue model (issue 12 §5-8): billed from the catalogue, the
job built from the entry (snapped length, composed prompt, negative, first frame), the exact
payload recorded before the call, refusals never sent twice, download failures fetched again
without paying again, and a re-roll with a new seed after a QC FIX.

Driven through the real runner, store, ledger and render service; the provider is a small
in-test VideoProvider that speaks to nothing networked and renders its clips with the
animatic at the job's own size and length (so render-proxy conforms them).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import pytest

from filmslate import Project
from filmslate.core._errors import ProviderError, RegenRefused, RenderRefused
from filmslate.engine._render import RenderService
from filmslate.engine._runner import Runner
from filmslate.engine._skill import Registry
from filmslate.engine._video import Failure, JobStatus, VideoJob, VideoProvider
from filmslate.providers.animatic import render
from filmslate.skills.production import RenderFinal, RenderProxy
from filmslate.store._runlog import LogEntry, new_run_id
from filmslate.testing._media_server import png_bytes
from test_runtime import configure
from test_skills_production import put
from test_skills_render import _pack, film, qc, spends

__all__ = ["film"]  # the fixture, shared with test_skills_render

REPO = Path(__file__).resolve().parents[1]
KLING = "fal:fal-ai/kling-video/v2.1/standard/image-to-video"  # per clip: 5 s 0.28, 10 s 0.56
SHOT = "S01_SH02"  # hero B, 4 s -> the mid tier -> Kling, sent as a 5 s clip


class Hosted(VideoProvider):
    """A hosted model stand-in: records every job and what the render service had recorded
    in render_jobs when submit was called; fails, refuses or loses downloads on request."""

    name: ClassVar[str] = "fal"

    def __init__(self, folder: Path, index: Path) -> None:
        self.folder = folder
        self.index = index  # the project's index, read as another process would
        folder.mkdir(parents=True, exist_ok=True)
        self.jobs: list[VideoJob] = []
        self.recorded: list[tuple[str, str]] = []  # (state, payload) of the job's row at submit
        self.status = JobStatus("done")
        self.submit_error: ProviderError | None = None
        self.lost_downloads = 0
        self.flagged = False  # the result was blanked by a safety checker
        self.reported: float | None = None

    def payload(self, job: VideoJob) -> dict[str, object]:
        image = hashlib.sha256(job.image).hexdigest() if job.image else None
        return {
            "prompt": job.prompt,
            "negative_prompt": job.negative_prompt,
            "duration": str(int(job.duration_s)),
            "image_url": image,
            "seed": job.seed,
        }

    def submit(self, job: VideoJob) -> str:
        with sqlite3.connect(self.index) as conn:
            row = conn.execute(
                "SELECT state, payload FROM render_jobs WHERE reference = ?", (job.reference,)
            ).fetchone()
        self.recorded.append(row)
        if self.submit_error is not None:
            raise self.submit_error
        self.jobs.append(job)
        job_id = f"fal-{len(self.jobs)}"
        render(job, self.folder / f"{job_id}.mp4")
        return job_id

    def poll(self, job_id: str) -> JobStatus:
        return self.status

    def download(self, job_id: str) -> bytes:
        if self.flagged:
            raise ProviderError(f"the safety checker flagged {job_id}", failure="refusal")
        if self.lost_downloads:
            self.lost_downloads -= 1
            raise ProviderError(f"fal: the result of {job_id} did not download", failure="download")
        return (self.folder / f"{job_id}.mp4").read_bytes()

    def price_per_second(self, width: int, height: int) -> float:
        return 99.0  # never used: a catalogue model is priced by its entry

    def reported_cost(self, job_id: str) -> float | None:
        return self.reported


@pytest.fixture
def hosted_film(film: Path) -> Path:
    configure(film, **{'mid = "fake:clip"': f'mid = "{KLING}"'})
    return film


def runner(root: Path) -> tuple[Runner, RenderService, Hosted]:
    project = Project(root)
    registry = Registry()
    for skill in (RenderProxy, RenderFinal):
        registry.register(skill)
    provider = Hosted(root.parent / "hosted", root / ".filmslate" / "index.sqlite")
    service = RenderService(project, providers={"fal": provider}, poll_interval_s=0.0)
    return Runner(project, registry), service, provider


def render_proxy(r: Runner, service: RenderService, force: bool = False) -> None:
    result = r.run("render-proxy", SHOT, force=force, params={"render": service})
    assert result.gate.passed, result.gate.reasons


def job_row(r: Runner, *columns: str) -> tuple[object, ...]:
    found = r.store.conn.execute(
        f"SELECT {', '.join(columns)} FROM render_jobs WHERE shot_id = ?", (SHOT,)
    ).fetchone()
    assert found is not None
    return tuple(found)


def test_a_catalogue_model_is_sent_the_snapped_length_and_billed_per_clip(
    hosted_film: Path,
) -> None:
    r, service, provider = runner(hosted_film)
    render_proxy(r, service)
    job = provider.jobs[0]
    assert job.duration_s == 5.0  # planned 4 s; Kling allows 5 or 10
    assert job.model == KLING and (job.width, job.height) == (96, 64)
    assert "[SETTINGS]" not in job.prompt and "Alex waits." in job.prompt  # composed
    assert job.negative_prompt == "beard"  # the forbidden drift, as the negative prompt
    assert "beard" not in job.prompt
    assert spends(r, SHOT) == [(0.28, 0.28)]  # the 5 s clip's catalogue price, not per second
    assert r.ledger.open_reservations() == 0


def test_the_payload_is_recorded_before_the_submission(hosted_film: Path) -> None:
    r, service, provider = runner(hosted_film)
    render_proxy(r, service)
    state, payload = provider.recorded[0]
    assert state == "intent"  # the row existed, as an intent, when the job was sent
    assert json.loads(payload) == provider.payload(provider.jobs[0])
    assert job_row(r, "payload", "seed") == (payload, provider.jobs[0].seed)


def test_a_reported_cost_settles_the_job(hosted_film: Path) -> None:
    r, service, provider = runner(hosted_film)
    provider.reported = 0.21
    render_proxy(r, service)
    assert spends(r, SHOT) == [(0.28, 0.21)]


def test_a_failed_job_is_released_unless_the_vendor_charges_failures(hosted_film: Path) -> None:
    r, service, provider = runner(hosted_film)
    provider.status = JobStatus("failed", "GPU lost", "server")
    with pytest.raises(ProviderError, match="failed: GPU lost"):
        render_proxy(r, service)
    assert spends(r, SHOT) == [] and r.ledger.open_reservations() == 0
    assert job_row(r, "state", "failure", "message") == ("failed", "server", "GPU lost")
    provider.status = JobStatus("done")  # a server failure may be retried: sent again
    render_proxy(r, service)
    assert len(provider.jobs) == 2 and spends(r, SHOT) == [(0.28, 0.28)]


def test_a_vendor_that_charges_failed_jobs_is_paid_for_them(hosted_film: Path) -> None:
    with (hosted_film / "filmslate.toml").open("a") as toml:
        toml.write(f'\n[catalogue."{KLING}"]\nbilling = {{ failed_jobs_charged = true }}\n')
    r, service, provider = runner(hosted_film)
    provider.status = JobStatus("failed", "timed out on the GPU", "timeout")
    with pytest.raises(ProviderError, match="timed out on the GPU"):
        render_proxy(r, service)
    assert spends(r, SHOT) == [(0.28, 0.28)] and r.ledger.open_reservations() == 0


@pytest.mark.parametrize("failure", ["refusal", "invalid_input"])
def test_a_refused_job_is_never_sent_again_unchanged(hosted_film: Path, failure: Failure) -> None:
    r, service, provider = runner(hosted_film)
    provider.status = JobStatus("failed", "content policy violation", failure)
    with pytest.raises(RenderRefused, match=rf"{SHOT}: {KLING} refused .*regen-analyzer"):
        render_proxy(r, service)
    assert job_row(r, "state", "failure") == ("failed", failure)
    provider.status = JobStatus("done")
    with pytest.raises(RenderRefused, match="reword the prompt within the locks"):
        render_proxy(r, service, force=True)
    assert len(provider.jobs) == 1  # not sent again
    assert spends(r, SHOT) == [] and r.ledger.open_reservations() == 0
    put(r.project, "GENPACK", SHOT, _pack(SHOT, "Alex waits by the wheel."))  # reworded
    render_proxy(r, service)
    assert len(provider.jobs) == 2 and spends(r, SHOT) == [(0.28, 0.28)]


def test_a_submission_turned_away_as_invalid_is_recorded_and_not_resent(
    hosted_film: Path,
) -> None:
    r, service, provider = runner(hosted_film)
    provider.submit_error = ProviderError("fal: 422 image too small", failure="invalid_input")
    with pytest.raises(RenderRefused, match="invalid_input: fal: 422 image too small"):
        render_proxy(r, service)
    provider.submit_error = None
    with pytest.raises(RenderRefused):
        render_proxy(r, service, force=True)
    assert provider.jobs == [] and len(provider.recorded) == 1
    assert r.ledger.open_reservations() == 0 and spends(r, SHOT) == []
    assert isinstance(RenderRefused("x"), RegenRefused)  # routed like any changed-GenPack case
    with Project(hosted_film) as project:  # a first frame now: not the job that was refused
        project.store.write("STORYBOARD", SHOT, png_bytes(96, 64), entry=manual_entry())
    render_proxy(r, service)
    assert len(provider.jobs) == 1 and provider.jobs[0].image is not None
    assert spends(r, SHOT) == [(0.28, 0.28)]


def test_a_lost_download_is_fetched_again_without_paying_again(hosted_film: Path) -> None:
    r, service, provider = runner(hosted_film)
    provider.lost_downloads = 2  # both tries of the first run
    with pytest.raises(ProviderError, match="did not download"):
        render_proxy(r, service)
    assert spends(r, SHOT) == [(0.28, 0.28)]  # the job ran and is paid
    assert job_row(r, "state") == ("done",)
    r2, again, provider2 = runner(hosted_film)
    render_proxy(r2, again)
    assert provider2.jobs == [] and spends(r2, SHOT) == [(0.28, 0.28)]  # fetched, not repaid


def test_a_result_refused_at_download_is_paid_once_and_not_sent_again(
    hosted_film: Path,
) -> None:
    r, service, provider = runner(hosted_film)
    provider.flagged = True
    with pytest.raises(RenderRefused, match="safety checker flagged fal-1"):
        render_proxy(r, service)
    assert job_row(r, "state", "failure") == ("failed", "refusal")
    provider.flagged = False
    with pytest.raises(RenderRefused):
        render_proxy(r, service, force=True)
    assert len(provider.jobs) == 1 and spends(r, SHOT) == [(0.28, 0.28)]  # the job ran: paid


def test_the_first_frame_and_the_sheets_are_passed_through(hosted_film: Path) -> None:
    frame, sheet = png_bytes(96, 64), png_bytes(32, 32)
    with Project(hosted_film) as project:
        for kind, subject, data in (
            ("STORYBOARD", SHOT, frame),
            ("CHAR_REF", "ALEX", sheet),
        ):
            project.store.write(kind, subject, data, entry=manual_entry())
    r, service, provider = runner(hosted_film)
    render_proxy(r, service)
    job = provider.jobs[0]
    assert job.image == frame
    assert [(ref.label, ref.data) for ref in job.references] == [("CHAR_ALEX_REF_v001", sheet)]
    sent = json.loads(str(job_row(r, "payload")[0]))
    assert sent["image_url"] == hashlib.sha256(frame).hexdigest()  # the digest, never bytes


def manual_entry() -> LogEntry:
    return LogEntry(
        run_id=new_run_id(), skill_name="manual", event="write", outcome="PASS", tier="manual"
    )


def test_a_fix_verdict_allows_a_reroll_with_a_new_seed(hosted_film: Path) -> None:
    r, service, provider = runner(hosted_film)
    render_proxy(r, service)
    render_proxy(r, service, force=True)  # not graded yet: the same take, not a new job
    assert len(provider.jobs) == 1
    qc(hosted_film, (SHOT, 1, "FIX"))
    render_proxy(r, service, force=True)  # unchanged GenPack, minor fault: a re-roll
    first, second = provider.jobs
    assert second.seed != first.seed and second.prompt == first.prompt
    assert job_row(r, "roll", "seed") == (1, second.seed)
    notes = r.store.conn.execute(
        "SELECT notes FROM runlog WHERE event = 'spend' AND shot_id = ? ORDER BY seq", (SHOT,)
    ).fetchall()
    assert f"re-roll 1 after QC FIX, seed {second.seed}" in notes[-1][0]
    render_proxy(r, service, force=True)  # the re-roll is not graded yet: reused
    assert len(provider.jobs) == 2
    qc(hosted_film, (SHOT, 1, "FIX"), (SHOT, 2, "FAIL"))
    with pytest.raises(RegenRefused, match="QC FAIL and this GenPack is unchanged"):
        render_proxy(r, service, force=True)
    assert len(provider.jobs) == 2 and spends(r, SHOT) == [(0.28, 0.28), (0.28, 0.28)]


def test_the_final_keeps_the_seed_of_the_proxy_that_passed(hosted_film: Path) -> None:
    r, service, provider = runner(hosted_film)
    render_proxy(r, service)
    qc(hosted_film, (SHOT, 1, "FIX"))
    render_proxy(r, service, force=True)
    qc(hosted_film, (SHOT, 1, "FIX"), (SHOT, 2, "PASS"))
    result = r.run("render-final", SHOT, params={"render": service})
    assert result.gate.passed, result.gate.reasons
    proxy_reroll, final = provider.jobs[1], provider.jobs[2]
    assert final.seed == proxy_reroll.seed and (final.width, final.height) == (160, 96)
    assert spends(r, SHOT)[-1] == (0.28, 0.28)


def test_an_offline_production_never_imports_the_provider_factory(film: Path) -> None:
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from test_skills_render import make_runner\n"
        f"r, _, _ = make_runner(Path({str(film)!r}))\n"
        "assert r.run('render-proxy', 'S01_SH01').gate.passed\n"  # animatic, no providers given
        "assert 'filmslate.providers._factory' not in sys.modules, 'factory imported'\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO / "tests",
        env={"PYTHONPATH": f"{REPO / 'src'}:{REPO / 'tests'}", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]


def test_a_batch_plan_prices_a_catalogue_model_without_a_per_second_table(
    hosted_film: Path,
) -> None:
    r, _, _ = runner(hosted_film)
    plan = r.store.load(r.plan_batch("S01").name)
    text = plan.render().decode("utf-8")
    # a proxy and a final 5 s clip at $0.28 each, x 1.1 for a low regen risk
    assert f"S01_SH02: hero B -> mid ({KLING}), 4s, projected 0.62" in text
