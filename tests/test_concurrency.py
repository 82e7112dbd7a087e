"""Concurrent runs on one project: one `slate run` at a time (a lock naming its holder, stale
locks taken over once), partial render files unique per job, and a cached render that does
not decode never stored as an artifact.

Every holder and contender here is a real process: the lock is about processes.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import SRC, run_slate
from filmslate import Project
from filmslate.store._runlock import holder_of, process_start, run_lock

HOLD = """
import sys
from filmslate.store._runlock import run_lock
with run_lock(sys.argv[1], "holder"):
    print("held", flush=True)
    sys.stdin.readline()
"""


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(SRC)}


@pytest.fixture
def film(tmp_path: Path) -> Path:
    with Project.init(tmp_path / "film", name="film") as project:
        return project.root


@pytest.fixture
def holder(film: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the project's run lock until its stdin closes."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(film)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env(),
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=30)
    close(proc)


def close(proc: subprocess.Popen[str]) -> None:
    for pipe in (proc.stdin, proc.stdout):
        if pipe is not None and not pipe.closed:
            pipe.close()


@pytest.mark.parametrize(
    "args", [("run",), ("run", "story-architect"), ("submit", "answer.json")], ids=str
)
def test_a_second_run_refuses_naming_the_holder(
    film: Path, holder: subprocess.Popen[str], args: tuple[str, ...]
) -> None:
    done = run_slate(*args, "-C", str(film))
    assert done.returncode == 2, done.stdout + done.stderr
    message = done.stderr.strip()
    assert len(message.splitlines()) == 1 and "Traceback" not in message
    assert f"pid {holder.pid} on {socket.gethostname()}" in message
    assert "(holder)" in message and "run.lock" in message
    found = holder_of(film)
    assert found is not None and found.pid == holder.pid  # the refusal left the lock alone


def test_the_lock_is_free_again_when_the_holder_finishes(
    film: Path, holder: subprocess.Popen[str]
) -> None:
    assert holder.stdin is not None
    holder.stdin.close()
    assert holder.wait(timeout=30) == 0
    assert holder_of(film) is None
    with run_lock(film):
        found = holder_of(film)
        assert found is not None and found.pid == os.getpid()


def test_a_lock_left_by_a_killed_run_is_taken_over(
    film: Path, holder: subprocess.Popen[str]
) -> None:
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
    stale = holder_of(film)
    assert stale is not None and stale.pid == holder.pid  # kill -9 left it behind
    done = run_slate("run", "story-architect", "-C", str(film))
    assert "another run holds" not in done.stderr, done.stderr
    assert holder_of(film) is None  # taken over, then released


def write_lock(film: Path, **fields: object) -> None:
    me = os.getpid()
    lock = {
        "pid": me,
        "start": process_start(me),
        "host": socket.gethostname(),
        "since": "2025-01-01T00:00:00Z",
        "command": "slate run",
        **fields,
    }
    (film / ".filmslate" / "run.lock").write_text(json.dumps(lock), encoding="utf-8")


def test_a_lock_whose_pid_was_reused_is_stale(film: Path) -> None:
    # a live pid (this test's) that started at another time than the holder did
    write_lock(film, pid=os.getppid(), start="another boot:12345")
    done = run_slate("run", "story-architect", "-C", str(film))
    assert "another run holds" not in done.stderr, done.stderr


def test_a_live_lock_of_this_process_start_is_honoured(film: Path) -> None:
    write_lock(film, pid=os.getppid(), start=process_start(os.getppid()))
    done = run_slate("run", "-C", str(film))
    assert done.returncode == 2 and f"pid {os.getppid()}" in done.stderr


def test_a_lock_from_another_host_is_refused(film: Path) -> None:
    write_lock(film, host="render-box-7", pid=4242)
    done = run_slate("run", "-C", str(film))
    assert done.returncode == 2
    assert "pid 4242 on render-box-7" in done.stderr and "delete" in done.stderr


def test_an_unreadable_lock_is_stale(film: Path) -> None:
    (film / ".filmslate" / "run.lock").write_text("{not json", encoding="utf-8")
    with run_lock(film):
        found = holder_of(film)
        assert found is not None and found.pid == os.getpid()


CONTEND = """
import sys, time
from pathlib import Path
from filmslate.core._errors import ProjectError
from filmslate.store._runlock import RunLock
root, go = sys.argv[1], Path(sys.argv[2])
while not go.exists():
    time.sleep(0.001)
lock = RunLock(root)
try:
    lock.acquire()
except ProjectError:
    print("refused", flush=True)
    sys.exit(0)
print("took", flush=True)
sys.stdin.readline()
lock.release()
"""


def test_racing_takeovers_of_a_stale_lock_leave_one_holder(film: Path, tmp_path: Path) -> None:
    for round_ in range(3):
        write_lock(film, pid=os.getpid(), start="a process long gone")
        go = tmp_path / f"go{round_}"
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", CONTEND, str(film), str(go)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                env=env(),
            )
            for _ in range(6)
        ]
        time.sleep(0.5)  # let them all start and wait for the signal
        go.touch()
        answers = []
        for proc in procs:
            assert proc.stdout is not None
            answers.append(proc.stdout.readline().strip())
        assert sorted(answers) == ["refused"] * 5 + ["took"], answers
        winner = procs[answers.index("took")]
        found = holder_of(film)
        assert found is not None and found.pid == winner.pid
        for proc in procs:
            close(proc)
            assert proc.wait(timeout=30) == 0
        assert holder_of(film) is None


RENDER = """
import sys, time
from pathlib import Path
from filmslate.engine._video import VideoJob
from filmslate.providers.animatic import AnimaticProvider
from filmslate.rules._media import probe
cache, go = Path(sys.argv[1]), Path(sys.argv[2])
job = VideoJob("S01_SH01", "camera_type: wide", 2.0, 320, 180, 24)
while not go.exists():
    time.sleep(0.001)
provider = AnimaticProvider(cache)
job_id = provider.submit(job)
print(probe(provider.download(job_id)).frames, flush=True)
"""


def test_renders_of_one_job_in_several_processes_never_share_a_partial_file(
    tmp_path: Path,
) -> None:
    for round_ in range(3):
        cache, go = tmp_path / f"renders{round_}", tmp_path / f"go{round_}"
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", RENDER, str(cache), str(go)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env(),
            )
            for _ in range(4)
        ]
        time.sleep(0.5)
        go.touch()
        outcomes = [proc.communicate(timeout=120) for proc in procs]
        assert [out.strip() for out, _ in outcomes] == ["48"] * 4, [e for _, e in outcomes]
        assert [p.name for p in cache.iterdir() if ".part." in p.name] == []
