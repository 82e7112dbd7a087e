"""`slate run --jobs N` (issue 17 §1): provider waits at once, everything else one at a time.

- budget reservations hold at 50 concurrent calls near a cap: not a cent over, both under the
  scheduler's baton and with 50 connections of their own (the ledger's transactions alone);
- ``[providers.<name>] max_concurrent``, ``requests_per_minute`` and ``--jobs`` bound what is
  in flight;
- a synthetic production with ``jobs = 4`` makes the artifacts and spends what a sequential
  one does, while its renders really overlap;
- a step that cannot pass stops every lane; the CLI refuses a bad ``--jobs``.
"""

from __future__ import annotations

import hashlib
import os
import signal
import threading
import time
from pathlib import Path

import pytest
from pydantic import BaseModel

from conftest import run_slate
from filmslate import Project
from filmslate.core._errors import BudgetExceeded
from filmslate.engine._gateway import Gateway, ProviderSettings, TextRequest
from filmslate.engine._waits import waiting
from filmslate.store import _runlog
from filmslate.store._ledger import Ledger
from filmslate.synthetic import VIDEO_MODEL, synthetic_project, synthetic_runner
from filmslate.synthetic._latency import SlowVideo
from filmslate.testing.openai_server import OpenAIServer
from filmslate.workflow._limits import ProviderLimits, RateWindow
from filmslate.workflow._orchestrator import Orchestrator
from filmslate.workflow._scheduler import Scheduler

CALLS, WORST, CAP = 50, 0.2, 7.5  # the cap admits 37 worst cases of the 50


def capped(tmp_path: Path) -> Path:
    with Project.init(tmp_path / "film", name="film") as project:
        toml = project.root / "filmslate.toml"
        text = toml.read_text().replace("project_cap = ", f"project_cap = {CAP} #", 1)
        text = text.replace("warn_pct = 90.0", "warn_pct = 99.9")  # no cost review due first
        toml.write_text(text)
        return project.root


class Peak:
    """How many calls were inside their wait at once, at most."""

    def __init__(self) -> None:
        self.now = self.most = 0
        self.lock = threading.Lock()

    def __enter__(self) -> None:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)

    def __exit__(self, *exc: object) -> None:
        with self.lock:
            self.now -= 1


def paid_call(ledger: Ledger, peak: Peak, n: int, refused: list[int]) -> None:
    """Reserve the worst case, wait on the provider, settle at the worst case (the most a
    settlement can be): the spend then equals what was reserved."""
    try:
        hold = ledger.reserve(f"run-{n}", "", "", WORST, what=f"call {n}")
    except BudgetExceeded:
        refused.append(n)
        return
    with waiting("slow:model", "request"), peak:
        time.sleep(0.05)
    entry = _runlog.LogEntry(run_id=hold.run_id, skill_name="test", target="PROJECT")
    ledger.settle(hold, WORST, entry)


def spent(root: Path) -> float:
    with Project(root) as project:
        row = project.store.conn.execute(
            "SELECT coalesce(sum(CAST(actual_cost AS REAL)), 0) FROM runlog WHERE event = 'spend'"
        ).fetchone()
        held = project.store.conn.execute("SELECT count(*) FROM reservations").fetchone()[0]
    assert held == 0
    return float(row[0])


def test_50_concurrent_calls_near_a_cap_never_overshoot_under_the_scheduler(
    tmp_path: Path,
) -> None:
    root = capped(tmp_path)
    peak, refused = Peak(), []
    with Project(root) as project:
        ledger = Ledger(project.store, project.config)
        scheduler = Scheduler(CALLS, ProviderLimits(project.config))
        tasks = [lambda n=n: paid_call(ledger, peak, n, refused) for n in range(CALLS)]
        with scheduler.installed():
            scheduler.run_all(tasks)
    admitted = int(CAP / WORST + 1e-9)
    assert len(refused) == CALLS - admitted
    assert spent(root) == pytest.approx(admitted * WORST) and spent(root) <= CAP
    assert peak.most > 10  # the waits really overlapped


