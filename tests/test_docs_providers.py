"""docs/providers.md cannot drift: each complete filmslate.toml example passes the real
`slate config check`, and its cost table is exactly what the catalogue computes today.

Run this file (``python tests/test_docs_providers.py``) to print the table to paste into the
doc after a catalogue change.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import run_slate
from filmslate.core._catalogue import Catalogue, load_catalogue

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "providers.md"

# The assumptions the table states: one scene of ten shots planned at these lengths (40 s),
# each rendered once as a proxy and once as a final at the default [resolution] sizes, no
# regenerations; three sheets (two characters and the set) and ten storyboard frames.
PLAN_S = (3, 4, 5, 3, 6, 4, 3, 5, 4, 3)
PROXY, FINAL = (640, 360), (1920, 1080)
SHEET, BOARD = (1280, 720), (640, 360)
SHEETS = 3
IMAGES = {  # vendor -> (sheet model, storyboard model)
    "fal": ("fal:fal-ai/flux/dev", "fal:fal-ai/bytedance/seedream/v4/edit"),
    "comfyui": ("comfyui:flux-dev", "comfyui:flux-kontext-dev"),
    "replicate": ("replicate:black-forest-labs/flux-dev", "replicate:black-forest-labs/flux-dev"),
}


def images_cost(catalogue: Catalogue, vendor: str) -> float:
    """The sheets and storyboard frames of one scene on the vendor's image models."""
    sheet, board = (catalogue.get(model) for model in IMAGES[vendor])
    return SHEETS * sheet.cost(0.0, *SHEET) + len(PLAN_S) * board.cost(0.0, *BOARD)


def cost_table(catalogue: Catalogue | None = None) -> str:
    """The Markdown table of what a 10-shot scene costs on each shipped video model."""
    catalogue = catalogue or load_catalogue()
    lines = [
        "| video model | lengths sent (s) | 10 clips x (proxy + final) | images | scene |",
        "|---|---|---:|---:|---:|",
    ]
    for vendor in IMAGES:
        images = images_cost(catalogue, vendor)
        for key, entry in sorted(catalogue.entries.items()):
            if entry.kind != "video" or not key.startswith(f"{vendor}:"):
                continue
            sent = [entry.snap_duration(s) for s in PLAN_S]
            video = sum(entry.cost(s, *PROXY) + entry.cost(s, *FINAL) for s in PLAN_S)
            lengths = " ".join(f"{s:g}" for s in sent)
            lines.append(
                f"| `{key}` | {lengths} | {video:.2f} | {images:.2f} | {video + images:.2f} |"
            )
    return "\n".join(lines)


def examples() -> list[tuple[str, str]]:
    """(vendor, text) of every ```toml block of the doc that is a whole filmslate.toml."""
    blocks = re.findall(r"```toml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    whole = [b for b in blocks if b.lstrip().startswith("# filmslate.toml")]
    return [(re.findall(r"\[providers\.(\w+)\]", b)[0], b) for b in whole]


def test_the_doc_has_a_whole_example_for_each_vendor() -> None:
    assert sorted(vendor for vendor, _ in examples()) == ["comfyui", "fal", "replicate"]


@pytest.mark.parametrize("vendor", ["fal", "comfyui", "replicate"])
def test_each_example_passes_slate_config_check(vendor: str, tmp_path: Path) -> None:
    [text] = [t for v, t in examples() if v == vendor]
    (tmp_path / "filmslate.toml").write_text(text, encoding="utf-8")
    result = run_slate("config", "check", "-C", str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok" in result.stdout


def test_the_cost_table_is_what_the_catalogue_computes() -> None:
    table = cost_table()
    assert table in DOC.read_text(encoding="utf-8"), (
        "docs/providers.md's cost table drifted from the catalogue; paste the output of "
        "`python tests/test_docs_providers.py`:\n" + table
    )


def test_the_readme_points_at_the_doc() -> None:
    assert "docs/providers.md" in (ROOT / "README.md").read_text(encoding="utf-8")


if __name__ == "__main__":
    print(cost_table())
