"""The submit window: a run killed between recording a submission intent and recording the
provider's job id, settled by the provider's kind on the next run; and clips that do not
decode, never stored as artifacts.

The first run of each crash case is a real process killed with SIGKILL (FILMSLATE_CRASH_AT,
or a provider that kills its own process right after "sending" the job); the second is this
process, through the real runner, store, ledger and render service.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

import test_runtime
from filmslate import Project
from filmslate.core._errors import HardStop, ProviderError
from filmslate.engine._answers import CRASH_AFTER_ANSWER
from filmslate.engine._override import record_override
from filmslate.engine._render import CRASH_AFTER_INTENT, RenderService
from filmslate.engine._runner import Runner
from filmslate.engine._skill import Registry
from filmslate.engine._video import VideoJob
from filmslate.providers.animatic import CRASH_MID_RENDER
from filmslate.providers.comfyui import ComfyUIProvider, workflow_hash
from filmslate.providers.fal import FalProvider
from filmslate.rules._media import probe
from filmslate.schemas import SceneRow, Scenes, ShotList
from filmslate.skills.production import AssembleCut, RenderFinal, RenderProxy
from test_runtime import configure
from test_skills_production import put
from test_skills_render import FileFake, _pack, _shot

REPO = Path(__file__).resolve().parents[1]
KILL_IN_SUBMIT = "FILMSLATE_TEST_KILL_IN_SUBMIT"
# the animatic gets a configured worst case, so a charge at worst case shows in the spend
PRICES = (
    '# video = { "fal:some-model"',
    'video = { animatic = { proxy = 0.5, final = 1.0 }, "fake:clip" = { proxy = 1.0, '
    'final = 2.0 }, "fal:some-model"',
)
ANIMATIC_SHOT, PAID_SHOT = "S01_SH01", "S01_SH02"  # hero C -> animatic, hero B -> fake:clip


class Referenced(FileFake):
    """A hosted-model stand-in that keeps each job under its client reference and finds it
    again by that reference (as ComfyUI does with a client-chosen prompt id)."""

    name: ClassVar[str] = "fake"
    finds_by_reference: ClassVar[bool] = True

    def submit(self, job: VideoJob) -> str:
        job_id = super().submit(job)
        (self.folder / f"ref-{job.reference}").write_text(job_id)
        return job_id

    def find(self, reference: str) -> str | None:
        found = self.folder / f"ref-{reference}"
        return found.read_text() if found.exists() else None


class Killing(Referenced):
    """Dies like kill -9 right after the job reached the provider, before its id is back."""

    def submit(self, job: VideoJob) -> str:
        job_id = super().submit(job)
        if os.environ.get(KILL_IN_SUBMIT):
            os.kill(os.getpid(), signal.SIGKILL)
        return job_id


class KillingBlind(FileFake):
    """A paid provider that cannot look jobs up, killed after the job reached it."""

    def submit(self, job: VideoJob) -> str:
        job_id = super().submit(job)
        if os.environ.get(KILL_IN_SUBMIT):
            os.kill(os.getpid(), signal.SIGKILL)
        return job_id


PROVIDERS: dict[str, type[FileFake]] = {
    "referenced": Killing,
    "blind": KillingBlind,
}


@pytest.fixture
def film(tmp_path: Path) -> Path:
    """Two shots: S01_SH01 (hero C) renders on the animatic, S01_SH02 (hero B) on fake:clip."""
    with Project.init(tmp_path / "film", name="film") as project:
        root = project.root
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
    with Project(root) as project:
        row = SceneRow(
            scene_id="S01", summary="Alex waits.", location="Old Mill", characters_present=["ALEX"]
        )
        put(project, "SCENES", None, Scenes(rows=[row]))
        put(project, "SHOTLIST", "S01", ShotList(rows=[_shot(1, "C", 3.0), _shot(2, "B", 4.0)]))
        for shot in (ANIMATIC_SHOT, PAID_SHOT):
            put(project, "GENPACK", shot, _pack(shot))
    return root


def runner(root: Path, kind: str = "referenced") -> tuple[Runner, RenderService, FileFake]:
    project = Project(root)
    registry = Registry()
    for skill in (RenderProxy, RenderFinal, AssembleCut):
        registry.register(skill)
    provider = PROVIDERS[kind](root.parent / "fake", polls=1)
    service = RenderService(project, providers={"fake": provider}, poll_interval_s=0.0)
    return Runner(project, registry), service, provider


def child(root: str, kind: str, shot: str) -> None:
    """The first run: render one proxy (a separate process, killed on the way)."""
    r, service, _ = runner(Path(root), kind)
    r.run("render-proxy", shot, params={"render": service})


def killed_first_run(root: Path, shot: str, kind: str = "referenced", **env: str) -> None:
    code = f"import test_submit_window as t; t.child({str(root)!r}, {kind!r}, {shot!r})"
    full_env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO / "tests")]),
        **env,
    }
    done = subprocess.run(
        [sys.executable, "-c", code], env=full_env, cwd=REPO, check=False, capture_output=True
    )
    assert done.returncode == -9, done.stderr.decode()[-2000:]


def spends(r: Runner, shot: str) -> list[tuple[float, float, str]]:
    rows = r.store.conn.execute(
        "SELECT estimated_cost, actual_cost, outcome FROM runlog WHERE event = 'spend' "
        "AND shot_id = ?",
        (shot,),
    ).fetchall()
    return [(float(e), float(a), o) for e, a, o in rows]


def jobs(r: Runner) -> list[tuple[str, str, str]]:
    """(shot, state, job id) of every render job."""
    return r.store.conn.execute(
        "SELECT shot_id, state, job_id FROM render_jobs ORDER BY shot_id"
    ).fetchall()


# -- the animatic: its submit returns at once, so a kill mid-render is resumed ----------------


def test_a_kill_mid_animatic_render_resumes_the_recorded_job(film: Path) -> None:
    killed_first_run(film, ANIMATIC_SHOT, FILMSLATE_CRASH_AT=CRASH_MID_RENDER)
    r, service, _ = runner(film)
    [(shot, state, job_id)] = jobs(r)
    assert (shot, state) == (ANIMATIC_SHOT, "submitted") and job_id.startswith("animatic-")
    result = r.run("render-proxy", ANIMATIC_SHOT, params={"render": service})
    assert result.gate.passed, result.gate.reasons
    assert jobs(r) == [(ANIMATIC_SHOT, "done", job_id)]  # the same job, rendered once
    assert spends(r, ANIMATIC_SHOT) == [(1.5, 0.0, "")]  # settled at its price, never worst
    assert r.ledger.open_reservations() == 0
    assert not list((film / ".filmslate" / "renders").glob("*.part.*"))  # the half render went


def test_an_interrupted_offline_submission_is_submitted_again(film: Path) -> None:
    killed_first_run(film, ANIMATIC_SHOT, FILMSLATE_CRASH_AT=CRASH_AFTER_INTENT)
    r, service, _ = runner(film)
    assert jobs(r) == [(ANIMATIC_SHOT, "intent", "")]
    assert r.run("render-proxy", ANIMATIC_SHOT, params={"render": service}).gate.passed
    assert spends(r, ANIMATIC_SHOT) == [(1.5, 0.0, "")]  # the interrupted hold was released
    assert r.ledger.open_reservations() == 0


# -- providers that find a job by its client reference ----------------------------------------


def test_an_interrupted_submission_is_found_by_its_reference(film: Path) -> None:
    killed_first_run(film, PAID_SHOT, **{KILL_IN_SUBMIT: "1"})
    r, service, provider = runner(film)
    assert jobs(r) == [(PAID_SHOT, "intent", "")] and provider.submits == 1
    result = r.run("render-proxy", PAID_SHOT, params={"render": service})
    assert result.gate.passed, result.gate.reasons
    assert provider.submits == 1  # found, polled and downloaded: never sent again
    assert spends(r, PAID_SHOT) == [(4.0, 2.0, "")]  # paid once, at the actual price
    assert r.ledger.open_reservations() == 0


def test_an_intent_that_never_reached_a_finding_provider_is_submitted(film: Path) -> None:
    killed_first_run(film, PAID_SHOT, FILMSLATE_CRASH_AT=CRASH_AFTER_INTENT)
    r, service, provider = runner(film)
    assert provider.submits == 0
    assert r.run("render-proxy", PAID_SHOT, params={"render": service}).gate.passed
    assert provider.submits == 1 and spends(r, PAID_SHOT) == [(4.0, 2.0, "")]


# -- a paid provider that cannot look a job up: stop, never resubmit blindly ------------------


def test_an_interrupted_paid_submission_stops_for_a_person(film: Path) -> None:
    killed_first_run(film, PAID_SHOT, "blind", **{KILL_IN_SUBMIT: "1"})
    r, service, provider = runner(film, "blind")
    with pytest.raises(ProviderError) as stop:
        r.run("render-proxy", PAID_SHOT, params={"render": service})
    message = str(stop.value)
    reference = r.store.conn.execute("SELECT reference FROM render_jobs").fetchone()[0]
    assert reference and f"reference {reference}" in message
    assert f"slate override {PAID_SHOT}" in message and "not submitted again" in message
    assert provider.submits == 1
    assert spends(r, PAID_SHOT) == [(4.0, 4.0, "UNKNOWN")]  # worst case: it may be billed
    assert jobs(r) == [(PAID_SHOT, "unknown", "")]
    with pytest.raises(HardStop, match="submission"):  # and it stays stopped
        r.run("render-proxy", PAID_SHOT, params={"render": service})
    assert provider.submits == 1
    record_override(r.project, PAID_SHOT, "checked the dashboard: no such request", 0.0)
    assert r.run("render-proxy", PAID_SHOT, params={"render": service}).gate.passed
    assert provider.submits == 2
    assert spends(r, PAID_SHOT) == [(4.0, 4.0, "UNKNOWN"), (4.0, 2.0, "")]
    assert r.ledger.open_reservations() == 0


# -- clips that do not decode ---------------------------------------------------------------


def test_a_cached_render_that_does_not_decode_is_rendered_again_not_stored(film: Path) -> None:
    r, service, _ = runner(film)
    first = r.run("render-proxy", ANIMATIC_SHOT, params={"render": service})
    assert first.gate.passed
    [cached] = (film / ".filmslate" / "renders").glob("*.mp4")
    cached.chmod(0o644)
    cached.write_bytes(cached.read_bytes()[:400])  # cut short: it no longer decodes
    again = r.run("render-proxy", ANIMATIC_SHOT, force=True, params={"render": service})
    assert again.gate.passed, again.gate.reasons
    assert [v.filename for v in r.store.versions("PROXY", ANIMATIC_SHOT)] == [
        "PROXY_S01_SH01_v001.mp4"  # the re-render is the same clip: no bad version
    ]
    assert probe(cached.read_bytes()).frames == 36


class Garbled(FileFake):
    """Serves a clip that does not decode for the first ``bad`` downloads."""

    bad = 1

    def download(self, job_id: str) -> bytes:
        if self.bad > 0:
            self.bad -= 1
            return b"\x00\x00\x00\x18ftypisom" + b"\x00" * 64
        return super().download(job_id)


def garbled_runner(root: Path, bad: int) -> tuple[Runner, RenderService, Garbled]:
    project = Project(root)
    registry = Registry()
    registry.register(RenderProxy)
    provider = Garbled(root.parent / "fake", polls=0)
    provider.bad = bad
    service = RenderService(project, providers={"fake": provider}, poll_interval_s=0.0)
    return Runner(project, registry), service, provider


def test_a_paid_clip_that_does_not_decode_is_fetched_again(film: Path) -> None:
    r, service, provider = garbled_runner(film, bad=1)
    result = r.run("render-proxy", PAID_SHOT, params={"render": service})
    assert result.gate.passed and provider.bad == 0
    assert provider.submits == 1 and spends(r, PAID_SHOT) == [(4.0, 2.0, "")]


def test_a_paid_clip_that_never_decodes_is_not_stored_and_not_paid_twice(film: Path) -> None:
    r, service, provider = garbled_runner(film, bad=5)
    with pytest.raises(ProviderError, match=r"does not decode.*not stored"):
        r.run("render-proxy", PAID_SHOT, params={"render": service})
    assert r.store.versions("PROXY", PAID_SHOT) == []
    assert spends(r, PAID_SHOT) == [(4.0, 2.0, "")]  # the job finished: it is paid, once
    provider.bad = 0  # the provider serves it properly again
    assert r.run("render-proxy", PAID_SHOT, params={"render": service}).gate.passed
    assert provider.submits == 1 and spends(r, PAID_SHOT) == [(4.0, 2.0, "")]


# -- what the adapters send ------------------------------------------------------------------

WORKFLOW: dict[str, Any] = {"3": {"class_type": "KSampler", "inputs": {"seed": "{{seed}}"}}}
JOB = VideoJob("S01_SH01", "a prompt", 2.0, 96, 64, 12, reference="5f0c3d4e-1111-4a2b-9c3d")


class Comfy:
    """A ComfyUI server that queues prompts under the id the client chose."""

    def __init__(self) -> None:
        self.queued: list[str] = []
        self.posted: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/prompt":
            body = json.loads(request.content)
            self.posted.append(body)
            self.queued.append(body["prompt_id"])
            return httpx.Response(200, json={"prompt_id": body["prompt_id"], "number": 1})
        if request.url.path.startswith("/history/"):
            return httpx.Response(200, json={})
        if request.url.path == "/queue":
            pending = [[1, prompt_id, {}, {}, []] for prompt_id in self.queued]
            return httpx.Response(200, json={"queue_running": [], "queue_pending": pending})
        return httpx.Response(404)


def test_comfyui_sends_the_reference_as_its_prompt_id_and_finds_it() -> None:
    server = Comfy()
    client = httpx.Client(transport=httpx.MockTransport(server))
    provider = ComfyUIProvider("http://127.0.0.1:8188", WORKFLOW, workflow_hash(WORKFLOW), client)
    assert provider.finds_by_reference
    assert provider.find(JOB.reference) is None  # not sent yet
    assert provider.submit(JOB) == JOB.reference
    assert server.posted[0]["prompt_id"] == JOB.reference
    assert provider.find(JOB.reference) == JOB.reference


def test_comfyui_flags_a_prompt_that_may_have_arrived() -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    client = httpx.Client(transport=httpx.MockTransport(timeout))
    provider = ComfyUIProvider("http://127.0.0.1:8188", WORKFLOW, workflow_hash(WORKFLOW), client)
    with pytest.raises(ProviderError) as error:
        provider.submit(JOB)
    assert error.value.context["maybe_sent"] is True


def test_fal_tags_the_request_with_the_reference_and_flags_a_lost_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FAL_KEY", "test-key")
    seen: list[httpx.Request] = []

    def lost(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        raise httpx.ReadTimeout("no answer", request=request)

    provider = FalProvider(
        "fal-ai/some-model",
        http_client=httpx.Client(transport=httpx.MockTransport(lost)),
        price_per_second=0.05,
        sleep=lambda _s: None,
    )
    assert not provider.finds_by_reference and not provider.offline
    with pytest.raises(ProviderError) as error:
        provider.submit(JOB)
    assert error.value.context["maybe_sent"] is True
    assert len(seen) == 1  # never retried: it may have been accepted
    assert seen[0].headers["x-fal-tags"] == f"filmslate_ref={JOB.reference}"


class Lost(FileFake):
    """The job reaches the provider but its answer is lost (a timeout after sending)."""

    def submit(self, job: VideoJob) -> str:
        super().submit(job)
        raise ProviderError("fake timed out on POST /queue", maybe_sent=True)


def test_a_submit_that_may_have_arrived_keeps_its_intent_and_is_never_resent(
    film: Path,
) -> None:
    project = Project(film)
    registry = Registry()
    registry.register(RenderProxy)
    provider = Lost(film.parent / "fake", polls=0)
    service = RenderService(project, providers={"fake": provider}, poll_interval_s=0.0)
    r = Runner(project, registry)
    with pytest.raises(ProviderError, match=r"intent .* is kept"):
        r.run("render-proxy", PAID_SHOT, params={"render": service})
    assert jobs(r) == [(PAID_SHOT, "intent", "")] and r.ledger.open_reservations() == 1
    with pytest.raises(ProviderError, match="not submitted again blindly"):
        r.run("render-proxy", PAID_SHOT, params={"render": service})
    assert provider.submits == 1 and spends(r, PAID_SHOT) == [(4.0, 4.0, "UNKNOWN")]
    assert r.ledger.open_reservations() == 0


# -- text calls: an answer paid for is not paid for again -------------------------------------

TEXT_CHILD = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from test_runtime import runner, GOOD_PREMISE
r, _ = runner(Path(sys.argv[1]), [GOOD_PREMISE], cost=1.0, worst=5.0)
r.run("pitch", "PROJECT")
"""


