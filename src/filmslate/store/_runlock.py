"""One ``slate run`` per project at a time: a lock file naming its holder.

``.filmslate/run.lock`` holds the holder's pid, its process start time, the host and when it
took the lock. A second run refuses with a one-line error naming the holder. A lock whose
holder is gone (no such pid, or the pid now belongs to a process started at another time) is
stale and is taken over. A lock from another host cannot be checked, so it is refused with
the way to clear it by hand.

Taking, taking over and releasing all happen under an exclusive ``flock`` on a guard file,
so the check and the write are one step: two runs that find the same stale lock cannot
both take it over. The lock file itself is written whole (a temporary file renamed into
place), so nobody ever reads half a holder.

The lock is re-entrant within a process (the CLI takes it, and so does the orchestrator it
calls).
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from ..core._errors import ProjectError
from . import _runlog
from ._index import pid_alive

__all__ = ["Holder", "RunLock", "holder_of", "process_start", "run_lock"]

LOCK_FILE = "run.lock"
GUARD_FILE = "run.lock.guard"
_HELD: dict[Path, int] = {}  # lock path -> how many times this process holds it


@dataclass(frozen=True)
class Holder:
    """Who holds a project's run lock."""

    pid: int
    start: str  # the process's start time as the OS reports it ("" where it cannot tell)
    host: str
    since: str  # when it took the lock (UTC)
    command: str = ""

    def describe(self) -> str:
        what = f" ({self.command})" if self.command else ""
        return f"pid {self.pid} on {self.host} since {self.since}{what}"


def process_start(pid: int) -> str:
    """When process ``pid`` started, as an opaque string ("" when it cannot be told).

    Linux: field 22 of /proc/<pid>/stat (clock ticks after boot) with the boot id, so a pid
    reused after a reboot does not match. Elsewhere: ``ps -o lstart=``.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return _ps_start(pid)
    ticks = stat.rsplit(")", 1)[-1].split()[19]  # fields after the command name start at 3
    return f"{_boot_id()}:{ticks}"


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
    except OSError:
        return ""


def _ps_start(pid: int) -> str:
    try:
        done = subprocess.run(
            ["ps", "-o", "lstart=", "-p", str(pid)],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip()


def holder_alive(holder: Holder) -> bool:
    """True when the holder may still be running (another host: assume it is)."""
    if holder.host != socket.gethostname():
        return True
    if holder.pid <= 0 or not pid_alive(holder.pid):
        return False
    now = process_start(holder.pid)
    return not (holder.start and now and now != holder.start)  # a reused pid is not the holder


def holder_of(root: Path) -> Holder | None:
    """The recorded holder of a project's run lock (None: no lock, or an unreadable one)."""
    return _read(root / ".filmslate" / LOCK_FILE)


def _read(path: Path) -> Holder | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Holder(
            int(data["pid"]),
            str(data["start"]),
            str(data["host"]),
            str(data["since"]),
            str(data.get("command", "")),
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        # not a holder this code wrote (tampered, or from elsewhere): nobody can hold it
        return Holder(0, "", socket.gethostname(), "?")


class RunLock:
    """The run lock of one project folder (use :func:`run_lock`)."""

    def __init__(self, root: Path, command: str = "slate run") -> None:
        self.folder = Path(root) / ".filmslate"
        self.path = self.folder / LOCK_FILE
        self.command = command

    def acquire(self) -> None:
        """Take the lock, take over a stale one, or refuse naming the live holder."""
        key = self.path.resolve()
        if _HELD.get(key):
            _HELD[key] += 1
            return
        with self._guard():
            holder = _read(self.path)
            if holder is not None and holder_alive(holder):
                raise ProjectError(
                    f"another run holds this project ({holder.describe()}): wait for it to "
                    f"finish; if it is not running, delete {self.path}",
                    holder=asdict(holder),
                )
            self._write(self._me())
        _HELD[key] = 1

    def release(self) -> None:
        """Give the lock back (only if this process still holds it)."""
        key = self.path.resolve()
        count = _HELD.get(key, 0)
        if count > 1:
            _HELD[key] = count - 1
            return
        _HELD.pop(key, None)
        with self._guard():
            holder = _read(self.path)
            if holder is not None and holder.pid == os.getpid():
                self.path.unlink(missing_ok=True)

    def _me(self) -> Holder:
        pid = os.getpid()
        return Holder(
            pid, process_start(pid), socket.gethostname(), _runlog.utc_now(), self.command
        )

    def _write(self, holder: Holder) -> None:
        tmp = self.folder / f"{LOCK_FILE}.{holder.pid}.tmp"
        tmp.write_text(json.dumps(asdict(holder)), encoding="utf-8")
        os.replace(tmp, self.path)

    @contextmanager
    def _guard(self) -> Iterator[None]:
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / GUARD_FILE, "a+b") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)  # released by the kernel if this process dies
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)


@contextmanager
def run_lock(root: Path, command: str = "slate run") -> Iterator[RunLock]:
    """Hold the project's run lock for the duration of the block."""
    lock = RunLock(root, command)
    lock.acquire()
    try:
        yield lock
    finally:
        lock.release()
