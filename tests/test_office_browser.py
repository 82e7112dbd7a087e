"""The production office in a real browser: `slate serve --review` on a copy of the finished
demo, driven by Playwright on the system's Chromium (/usr/bin/chromium; never a downloaded
browser). The budget page shows `slate budget`'s numbers, a take plays to its end, and
approving and rejecting a take from the page writes the QC_BATCH versions and log rows. A
screenshot of each page is saved under the test's tmp_path."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import (
    BrowserContext,
    Page,
    sync_playwright,
)  # the dev extra's: a driver, no browser

from conftest import SRC, run_slate
from filmslate import Project

pytestmark = pytest.mark.slow
CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
if not CHROMIUM.exists():
    pytest.skip(
        "no system Chromium at /usr/bin/chromium (`apt-get install chromium`; .ci/run installs it)",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def office(finished_demo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The address of `slate serve --review` on a copy of the demo, and the copy: one for the
    module's tests (they read it; the one that writes checks the versions it adds)."""
    tmp_path = tmp_path_factory.mktemp("office")
    root = tmp_path / "side-b"
    shutil.copytree(finished_demo.root, root)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "filmslate", "serve", "--review", "--port", str(port)],
            cwd=root,
            env={**os.environ, "PYTHONPATH": str(SRC), "FILMSLATE_USER": "director"},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for(port, server, log)
        yield f"http://127.0.0.1:{port}", root
    finally:
        server.terminate()
        server.wait(timeout=20)


def _wait_for(port: int, server: subprocess.Popen[bytes], log: Path, limit: float = 30) -> None:
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if server.poll() is not None:
            raise AssertionError(f"slate serve ended: {log.read_text()}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"slate serve did not listen on {port} within {limit}s")


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    """One Chromium for the module (a fresh user-data dir); each test opens its own page."""
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium") / "profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=ARGS,
            bypass_csp=True,  # the office forbids eval; the test's own probes need it
        )
        context.set_default_timeout(30_000)
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def browser(chromium: BrowserContext) -> Iterator[Page]:
    page = chromium.new_page()
    try:
        yield page
    finally:
        page.close()


def _caps_of_slate_budget(root: Path) -> tuple[str, list[tuple[str, str, str, str, str]]]:
    """`slate budget`'s current spend and its cap rows (level, target, cap, spent, state)."""
    text = run_slate("budget", cwd=root, check=True).stdout
    spend = text.split("## Current Spend", 1)[1].split("##", 1)[0].strip()
    caps = text.split("## Caps", 1)[1].split("\n## ", 1)[0]
    rows = [
        tuple(cell.strip() for cell in line.strip("|").split("|"))
        for line in caps.splitlines()
        if line.startswith("| ") and not line.startswith(("| level", "| ---"))
    ]
    return spend, rows  # type: ignore[return-value]


def test_the_budget_page_shows_slate_budgets_numbers(office, browser, tmp_path: Path) -> None:
    url, root = office
    spend, caps = _caps_of_slate_budget(root)
    page = browser
    page.goto(f"{url}/budget")
    assert page.inner_text("#current-spend") == spend
    shown = page.eval_on_selector_all(
        "#caps tbody tr",
        "rows => rows.map(r => [r.dataset.level, r.dataset.target, "
        "r.querySelector('.cap').textContent, r.querySelector('.spent').textContent, "
        "r.querySelector('.state').textContent])",
    )
    assert [tuple(row) for row in shown] == caps
    assert len(caps) > 20  # the project, five scenes and every shot
    assert page.locator("svg.chart").count() >= 4  # over time, tier, scene, skill (+ pairs)
    assert "proxy first" in page.inner_text("body")  # the cost-optimizer's advice
    page.screenshot(path=str(tmp_path / "budget.png"), full_page=True)
    for name in ("review", "board", "log", "verify"):
        page.goto(f"{url}/{name}")
        assert "Traceback" not in page.content()
        page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)
    assert page.inner_text("#verify").startswith("clean")
    page.goto(f"{url}/board")
    assert page.locator("#board td.cell.PASS").count() > 50
    page.goto(f"{url}/log")
    with page.expect_navigation():  # a filter applies on change (the office's script)
        page.select_option("select[name=skill]", "qc-grader")
    assert page.url.endswith("skill=qc-grader&scene=&status=")
    skills = page.eval_on_selector_all(
        "#log tbody tr td:nth-child(4)", "c => c.map(x => x.textContent)"
    )
    assert skills and set(skills) == {"qc-grader"}
    for shot in ("budget", "review", "board", "log", "verify"):
        assert (tmp_path / f"{shot}.png").stat().st_size > 5_000


def test_a_take_plays_to_its_end(office, browser, tmp_path: Path) -> None:
    url, _ = office
    page = browser
    page.goto(f"{url}/review/S01_SH01")
    page.wait_for_function("document.querySelector('#storyboard').naturalWidth > 0")
    video = page.locator("video.take").first
    video.evaluate("v => { v.muted = true; v.playbackRate = 4; return v.play(); }")
    page.wait_for_function("document.querySelector('video.take').ended", timeout=30_000)
    assert video.evaluate("v => v.dataset.played") == "ended"
    assert video.evaluate("v => v.duration") > 1
    page.screenshot(path=str(tmp_path / "shot.png"), full_page=True)


def test_approving_and_rejecting_from_the_page_writes_qc_and_log(
    office, browser, tmp_path: Path
) -> None:
    url, root = office
    with Project(root) as p:
        start = p.store.latest("QC_BATCH", "S03")
        assert start is not None
    page = browser
    page.goto(f"{url}/review/S03_SH02")
    page.fill("#reason", "the hand drifts at 2s")
    page.click("#reject")
    page.wait_for_selector("#done")
    assert page.inner_text("#verdict") == "FAIL"
    assert f"QC_BATCH_S03_v{start.name.version + 1:03d}" in page.inner_text("#done")
    page.fill("#reason", "on a second look it holds")
    page.click("#approve")
    page.wait_for_selector("#done")
    assert page.inner_text("#verdict") == "PASS"
    page.screenshot(path=str(tmp_path / "verdict.png"), full_page=True)
    with Project(root) as p:
        versions = [r.name.version for r in p.store.versions("QC_BATCH", "S03")]
        rows = p.store.conn.execute(
            "SELECT outcome, shot_id, artifact_output, notes FROM runlog WHERE skill_name = "
            "'human-review' ORDER BY seq"
        ).fetchall()
        batch = p.store.load(p.store.latest("QC_BATCH", "S03").name)
        assert p.verify() == []
    assert versions[-2:] == [start.name.version + 1, start.name.version + 2]
    assert [r[:3] for r in rows] == [
        ("FAIL", "S03_SH02", f"QC_BATCH_S03_v{start.name.version + 1:03d}.csv"),
        ("PASS", "S03_SH02", f"QC_BATCH_S03_v{start.name.version + 2:03d}.csv"),
    ]
    assert re.search(r"by director: the hand drifts at 2s \(cost impact [0-9.]+ USD\)", rows[0][3])
    last = [r for r in batch.rows if r.shot_id == "S03_SH02"][-1]
    assert last.verdict == "PASS"
    assert "on a second look it holds" in last.notes
