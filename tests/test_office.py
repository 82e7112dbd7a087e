"""The production office over HTTP (Starlette's TestClient): the access-token rule, read-only
refusal, CSRF, bad ids as 404 pages (never a traceback), takes served with Range, and a
person's verdict written by `slate approve` / `slate reject` as by the page."""

from __future__ import annotations

import re
import shutil
import socket
from dataclasses import replace
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from conftest import run_slate
from filmslate import Project
from filmslate.web import office_app

PAGES = ("/budget", "/review", "/board", "/log", "/verify")


def client(root: Path, **options: object) -> TestClient:
    app = office_app(root, **options)  # type: ignore[arg-type]
    return TestClient(app, base_url="http://127.0.0.1:8710", follow_redirects=False)


@pytest.fixture
def demo(finished_demo, tmp_path: Path) -> Path:
    root = tmp_path / "side-b"
    shutil.copytree(finished_demo.root, root)
    return root


def test_every_page_opens_on_an_empty_project(project) -> None:
    office = client(project.root)
    for page in PAGES:
        response = office.get(page)
        assert response.status_code == 200, page
        assert "Traceback" not in response.text
    assert office.get("/").headers["location"] == "/budget"


def test_a_token_is_required_on_every_request_when_set(project) -> None:
    office = client(project.root, token="s3cret")
    for page in (*PAGES, "/media/PROXY_S01_SH01_v001.mp4", "/static/office.css"):
        refused = office.get(page)
        assert refused.status_code == 401, page
        assert "access token" in refused.text
    assert office.get("/budget", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert office.get("/budget", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    first = office.get("/log?token=s3cret&skill=manual")  # the printed address
    assert first.status_code == 303
    assert first.headers["location"] == "/log?skill=manual"  # the token out of the address
    assert "slate_office_token_8710=" in first.headers["set-cookie"]
    assert "SameSite=strict" in first.headers["set-cookie"]
    assert office.get("/board").status_code == 200  # the cookie carries it from then on
    assert office.get("/board").headers["x-frame-options"] == "DENY"


def test_serve_makes_a_token_for_any_address_but_localhost() -> None:
    from filmslate.cli._serve import office_address

    assert office_address("127.0.0.1", 8710, None) == "http://127.0.0.1:8710/"
    assert office_address("::1", 8710, "mine") == "http://[::1]:8710/?token=mine"


@pytest.mark.parametrize(
    ("options", "said"),
    [
        (["--port", "99999"], "--port 99999 is no port"),
        (["--port", "0"], "--port 0 is no port"),
        (["--host", "no-such-host.invalid"], "--host no-such-host.invalid: no such address"),
        (["--host", "192.0.2.1"], "cannot listen on 192.0.2.1:8710"),  # TEST-NET-1: no interface
    ],
)
def test_serve_refuses_an_address_it_cannot_listen_on(
    tmp_path: Path, options: list[str], said: str
) -> None:
    """A bad port, an unknown host, an address of no interface here: one line, exit 2, and
    no office address printed (nothing listens there)."""
    run_slate("init", str(tmp_path / "film"), check=True)
    done = run_slate("serve", *options, cwd=tmp_path / "film", timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert said in done.stderr
    assert "Traceback" not in done.stderr
    assert "http://" not in done.stdout


def test_serve_refuses_a_port_in_use_before_printing_the_address(tmp_path: Path) -> None:
    run_slate("init", str(tmp_path / "film"), check=True)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        done = run_slate("serve", "--port", port, cwd=tmp_path / "film", timeout=60)
    assert done.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "another --port" in done.stderr
    assert "http://" not in done.stdout
    assert "Errno" not in done.stderr.replace("(Address already in use)", "")


def test_without_a_token_only_local_names_are_answered(project) -> None:
    """A page that rebinds its own DNS name to 127.0.0.1 gets nothing from the office."""
    app = office_app(project.root)
    assert TestClient(app, base_url="http://evil.example:8710").get("/budget").status_code == 403
    for base in ("http://localhost:8710", "http://[::1]:8710", "http://127.0.0.1"):
        assert TestClient(app, base_url=base).get("/budget").status_code == 200, base
    guarded = office_app(project.root, token="t")
    away = TestClient(guarded, base_url="http://film.example")
    assert away.get("/budget", headers={"Authorization": "Bearer t"}).status_code == 200


def test_read_only_refuses_a_verdict(project) -> None:
    office = client(project.root)
    refused = office.post("/review/S01_SH01", data={"verdict": "approve", "reason": "ok"})
    assert refused.status_code == 403
    assert "slate serve --review" in refused.text
    assert project.store.latest("QC_BATCH", "S01") is None


def test_a_verdict_needs_the_forms_csrf_token(project) -> None:
    office = client(project.root, review=True)
    form = {"verdict": "approve", "reason": "ok"}
    assert office.post("/review/S01_SH01", data=form).status_code == 403
    assert office.post("/review/S01_SH01", data={**form, "csrf": "forged"}).status_code == 403


def test_a_refused_verdict_is_a_page_and_writes_nothing(project) -> None:
    app = office_app(project.root, review=True)
    office = TestClient(app, base_url="http://127.0.0.1:8710", follow_redirects=False)
    csrf = app.state.office.csrf
    no_reason = office.post("/review/S01_SH01", data={"csrf": csrf, "verdict": "reject"})
    assert no_reason.status_code == 400
    assert "give a reason" in no_reason.text  # a page has a field, not a flag
    assert "--reason" not in no_reason.text
    unknown = {"csrf": csrf, "verdict": "approve", "reason": "fine"}
    assert office.post("/review/S01_SH01", data=unknown).status_code == 404
    odd = office.post("/review/S01_SH01", data={**unknown, "verdict": "maybe"})
    assert odd.status_code == 400
    assert "Traceback" not in no_reason.text + odd.text
    assert project.store.latest("QC_BATCH", "S01") is None


@pytest.mark.parametrize(
    "url",
    [
        "/review/S99_SH01",
        "/review/not-a-shot",
        "/review/S01",
        "/media/PROXY_S01_SH01_v001.mp4",
        "/media/NOT_A_NAME",
        "/media/SCENES_v001.csv",
        "/nowhere",
    ],
)
def test_a_bad_id_is_a_404_page_not_a_traceback(project, url: str) -> None:
    response = client(project.root).get(url)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Traceback" not in response.text
    assert 'id="error"' in response.text


def test_a_folder_that_is_no_project_is_refused_before_serving(tmp_path: Path) -> None:
    done = run_slate("serve", "--project", str(tmp_path), "--port", "-1")
    assert done.returncode == 2
    assert "no filmslate.toml" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_a_take_is_served_with_its_type_and_ranges(demo: Path) -> None:
    office = client(demo)
    whole = office.get("/media/PROXY_S01_SH01_v001.mp4")
    assert whole.status_code == 200
    assert whole.headers["content-type"] == "video/mp4"
    assert whole.headers["accept-ranges"] == "bytes"
    part = office.get("/media/PROXY_S01_SH01_v001.mp4", headers={"Range": "bytes=10-109"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 10-109/{len(whole.content)}"
    assert part.content == whole.content[10:110]
    board = office.get("/media/STORYBOARD_S01_SH01_v001.png")
    assert board.headers["content-type"] == "image/png"


@pytest.mark.slow
def test_the_cli_and_the_page_write_the_same_verdict(demo: Path) -> None:
    """`slate reject` and a rejection from the page: each a new QC_BATCH version whose shot
    row says FAIL with the reason, and a human-review log row with the cost impact."""
    with Project(demo) as p:
        before = p.store.latest("QC_BATCH", "S02")
        assert before is not None
    done = run_slate("reject", "S02_SH01", "--reason", "hand drifts", "--by", "ana", cwd=demo)
    assert done.returncode == 0, done.stderr
    assert f"QC_BATCH_S02_v{before.name.version + 1:03d}" in done.stdout
    office = client(demo, review=True)
    csrf = re.search(r'name="csrf" value="([^"]+)"', office.get("/review/S02_SH02").text)
    assert csrf
    form = {"csrf": csrf.group(1), "verdict": "reject", "reason": "lamp flickers"}
    posted = office.post("/review/S02_SH02", data=form)
    assert posted.status_code == 303
    assert f"QC_BATCH_S02_v{before.name.version + 2:03d}" in posted.headers["location"]
    with Project(demo) as p:
        rows = p.store.conn.execute(
            "SELECT shot_id, outcome, estimated_cost, notes FROM runlog WHERE skill_name = "
            "'human-review' ORDER BY seq"
        ).fetchall()
        batch = p.store.load(p.store.latest("QC_BATCH", "S02").name)
        assert p.verify() == []
    assert [(r[0], r[1]) for r in rows] == [("S02_SH01", "FAIL"), ("S02_SH02", "FAIL")]
    assert all(float(r[2]) > 0 for r in rows)  # a rejected take costs a new proxy
    assert "by ana: hand drifts" in rows[0][3]
    last = {r.shot_id: r for r in batch.rows}
    assert last["S02_SH01"].verdict == last["S02_SH02"].verdict == "FAIL"
    assert "lamp flickers" in last["S02_SH02"].notes
    # the runner sees the person's verdict as the take's grade (no regrading, a new take next)
    from filmslate.engine._runner import Runner

    with Project(demo) as p:
        grader = Runner(p).registry.get("qc-grader")
        assert Runner(p).graded(grader, "S02_SH01") == "FAIL"
    run_slate("approve", "S02_SH01", "--reason", "holds after all", cwd=demo, check=True)
    with Project(demo) as p:
        assert Runner(p).graded(grader, "S02_SH01") == "PASS"


def test_a_verdict_without_a_reason_or_a_take_is_refused(project) -> None:
    no_reason = run_slate("approve", "S01_SH01", "--reason", " ", cwd=project.root)
    assert no_reason.returncode == 2
    assert "--reason" in no_reason.stderr
    no_shot = run_slate("approve", "S01_SH01", "--reason", "fine", cwd=project.root)
    assert no_shot.returncode == 2
    assert "S01_SH01" in no_shot.stderr
    assert "Traceback" not in no_shot.stderr + no_reason.stderr


@pytest.mark.slow
def test_the_board_shows_a_lock_revisions_impact_before_it_runs(demo: Path, tmp_path: Path) -> None:
    """A new CHAR lock version stored, nothing rerun: the board shows the stale steps and the
    lock's row lists what `slate impact` lists, at its projected cost."""
    lock = (demo / "continuity" / "CHAR_NICO_LOCK_v001.txt").read_text()
    revised = tmp_path / "CHAR_NICO_LOCK.txt"
    revised.write_text(lock.replace("- eyes: dark brown", "- eyes: hazel"))
    run_slate("lock", "add", str(revised), "--reason", "casting", cwd=demo, check=True)
    cli = run_slate("impact", "CHAR_NICO_LOCK", cwd=demo, check=True).stdout
    total = re.search(r"projected cost to redo: ([0-9.]+)", cli)
    assert total, cli
    office = client(demo)
    board = office.get("/board").text  # the walk of a lock's dependents waits to be asked
    assert 'id="impact"' not in board
    assert 'href="/board?page=1&amp;impact=CHAR_NICO_LOCK#impact"' in board
    page = office.get("/board?impact=CHAR_NICO_LOCK").text
    impact = page.split('id="impact"', 1)[1]
    row = impact.split("<td>CHAR_NICO_LOCK_v002.txt", 1)[1].split("</tr>", 1)[0]
    assert f"{float(total.group(1)):.2f} USD" in row
    for name in re.findall(r"^(\w+_v\d{3}\.\w+)", cli, re.M):
        assert name in row
    assert row.count("<li>") == int(re.search(r"(\d+) stale artifact", cli).group(1))
    assert 'class="cell STALE"' in page


def test_a_long_films_board_is_read_a_page_of_scenes_at_a_time(project, tmp_path: Path) -> None:
    from filmslate.schemas import SceneRow, Scenes

    rows = [SceneRow(scene_id=f"S{n:02d}", summary="x", location="YARD") for n in range(1, 31)]
    scenes = tmp_path / "SCENES.csv"
    scenes.write_bytes(Scenes(rows=rows).render())
    project.add(scenes, "thirty scenes")
    office = client(project.root)
    first, second = office.get("/board").text, office.get("/board?page=2").text
    board = first.split('id="board"', 1)[1]
    assert "S25</a>" in board and "S26</a>" not in board
    assert "S26</a>" in second and "S30</a>" in second and "S01</a>" not in second
    assert "page 2 of 2" in second
    assert office.get("/board?page=99").status_code == 200  # clamped to the last page
    assert office.get("/board?page=x").status_code == 200
    room, room2 = office.get("/review").text, office.get("/review?page=2").text
    assert 'id="S25"' in room and 'id="S26"' not in room
    assert 'id="S26"' in room2 and 'id="S01"' not in room2
    assert "scenes page 2 of 2" in room2
    assert 'href="/review?page=2#S26"' in second  # the board links the review room's page
    unknown = office.get("/board?impact=CHAR_NOBODY_LOCK")
    assert unknown.status_code == 400
    assert "no version of CHAR_NOBODY_LOCK" in unknown.text


def test_the_budget_page_shows_every_cap_level_with_its_reservations(project) -> None:
    """A series' episode cap beside the project's, scene's and shot's, and a held reservation
    apart from settled spend."""
    from filmslate.store._ledger import Ledger

    config = project.root / "filmslate.toml"
    config.write_text(config.read_text().replace("[budget]\n", "[budget]\nepisode_cap = 0.5\n"))
    with Project(project.root) as p:
        Ledger(p.store, p.config).reserve("R1", "E02_S01", "E02_S01_SH01", 0.46, "a render")
    page = client(project.root).get("/budget").text
    caps = page.split('id="caps"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r'data-level="(\w+)" data-target="(\w+)"', caps)
    assert rows == [
        ("project", "PROJECT"),
        ("episode", "E02"),
        ("scene", "E02_S01"),
        ("shot", "E02_S01_SH01"),
    ]
    episode = caps.split('data-target="E02"', 1)[1].split("</tr>", 1)[0]
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", episode)
    assert cells[:8] == ["episode", "E02", "0.5", "0.46", "0.0000", "0.4600", "92.0", "warning"]
    assert 'class="state-warning"' in caps.split('data-target="E02"', 1)[0].rsplit("<tr", 1)[1]


@pytest.mark.slow
def test_a_take_not_graded_yet_cannot_be_judged(demo: Path, tmp_path: Path) -> None:
    """A newer take than the one the QC rows graded: a verdict would land on the old row."""
    with Project(demo) as p:
        before = p.store.latest("QC_BATCH", "S01")
    take = tmp_path / "PROXY_S01_SH01.mp4"
    take.write_bytes((demo / "production" / "PROXY_S01_SH01_v001.mp4").read_bytes())
    run_slate("add", str(take), "--reason", "a take made by hand", cwd=demo, check=True)
    done = run_slate("approve", "S01_SH01", "--reason", "looks right", cwd=demo)
    assert done.returncode == 2
    assert "PROXY_S01_SH01_v002.mp4 has no QC row yet" in done.stderr
    with Project(demo) as p:
        assert p.store.latest("QC_BATCH", "S01") == before  # nothing written


@pytest.mark.slow
def test_browsing_every_page_writes_nothing(demo: Path) -> None:
    def state() -> tuple[int, list[str]]:
        with Project(demo) as p:
            rows = p.store.conn.execute("SELECT count(*) FROM runlog").fetchone()[0]
        files = sorted(
            str(f.relative_to(demo)) for f in demo.rglob("*") if ".filmslate" not in f.parts
        )
        return rows, files

    before = state()
    office = client(demo)
    for page in (*PAGES, "/review/S04_SH03", "/log?skill=qc-grader&status=FAIL"):
        assert office.get(page).status_code == 200, page
    assert office.get("/media/FINAL_S04_SH03_v001.mp4").status_code == 200
    assert state() == before


def test_the_log_filters_by_an_outcome_as_stored(project) -> None:
    """A budget refusal's outcome is `budget` (lower-case): the page's drop-down offers it and
    finds its row, as `slate log --outcome budget` does; the count follows new rows."""
    from filmslate.store._runlog import LogEntry

    project.store.log(LogEntry(run_id="R1", skill_name="budget-gates", outcome="budget"))
    project.store.log(LogEntry(run_id="R2", skill_name="qc-grader", outcome="PASS"))
    office = client(project.root)
    page = office.get("/log?status=budget").text
    assert '<option value="budget" selected>' in page
    assert re.search(r'id="count">1 of 1 matching', page), page
    assert "budget-gates" in page.split('id="log"', 1)[1]
    project.store.log(LogEntry(run_id="R3", skill_name="budget-gates", outcome="budget"))
    again = office.get("/log?status=budget").text
    assert re.search(r'id="count">2 of 2 matching', again)
    everything = office.get("/log").text
    total = project.store.conn.execute("SELECT count(*) FROM runlog").fetchone()[0]
    assert f" of {total} matching" in everything
    for outcome, skill in (("budget", "budget-gates"), ("pass", "qc-grader")):
        cli = run_slate("log", "--outcome", outcome, cwd=project.root, check=True).stdout
        assert skill in cli, cli


def test_the_budget_page_compares_a_projection_with_spend_on_its_own_tiers(
    project, tmp_path: Path
) -> None:
    """A COST_REPORT projects video, vision and speech: the scene's actual beside it counts
    those tiers, its text models' spend stands in a column of its own; project-level spend is
    'project (no scene)' and every sum names its currency."""
    from filmslate.schemas import SceneRow, Scenes
    from filmslate.store._runlog import LogEntry

    scenes = tmp_path / "SCENES.csv"
    scenes.write_bytes(Scenes(rows=[SceneRow(scene_id="S01", summary="x", location="Y")]).render())
    project.add(scenes, "one scene")
    for scene, tier, cost in (
        ("S01", "visual_mid", 0.5),
        ("S01", "vision", 0.125),
        ("S01", "judgment", 0.25),
        ("", "premium", 0.0625),
    ):
        entry = LogEntry(run_id="R", skill_name="x", event="spend", scene_id=scene, tier=tier)
        project.store.log(replace(entry, actual_cost=cost))
    page = client(project.root).get("/budget").text
    row = page.split('data-scene="S01"', 1)[1].split("</tr>", 1)[0]
    assert '<td class="actual">0.6250</td>' in row  # video and vision, not the text model
    assert '<td class="all">0.8750</td>' in row
    assert "actual: video, vision, speech" in page
    assert re.search(r'id="projected-spend">[^<]*</b> USD', page)
    assert "project (no scene)" in page
    assert ">none<" not in page.split("by scene", 1)[1].split("by skill", 1)[0]


def test_two_offices_on_one_host_keep_their_own_cookies(project, tmp_path: Path) -> None:
    """A browser sends a host's cookies to every port: each office's token has its own name,
    so opening the second does not log the first out."""
    other = tmp_path / "other"
    run_slate("init", str(other), check=True)
    browser = TestClient(office_app(project.root, token="one"), base_url="http://127.0.0.1:8710")
    assert browser.get("/budget?token=one").status_code == 200
    second = TestClient(office_app(other, token="two"), base_url="http://127.0.0.1:8711")
    second.cookies = browser.cookies  # the same browser
    assert second.get("/budget?token=two").status_code == 200
    assert second.get("/board").status_code == 200
    browser.cookies = second.cookies
    assert browser.get("/board").status_code == 200  # the first office still lets it in
    assert {c.name for c in browser.cookies.jar} == {
        "slate_office_token_8710",
        "slate_office_token_8711",
    }


def test_a_step_waiting_on_a_handoff_task_says_so_on_the_board(project, tmp_path: Path) -> None:
    """An open task in the inbox (no answer beside it) for the skill that makes a scene's step:
    its cell says where the question waits; once answered, the cell is plain waiting."""
    from filmslate.engine._skill import load_skills
    from filmslate.schemas import SceneRow, Scenes

    scenes = tmp_path / "SCENES.csv"
    scenes.write_bytes(Scenes(rows=[SceneRow(scene_id="S01", summary="x", location="Y")]).render())
    project.add(scenes, "one scene")
    writer = load_skills().producer_of("SCRIPT")
    assert writer is not None
    inbox = project.root / "inbox"
    inbox.mkdir(exist_ok=True)
    (inbox / f"{writer.name}__S01__1.task.json").write_text("{}")
    board = client(project.root).get("/board").text.split('id="board"', 1)[1]
    said = f"waiting for an answer (inbox/{writer.name}__S01__1.task.json)"
    assert board.count(said) == 1, board
    (inbox / f"{writer.name}__S01__1.answer.json").write_text("{}")
    assert "waiting for an answer" not in client(project.root).get("/board").text
