"""`slate run` refuses a production whose vision tier must see but cannot, before anything is
made (issue 13 §2: "until a vision-capable model is configured for the vision tier,
rubric_source = "model" is refused with that explanation").

Each vision call is refused before it is reserved (tests/test_qc_vision), but a production
reaches qc-grader only after a shot's sheets, storyboard and proxy are made, which a vendor's
image and video models bill. The whole production is refused at its start instead.
"""

from __future__ import annotations

from pathlib import Path

from conftest import demo_project, run_slate
from filmslate import Project
from filmslate.engine._runner import Runner
from filmslate.workflow._vision_preflight import refuse_blind_vision

BLIND = "openai:gpt-3.5-turbo"  # a vendor's model that takes no images


def configured(root: Path, **changes: str) -> None:
    """The demo (rubric_source = "model") with these filmslate.toml changes (old -> new)."""
    demo_project(root)
    config = root / "filmslate.toml"
    text = config.read_text(encoding="utf-8")
    for old, new in changes.items():
        assert old in text, old
        text = text.replace(old, new)
    config.write_text(text, encoding="utf-8")


def made(root: Path) -> tuple[int, int]:
    """(skill runs logged, artifacts other than the added inputs)."""
    with Project(root) as project:
        conn = project.store.conn
        runs = conn.execute("SELECT count(*) FROM runlog WHERE event = 'run'").fetchone()[0]
        kinds = conn.execute(
            "SELECT count(*) FROM artifacts WHERE kind NOT IN ('PREMISE', 'SCRIPT', 'STYLE_LOCK')"
        ).fetchone()[0]
    return runs, kinds


def test_a_blind_vision_tier_stops_the_production_before_anything_is_made(
    tmp_path: Path,
) -> None:
    root = tmp_path / "film"
    configured(root, **{'vision = "replay:vision"': f'vision = "{BLIND}"'})
    result = run_slate("run", "-C", str(root))
    assert result.returncode == 2, result.stdout + result.stderr
    (line,) = result.stderr.strip().splitlines()  # one line, no traceback
    assert line.startswith("error: qc-grader sends images") and "vision tier" in line
    assert f'vision_models = ["{BLIND}"]' in line
    assert made(root) == (0, 0)


def test_the_visual_pass_alone_names_visual_continuity(tmp_path: Path) -> None:
    root = tmp_path / "film"
    configured(
        root,
        **{
            'vision = "replay:vision"': f'vision = "{BLIND}"',
            'rubric_source = "model"': 'rubric_source = "technical"\nvisual_continuity = true',
        },
    )
    result = run_slate("run", "-C", str(root))
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith("error: visual-continuity sends images")
    assert made(root) == (0, 0)


def test_a_model_that_sees_or_sends_nothing_passes(tmp_path: Path) -> None:
    cases = {
        "declared": {
            'vision = "replay:vision"': f'vision = "{BLIND}"',
            "[providers]\n": f'[providers]\nvision_models = ["{BLIND}"]\n',
        },
        "replay": {},  # the offline demo: an authored answer stands for what was seen
        "technical": {
            'vision = "replay:vision"': f'vision = "{BLIND}"',
            'rubric_source = "model"': 'rubric_source = "technical"',
        },
    }
    for name, changes in cases.items():
        root = tmp_path / name
        configured(root, **changes)
        with Project(root) as project:
            runner = Runner(project)
            try:
                refuse_blind_vision(runner)
            finally:
                runner.close()


def test_slate_config_check_names_a_blind_vision_tier(tmp_path: Path) -> None:
    root = tmp_path / "film"
    configured(root, **{'vision = "replay:vision"': f'vision = "{BLIND}"'})
    result = run_slate("config", "check", "-C", str(root))
    assert result.returncode == 2, result.stdout + result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: qc-grader sends images") and BLIND in line
    seeing = tmp_path / "seeing"
    configured(seeing)  # the demo's replay vision tier: an authored answer stands for a look
    result = run_slate("config", "check", "-C", str(seeing), check=True)
    assert result.stdout.startswith(f"{seeing / 'filmslate.toml'}: ok")
