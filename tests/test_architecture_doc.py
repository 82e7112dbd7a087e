"""The docs never state a stale skill count: docs/architecture.md said "27 built-in skills"
long after there were more. A count written anywhere in the docs must be the registry's."""

from __future__ import annotations

import re
from pathlib import Path

from filmslate._skill_docs import builtin_skills

ROOT = Path(__file__).resolve().parents[1]
COUNT_RE = re.compile(r"\b(\d+) (?:built-in |builtin )?skills\b")


def test_a_skill_count_in_the_docs_is_the_registrys() -> None:
    shipped = len(builtin_skills())
    stale = [
        f"{path.relative_to(ROOT)}: {found.group()} (the registry has {shipped})"
        for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
        for found in COUNT_RE.finditer(path.read_text(encoding="utf-8"))
        if int(found.group(1)) != shipped
    ]
    assert not stale, "\n".join(stale)


def test_the_architecture_page_points_at_the_generated_list() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert "[docs/skills](skills/README.md)" in text
    assert (ROOT / "docs" / "skills" / "README.md").is_file()
