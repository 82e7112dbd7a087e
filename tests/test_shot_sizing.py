"""Every dialogue line is heard (issue 15): shot-planner sizes each shot to the lines
dialogue-shots will give it (their spoken length from the voice locks' cadence, or their
measured cues once voiced), and FAILs a shot whose lines do not fit its clip limit; the
edit-planner's gate FAILs a take its measured lines run past (no L cut carrying them) and
sends that back to shot-planner on the scene, rather than cutting the line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from filmslate import Project
from filmslate.core._errors import HardStop
from filmslate.core._gate import FixRoute
from filmslate.engine._speech import Cue, VoiceSettings
from filmslate.rules._fountain import canonical_id, parse_fountain
from filmslate.schemas import DialogueRow, DialogueShots, ScriptScene, ShotList
from filmslate.skills.production import assign_lines, scene_lines
from filmslate.skills.production._dialogue_shots import shot_needs
from filmslate.skills.production._dialogue_timing import (
    LEAD_IN_S,
    TAIL_S,
    LineClock,
    line_seconds,
    shot_need,
)
from filmslate.skills.production._voices import voice_settings
from test_cut_sound import tone
from test_edit_planner import CLEAN, film_of
from test_skills_production import GOOD, SCENES, film, put, runner, shot

__all__ = ["film"]  # the fixture, imported

SCRIPT = """SCRIPT: S01

INT. OLD MILL - DUSK

ALEX faces MIRA across the desk.

ALEX
Where is the ledger? I know you took it from the desk last night. I know why, too.

MIRA
I have nothing of yours.
"""
LONG = """SCRIPT: S01

INT. OLD MILL - DUSK

ALEX faces MIRA across the desk.

ALEX
Where is the ledger? I know you took it from the desk last night. I know why, too.

ALEX
You were frightened of what it says about the mill, about your father, about the money.

