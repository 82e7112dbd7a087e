"""The shot planner and prompt-packager snap durations to what the routed video model allows
(issue 12 §6): recorded on the shot row and in the GenPack's settings; a model outside the
catalogue keeps the planned length; a shot longer than the model's longest clip is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from filmslate.schemas import GenPack, ShotList
from test_runtime import configure
from test_skills_production import GOOD, film, plan, runner, shot

__all__ = ["film"]  # the fixture, imported

KLING = "fal:fal-ai/kling-video/v2.1/standard/image-to-video"  # 5 or 10 s clips
VEO = "fal:fal-ai/veo3.1/image-to-video"  # 4, 6 or 8 s clips


def route(root: Path) -> None:
    """Hero A shots to Veo, hero B to Kling; hero C stays on the animatic."""
    configure(
        root,
        **{'premium = "animatic"': f'premium = "{VEO}"', 'mid = "animatic"': f'mid = "{KLING}"'},
    )


def shots(r: Any) -> dict[str, Any]:
    record = r.store.latest("SHOTLIST", "S01")
    shotlist = r.store.load(record.name)
    assert isinstance(shotlist, ShotList)
    return {row.shot_id: row for row in shotlist.rows}


def settings(r: Any, shot_id: str) -> dict[str, str]:
    pack = r.store.load(r.run("prompt-packager", shot_id).records[0].name)
    assert isinstance(pack, GenPack)
    return dict(line.split(": ", 1) for line in pack.settings.splitlines())


def test_planned_durations_are_snapped_to_the_routed_models_lengths(film: Path) -> None:
    route(film)
    r, model = runner(film, [GOOD])
    assert r.run("shot-planner", "S01").gate.passed
    rows = shots(r)
    # B 4 s on Kling: a 5 s clip, trimmed back; A 4 s on Veo: a 4 s clip; C: the animatic
    assert rows["S01_SH02"].notes == f"model clip 5s ({KLING})"
    assert rows["S01_SH03"].notes == f"model clip 4s ({VEO})"
    assert rows["S01_SH01"].notes == ""
    assert [row.duration_s for row in rows.values()] == [3.0, 4.0, 4.0, 5.0]  # the plan stands
    # the planner is told the lengths
    assert f"hero B shots render on {KLING}: clips of 5, 10s" in model.requests[0].prompt
    # the GenPack records them too
    kling = settings(r, "S01_SH02")
    assert (kling["duration_s"], kling["video_model"], kling["model_duration_s"]) == (
        "4",
        KLING,
        "5",
    )
    assert "model_duration_s" not in settings(r, "S01_SH01")


def test_a_shot_longer_than_the_models_longest_clip_is_refused(film: Path) -> None:
    route(film)
    answer = {
        "rows": [
            *GOOD["rows"][:2],
            shot(3, hero_tier="A", duration_s=9.0, char_ids=["MIRA"], camera_type="close_up"),
        ]
    }
    r, _ = runner(film, [answer])
    result = r.run_once("shot-planner", "S01")
    assert result.gate.verdict == "FAIL"
    assert any(
        f"S01_SH03: 9s is longer than the longest clip {VEO} makes (8s; hero A)" in reason
        for reason in result.gate.reasons
    )


def test_models_outside_the_catalogue_keep_the_planned_lengths(film: Path) -> None:
    r = plan(film)
    assert all(row.notes == "" for row in shots(r).values())
    assert "model_duration_s" not in settings(r, "S01_SH02")
