"""A fal production through the real `slate run` when the vendor fails on the way: a CDN
download that fails is fetched again from the same job (never submitted or paid twice), and a
content-policy refusal of a clip is recorded, never sent again unchanged, and not paid for
(fal charges no failed job); a missing key stops the run at the first paid call, naming the
variable, with nothing sent or charged, and the run resumes once the key is given."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from e2e_film import files_containing, make_film, plugin_env, query, run_slate
from e2e_vendors import fal_sent
from filmslate.core._catalogue import load_catalogue
from filmslate.testing.fal_server import FalServer
from test_e2e_providers import KEY, VENDORS

pytestmark = pytest.mark.slow
FAL = VENDORS["fal"]
CLEAN_SUBMITS = 17  # 5 sheets, 4 storyboards, 4 proxies, 4 finals


class Planned(FalServer):
    """fal's queue failing the n-th submit (1-based) as planned."""

    def __init__(self, plan: dict[int, str], **settings: Any) -> None:
        super().__init__(**settings)
        self.plan = plan
        self.count = 0

    def take_failure(self) -> str | None:
        with self._lock:
            self.count += 1
            return self.plan.get(self.count)


def produce(tmp_path: Path, server: FalServer, runs: int = 4) -> tuple[Path, list[str]]:
    """Make the film and `slate run` it until complete (at most ``runs`` times)."""
    root = tmp_path / "film"
    make_film(root, 2, 2, FAL.settings(server.url))
    with open(root / "filmslate.toml", "a", encoding="utf-8") as config:
        config.write(FAL.catalogue)
    env = plugin_env(tmp_path / "site", 2, 2, {FAL.key_env: KEY})
    outputs = []
    for _ in range(runs):
        result = run_slate("run", "-C", str(root), env=env)
        outputs.append(result.stdout + result.stderr)
        if result.returncode == 0 and "production complete" in result.stdout:
            break
    return root, outputs


def spent(root: Path) -> float:
    [(total,)] = query(
        root, "SELECT sum(CAST(actual_cost AS REAL)) FROM runlog WHERE event = 'spend'"
    )
    return float(total)


def test_a_failed_download_is_fetched_again_from_the_same_job(tmp_path: Path) -> None:
    # the 5th submit is the first clip (3 sheets and a storyboard come first)
    with Planned({1: "download", 5: "download"}, queued_polls=0, running_polls=0) as fal:
        root, outputs = produce(tmp_path, fal)
        assert "production complete" in outputs[-1], "\n".join(outputs)
        sent = fal_sent(fal, load_catalogue(overrides(root)))
        fetches = {job.request_id: job.fetches for job in fal.jobs.values()}
    assert len(sent) == CLEAN_SUBMITS  # nothing submitted twice
    assert sorted(fetches.values())[-2:] == [2, 2]  # the two broken files, fetched again
    assert spent(root) == pytest.approx(sum(s.price() for s in sent), abs=1e-6)
    assert files_containing(root, KEY) == []


def test_a_refused_clip_is_never_sent_again_unchanged_nor_paid(tmp_path: Path) -> None:
    with Planned({5: "refusal"}, queued_polls=0, running_polls=0) as fal:
        root, outputs = produce(tmp_path, fal)
        sent = fal_sent(fal, load_catalogue(overrides(root)))
        bodies = [json.dumps(body, sort_keys=True) for _, body in fal.submits()]
    refused = sent[4]
    assert refused.entry.kind == "video"
    assert bodies.count(bodies[4]) == 1, "the refused request was sent again unchanged"
    [(failure, state)] = query(
        root, "SELECT failure, state FROM render_jobs WHERE failure != '' ORDER BY created_at"
    )
    assert (failure, state) == ("refusal", "failed")
    paid = sum(s.price() for i, s in enumerate(sent) if i != 4)
    assert spent(root) == pytest.approx(paid, abs=1e-6)  # fal charges no failed job
    assert "production complete" in outputs[-1], "\n".join(outputs)
    clips = [s for s in sent if s.entry.kind == "video"]
    assert len(clips) == 8 + 1  # every proxy and final, and the refused one
    again = [s for s in clips[1:] if s.first == refused.first]  # the same shot's clips
    assert again and all(s.prompt != refused.prompt for s in again)  # reworded first


def overrides(root: Path) -> dict[str, Any]:
    """The project's [catalogue] tables."""
    return dict(tomllib.loads((root / "filmslate.toml").read_text())["catalogue"])


def test_a_missing_key_stops_before_anything_is_sent_and_the_run_resumes(tmp_path: Path) -> None:
    with FalServer(queued_polls=0, running_polls=0) as fal:
        root = tmp_path / "film"
        make_film(root, 2, 2, FAL.settings(fal.url))
        with open(root / "filmslate.toml", "a", encoding="utf-8") as config:
            config.write(FAL.catalogue)
        keyless = plugin_env(tmp_path / "site", 2, 2, {})
        keyless[FAL.key_env] = ""  # unset for the child, whatever this shell has
        stopped = run_slate("run", "-C", str(root), env=keyless)
        assert stopped.returncode == 1 and "Traceback" not in stopped.stderr
        assert f"set the environment variable {FAL.key_env}" in stopped.stdout
        assert fal.received == [] and spent(root) == 0.0
        env = plugin_env(tmp_path / "site", 2, 2, {FAL.key_env: KEY})
        done = run_slate("run", "-C", str(root), env=env)
        assert "production complete" in done.stdout, done.stdout + done.stderr
        assert len(fal.submits()) == CLEAN_SUBMITS
    assert files_containing(root, KEY) == []
