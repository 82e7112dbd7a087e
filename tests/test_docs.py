"""The reference docs are rendered from the code and checked here, so they cannot drift:
one page per skill (every skill of the seed among them) and the architecture's rule table."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import SEED_SKILLS
from filmslate._skill_docs import DOCS, render_all, render_index

ROOT = Path(__file__).resolve().parents[1]
REGENERATE = "regenerate with `python -m filmslate._skill_docs`"


def test_every_skill_page_is_current() -> None:
    pages = {**render_all(), "README.md": render_index()}
    on_disk = {p.name: p.read_text(encoding="utf-8") for p in DOCS.glob("*.md")}
    assert sorted(on_disk) == sorted(pages), REGENERATE
    stale = [name for name, text in pages.items() if on_disk[name] != text]
    assert stale == [], f"{', '.join(stale)} drifted from the code: {REGENERATE}"


def test_the_23_skills_of_the_seed_have_pages() -> None:
    assert len(SEED_SKILLS) == 23
    assert {name.removesuffix(".md") for name in render_all()} >= SEED_SKILLS


def test_every_page_says_inputs_outputs_gate_escalation_and_log() -> None:
    for name, text in render_all().items():
        for heading in ("## Inputs", "## Outputs", "## Gate", "## On FAIL", "## Log"):
            assert heading in text, f"{name} lacks {heading}"


def test_the_architecture_names_modules_that_exist() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    layers = "core|schemas|rules|store|engine|providers|skills|workflow|cli"
    named = set(re.findall(rf"`(filmslate\.(?:{layers})(?:\.\w+)*)`", text))
    assert len(named) > 20
    missing = [m for m in sorted(named) if not _exists(m)]
    assert missing == [], f"docs/architecture.md names modules that do not exist: {missing}"


def _exists(dotted: str) -> bool:
    base = ROOT / "src" / Path(*dotted.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()
