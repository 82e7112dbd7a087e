"""`slate run --jobs N` overlaps a take's own checks with the next job (issue 17 §4).

After its download a paid step conforms the clip, decodes it and runs the technical checks
(face detection included): pure computation on bytes it holds, marked
``engine._waits.computing``. The scheduler runs it without the baton, and a job's slots are
free once its clip is downloaded, so the next submission does not wait for it: N jobs at
C at once take about ceil(N / C) x latency, not ceil(N / C) x (latency + work). The code run
that way is thread-safe: the decode caches under a lock, OpenCV's cascade one per thread.

Timings are sleeps (a provider's latency, a step's work), so the ratios hold on a loaded
machine; the bounds sit halfway between the overlapped and the serial figure.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import pytest

from filmslate import Project
from filmslate.engine._waits import claim_slot, computing, job_over, waiting
from filmslate.rules import _looks, _media_decode
from filmslate.rules._conform import ClipTarget, conform
from filmslate.rules._looks import LookSpec, look_findings
from filmslate.rules._media import ClipSpec, technical_checks
from filmslate.rules._media_cache import use_folder
from filmslate.synthetic import VIDEO_MODEL, synthetic_project
from filmslate.synthetic._latency import SlowVideo
from filmslate.workflow._baton import Baton
from filmslate.workflow._executor import PaidStep, ThreadExecutor
from filmslate.workflow._limits import ProviderLimits
from filmslate.workflow._orchestrator import Orchestrator
from filmslate.workflow._scheduler import Scheduler
from test_looks import encode, frames_with


class Flight:
    """Jobs in flight at the provider (submitted, not done), at most; the baton-held writes;
    the wall time of them all."""

    def __init__(self) -> None:
        self.now = self.most = 0
        self.lock = threading.Lock()
        self.written: list[int] = []
        self.intents: list[int] = []  # jobs in flight as each intent is recorded
        self.wall = 0.0

    def change(self, by: int) -> None:
        with self.lock:
            self.now += by
            self.most = max(self.most, self.now)


def paid_job(flight: Flight, n: int, latency: float, work: float) -> None:
    """A paid step as the render service runs it (``engine._metered_jobs``, ``_clips``): its
    slot claimed, its intent recorded, submit, poll out the latency (the poll that sees the
    job finished frees its slots), download, the take's checks (computing), its store write."""
    claim_slot("slow:model")
    flight.intents.append(flight.now)
    with waiting("slow:model", "submit"):
        flight.change(+1)
    with waiting("slow:model", "poll"):
        time.sleep(latency)
        flight.change(-1)  # done at the provider
        job_over()
    with waiting("slow:model", "download"):
        pass
    with computing():
        time.sleep(work)
    flight.written.append(n)  # under the baton again


def paid_wall_time(root: Path, jobs: int, n: int, latency: float, work: float) -> Flight:
    """Run ``n`` paid jobs on the default executor; the flight record and the wall time."""
    with Project(root) as project:
        scheduler = Scheduler(jobs, ProviderLimits(project.config))
    executor = ThreadExecutor(scheduler)
    flight = Flight()
    steps = [PaidStep("render-final", f"S01_SH{i:02d}", "slow") for i in range(n)]
    started = time.perf_counter()
    with scheduler.installed():
        futures = [
            executor.start(step, partial(paid_job, flight, i, latency, work))
            for i, step in enumerate(steps)
        ]
        scheduler.wait(futures)
    flight.wall = time.perf_counter() - started
    executor.close()
    return flight


def film(tmp_path: Path, max_concurrent: int | None = None) -> Path:
    with Project.init(tmp_path / "film", name="film") as project:
        if max_concurrent is not None:
            toml = project.root / "filmslate.toml"
            text = f"\n[providers.slow]\nmax_concurrent = {max_concurrent}\n"
            toml.write_text(toml.read_text() + text)
        return project.root


def test_one_job_at_a_time_takes_n_latencies_not_n_latencies_plus_work(tmp_path: Path) -> None:
    """C = 1 (the provider's max_concurrent): the next job is in flight while this one's
    take is checked, even when the checks take longer than the job."""
    n, latency, work = 6, 0.3, 0.9
    flight = paid_wall_time(film(tmp_path, max_concurrent=1), 2, n, latency, work)
    assert flight.most == 1 and sorted(flight.written) == list(range(n))
    assert max(flight.intents) == 0  # no intent is recorded to wait for a full provider
    assert flight.wall >= n * latency  # one at a time
    # overlapped: n x latency + one take's work (2.7 s); the checks under the baton, one
    # after another: at least n x work (5.4 s)
    overlapped, serial = n * latency + work, n * work
    assert flight.wall < (overlapped + serial) / 2, flight.wall


