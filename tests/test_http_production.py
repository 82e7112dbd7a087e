"""A whole production over real HTTP (issue 14 §9): `slate run` on the demo film with every
text and vision tier on a local OpenAI-compatible server (127.0.0.1, bounded, stops itself).

The server answers each request from the demo's authored replay answers, found by the skill
its system prompt is and the target its prompt names (filmslate.testing.replay_answers), so
a skill added or changed later is answered from the same folder. Two answers carry findings
about the work: the first plausibility audit of S02 (a logistical impossibility: a scene
revision) and the first red-team pass (a central coincidence: a structure revision). The
production completes, the revisions are versioned artifacts with the findings in their
lineage, and the spend is the tokens the server reported times the configured price.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import run_slate
from filmslate import Project
from filmslate.engine._stops import gate_of
from filmslate.schemas import SceneRow
from filmslate.skills.narrative import SceneRevisionAnswer
from filmslate.testing.openai_server import OpenAIServer, measured_tokens
from filmslate.testing.replay_answers import Asked, ReplayAnswers, asked_skill, asked_target

FILM = Path(__file__).resolve().parents[1] / "examples" / "demo_short_film"
MODEL = "compat:local-llm"
PRICE = (0.40, 1.60)  # USD per million tokens (input, output), in [prices] text
COINCIDENCE = "Saul arrives an hour early on the one night it matters, and nothing says why"
EARLY = " Saul says the landlord moved the hand-over forward: the van must be back by midnight."
IMPOSSIBLE = "Ida's bench is sold, yet nothing says why it is still in the shop tonight"
BENCH = " The buyer collects the bench at ten, so Ida has one hour at it."

CONFIG = {
    '"replay:throughput"': f'"{MODEL}"',
    '"replay:judgment"': f'"{MODEL}"',
    '"replay:premium"': f'"{MODEL}"',
    '"replay:research"': f'"{MODEL}"',
    '"replay:vision"': f'"{MODEL}"',
    "project_cap = 5.0": "project_cap = 20.0",
    "scene_cap = 0.43": "scene_cap = 4.0",
    "shot_cap = 0.25": "shot_cap = 2.0",
    "width = 640": "width = 256",  # small proxies and finals: the renders take seconds
    "height = 360": "height = 144",
    "width = 960": "width = 256",
    "height = 540": "height = 144",
    "[providers]\n": f'[providers]\nvision_models = ["{MODEL}"]\n',
    "[prices]\n": f'[prices]\ntext = {{ "{MODEL}" = [{PRICE[0]}, {PRICE[1]}] }}\n',
}


class Film:
    """The demo's answers with two findings, and the revisions that answer them."""

    def __init__(self) -> None:
        self.revised: dict[str, dict[str, Any]] = {}  # scene rows the scene revision wrote

    def edit(self, asked: Asked, answer: dict[str, Any] | None) -> dict[str, Any] | None:
        first = asked.number == 1
        if asked.skill == "plausibility-auditor" and asked.target == "S02" and first:
            assert answer is not None
            return {**answer, "logistical": 0, "logistical_impossibilities": [IMPOSSIBLE]}
        if asked.skill == "narrative-red-team" and first:
            assert answer is not None
            failure = {"kind": "central coincidence", "description": COINCIDENCE}
            return {**answer, "critical_failures": [failure]}
        if asked.skill == "scene-revision":
            return self.scene_revision(asked)
        if asked.skill == "storyboard-generator" and answer is None:
            return seen_all(asked.prompt)
        if asked.skill == "story-architect" and not first:
            assert answer is not None
            return self.structure_revision(answer, asked)
        return answer

    def scene_revision(self, asked: Asked) -> dict[str, Any]:
        """The scene's row with one sentence added, its script kept, a change per finding."""
        row = dict(scene_rows()[asked.target])
        row["summary"] += BENCH
        self.revised[asked.target] = row
        findings = asked.prompt.split("## Findings to fix", 1)[1]
        script = asked.prompt.split(f"## Screenplay text of {asked.target}\n", 1)[1]
        return {
            "row": row,
            "script": script.split("\n\n## Findings to fix", 1)[0],
            "changes": ["the buyer collects the bench at ten"] * findings.count("\n- "),
        }

    def structure_revision(self, answer: dict[str, Any], asked: Asked) -> dict[str, Any]:
        """The structure again, the revised scenes kept and S03 giving Saul his reason."""
        assert COINCIDENCE in asked.prompt  # the findings came as revision notes
        rows = []
        for row in answer["scenes"]:
            row = self.revised.get(row["scene_id"], row)
            if row["scene_id"] == "S03":
                row = {**row, "summary": row["summary"] + EARLY}
            rows.append(row)
        return {**answer, "scenes": rows}