@pytest.mark.parametrize("where", [CRASH_AFTER_ANSWER, "after_temp"])
def test_a_text_answer_paid_before_a_kill_is_not_paid_again(tmp_path: Path, where: str) -> None:
    with Project.init(tmp_path / "film", name="film") as project:
        root = project.root
    configure(root)
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "FILMSLATE_CRASH_AT": where}
    done = subprocess.run(
        [sys.executable, "-c", TEXT_CHILD, str(root), str(REPO / "tests")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == -9, done.stderr[-2000:]
    r, model = test_runtime.runner(root, [test_runtime.GOOD_PREMISE], cost=1.0, worst=5.0)
    result = r.run("pitch", "PROJECT")
    assert result.gate.passed
    assert model.requests == []  # the recorded answer, not a second call
    assert r.ledger.state("project", "PROJECT").settled == pytest.approx(1.0)  # not 2, not 5
    assert r.ledger.open_reservations() == 0
    assert r.store.conn.execute("SELECT count(*) FROM text_answers").fetchone()[0] == 0
    again = r.run("pitch", "PROJECT", force=True)  # a rerun after the grade asks afresh
    assert again.gate.passed and len(model.requests) == 1


def test_a_stale_answer_never_adopts_another_runs_hold(tmp_path: Path) -> None:
    """Reservation ids are reused once a hold closes: an answer left by a run killed after
    its grade must not take over a later, unrelated hold that got the same id."""
    with Project.init(tmp_path / "film", name="film") as project:
        root = project.root
    configure(root)
    r, _ = test_runtime.runner(root, [test_runtime.GOOD_PREMISE], cost=1.0, worst=5.0)
    dead = 2**22 + 12345  # above any pid this machine hands out
    with r.store.transaction() as conn:
        conn.execute(
            "INSERT INTO text_answers VALUES ('k', 'voice-lock', 'S01', 'R-old', '{}', 0.5, 1, "
            "'2025-01-01T00:00:00Z', ?)",
            (dead,),
        )
        conn.execute(
            "INSERT INTO reservations (id, run_id, scene_id, shot_id, amount, started, pid, "
            "created_at, what) VALUES (1, 'R-new', '', '', 3.0, 1, ?, '2025-01-01T00:00:01Z', "
            "'pitch PROJECT (scripted:judgment)')",
            (dead,),
        )
        conn.execute(
            "INSERT INTO spend_totals (level, scope, reserved) VALUES ('project', 'PROJECT', 3.0)"
        )
    assert r.run("pitch", "PROJECT").gate.passed
    assert r.ledger.open_reservations() == 0  # the dead call was charged by the recovery
    charged = r.store.conn.execute(
        "SELECT CAST(actual_cost AS REAL) FROM runlog WHERE event = 'spend' AND outcome = 'UNKNOWN'"
    ).fetchall()
    assert charged == [(3.0,)]