def test_50_connections_reserving_at_once_never_overshoot(tmp_path: Path) -> None:
    """No baton: each thread its own project and connection, racing on the ledger."""
    root = capped(tmp_path)
    peak, refused, start = Peak(), [], threading.Barrier(CALLS)

    def call(n: int) -> None:
        with Project(root) as project:
            start.wait()
            paid_call(Ledger(project.store, project.config), peak, n, refused)

    threads = [threading.Thread(target=call, args=(n,)) for n in range(CALLS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(refused) == CALLS - int(CAP / WORST + 1e-9)
    assert spent(root) <= CAP + 1e-9


def test_max_concurrent_and_jobs_bound_the_waits_in_flight(tmp_path: Path) -> None:
    root = capped(tmp_path)
    toml = root / "filmslate.toml"
    toml.write_text(toml.read_text() + "\n[providers.slow]\nmax_concurrent = 2\n")
    with Project(root) as project:
        limits = ProviderLimits(project.config)
    slow, other = Peak(), Peak()

    def call(provider: str, peak: Peak) -> None:
        with waiting(f"{provider}:model", "request"), peak:
            time.sleep(0.03)

    tasks = [lambda: call("slow", slow) for _ in range(12)]
    tasks += [lambda: call("other", other) for _ in range(12)]
    scheduler = Scheduler(5, limits)
    with scheduler.installed():
        scheduler.run_all(tasks)
    assert slow.most == 2  # its own limit
    assert other.most <= 5 and slow.most + other.most <= 7  # --jobs 5 in all


def test_requests_per_minute_is_a_sliding_window() -> None:
    clock = [0.0]
    window = RateWindow(3, clock=lambda: clock[0])
    for _ in range(3):
        window.take()
    started = threading.Event()

    def fourth() -> None:
        window.take()
        started.set()

    thread = threading.Thread(target=fourth)
    thread.start()
    time.sleep(0.05)
    assert not started.is_set()  # a fourth request waits for the window
    clock[0] = 60.0
    thread.join(5)
    assert started.is_set()


def artifact_digests(root: Path) -> dict[str, str]:
    with Project(root) as project:
        paths = [r[0] for r in project.store.conn.execute("SELECT relpath FROM artifacts")]
    return {
        path: hashlib.sha256((root / path).read_bytes()).hexdigest()
        for path in paths
        if not Path(path).name.startswith(("BUDGET_STATUS_", "RUN_LOG_"))
    }


def produce(root: Path, jobs: int, latency: float = 0.0) -> tuple[str, SlowVideo]:
    runner, _ = synthetic_project(root, scenes=3, shots_per_scene=3)
    video = SlowVideo(latency, price_proxy=0.01, price_final=0.02, final_width=256)
    runner.render_service().providers[VIDEO_MODEL] = video
    orchestrator = Orchestrator(runner)
    orchestrator.jobs = jobs
    outcome = orchestrator.run()
    runner.close()
    runner.project.close()
    return outcome.status, video


def test_a_production_with_4_jobs_makes_and_spends_what_a_sequential_one_does(
    tmp_path: Path,
) -> None:
    one, _ = produce(tmp_path / "one" / "film", 1)
    four, video = produce(tmp_path / "four" / "film", 4, latency=0.1)
    assert one == four == "complete"
    assert video.most_in_flight >= 3  # scenes' renders overlapped
    assert len(video.references) == len(set(video.references)) == 18  # 9 proxies, 9 finals
    assert artifact_digests(tmp_path / "four" / "film") == artifact_digests(
        tmp_path / "one" / "film"
    )
    assert spent(tmp_path / "four" / "film") == pytest.approx(spent(tmp_path / "one" / "film"))
    with Project(tmp_path / "four" / "film") as project:
        assert project.verify() == []  # the run log's hash chain, written from four threads


def test_a_hard_stop_in_one_lane_stops_every_lane(tmp_path: Path) -> None:
    runner, film = synthetic_project(tmp_path / "film", scenes=3, shots_per_scene=2)
    runner.project.close()
    toml = tmp_path / "film" / "filmslate.toml"
    toml.write_text(toml.read_text().replace("shot_cap = ", "shot_cap = 0.001 #", 1))
    runner = synthetic_runner(tmp_path / "film", film)
    orchestrator = Orchestrator(runner)
    orchestrator.jobs = 4
    outcome = orchestrator.run()
    runner.close()
    assert outcome.status == "stopped", outcome.describe()
    assert "cap" in outcome.reason
    with Project(tmp_path / "film") as project:
        conn = project.store.conn
        assert conn.execute("SELECT count(*) FROM render_jobs").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM reservations").fetchone()[0] == 0


def test_the_cli_refuses_jobs_with_a_skill_and_jobs_below_one(tmp_path: Path) -> None:
    with Project.init(tmp_path / "film", name="film"):
        pass
    zero = run_slate("run", "--jobs", "0", "-C", str(tmp_path / "film"))
    assert zero.returncode == 2 and "--jobs" in zero.stderr
    skill = run_slate("run", "story-architect", "--jobs", "2", "-C", str(tmp_path / "film"))
    assert skill.returncode == 2 and "--jobs" in skill.stderr + skill.stdout


class Title(BaseModel):
    title: str


def test_text_requests_over_http_overlap_under_the_scheduler(tmp_path: Path) -> None:
    """The real HTTP text path (pydantic-ai, the gateway's client) from eight threads."""
    delay, calls = 0.3, 16
    with OpenAIServer([{"title": "ok"}] * (calls + 1), delay_s=delay) as server:
        settings = ProviderSettings(
            base_urls={"compat": server.base_url}, price_overrides={"compat:m": (1.0, 1.0)}
        )
        gateway = Gateway(tmp_path, settings)
        answers: list[str] = []

        def call(n: int) -> None:
            request = TextRequest("s", f"S{n:02d}", 1, "compat:m", "system", "prompt", Title)
            answers.append(gateway.complete(request).output.title)

        call(0)  # the provider is built once, before the clock starts
        with Project.init(tmp_path / "film", name="film") as project:
            scheduler = Scheduler(8, ProviderLimits(project.config))
        started = time.perf_counter()
        with scheduler.installed():
            scheduler.run_all([lambda n=n: call(n) for n in range(1, calls + 1)])
        elapsed = time.perf_counter() - started
        gateway.close()
    assert answers == ["ok"] * (calls + 1)
    assert elapsed < 0.6 * calls * delay  # one after another it takes calls x delay


def test_ctrl_c_twice_under_jobs_lets_every_lane_end_first(tmp_path: Path) -> None:
    # a second Ctrl-C while the lanes were ending escaped the wait for them: the process then
    # exited with lanes inside their calls and aborted (SIGABRT); now it waits for them
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("Ctrl-C reaches the main thread only, and this test runs on another")
    ended: list[int] = []
    told: list[int] = []

    class Told:
        def stopping(self, running: int) -> None:
            told.append(running)

    def lane(n: int) -> None:
        with waiting("slow:model", "request"):
            time.sleep(1.0)
        ended.append(n)

    with Project(capped(tmp_path)) as project:
        scheduler = Scheduler(4, ProviderLimits(project.config), Told())
        # real signals: a simulated one (_thread.interrupt_main) does not wake a blocked wait
        presses = [threading.Timer(t, os.kill, (os.getpid(), signal.SIGINT)) for t in (0.3, 0.6)]
        previous = signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            with scheduler.installed(), pytest.raises(KeyboardInterrupt):
                for press in presses:
                    press.start()
                scheduler.run_all([lambda n=n: lane(n) for n in range(4)])
        finally:
            signal.signal(signal.SIGINT, previous)
    assert sorted(ended) == [0, 1, 2, 3]  # every lane reached its boundary before the exit
    assert told == [4, 4]  # each press is told what it waits for