def seen_all(prompt: str) -> dict[str, Any]:
    """A vision model's look at a storyboard frame that shows every listed item (the demo
    has no authored looks: its replay vision tier is never shown a frame)."""
    listed = prompt.split("copying its text exactly:\n", 1)[1].split("\n\n", 1)[0]
    return {"items": [{"item": line[2:], "seen": True} for line in listed.splitlines()]}


def scene_rows() -> dict[str, dict[str, Any]]:
    story = json.loads((FILM / "replay/story-architect/PROJECT/1.json").read_text())
    return {row["scene_id"]: row for row in story["output"]["scenes"]}


def demo_project(root: Path, server: OpenAIServer, changes: dict[str, str] | None = None) -> None:
    """The demo, every model tier on the server's model at PRICE, caps raised for it (and
    any other ``changes`` to its filmslate.toml: demo text -> new text)."""
    run_slate("init", str(root), "--name", "side-b", check=True)
    config = (FILM / "filmslate.toml").read_text()
    for old, new in {**CONFIG, **(changes or {})}.items():
        assert old in config, old
        config = config.replace(old, new)
    (root / "filmslate.toml").write_text(config + "\n" + server.providers_toml("compat"))
    with Project(root) as project:  # `slate add` for each source, in one process
        for source in sorted((FILM / "inputs").iterdir()):
            project.add(source, "demo source material")


def lineage(project: Project, kind: str) -> list[str]:
    latest = project.store.latest(kind)
    assert latest is not None
    return [n.filename for n in project.store.lineage(latest.name)]


def test_a_scene_revision_answer_carries_a_whole_script() -> None:
    """A script slice has many lines: the revision's answer must take them (it refused every
    script with a line break, so no scene with a script could be revised)."""
    row = SceneRow.model_validate(scene_rows()["S02"])
    script = (FILM / "inputs/SCRIPT_S02.txt").read_text().split("\n\n", 1)[1]
    answer = SceneRevisionAnswer(row=row, script=script, changes=["the bench stays till ten"])
    assert answer.script.count("\n") > 10


def chat(system: str, prompt: str) -> dict[str, Any]:
    return {
        "messages": [{"role": "system", "content": system}, {"role": "user", "content": prompt}]
    }


def test_a_request_is_answered_by_its_skill_and_target_from_the_replay_folder() -> None:
    prompts = FILM.parents[1] / "src/filmslate/skills"
    red = (prompts / "validation/prompts/narrative-red-team.md").read_text()
    light = (
        red + "\n\n" + (prompts / "validation/prompts/narrative-red-team-light-note.md").read_text()
    )
    assert asked_skill(chat(red, "Review target: PROJECT")) == "narrative-red-team"
    assert asked_skill(chat(light, "Review target: PROJECT")) == "narrative-red-team-light"
    assert asked_skill(chat("You are a helpful assistant.", "hi")) == ""
    assert asked_target(chat("", "Shot S04_SH03: close_up, then S04")) == "S04_SH03"
    assert asked_target(chat("", "## Premise\n- title: Side B")) == "PROJECT"
    answers, replay = ReplayAnswers(FILM / "replay"), FILM / "replay"
    cases = {
        ("script-breakdown", "S03", 1): "script-breakdown/PROJECT/1-3.json",  # once per scene
        ("world-state-tracker", "S04", 2): "world-state-tracker/S04/2.json",
        ("world-state-tracker", "S04", 3): "world-state-tracker/S04/2.json",  # the last revision
        ("qc-grader", "S02_SH01", 1): "qc-grader/any.json",
        ("audience-simulator", "S01", 1): "audience-simulator/PROJECT/1.json",
    }
    for (skill, target, number), path in cases.items():
        assert answers.lookup(skill, target, number) == replay / path
    assert answers.lookup("scene-revision", "S02", 1) is None
    body = chat((prompts / "narrative/prompts/story-architect.md").read_text(), "## Premise")
    assert answers(body)["scenes"][0]["scene_id"] == "S01"
    assert answers(chat("You are a helpful assistant.", "hi")) == {}
    assert [(a.skill, a.target, a.number) for a in answers.asked] == [
        ("story-architect", "PROJECT", 1),
        ("", "PROJECT", 1),
    ]
    assert [a.skill for a in answers.misses] == [""]


