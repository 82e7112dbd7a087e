"""qc-grader with rubric_source = "model" shows the vision tier the take (issue 13 §2).

Against the local OpenAI-compatible server (127.0.0.1): the QC request carries the sampled
frames of the take and the shot's character and set sheets as image parts, each after a text
part with its label; the worst case reserved before the call counts their tokens and the cost
recorded after it is the tokens the server reported, images included. The model's
contradictions (frame, lock item) reach the QC row's notes; the verdict stays in code. A
vision tier whose model cannot take images is refused before anything is reserved or sent.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

import test_skills_production as production
from filmslate import ConfigError, Project
from filmslate.engine._attachments import image_tokens
from filmslate.engine._gateway import Gateway, estimate_tokens
from filmslate.engine._runner import Runner, provider_settings
from filmslate.engine._skill import Registry
from filmslate.skills.production import (
    PromptPackager,
    QcGrader,
    ReferenceSheets,
    ShotPlanner,
    StoryboardGenerator,
)
from filmslate.skills.production._qc_vision import spaced
from filmslate.testing.openai_server import OpenAIServer
from test_skills_qc import MILL_BROWN, batch, clip

film = production.film
VL_MODEL = "compat:local-vl"
PRICE = (2.0, 8.0)  # USD per million tokens
ALL_TWO = {
    "face_consistency": 2,
    "wardrobe_consistency": 2,
    "set_continuity": 2,
    "prop_accuracy": 2,
    "lighting_consistency": 1,
    "motion_integrity": 2,
    "notes": "the lamp reads cold",
    "contradictions": [
        {
            "category": "lighting_consistency",
            "frame": "take frame 4 of 6 (about 2.4 s)",
            "lock_item": "SET_OLD_MILL_REF_v001: tungsten 2800 K",
            "detail": "blue daylight on the wall",
        }
    ],
}


def image_parts(body: dict[str, Any]) -> list[tuple[str, bytes]]:
    """(label, PNG bytes) of every image part, the label from the text part before it."""
    found, label = [], ""
    for message in body["messages"]:
        content = message.get("content")
        for part in content if isinstance(content, list) else []:
            if part["type"] == "text":
                label = part["text"]
            elif part["type"] == "image_url":
                data = part["image_url"]["url"].partition(",")[2]
                found.append((label, base64.b64decode(data)))
    return found


def vendor_tokens(body: dict[str, Any]) -> tuple[int, int]:
    """What a vendor bills as input: the text parts, plus each image by the OpenAI formula."""
    words = json.dumps(
        [m["content"] if isinstance(m["content"], str) else "" for m in body["messages"]]
    ) + " ".join(label for label, _ in image_parts(body))
    pictures = sum(image_tokens("openai", *png_size(data)) for _, data in image_parts(body))
    return estimate_tokens(words) + pictures, 60


def png_size(data: bytes) -> tuple[int, int]:
    import io

    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        return image.size


def registry() -> Registry:
    reg = Registry()
    for skill in (ShotPlanner, PromptPackager, StoryboardGenerator, ReferenceSheets, QcGrader):
        reg.register(skill)
    return reg


def prepared(root: Path, server: OpenAIServer, vision: str, declared: bool) -> None:
    """Planned, packaged shots with sheets; the vision tier on the local server."""
    production.plan(root)
    r, _ = production.runner(root)
    with Project(root) as project:
        scripted = Runner(project, registry(), r.gateway)
        assert scripted.run("reference-sheets", "S01").gate.passed
        assert scripted.run("prompt-packager", "S01_SH02").gate.passed
        scripted.store.write("PROXY", "S01_SH02", clip(root.parent, MILL_BROWN))
    config = root / "filmslate.toml"
    text = config.read_text().replace('vision = "scripted:vision"', f'vision = "{vision}"')
    text = text.replace(
        "[prices]\n", f'[prices]\ntext = {{ "{vision}" = [{PRICE[0]}, {PRICE[1]}] }}\n'
    )
    if declared:
        text = text.replace("[providers]\n", f'[providers]\nvision_models = ["{vision}"]\n')
    config.write_text(text + "\n" + server.providers_toml("compat"))


def grade(root: Path) -> Any:
    with Project(root) as project:
        runner = Runner(project, registry(), Gateway(root, provider_settings(project)))
        with runner.gateway:
            result = runner.run("qc-grader", "S01_SH02", params={"rubric_source": "model"})
            spend = project.store.conn.execute(
                "SELECT estimated_cost, actual_cost FROM runlog WHERE event = 'spend' "
                "AND skill_name = 'qc-grader'"
            ).fetchall()
            return result, batch(runner), spend


def test_the_qc_request_carries_the_frames_and_the_sheets(film: Path) -> None:
    with OpenAIServer([ALL_TWO], tokens=vendor_tokens) as server:
        prepared(film, server, VL_MODEL, declared=True)
        result, qc, spend = grade(film)
        (request,) = server.completions()
    images = image_parts(request.body)
    labels = [label for label, _ in images]
    frames = [x for x in labels if x.startswith("[take frame ")]
    assert len(frames) == 6 and frames[0].startswith("[take frame 1 of 6 (about 0.0 s)")
    # S01_SH02 shows ALEX and MIRA in the OLD_MILL: their sheets follow the frames
    assert labels[6:] == [
        "[reference: CHAR_ALEX_REF_v001]",
        "[reference: CHAR_MIRA_REF_v001]",
        "[reference: SET_OLD_MILL_REF_v001]",
    ]
    assert all(data.startswith(b"\xff\xd8") for _, data in images[:6])  # frames: JPEG
    assert all(data.startswith(b"\x89PNG") for _, data in images[6:])  # sheets: PNG
    assert "GENPACK: S01_SH02" in json.dumps(request.body["messages"])
    # the verdict in code: 13 of 14 at hero B (threshold 10) passes; the contradiction is noted
    assert result.gate.verdict == "PASS"
    (row,) = qc.rows
    assert row.lighting_consistency == 1
    assert "take frame 4 of 6 (about 2.4 s) vs SET_OLD_MILL_REF_v001" in row.notes
    # money: the hold counted the images; the settled cost is the tokens reported, images in
    ((estimated, actual),) = [(float(e), float(a)) for e, a in spend]
    billed_in, billed_out = vendor_tokens(request.body)
    image_share = sum(image_tokens("compat", 320, 180) for _ in frames)
    assert billed_in > image_share
    assert actual == pytest.approx((billed_in * PRICE[0] + billed_out * PRICE[1]) / 1e6)
    assert estimated >= actual and estimated * 1e6 / PRICE[0] > image_share * 3


def test_a_blind_vision_tier_is_refused_before_anything_is_sent(film: Path) -> None:
    with OpenAIServer([ALL_TWO]) as server:
        prepared(film, server, "compat:local-llm", declared=False)
        with pytest.raises(ConfigError) as caught:
            grade(film)
        assert server.completions() == []
    message = str(caught.value)
    assert "vision tier" in message and "compat:local-llm" in message
    assert "vision_models" in message
    with Project(film) as project:
        holds = project.store.conn.execute(
            "SELECT count(*) FROM runlog WHERE event = 'spend' AND skill_name = 'qc-grader'"
        ).fetchone()
    assert holds == (0,)


def test_frames_are_first_last_and_evenly_spaced() -> None:
    assert spaced(24, 6) == [0, 5, 9, 14, 18, 23]
    assert spaced(4, 6) == [0, 1, 2, 3]
