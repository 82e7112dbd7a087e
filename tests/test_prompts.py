"""One convention for system prompts: a model-backed skill sends the text of its prompt file,
``filmslate/skills/<layer>/prompts/<prompt_name>.md``, byte for byte (plus the files named in
``prompt_notes``, each after a blank line, where a variant shares another skill's prompt).

The prompt a skill sends is caught at its first question: every covered skill runs on one
small film whose inputs reach that question, and the question stops the run.
"""

from __future__ import annotations

import tempfile
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from filmslate.core._config import parse_config
from filmslate.engine._skill import Context, Inputs, Skill, load_skills
from filmslate.schemas import (
    QC_CATEGORIES,
    Beats,
    Breakdown,
    BreakdownRow,
    GenPack,
    Premise,
    QcBatch,
    QcRow,
    SceneRow,
    Scenes,
    ScriptScene,
    ShotList,
    Truth,
)
from test_runtime import BEATS
from test_skills_production import _report, shot
from test_skills_qc import clip
from test_skills_validation import GOOD_TRUTH, SCENES, char_lock

# The skills packages whose model-backed skills this test holds to the convention.
PACKAGES = (
    "filmslate.skills.narrative",
    "filmslate.skills.validation",
    "filmslate.skills.continuity",
    "filmslate.skills.production",
)

# qc-grader asks a model only for the rubric of rubric_source = "model"; storyboard-generator
# only when the vision tier's model takes images; edit-planner only with plan_source = "model".
CONFIG = parse_config(
    '[project]\nname = "film"\n\n[budget]\nproject_cap = 15000.0\n\n[qc]\nrubric_source = "model"\n'
    '\n[tiers]\nvision = "openai:gpt-4.1-mini"\n\n[edit]\nplan_source = "model"\n'
)
SCRIPT = ScriptScene(
    scene_id="S01",
    text="INT. LIGHTHOUSE - DUSK\n\nNell climbs the stairs."
    "\n\nNELL\nThe lamp has been dead for a year. I will light it tonight.\n",
)


def package_of(skill: type[Skill]) -> str | None:
    """The covered package a skill's module lives in, if any."""
    return next(
        (p for p in PACKAGES if skill.__module__ == p or skill.__module__.startswith(p + ".")), None
    )


def covered() -> dict[str, type[Skill]]:
    """Every registered model-backed skill of the covered packages, by name."""
    return {s.name: s for s in load_skills() if s.uses_model and package_of(s)}


def prompt_names(skill: type[Skill]) -> list[str]:
    """The prompt files a skill sends, in order."""
    return [getattr(skill, "prompt_name", ""), *getattr(skill, "prompt_notes", ())]


def prompt_file(skill: type[Skill], name: str) -> Any:
    """The package-data path of one of a skill's prompt files."""
    return resources.files(package_of(skill) or "") / "prompts" / f"{name}.md"


def inputs() -> Inputs:
    """One scene of a film, with every input a covered skill reads before its first question."""
    truth = Truth.model_validate(
        {**GOOD_TRUTH, "scene_id": "S01", "cultural_context": "a 1950s Breton fishing village"}
    )
    premise = Premise(
        title="The Last Keeper",
        logline="An old keeper relights a dead lighthouse before a storm.",
        genre="drama",
        tone="tense",
        length="short",
        characters=["Nell, the keeper"],
    )
    scenes = Scenes(rows=[SceneRow.model_validate(SCENES[0])])
    breakdown = Breakdown(
        rows=[
            BreakdownRow(scene_id="S01", characters_present=["NELL"], locations_used=["LIGHTHOUSE"])
        ]
    )
    shots = ShotList.model_validate({"rows": [shot(1, char_ids=["NELL"], set_id="LIGHTHOUSE")]})
    pack = GenPack(
        shot_id="S01_SH01",
        style="",
        set="",
        characters="",
        action="Nell climbs.",
        negatives="- none",
        settings="resolution_tier: proxy",
    )
    # qc-grader's technical checks run first; an undecodable clip is a finding, not an error.
    return Inputs(
        one={
            "PREMISE": premise,
            "BEATS": Beats.model_validate(BEATS),
            "TRUTH": truth,
            "SCRIPT": SCRIPT,
            "SCENES": scenes,
            "BREAKDOWN": breakdown,
            "CONTINUITY_REPORT": _report(),
            "SHOTLIST": shots,
            "GENPACK": pack,
            "PROXY": b"not a clip",
        },
        # visual-continuity looks at the scene's takes: one that decodes
        many={
            "CHAR_LOCK": {"NELL": char_lock("NELL")},
            "PROXY": {"S01_SH01": a_take()},
            # edit-planner plans the accepted takes: the scene's shots, a passed proxy
            "SHOTLIST": {"S01": shots},
            "QC_BATCH": {"S01": QcBatch(rows=[QcRow.model_validate(PASSED)])},
        },
    )


@cache
def a_take() -> bytes:
    """A real proxy take (the animatic's), rendered once."""
    with tempfile.TemporaryDirectory() as folder:
        return clip(Path(folder), "#5A4632")


PASSED = {"shot_id": "S01_SH01", "attempt_number": 1, "total_score": 12, "verdict": "PASS"}
PASSED |= {k: 2 for k in QC_CATEGORIES if k != "audio_consistency"}


class Asked(Exception):
    """Raised by the stand-in model at the first question, carrying the system prompt."""

    def __init__(self, system: str) -> None:
        super().__init__("asked")
        self.system = system


def sent_system_prompt(skill: type[Skill]) -> str:
    """The system prompt a skill sends with its first question."""

    def ask(output_type: type[BaseModel], system: str, prompt: str, **images: Any) -> BaseModel:
        raise Asked(system)

    target = {"scene": "S01", "shot": "S01_SH01"}.get(skill.target_scope, "PROJECT")
    ctx = Context(target=target, inputs=inputs(), config=CONFIG, ask_model=ask)
    with pytest.raises(Asked) as asked:
        skill().produce(ctx)
    return asked.value.system


def test_every_covered_package_has_model_backed_skills() -> None:
    found = {package_of(s) for s in covered().values()}
    assert found == set(PACKAGES)


@pytest.mark.parametrize("name", sorted(covered()))
def test_the_skill_has_its_prompt_files(name: str) -> None:
    skill = covered()[name]
    assert getattr(skill, "prompt_name", ""), f"{name} declares no prompt_name"
    for prompt in prompt_names(skill):
        path = prompt_file(skill, prompt)
        assert path.is_file(), f"{name}: {package_of(skill)}/prompts/{prompt}.md is missing"
        assert path.read_text(encoding="utf-8").strip(), f"{name}: {prompt}.md is empty"


@pytest.mark.parametrize("name", sorted(covered()))
def test_the_skill_sends_its_prompt_files_text(name: str) -> None:
    skill = covered()[name]
    expected = "\n\n".join(
        prompt_file(skill, p).read_text(encoding="utf-8") for p in prompt_names(skill)
    )
    assert sent_system_prompt(skill) == expected
