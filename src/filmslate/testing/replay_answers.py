"""Realistic answers for the local OpenAI-compatible server: authored replay answers, found by
what each chat request is for.

A production run over HTTP asks every text skill, and the server sees only the messages. A
request is for the skill whose prompt file (``prompts/<prompt_name>.md`` of the skill's
package) its system message carries (:func:`asked_skill`), and for the first target id its
prompt names, a shot, a scene or PROJECT (:func:`asked_target`; PROJECT when it names none).
``ReplayAnswers(folder)`` is an :class:`~filmslate.testing.openai_server.OpenAIServer`
answers function over a folder laid out as the replay provider's
(``<skill>/<target>/<n>.json``, wrapped or bare). The n-th request for a skill and target is
answered from the first of:

1. ``<skill>/<target>/<n>.json``, ``<skill>/<target>/any.json``, or the highest
   ``<k>.json`` below n there (a rerun after an upstream revision is answered like the last
   revision, never by an earlier failing one when a later one exists);
2. for a scene ``S<k>``, ``<skill>/PROJECT/1-<k>.json`` (a project-wide run that asks once
   per scene, in scene order);
3. ``<skill>/PROJECT/`` as in 1 (a whole-story skill whose prompt names a scene first);
4. ``<skill>/any.json``.

New and changed skills are answered from the same folder without a test knowing them.
``edit(asked, answer)`` may change an answer (a finding on the first ask, say) or make one
where the folder has none (``answer`` is then None); returning None leaves it unanswered. An
unanswered request gets ``{}`` (it fails the schema, so the run stops naming the skill) and
is listed in :attr:`ReplayAnswers.misses`.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = ["Asked", "ReplayAnswers", "asked_skill", "asked_target", "message_text"]

# a shot before a scene (S01_SH02 is not S01), then the other target ids
TARGET_RE = re.compile(
    r"\b((?:E[0-9]{2,}_)?S[0-9]{2,}_SH[0-9]{2,}|(?:E[0-9]{2,}_)?S[0-9]{2,}|ACT_[0-9]+|E[0-9]{2,}"
    r"|PROJECT)\b"
)
NUMBERED_RE = re.compile(r"([0-9]+)\.json")
WRAPPER_KEYS = frozenset({"output", "usage", "cost", "images"})  # as the replay provider's
Edit = Callable[["Asked", dict[str, Any] | None], dict[str, Any] | None]


@dataclass(frozen=True)
class Asked:
    """One chat request as the answers saw it: the skill and target it is for, which request
    for them it is (1 = the first), its prompt, and the file that answered it ('' if none)."""

    skill: str
    target: str
    number: int
    prompt: str
    source: str = ""


def message_text(body: dict[str, Any], roles: tuple[str, ...]) -> str:
    """The text of a request's messages in ``roles`` (text parts of multi-part contents)."""
    out = []
    for message in body.get("messages") or []:
        if message.get("role") not in roles:
            continue
        content = message.get("content")
        if isinstance(content, str):
            out.append(content)
        elif isinstance(content, list):
            out += [str(p.get("text", "")) for p in content if p.get("type") == "text"]
    return "\n\n".join(out)


@lru_cache(maxsize=1)
def _skill_prompts() -> tuple[tuple[str, str], ...]:
    """(system text, skill name) of every registered skill with a prompt file (and its
    notes), longest first: a prompt that another skill's system text extends is tried after."""
    from ..core._errors import FilmslateError
    from ..engine._skill import load_skills
    from ..skills._prompts import system_prompt

    found = []
    for skill in load_skills():
        names = (getattr(skill, "prompt_name", ""), *getattr(skill, "prompt_notes", ()))
        package = skill.__module__.rsplit(".", 1)[0]
        try:  # a skill's notes follow its prompt (the red team's light pass)
            text = "\n\n".join(system_prompt(package, n) for n in names if names[0]).strip()
        except FilmslateError:
            continue
        if text:
            found.append((text, skill.name))
    return tuple(sorted(found, key=lambda pair: -len(pair[0])))


def asked_skill(body: dict[str, Any]) -> str:
    """The skill a chat request is for: the one whose prompt file its system message carries
    ('' when none does)."""
    system = message_text(body, ("system", "developer")) or message_text(body, ("user",))
    return next((skill for text, skill in _skill_prompts() if text in system), "")


def asked_target(body: dict[str, Any]) -> str:
    """The first target id a request's prompt names (PROJECT when it names none)."""
    found = TARGET_RE.search(message_text(body, ("user",)))
    return found.group(1) if found else "PROJECT"


class ReplayAnswers:
    """An answers function for OpenAIServer over a replay folder (see the module docs)."""

    def __init__(self, folder: Path, edit: Edit | None = None) -> None:
        self.folder = folder
        self.edit = edit
        self.asked: list[Asked] = []
        self.misses: list[Asked] = []
        self._counts: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def __call__(self, body: dict[str, Any]) -> dict[str, Any]:
        skill, target = asked_skill(body), asked_target(body)
        with self._lock:
            number = self._counts.get((skill, target), 0) + 1
            self._counts[skill, target] = number
        path = self.lookup(skill, target, number) if skill else None
        asked = Asked(skill, target, number, message_text(body, ("user",)), str(path or ""))
        answer = _unwrap(json.loads(path.read_text(encoding="utf-8"))) if path else None
        if self.edit is not None:
            answer = self.edit(asked, answer)
        with self._lock:
            self.asked.append(asked)
            if answer is None:
                self.misses.append(asked)
        return answer if answer is not None else {}

    def lookup(self, skill: str, target: str, number: int) -> Path | None:
        """The file answering the ``number``-th request for ``skill`` on ``target``."""
        base = self.folder / skill
        found = _numbered(base / target, number)
        scene = re.fullmatch(r"S0*([0-9]+)", target)
        if found is None and scene is not None:
            per_scene = base / "PROJECT" / f"1-{int(scene.group(1))}.json"
            found = per_scene if per_scene.is_file() else None
        if found is None and target != "PROJECT":
            found = _numbered(base / "PROJECT", number)
        if found is None and (base / "any.json").is_file():
            found = base / "any.json"
        return found

    def of(self, skill: str, target: str | None = None) -> list[Asked]:
        """The requests for ``skill`` (on ``target``), oldest first."""
        return [a for a in self.asked if a.skill == skill and target in (None, a.target)]


def _numbered(folder: Path, number: int) -> Path | None:
    """``<number>.json``, else ``any.json``, else the highest ``<k>.json`` below number."""
    if not folder.is_dir():
        return None
    for name in (f"{number}.json", "any.json"):
        if (folder / name).is_file():
            return folder / name
    below = [
        (int(m.group(1)), path)
        for path in folder.iterdir()
        if (m := NUMBERED_RE.fullmatch(path.name)) and int(m.group(1)) < number
    ]
    return max(below)[1] if below else None


def _unwrap(data: Any) -> dict[str, Any]:
    """The answer of a replay file, wrapped (``{"output": ..., "usage": ...}``) or bare."""
    if isinstance(data, dict) and "output" in data and set(data) <= WRAPPER_KEYS:
        return dict(data["output"])
    return dict(data) if isinstance(data, dict) else {}
