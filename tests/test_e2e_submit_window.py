"""The submit window through the real `slate run`: the vendor receives a clip's request and the
`slate` process dies (SIGKILL, sent by the server itself) before it reads the answer, so the
job exists at the vendor but its id was never recorded. The next run settles it by the
provider's kind:

- ComfyUI finds the prompt by the client reference it was queued under and follows it: the
  clip is queued once, and the production completes;
- fal and Replicate cannot look a job up: the next run charges the hold at its worst case,
  marks the job unknown and stops on that shot, naming where to look (fal's request carries
  the reference as a usage tag); nothing is sent again until a person's override.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from e2e_film import files_containing, make_film, plugin_env, query, run_slate
from filmslate.core._catalogue import load_catalogue
from filmslate.testing._media_server import Answer, Received
from filmslate.testing.comfyui_server import ComfyUIServer
from filmslate.testing.fal_server import FalServer
from filmslate.testing.replicate_server import ReplicateServer
from test_e2e_providers import KEY, VENDORS, Vendor

pytestmark = pytest.mark.slow


class Killer:
    """Mixin: kill ``victim`` once the first clip request has been taken in, before answering."""

    victim: int | None = None
    killed_at: Received | None = None

    def is_clip(self, request: Received) -> bool:
        raise NotImplementedError

    def route(self, request: Received) -> Answer:
        answer: Answer = super().route(request)  # type: ignore[misc]
        if self.victim and self.killed_at is None and self.is_clip(request):
            self.killed_at = request
            os.kill(self.victim, signal.SIGKILL)
        return answer


class KillingComfyUI(Killer, ComfyUIServer):
    def is_clip(self, request: Received) -> bool:
        body = request.body if isinstance(request.body, dict) else {}
        nodes = (body.get("prompt") or {}).values()
        return request.path == "/prompt" and any(n["class_type"] == "SaveVideo" for n in nodes)


class KillingFal(Killer, FalServer):
    def is_clip(self, request: Received) -> bool:
        return request.method == "POST" and "video" in request.path


class KillingReplicate(Killer, ReplicateServer):
    def is_clip(self, request: Received) -> bool:
        return request.method == "POST" and "kling" in request.path


SERVERS: dict[str, Any] = {
    "comfyui": lambda: KillingComfyUI(polls_to_finish=1, timeout_s=300),
    "fal": lambda: KillingFal(queued_polls=0, running_polls=0, timeout_s=300),
    "replicate": lambda: KillingReplicate(polls_to_finish=1, timeout_s=300),
}


def clip_requests(server: Any) -> int:
    return sum(1 for r in server.received if server.is_clip(r))


def first_run_killed(vendor: Vendor, server: Any, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    root = tmp_path / "film"
    make_film(root, 2, 2, vendor.settings(server.url))
    with open(root / "filmslate.toml", "a", encoding="utf-8") as config:
        config.write(vendor.catalogue)
    env = plugin_env(tmp_path / "site", 2, 2, {vendor.key_env: KEY})
    child = subprocess.Popen(
        [sys.executable, "-m", "filmslate", "run", "-C", str(root)],
        env={**os.environ, "COLUMNS": "200", **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server.victim = child.pid
    assert child.wait(timeout=300) == -signal.SIGKILL
    assert server.killed_at is not None
    return root, env


def test_comfyui_follows_the_prompt_it_finds_by_reference(tmp_path: Path) -> None:
    with SERVERS["comfyui"]() as server:
        root, env = first_run_killed(VENDORS["comfyui"], server, tmp_path)
        [(reference,)] = query(root, "SELECT reference FROM render_jobs WHERE state = 'intent'")
        assert server.killed_at.body["prompt_id"] == reference  # it arrived under that id
        result = run_slate("run", "-C", str(root), env=env)
        assert "production complete" in result.stdout, result.stdout + result.stderr
        assert clip_requests(server) == 8  # 4 proxies, 4 finals: none queued twice
        [(job_id,)] = query(root, "SELECT job_id FROM render_jobs WHERE reference = ?", reference)
        assert job_id == reference
    assert files_containing(root, KEY) == []


@pytest.mark.parametrize("name", ["fal", "replicate"])
def test_a_vendor_without_lookup_stops_and_sends_nothing_again(name: str, tmp_path: Path) -> None:
    vendor = VENDORS[name]
    with SERVERS[name]() as server:
        root, env = first_run_killed(vendor, server, tmp_path)
        [(shot, reference)] = query(
            root, "SELECT shot_id, reference FROM render_jobs WHERE state = 'intent'"
        )
        stopped = run_slate("run", "-C", str(root), env=env)
        assert stopped.returncode != 0
        said = stopped.stdout + stopped.stderr
        assert shot in said and "may have been submitted" in said and reference in said, said
        assert f"slate override {shot}" in said
        again = run_slate("run", "-C", str(root), env=env)  # still stopped: nothing sent
        assert again.returncode != 0
        assert clip_requests(server) == 1
        [(state,)] = query(root, "SELECT state FROM render_jobs WHERE reference = ?", reference)
        assert state == "unknown"
        [(charged,)] = query(
            root,
            "SELECT CAST(actual_cost AS REAL) FROM runlog WHERE event = 'spend' "
            "AND outcome = 'UNKNOWN' AND shot_id = ?",
            shot,
        )
        assert charged > 0  # held at worst case: the vendor may bill it
        if name == "fal":  # the person can find it by the tag
            assert server.killed_at.headers.get("x-fal-tags") == f"filmslate_ref={reference}"
        reason = "checked the vendor's history: send it again"
        run_slate(
            "override",
            shot,
            "--reason",
            reason,
            "--cost-impact",
            "0",
            "-C",
            str(root),
            env=env,
            check=True,
        )
        done = run_slate("run", "-C", str(root), env=env)
        assert "production complete" in done.stdout, done.stdout + done.stderr
        assert clip_requests(server) == 8 + 1  # the person's decision: that clip once more
        tables = tomllib.loads((root / "filmslate.toml").read_text())["catalogue"]
        sent = vendor.sent(server, load_catalogue(tables))
    # every request the vendor received is paid once: the lost one at its worst case (its price)
    [(total,)] = query(
        root, "SELECT sum(CAST(actual_cost AS REAL)) FROM runlog WHERE event = 'spend'"
    )
    assert total == pytest.approx(sum(s.price() for s in sent), abs=1e-6)
    assert files_containing(root, KEY) == []
