"""SPEC §7 for a visual tier, through the orchestrator (the engine of `slate run`) on a
synthetic production: after `[visual] mid` names another model and the switch is recorded,
the QC sample (the mid shot with the most locked characters) is rendered and graded first on
the new model; a FAIL on it hard-stops the tier before any other mid shot is sent, naming the
way out; `slate override` on the sample lets the production complete on the new model."""

from __future__ import annotations

from pathlib import Path

from filmslate import Project
from filmslate.engine._override import record_override
from filmslate.synthetic import (
    VIDEO_MODEL,
    Settings,
    SyntheticFilm,
    SyntheticVideo,
    set_key,
    synthetic_project,
    synthetic_runner,
)
from filmslate.workflow._orchestrator import Orchestrator

NEW = "synthetic:video-v2"
ENTRY = f"""
[catalogue."{NEW}"]
kind = "video"
title = "a second synthetic model, in the catalogue: its GenPacks record it"
durations = [4, 8]

[catalogue."{NEW}".input]
prompt = "prompt"
duration = "duration"

[catalogue."{NEW}".billing]
unit = "per_second"
price = 0.01
failed_jobs_charged = false
source = "local: the synthetic provider"
as_of = 2026-12-01
"""
SAMPLE, OTHER = "S01_SH02", "S01_SH04"  # the mid tier: a two-shot (2 characters), a single
SETTINGS = Settings(rubric_source="model")


def switched_runner(root: Path, film: SyntheticFilm):  # type: ignore[no-untyped-def]
    runner = synthetic_runner(root, film, SETTINGS)
    runner.render_service().providers[NEW] = SyntheticVideo(0.01, 0.02, final_width=256)
    return runner


def new_jobs(root: Path) -> list[str]:
    with Project(root) as project:
        rows = project.store.conn.execute(
            "SELECT shot_id FROM render_jobs WHERE provider = ? AND resolution = 'proxy' "
            "ORDER BY rowid",
            (NEW,),
        ).fetchall()
    return [r[0] for r in rows]


def failed_sample(tmp_path: Path) -> tuple[Path, SyntheticFilm]:
    """A production whose mid tier was switched to NEW and whose QC sample then got FAIL."""
    root = tmp_path / "film"
    runner, _ = synthetic_project(root, 1, 4, settings=SETTINGS)
    assert Orchestrator(runner).run().status == "complete"
    runner.project.close()
    config = root / "filmslate.toml"
    config.write_text(set_key(config.read_text(), "visual", "mid", f'"{NEW}"') + ENTRY)

    failing = SyntheticFilm(1, 4, qc_failures={SAMPLE: 2})  # its next QC attempt (2) fails
    runner = switched_runner(root, failing)
    stopped = Orchestrator(runner).run()
    assert stopped.status == "stopped" and "slate switch visual_mid" in stopped.reason
    runner.record_switch("visual_mid", "a cheaper model for the B shots")
    decision = runner.store.latest("ROUTING_DECISION", "PROVIDER_SWITCH_VISUAL_MID")
    assert decision is not None
    text = runner.store.read(decision.name).decode()
    assert f"QC sample: {SAMPLE}" in text and "2: " in text  # two locked characters
    runner.project.close()

    runner = switched_runner(root, failing)
    outcome = Orchestrator(runner).run()
    assert outcome.status == "stopped", outcome.describe()
    assert "got QC FAIL" in outcome.reason and f"slate override {SAMPLE}" in outcome.reason
    assert new_jobs(root) == [SAMPLE]  # the sample only: no other mid shot was sent
    runner.project.close()
    return root, failing


def test_a_failed_qc_sample_stops_the_tier_until_an_override(tmp_path: Path) -> None:
    root, failing = failed_sample(tmp_path)
    with Project(root) as project:
        record_override(project, SAMPLE, "the light is fixed by the regen rules", 0.0)
    runner = switched_runner(root, failing)
    done = Orchestrator(runner).run()
    assert done.status == "complete", done.describe()
    jobs = new_jobs(root)
    assert jobs[0] == SAMPLE and OTHER in jobs
    runner.project.close()


def test_reverting_after_a_failed_sample_is_a_switch_back(tmp_path: Path) -> None:
    root, failing = failed_sample(tmp_path)
    config = root / "filmslate.toml"
    config.write_text(set_key(config.read_text(), "visual", "mid", f'"{VIDEO_MODEL}"'))
    runner = switched_runner(root, failing)
    stopped = Orchestrator(runner).run()  # back to the old model: a switch too
    assert stopped.status == "stopped" and "slate switch visual_mid" in stopped.reason
    runner.record_switch("visual_mid", "the new model lost the light on the sample")
    runner.project.close()
    runner = switched_runner(root, SyntheticFilm(1, 4))  # the old model holds the light
    done = Orchestrator(runner).run()  # the failed sample's stop is superseded
    assert done.status == "complete", done.describe()
    assert new_jobs(root) == [SAMPLE]  # nothing more was sent to the new model
    runner.project.close()