ALEX
Tell me now, tonight, or I will go to the magistrate tomorrow morning and tell him myself.
"""


def scripted(root: Path, text: str) -> None:
    with Project(root) as project:
        put(project, "SCRIPT", "S01", ScriptScene.parse(text.encode()))


def planned(root: Path, answer: dict[str, object] = GOOD) -> tuple[str, ShotList, tuple[str, ...]]:
    r, _ = runner(root, [answer])
    result = r.run("shot-planner", "S01")
    record = r.store.latest("SHOTLIST", "S01")
    assert record is not None
    shots = r.store.load(record.name)
    assert isinstance(shots, ShotList)
    return result.gate.verdict, shots, result.gate.reasons


def test_shot_planner_lengthens_a_shot_to_say_its_lines(film: Path) -> None:
    scripted(film, SCRIPT)
    verdict, shots, reasons = planned(film)
    assert verdict == "PASS", reasons
    rows = {r.shot_id: r for r in shots.rows}
    lines = scene_lines(ScriptScene.parse(SCRIPT.encode()), SCENES.rows[0])
    alex = line_seconds(lines[0].text)
    # ALEX's line goes to the two-shot (the first shot to show him), planned 4 s: lengthened
    # to hold it, on a half second; the establishing shot and the close-up keep their plan
    assert rows["S01_SH02"].duration_s == pytest.approx(
        -(-(LEAD_IN_S + alex + TAIL_S) // 0.5) * 0.5
    )
    assert rows["S01_SH02"].duration_s > 4.0
    assert rows["S01_SH02"].notes == "lengthened for its dialogue (planned 4s)"
    assert (rows["S01_SH01"].duration_s, rows["S01_SH03"].duration_s) == (3.0, 4.0)
    # dialogue-shots' rule on the sized shots gives each shot no more than it holds
    placed = assign_lines(lines, shots.rows)
    assert [(p.shot_id, p.character) for p in placed] == [
        ("S01_SH02", "ALEX"),
        ("S01_SH03", "MIRA"),
    ]
    needs = shot_needs(placed, lines, shots.rows, None)
    assert all(n <= r.duration_s + 1e-6 for n, r in zip(needs, shots.rows, strict=True))


def test_lines_longer_than_a_shot_may_last_fail_with_the_fix(film: Path) -> None:
    scripted(film, LONG)
    one = {"rows": [GOOD["rows"][0], shot(2)]}  # type: ignore[index]
    r, _ = runner(film, [one] * 12)  # every revision answers the same: it stops at the top
    with pytest.raises(HardStop) as stop:
        r.run("shot-planner", "S01")
    said = str(stop.value).split("Still failing: ", 1)[1]
    assert said.startswith("S01_SH02: its dialogue (lines 1 ALEX, 2 ALEX, 3 ALEX) takes about ")
    assert said.endswith(
        "s to say and it may last at most 10s (the [visual] max_clip_s clip limit): add shots "
        "for these lines (a shot of each speaker after it) or give it fewer lines"
    )
    assert r.store.latest("SHOTLIST", "S01") is not None  # kept, FAIL, for the person


def test_the_planner_is_told_each_line_and_how_long_it_takes(film: Path) -> None:
    scripted(film, SCRIPT)
    r, model = runner(film, [GOOD])
    r.run("shot-planner", "S01")
    prompt = model.requests[0].prompt
    assert "DIALOGUE (in order;" in prompt
    said = line_seconds("I have nothing of yours.")
    assert f"- 2. MIRA: about {said:.1f}s: I have nothing of yours." in prompt


def test_the_estimate_follows_the_voice_lock_and_the_measured_cue_wins_when_longer() -> None:
    text = "Where is the ledger? I know you took it."
    slow, brisk = VoiceSettings(rate=140), VoiceSettings(rate=195)
    assert line_seconds(text, slow) > line_seconds(text) > line_seconds(text, brisk)
    gapped = VoiceSettings(rate=140, word_gap_ms=40)  # "long pauses"
    assert line_seconds(text, gapped) > line_seconds(text, slow)
    clock = LineClock({"ALEX": brisk}, {(1, "ALEX"): 9.0})
    assert clock.seconds(1, "ALEX", text) == 9.0  # measured, longer: it wins
    assert clock.seconds(2, "ALEX", text) == line_seconds(text, brisk)
    assert LineClock({}, {(1, "ALEX"): 0.5}).seconds(1, "ALEX", text) == line_seconds(text)
    assert shot_need([]) == 0.0 and shot_need([1.0, 2.0]) == pytest.approx(0.3 + 3.25 + 0.2)


def test_the_estimate_covers_espeak_speaking_the_demo_s_lines() -> None:
    """The offline voice really says each of the demo's lines within its estimate."""
    from conftest import DEMO
    from filmslate.providers.scratch_voice import espeak_samples
    from filmslate.schemas import VoiceLock

    voices = {}
    for path in sorted((DEMO / "replay" / "voice-lock").glob("*/1.json")):
        lock = VoiceLock.model_validate(json.loads(path.read_text())["output"])
        voices[lock.name] = voice_settings(lock)
    said = 0
    for path in sorted((DEMO / "inputs").glob("SCRIPT_*.txt")):
        for scene in parse_fountain(path.read_text(), source=path.name).scenes:
            for line in scene.dialogue:
                voice = voices[canonical_id(line.speaker)]
                samples, rate = espeak_samples(line.text, voice)
                assert len(samples) / rate <= line_seconds(line.text, voice), line.text
                said += 1
    assert said == 36


def test_a_voiced_line_past_its_take_fails_and_goes_back_to_shot_planner(tmp_path: Path) -> None:
    runner_ = film_of(tmp_path / "film", CLEAN)  # S01: a 3 s and a 4 s shot; the last scene
    with Project(runner_.project.root) as project:
        row = DialogueRow(shot_id="S01_SH02", line_order=1, character="ALEX", text="Wait.")
        put(project, "DIALOGUE", "S01", DialogueShots(rows=[row]))
        put(project, "AUDIO", "S01_SH02", tone(4.8, [Cue(1, "ALEX", 0.3, 4.6)]))  # type: ignore[arg-type]
    result = runner_.run("edit-planner", "S01")
    why = (
        "S01_SH02: its dialogue runs 0.60s past its take (4.60s of lines in AUDIO_S01_SH02, a "
        "4s take) and the next shot cannot carry it (line 1), so the cut would end the line "
        "early: lengthen the shot to its measured lines in the shot list"
    )
    assert result.gate.verdict == "FAIL" and result.gate.reasons == (why,)
    assert result.gate.route == FixRoute("shot-planner", "S01", (why,))
    assert result.gate.goes_upstream  # the orchestrator sends it back, the edit cannot fix it


