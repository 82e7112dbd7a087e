"""storyboard-generator's gate looks (issue 13 §7) when the vision tier has a vision model.

Against the local OpenAI-compatible server (127.0.0.1): the request carries the frame and the
shot's character and set sheets as image parts, each after its label; the model answers item by
item (composition, characters present, anchors visible) and the verdict is computed in code. A
character the model does not see FAILs the gate with the reason, and the storyboard loop draws
again and asks again; the second answer sees everyone and passes. Each look is metered: the
cost recorded is the tokens the server reported, images included. Without a vision model on
the vision tier nothing is sent and the gate is the code's alone.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import test_qc_vision as qcv
from filmslate import Project
from filmslate.engine._gateway import Gateway
from filmslate.engine._runner import Runner, provider_settings
from filmslate.schemas import StoryboardReport
from filmslate.skills.production._storyboard_vision import (
    FrameAnswer,
    frame_failures,
    frame_items,
    redraw_prompt,
)
from filmslate.testing.openai_server import OpenAIServer
from test_skills_production import MILL, shot

film = qcv.film
COMPOSITION = "composition: medium framing, ALEX and MIRA, no one else in frame"
ANCHORS = ("anchor: millstone", "anchor: rusted gear wall", "anchor: cracked skylight")


def answer(mira: bool, note: str = "") -> dict[str, Any]:
    """The model's look at S01_SH02 (ALEX and MIRA in the OLD_MILL, medium)."""
    items = [
        {"item": COMPOSITION, "seen": True},
        {"item": "character: ALEX", "seen": True},
        {"item": "character: MIRA", "seen": mira, "note": note},
        *({"item": anchor, "seen": True} for anchor in ANCHORS),
    ]
    return {"items": items, "notes": ""}


MIRA_MISSING = answer(False, "one figure only, at the left")
EVERYONE = answer(True)


def board(root: Path) -> tuple[Any, list[tuple[float, float]], list[tuple[str, str]]]:
    """Run storyboard-generator on S01_SH02 to its end; its spend and run rows."""
    with Project(root) as project:
        runner = Runner(project, qcv.registry(), Gateway(root, provider_settings(project)))
        with runner.gateway:
            result = runner.run("storyboard-generator", "S01_SH02")
        conn = project.store.conn
        spend = conn.execute(
            "SELECT estimated_cost, actual_cost FROM runlog WHERE event = 'spend' "
            "AND skill_name = 'storyboard-generator' ORDER BY seq"
        ).fetchall()
        runs = conn.execute(
            "SELECT outcome, notes FROM runlog WHERE event = 'run' "
            "AND skill_name = 'storyboard-generator' ORDER BY seq"
        ).fetchall()
    return result, [(float(e), float(a)) for e, a in spend], runs


def latest_report(root: Path) -> StoryboardReport:
    with Project(root) as project:
        record = project.store.latest("STORYBOARD_REPORT", "S01_SH02")
        assert record is not None
        report = project.store.load(record.name)
    assert isinstance(report, StoryboardReport)
    return report


def test_a_missing_character_fails_the_look_and_the_redraw_passes(film: Path) -> None:
    with OpenAIServer([MIRA_MISSING, EVERYONE], tokens=qcv.vendor_tokens) as server:
        qcv.prepared(film, server, qcv.VL_MODEL, declared=True)
        result, spend, runs = board(film)
        requests = server.completions()
    assert len(requests) == 2  # one look per drawing
    for request in requests:
        labels = [label for label, _ in qcv.image_parts(request.body)]
        assert labels == [
            "[storyboard frame S01_SH02]",
            "[reference: CHAR_ALEX_REF_v001]",
            "[reference: CHAR_MIRA_REF_v001]",
            "[reference: SET_OLD_MILL_REF_v001]",
        ]
        frame = qcv.image_parts(request.body)[0][1]
        assert frame.startswith(b"\x89PNG") and qcv.png_size(frame) == (640, 360)
        text = json.dumps(request.body["messages"])
        assert "character: MIRA" in text and "anchor: millstone" in text
    # the verdict in code: the first look missed MIRA -> FAIL with the reason; redrawn -> PASS
    assert [outcome for outcome, _ in runs] == ["FAIL", "PASS"]
    assert "storyboard frame lacks character: MIRA (one figure only, at the left)" in runs[0][1]
    assert result.gate.verdict == "PASS" and result.attempt == 2
    report = latest_report(film)
    assert "vision tier, item by item:" in report.composition
    assert "- character: MIRA: seen" in report.composition
    # money: each look reserved before it was sent and settled at what the server reported
    assert len(spend) == 2
    for (estimated, actual), request in zip(spend, requests, strict=True):
        billed_in, billed_out = qcv.vendor_tokens(request.body)
        price_in, price_out = qcv.PRICE
        assert actual == pytest.approx((billed_in * price_in + billed_out * price_out) / 1e6)
        assert estimated >= actual > 0