def test_measured_usage_is_reported_and_kept() -> None:
    body = {**chat("system text", "x" * 401), "model": "local"}
    with OpenAIServer([{"title": "ok"}], tokens="measured") as server:
        reply = httpx.post(f"{server.base_url}/chat/completions", json=body, timeout=5).json()
    usage = reply["usage"]
    assert (usage["prompt_tokens"], usage["completion_tokens"]) == server.usage[0]
    assert server.usage[0] == (measured_tokens(body), 4)  # '{"title": "ok"}': 15 characters
    assert measured_tokens(body) == -(-(len("system text") + 401) // 4)


@pytest.mark.slow
def test_the_demo_produced_over_http_with_revisions_and_exact_spend(tmp_path: Path) -> None:
    film = Film()
    answers = ReplayAnswers(FILM / "replay", film.edit)
    with OpenAIServer(answers, tokens="measured", timeout_s=1260) as server:
        root = tmp_path / "side-b"
        demo_project(root, server)
        shutil.rmtree(root / "replay", ignore_errors=True)  # nothing is answered offline
        # a whole production with renders (41 shots, 260 s): ~4 min alone, more when loaded
        ran = run_slate("run", "-C", str(root), timeout=1200)
        cost = run_slate("cost", "-C", str(root))
        billed = list(server.usage)
    assert ran.returncode == 0 and "production complete" in ran.stdout, ran.stdout + ran.stderr
    assert answers.misses == [], [(a.skill, a.target) for a in answers.misses]
    assert len(billed) == len(answers.asked)

    with Project(root) as project:
        assert project.verify() == []
        store = project.store
        # the plausibility finding went to a scene revision: SCENES and SCRIPT_S02 v002
        routes = store.conn.execute(
            "SELECT skill_name, target, notes FROM runlog WHERE event = 'loop_back' ORDER BY seq"
        ).fetchall()
        assert [(s, t) for s, t, _ in routes] == [
            ("plausibility-auditor", "S02"),
            ("narrative-red-team", "PROJECT"),
        ]
        assert routes[0][2].startswith("to scene-revision on S02: logistical scores 0")
        assert routes[1][2] == f"to story-architect on PROJECT: central coincidence: {COINCIDENCE}"
        script = store.latest("SCRIPT", "S02")
        assert script is not None and script.name.version == 2
        assert "PLAUS_S02_v001.md" in [n.filename for n in store.lineage(script.name)]
        # the red-team finding went to story-architect: new BEATS and SCENES, the report in both
        for kind in ("BEATS", "SCENES"):
            assert "REDTEAM_PROJECT_v001.md" in lineage(project, kind)
        beats = store.latest("BEATS")
        assert beats is not None and beats.name.version == 2
        scenes = store.latest("SCENES")
        assert scenes is not None and scenes.name.version == 3  # revised scene, then structure
        # the story reran from the new structure: breakdown, scenes, plans
        for kind in ("BREAKDOWN", "SHOTLIST"):
            made = store.latest(kind) if kind == "BREAKDOWN" else store.latest(kind, "S01")
            assert made is not None
            assert scenes.filename in [n.filename for n in store.lineage(made.name)], kind
        rows = {r.scene_id: r for r in store.load(scenes.name).rows}  # type: ignore[attr-defined]
        assert rows["S02"].summary.endswith(BENCH) and rows["S03"].summary.endswith(EARLY)
        for kind, subject in (("PLAUS", "S02"), ("REDTEAM", "PROJECT")):
            latest = store.latest(kind, subject)
            assert latest is not None and latest.name.version >= 2
            assert gate_of(project, latest.filename) == "PASS"
        assert store.latest("CUT", "PROJECT") is not None
        spent = store.conn.execute(
            "SELECT model_used, actual_cost FROM runlog WHERE event = 'spend' "
            "AND CAST(actual_cost AS REAL) > 0 ORDER BY seq"
        ).fetchall()

    # money: each call settled at the tokens the server reported times the configured price
    # (the log keeps six decimals), nothing else spent, and `slate cost` says the same total
    assert {model for model, _ in spent} == {MODEL}
    priced = [round((i * PRICE[0] + o * PRICE[1]) / 1e6, 6) for i, o in billed]
    assert [float(cost) for _, cost in spent] == priced
    film_row = re.search(r"^FILM\s.*\s([0-9.]+)\s*$", cost.stdout, re.MULTILINE)
    assert film_row is not None, cost.stdout
    assert float(film_row.group(1)) == pytest.approx(sum(priced), abs=1e-4)  # 4 decimals