def test_the_voices_cost_is_projected_in_the_cost_report_per_scene(film: Path) -> None:
    """`slate cost` shows the scratch voices beside the clips: their seconds, and for a hosted
    voice the price of their characters (nothing for the offline espeak)."""
    from conftest import run_slate
    from filmslate.synthetic import set_key

    scripted(film, SCRIPT)
    planned(film)
    shown = run_slate("cost", "--scene", "S01", "-C", str(film))
    lines = scene_lines(ScriptScene.parse(SCRIPT.encode()), SCENES.rows[0])
    said = sum(line_seconds(line.text) for line in lines)
    assert f"| speech (espeak) | {round(said, 3):g} | 0.0 |" in shown.stdout, shown.stdout
    config = film / "filmslate.toml"
    text = set_key(config.read_text(encoding="utf-8"), "audio", "model", '"elevenlabs:v2"')
    config.write_text(set_key(text, "audio", "price_per_1k_chars", "0.3"), encoding="utf-8")
    shown = run_slate("cost", "--scene", "S01", "-C", str(film))
    characters = sum(len(line.text) for line in lines)
    cost = round(characters * 0.3 / 1000, 4)
    assert f"| speech (elevenlabs:v2) | {round(said, 3):g} | {cost:g} |" in shown.stdout
    with Project(film) as project:
        record = project.store.latest("COST_REPORT", "S01")
        assert record is not None
        report = project.store.load(record.name)
        video = sum(t.cost for t in report.cost_per_tier if not t.tier.startswith("speech"))  # type: ignore[attr-defined]
        assert report.projected_total == pytest.approx(video + cost, abs=1e-4)  # type: ignore[attr-defined]


LOOP_SCRIPT = """SCRIPT: S01

INT. HARBOUR OFFICE - NIGHT

ADA checks the signal log.

ADA
Extraordinary circumstances necessitate unconventional countermeasures immediately.

BRAM
Then we read it again.

ADA (V.O.)
We had three nights left.
"""


@pytest.mark.slow
def test_a_voice_slower_than_its_estimate_sends_the_shot_back_to_be_resized(
    tmp_path: Path,
) -> None:
    """A hosted voice says ADA's line slower than her brisk lock promised: the first cut's
    plan FAILs on the measured audio, the run sends it back to shot-planner, which re-sizes
    S01 from the cues; the scene is rendered again and every line is heard whole."""
    from conftest import run_slate
    from e2e_film import make_film, plugin_env, query
    from filmslate.synthetic import SyntheticFilm, set_key
    from filmslate.testing.elevenlabs_server import ElevenLabsServer
    from test_cut_sound import check_cut_sound

    root = tmp_path / "film"
    make_film(root, 2, 3, {("visual", t): '"animatic"' for t in ("premium", "mid", "low")})
    env = plugin_env(tmp_path / "site", 2, 3, {"ELEVENLABS_API_KEY": "k"})
    sources = [tmp_path / "SCRIPT_S01.txt"]
    sources[0].write_text(LOOP_SCRIPT, encoding="utf-8")
    for name in ("ADA", "BRAM"):
        lock = SyntheticFilm(2, 3).voice_lock(name)
        brisk = lock.cadence.model_copy(update={"speed": "brisk", "pauses": "none"})
        revised = lock.model_copy(update={"cadence": brisk, "external_voice_id": f"v-{name}"})
        sources.append(tmp_path / f"VOICE_{name}_LOCK.txt")
        sources[-1].write_bytes(revised.render())
    for source in sources:
        added = run_slate("add", str(source), "-C", str(root), "--reason", "cast", env=env)
        assert added.returncode == 0, added.stdout + added.stderr
    with ElevenLabsServer(timeout_s=600) as server:
        config = root / "filmslate.toml"
        text = set_key(config.read_text(encoding="utf-8"), "audio", "model", '"elevenlabs:v2"')
        text = set_key(text, "audio", "price_per_1k_chars", "0.3")
        config.write_text(text + server.providers_toml(), encoding="utf-8")
        result = run_slate("run", "-C", str(root), env=env, timeout=900)
    assert result.returncode == 0 and "production complete" in result.stdout, (
        result.stdout[-3000:] + result.stderr[-3000:]
    )
    backs = query(root, "SELECT skill_name, notes FROM runlog WHERE event = 'loop_back'")
    assert [skill for skill, _ in backs] == ["edit-planner"]
    assert backs[0][1].startswith("to shot-planner on S01: S01_SH02: its dialogue runs ")
    with Project(root) as project:
        first, second = (
            project.store.load(r.name) for r in project.store.versions("SHOTLIST", "S01")
        )
        before = {r.shot_id: r.duration_s for r in first.rows}  # type: ignore[attr-defined]
        after = {r.shot_id: r.duration_s for r in second.rows}  # type: ignore[attr-defined]
        assert after["S01_SH02"] > before["S01_SH02"]  # re-sized from the measured cues
        assert check_cut_sound(project)[:2] == (3, 0)  # every line, each heard whole