def test_an_image_models_redraw_asks_for_what_was_missing_with_a_new_seed(film: Path) -> None:
    from test_sheets import SEEDREAM, Hosted, serve_images

    hosted = Hosted()
    with OpenAIServer([MIRA_MISSING, EVERYONE], tokens=qcv.vendor_tokens) as server:
        qcv.prepared(film, server, qcv.VL_MODEL, declared=True)
        serve_images(film, storyboard=SEEDREAM)
        with Project(film) as project:
            runner = Runner(project, qcv.registry(), Gateway(film, provider_settings(project)))
            images = runner.image_service()
            images.providers["fal"] = hosted
            images.poll_interval_s = 0.0
            with runner.gateway:
                result = runner.run("storyboard-generator", "S01_SH02")
        requests = server.completions()
    assert result.gate.verdict == "PASS" and len(requests) == 2
    first, redraw = hosted.jobs
    assert "Clearly visible" not in first.prompt
    assert redraw.prompt == first.prompt + " Clearly visible: MIRA."
    assert redraw.seed != first.seed
    # each look saw the frame the image model made (cropped to the proxy's shape)
    frames = [qcv.image_parts(r.body)[0][1] for r in requests]
    assert all(qcv.png_size(frame) == (640, 360) for frame in frames)


def test_without_a_vision_model_nothing_is_sent_and_the_gate_is_the_codes(film: Path) -> None:
    with OpenAIServer([MIRA_MISSING]) as server:
        qcv.prepared(film, server, "compat:local-llm", declared=False)
        result, spend, runs = board(film)
        assert server.completions() == []
    assert result.gate.verdict == "PASS" and [o for o, _ in runs] == ["PASS"]
    assert spend == []
    assert "vision tier" not in latest_report(film).composition


def _row(camera: str, cast: list[str]) -> Any:
    from filmslate.schemas import ShotRow

    return ShotRow.model_validate(shot(2, camera_type=camera, char_ids=cast))


def _look(items: list[Any], unseen: set[str]) -> FrameAnswer:
    return FrameAnswer.model_validate(
        {"items": [{"item": i.label, "seen": i.label not in unseen} for i in items]}
    )


@pytest.mark.parametrize(
    ("camera", "cast", "unseen", "failing"),
    [
        ("wide", ["ALEX"], {"anchor: millstone"}, ["anchor: millstone"]),  # every anchor
        ("medium", ["ALEX"], {"anchor: millstone"}, []),  # one anchor is enough
        ("medium", ["ALEX"], set(ANCHORS), ["shows no anchor of the set"]),
        ("close_up", ["ALEX"], set(), []),  # no anchor asked
        ("insert", ["ALEX"], {"character: ALEX"}, []),  # a hand with the prop will do
        ("two_shot", ["ALEX", "MIRA"], {"character: MIRA"}, ["character: MIRA"]),
    ],
)
def test_what_each_framing_must_show(
    camera: str, cast: list[str], unseen: set[str], failing: list[str]
) -> None:
    row = _row(camera, cast)
    items = frame_items(row, MILL)
    close = camera in ("close_up", "insert")
    assert ("anchor: millstone" in [i.label for i in items]) == (not close)
    if close:
        assert [i.group for i in items] == ["composition", "character"]
    if camera == "insert":
        assert items[0].label == "composition: insert framing, leather ledger filling the frame"
    failures = frame_failures(row.shot_id, camera, items, _look(items, unseen))
    assert len(failures) == len(failing)
    for failure, expected in zip(failures, failing, strict=True):
        assert expected in failure


def test_an_item_left_unanswered_is_not_seen() -> None:
    row = _row("medium", ["ALEX"])
    items = frame_items(row, MILL)
    partial = FrameAnswer.model_validate({"items": [{"item": items[0].label, "seen": True}]})
    failures = frame_failures(row.shot_id, "medium", items, partial)
    assert "lacks character: ALEX (the vision tier did not answer it)" in failures[0]
    assert "shows no anchor of the set" in failures[1]


def test_a_redraw_asks_for_what_the_look_found_missing() -> None:
    row = _row("medium", ["ALEX", "MIRA"])
    items = frame_items(row, MILL)
    look = _look(items, {items[0].label, "character: MIRA", *ANCHORS})
    reasons = tuple(frame_failures(row.shot_id, "medium", items, look))
    assert len(reasons) == 3  # the composition, MIRA, no anchor at all
    assert redraw_prompt(items, reasons) == (
        " Composition: medium framing, ALEX and MIRA, no one else in frame."
        " Clearly visible: MIRA, millstone, rusted gear wall, cracked skylight."
    )
    assert redraw_prompt(items, ()) == ""