def test_jobs_at_once_are_not_held_up_by_the_checks_of_those_done(tmp_path: Path) -> None:
    """C = 2 (``--jobs 2``): a step checking its take holds no slot, no baton and no thread
    a job could wait on."""
    n, jobs, latency, work = 8, 2, 0.4, 0.4
    flight = paid_wall_time(film(tmp_path), jobs, n, latency, work)
    rounds = -(-n // jobs)
    assert flight.most == jobs and sorted(flight.written) == list(range(n))
    assert max(flight.intents) < jobs
    overlapped, serial = rounds * latency + work, rounds * (latency + work)  # 2.0 s, 3.2 s
    assert flight.wall < (overlapped + serial) / 2, flight.wall


@pytest.mark.slow
def test_the_finals_of_a_scene_overlap_their_checks(tmp_path: Path) -> None:
    """Through the orchestrator, ``--jobs 2``: render-final's conform, decode and technical
    checks run while the next finals are at the provider, and the run completes as a
    sequential one does. An end-to-end check with a generous bound (the tests above, on the
    scheduler's own timings, are the ones that separate overlapped from serial): the checks'
    own time is measured on the same finals afterwards, the bookkeeping under the baton is
    allowed half a second."""
    shots, jobs, latency = 8, 2, 1.0
    runner, _ = synthetic_project(tmp_path / "film", scenes=1, shots_per_scene=shots)
    video = SlowVideo(latency, resolutions=("final",), final_width=256)
    runner.render_service().providers[VIDEO_MODEL] = video
    runner.render_service().poll_interval_s = 0.01
    orchestrator = Orchestrator(runner)
    orchestrator.jobs = jobs
    outcome = orchestrator.run()
    runner.close()
    runner.project.close()
    assert outcome.status == "complete", outcome.describe()
    assert video.most_in_flight == jobs
    span = video.slow_span[1] - video.slow_span[0]
    work, rounds = checks_time(tmp_path / "film", shots), shots // jobs
    assert span >= rounds * latency
    # overlapped: rounds x latency and one take's checks (measured 4.09 s, work 0.075 s)
    assert span < rounds * latency + rounds * max(work, 0.1) + 0.5, (span, work)


def checks_time(root: Path, shots: int) -> float:
    """The mean time of one final's conform and technical checks, from cold caches."""
    use_folder(None)  # nothing from the run's disk cache
    with _media_decode._LOCK:
        _media_decode._CACHE.clear()
        _media_decode._FACTS.clear()
    with Project(root) as project:
        raws = [project.store.latest("RAW_FINAL", f"S01_SH{i:02d}") for i in range(1, shots + 1)]
        clips = [project.store.read(r.name) for r in raws if r is not None]
        final = project.config.resolution.final
    assert len(clips) == shots
    started = time.perf_counter()
    for clip in clips:
        info = _media_decode.probe(clip)
        target = ClipTarget(final.width, final.height, final.fps, info.duration_s)
        take = conform(clip, target).data
        technical_checks(take, ClipSpec(info.duration_s, final.width, final.height, final.fps))
    return (time.perf_counter() - started) / shots


# -- thread safety of what runs off the baton --------------------------------------------------


def test_each_thread_has_its_own_face_cascade() -> None:
    with ThreadPoolExecutor(2) as pool:
        barrier = threading.Barrier(2)

        def cascade_of_a_thread() -> int:
            barrier.wait()
            first = _looks._cascade()
            assert _looks._cascade() is first  # loaded once per thread
            barrier.wait()  # both alive at once: distinct threads
            return id(first)

        ids = list(pool.map(lambda _: cascade_of_a_thread(), range(2)))
    assert ids[0] != ids[1]


def test_faces_and_decodes_from_eight_threads_agree_with_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Looks and decodes of several takes, at once from eight threads over a tiny cache
    (evicting all the time), give exactly the figures one thread gets."""
    takes = [frames_with(people, count=4) for people in (0, 1, 2, 3)]
    spec = LookSpec(2, "medium")
    expected = [look_findings(frames, spec) for frames in takes]
    clips = [encode(frames) for frames in takes]
    infos = [_media_decode.analyse(clip, 24)[0] for clip in clips]
    monkeypatch.setattr(_media_decode, "CACHE_SIZE", 2)
    monkeypatch.setattr(_media_decode, "FACTS_SIZE", 2)

    def work(k: int) -> tuple[object, object]:
        index = k % len(takes)
        return look_findings(takes[index], spec), _media_decode.decode(clips[index]).info

    with ThreadPoolExecutor(8) as pool:
        found = list(pool.map(work, range(16)))
    assert [f for f, _ in found] == [expected[k % 4] for k in range(16)]
    assert [i for _, i in found] == [infos[k % 4] for k in range(16)]
    assert len(_media_decode._CACHE) <= 2 and len(_media_decode._FACTS) <= 2


def test_the_baton_goes_first_to_a_thread_holding_a_slot() -> None:
    """A thread whose job holds a provider slot (to record its intent or job id) takes the
    baton before threads that only store what they made."""
    baton, order = Baton(), []
    baton.acquire()

    def take(name: str, urgent: bool) -> None:
        baton.acquire(urgent=urgent)
        order.append(name)
        baton.release()

    plain = threading.Thread(target=take, args=("stores a take", False))
    plain.start()
    time.sleep(0.2)  # waiting first
    urgent = threading.Thread(target=take, args=("records a job id", True))
    urgent.start()
    time.sleep(0.2)
    baton.release()
    plain.join(5)
    urgent.join(5)
    assert order == ["records a job id", "stores a take"]
    assert not baton.locked()
    with pytest.raises(RuntimeError):
        baton.release()