VOICE_OVER = """SCRIPT: S01

INT. OLD MILL - DUSK

ALEX faces MIRA across the desk.

ALEX (V.O.)
The mill stood empty nine years when we came back, and nobody would say why.
"""


def test_the_cost_plan_never_shortens_a_shot_below_its_dialogue(tmp_path: Path) -> None:
    """Over the cap, the cost plan shortens coverage shots; not the one the voice-over is
    heard in (it would end the line early): it saves elsewhere."""
    from filmslate.workflow._costloop import apply_cost_plan
    from test_costloop import cap, make_film
    from test_costloop import planned as costed

    root = make_film(tmp_path / "film", **cap(7.9))
    scripted(root, VOICE_OVER)
    r = costed(root)
    first = {row.shot_id: row for row in r.store.load(r.store.latest("SHOTLIST", "S01").name).rows}  # type: ignore[union-attr, attr-defined]
    result = apply_cost_plan(r, "S01")
    assert ("S01_SH01", "shorten") not in [(c.shot_id, c.step) for c in result.changes]
    assert result.status == "applied" and result.verdict == "PASS"
    rows = {row.shot_id: row for row in r.store.load(r.store.latest("SHOTLIST", "S01").name).rows}  # type: ignore[union-attr, attr-defined]
    assert rows["S01_SH01"].duration_s == first["S01_SH01"].duration_s  # the line's shot
    lines = scene_lines(ScriptScene.parse(VOICE_OVER.encode()), SCENES.rows[0])
    placed = assign_lines(lines, list(rows.values()))
    assert [p.shot_id for p in placed] == ["S01_SH01"]


def test_a_line_longer_than_its_shot_may_ever_last_asks_for_the_script_or_the_model(
    film: Path,
) -> None:
    scripted(film, SCRIPT)  # ALEX's line takes longer than a crowded shot's 5 s
    one = {"rows": [GOOD["rows"][0], shot(2, char_ids=["ALEX", "MIRA", "BEN"])]}  # type: ignore[index]
    r, _ = runner(film, [one] * 12)
    with pytest.raises(HardStop) as stop:
        r.run("shot-planner", "S01")
    said = str(stop.value).split("Still failing: ", 1)[1]
    assert said.startswith("S01_SH02: its dialogue (lines 1 ALEX, 2 MIRA) takes about ")
    assert said.endswith(
        "it may last at most 5s (complex or crowded shots' limit): line 1 alone is longer "
        "than that: split the speech in the script, or route the shot to a model with longer "
        "clips"
    )


def test_the_cost_plan_counts_a_hosted_voice_s_price(tmp_path: Path) -> None:
    """The cost plan fits what the cost report projects: the clips and the voices."""
    from filmslate.synthetic import set_key
    from filmslate.workflow._costloop import apply_cost_plan
    from test_costloop import cap, make_film
    from test_costloop import planned as costed

    root = make_film(tmp_path / "film", **cap(100.0))
    scripted(root, VOICE_OVER)
    config = root / "filmslate.toml"
    text = set_key(config.read_text(encoding="utf-8"), "audio", "model", '"elevenlabs:v2"')
    config.write_text(set_key(text, "audio", "price_per_1k_chars", "5.0"), encoding="utf-8")
    r = costed(root)
    result = apply_cost_plan(r, "S01")
    (line,) = scene_lines(ScriptScene.parse(VOICE_OVER.encode()), SCENES.rows[0])
    voices = round(len(line.text) * 5.0 / 1000, 4)
    assert result.status == "within_cap"
    assert result.projected_before == pytest.approx(8.74 + voices, abs=1e-4)
    assert r.run("cost-optimizer", "S01").gate.passed
    report = r.store.load(r.store.latest("COST_REPORT", "S01").name)  # type: ignore[union-attr]
    assert report.projected_total == pytest.approx(result.projected_before)  # type: ignore[attr-defined]
