"""The cost projection counts the vision tier's looks (SPEC §8: cost is projected before it
is spent): with a vision model on the vision tier, `slate cost` grows by what the gateway
would reserve for storyboard-generator's look at each frame, qc-grader's looks at each take
(rubric_source "model", times the regen multiplier) and visual-continuity's look at each
accepted take; with the offline replay vision tier, by nothing.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from conftest import run_slate
from filmslate import Project
from filmslate.engine._attachments import Attachment
from filmslate.engine._gateway import TextProvider, TextRequest, TextResult
from filmslate.schemas import CostReport
from filmslate.skills._prompts import system_prompt
from filmslate.skills.governance._vision_cost import PROMPT_TOKENS

MODEL = "openai:gpt-4.1-mini"  # a vision model genai-prices knows (bundled: offline)
HEADER = (
    "shot_id,scene_id,duration_s,camera_type,blocking_summary,set_id,char_ids,hero_tier,"
    "complexity_level,regen_risk_estimate,notes"
)
SHOTS = f"""{HEADER}
S01_SH01,S01,4,medium,Ada and Bo wait by the door.,HALL,"ADA, BO",B,low,high,
S01_SH02,S01,3,wide,The empty hall.,HALL,,C,low,low,
"""
FRAME = (320, 180)  # a sampled frame of a 640x360 proxy: the decode's look size
SHEET = (1280, 720)  # a character or set sheet
BOARD = (640, 360)  # a storyboard frame: the proxy size


class Reserving(TextProvider):
    """The OpenAI prefix's worst case, as the gateway reserves it (never sent)."""

    name = "openai"

    def complete(self, request: TextRequest) -> TextResult:
        raise AssertionError("a projection sends nothing")


def png(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size).save(buffer, "PNG")
    return buffer.getvalue()


def reserved(package: str, prompt: str, sizes: list[tuple[int, int]]) -> float:
    """What the gateway reserves for one look: the skill's system prompt, the shot's prompt
    (PROMPT_TOKENS at three characters a token), the images with 40-character labels."""
    images = tuple(Attachment("x" * 40, png(size)) for size in sizes)
    request = TextRequest(
        skill=prompt,
        target="S01_SH01",
        attempt=1,
        model=MODEL,
        system=system_prompt(package, prompt),
        prompt="x" * (3 * PROMPT_TOKENS),
        output_type=CostReport,
        images=images,
    )
    return Reserving().worst_case_cost(request)


def projected(tmp_path: Path, name: str, edits: dict[str, str]) -> CostReport:
    run_slate("init", name, cwd=tmp_path, check=True)
    root = tmp_path / name
    config = root / "filmslate.toml"
    text = config.read_text()
    for old, new in edits.items():
        assert old in text, old
        text = text.replace(old, new)
    config.write_text(text)
    (tmp_path / "SHOTLIST_S01.csv").write_text(SHOTS)
    run_slate("add", str(tmp_path / "SHOTLIST_S01.csv"), cwd=root, check=True)
    run_slate("cost", "--scene", "S01", cwd=root, check=True)
    with Project(root) as project:
        record = project.store.latest("COST_REPORT", "S01")
        assert record is not None
        report = project.store.load(record.name)
    assert isinstance(report, CostReport)
    return report


LOOKS = {
    'rubric_source = "technical"': 'rubric_source = "model"',
    "visual_continuity = false": "visual_continuity = true",
}
SEES = {'vision = "replay:vision"': f'vision = "{MODEL}"'}


def test_the_vision_tiers_looks_are_projected(tmp_path: Path) -> None:
    without = projected(tmp_path, "offline", LOOKS)  # the replay vision tier costs nothing
    seeing = projected(tmp_path, "seeing", {**LOOKS, **SEES})
    production, continuity = "filmslate.skills.production", "filmslate.skills.continuity"
    expected = 0.0
    for cast, multiplier in ((2, 1.6), (0, 1.1)):  # SH01: ADA, BO, high risk; SH02: nobody
        sheets = [SHEET] * (cast + 1)  # the characters' and the set's
        frames = [FRAME] * 6  # [qc] sample_frames
        expected += reserved(production, "storyboard-generator", [BOARD, *sheets])
        expected += reserved(continuity, "visual-continuity", [*frames, *sheets])
        expected += multiplier * reserved(production, "qc-grader", [*frames, *sheets])
    assert expected > 0.01  # tokens that cost something
    grown = seeing.projected_total - without.projected_total
    assert grown == pytest.approx(expected, abs=2e-4)  # the report keeps four decimals
    vision = {line.tier: line.cost for line in seeing.cost_per_tier}["vision"]
    assert vision == pytest.approx(expected, abs=1e-4)
    assert "vision" not in {line.tier for line in without.cost_per_tier}


def test_only_the_looks_that_will_happen_are_projected(tmp_path: Path) -> None:
    """Technical QC and no visual pass: only storyboard-generator's gate looks."""
    report = projected(tmp_path, "board", SEES)
    production = "filmslate.skills.production"
    expected = reserved(production, "storyboard-generator", [BOARD, SHEET, SHEET, SHEET])
    expected += reserved(production, "storyboard-generator", [BOARD, SHEET])
    assert report.projected_total == pytest.approx(expected, abs=1e-4)  # the clips are free
