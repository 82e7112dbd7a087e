"""The one convention for a model-backed skill's system prompt: a Markdown file of package
data beside the skill, ``filmslate/skills/<layer>/prompts/<prompt name>.md``.

Prompts are prose that writers and directors edit; they live as files, not as constants in
code, and are read once per process.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from ..core._errors import FilmslateError


@cache
def system_prompt(package: str, name: str) -> str:
    """The prompt ``<name>.md`` of a skills package (e.g. ``filmslate.skills.narrative``)."""
    path = resources.files(package) / "prompts" / f"{name}.md"
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FilmslateError(
            f"the prompt {name}.md is missing from {package}/prompts: reinstall filmslate",
            package=package,
            prompt=name,
        ) from None
