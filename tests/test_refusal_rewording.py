"""A refused render is regen-analyzer's own failure pattern (issue 12 §8): the prompt is
reworded within the locks, never dropping a lock item, and the next GenPack differs."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest

from filmslate.core._errors import RenderRefused
from filmslate.engine._runner import Runner
from filmslate.engine._skill import Registry
from filmslate.engine._video import JobStatus, VideoJob, VideoProvider
from filmslate.rules._reword import apply_rewordings, rewording_rule
from filmslate.schemas import GenPack, RegenRules
from filmslate.skills.production import PromptPackager, RegenAnalyzer, RenderProxy, ShotPlanner
from filmslate.skills.production._shared import lock_text
from filmslate.synthetic import synthetic_project
from filmslate.synthetic._video import VIDEO_MODEL, SyntheticVideo, clip_bytes
from filmslate.testing import scripted_runner
from filmslate.workflow._orchestrator import Orchestrator
from test_runtime import configure
from test_skills_production import GOOD, film, shot

__all__ = ["film"]  # the fixture, imported

ACTION = "Alex points a gun at Mira. Blood drips on the floor. Mira backs to the door."
ANSWER = {"rows": [GOOD["rows"][0], shot(2, blocking_summary=ACTION)]}


class Censor(VideoProvider):
    """A hosted model whose content filter refuses any prompt naming a gun or blood."""

    name: ClassVar[str] = "censor"

    def __init__(self, failure: str = "refusal") -> None:
        self.failure = failure
        self.prompts: list[str] = []

    def submit(self, job: VideoJob) -> str:
        self.prompts.append(job.prompt)
        return f"job-{len(self.prompts)}"

    def poll(self, job_id: str) -> JobStatus:
        prompt = self.prompts[int(job_id.split("-")[1]) - 1].lower()
        if "gun" in prompt or "blood" in prompt or self.failure == "invalid_input":
            return JobStatus("failed", "content_policy_violation: flagged", failure=self.failure)
        return JobStatus("done")

    def download(self, job_id: str) -> bytes:
        return clip_bytes(96, 64, 12, 48)

    def price_per_second(self, width: int, height: int) -> float:
        return 0.0


def make(root: Path, provider: VideoProvider) -> Runner:
    configure(
        root,
        **{
            'mid = "animatic"': 'mid = "censor:v1"',
            '# video = { "fal:some-model"': (
                'video = { "censor:v1" = { proxy = 0.1, final = 0.2 } }\n#'
            ),
            "width = 640": "width = 96",
            "height = 360": "height = 64",
        },
    )
    registry = Registry()
    for skill in (ShotPlanner, PromptPackager, RenderProxy, RegenAnalyzer):
        registry.register(skill)
    r, _ = scripted_runner(root, [ANSWER], registry)
    r.render_service().providers["censor"] = provider
    assert r.run("shot-planner", "S01").gate.passed
    return r


def genpack(r: Runner, version: int) -> GenPack:
    pack = r.store.load(f"GENPACK_S01_SH02_v{version:03d}.txt")
    assert isinstance(pack, GenPack)
    return pack


def test_a_refused_prompt_is_reworded_within_the_locks_and_rendered(film: Path) -> None:
    censor = Censor()
    r = make(film, censor)
    assert r.run("prompt-packager", "S01_SH02").gate.passed
    with pytest.raises(RenderRefused, match="never sent again unchanged"):
        r.run("render-proxy", "S01_SH02")
    analysis = r.run("regen-analyzer", "S01_SH02")
    assert analysis.gate.passed, analysis.gate.reasons
    rules = r.store.load(analysis.records[0].name)
    assert isinstance(rules, RegenRules)
    assert "Dominant pattern: provider refusal" in rules.failure_pattern_summary
    assert "content_policy_violation" in rules.failure_pattern_summary
    assert [(a.type, a.scope) for a in rules.prompt_adjustment_rules] == [
        ("prompt_rewording", "S01_SH02")
    ]
    assert r.run("prompt-packager", "S01_SH02", force=True).gate.passed
    before, after = genpack(r, 1), genpack(r, 2)
    assert after.render() != before.render()
    # the locks are pasted exactly as before: not one lock item dropped
    assert (after.style, after.set, after.characters) == (
        before.style,
        before.set,
        before.characters,
    )
    for kind, name in (("CHAR_LOCK", "ALEX"), ("CHAR_LOCK", "MIRA"), ("SET_LOCK", "OLD_MILL")):
        record = r.store.latest(kind, name)
        assert (
            record is not None and lock_text(r.store.load(record.name)) in after.render().decode()
        )
    assert before.negatives in after.negatives  # every forbidden-drift item kept
    # the action is reworded, and that one is rendered
    assert "gun" in before.action and "gun" not in after.action.lower()
    assert "prop pistol" in after.action and "A staged scene from a fictional film." in after.action
    assert r.run("render-proxy", "S01_SH02").gate.passed
    assert len(censor.prompts) == 2
    assert "gun" in censor.prompts[0] and "gun" not in censor.prompts[1].lower()


def test_each_refusal_of_the_same_shot_asks_a_stronger_rewording(film: Path) -> None:
    r = make(film, Censor("invalid_input"))
    for _ in (1, 2):
        assert r.run("prompt-packager", "S01_SH02", force=True).gate.passed
        with pytest.raises(RenderRefused, match="invalid_input"):
            r.run("render-proxy", "S01_SH02")
        assert r.run("regen-analyzer", "S01_SH02", force=True).gate.passed
    record = r.store.latest("REGEN_RULES")
    assert record is not None
    rules = r.store.load(record.name)
    assert isinstance(rules, RegenRules)
    assert [a.rule.split(":")[0] for a in rules.prompt_adjustment_rules] == [
        "reword (plain)",
        "reword (short)",
    ]
    assert "Invalid input" in rules.root_cause_hypothesis
    assert r.run("prompt-packager", "S01_SH02", force=True).gate.passed
    assert genpack(r, 3).action.split("\n")[0] == "Alex points a gun at Mira."


def test_without_a_refusal_or_a_failed_take_there_is_nothing_to_analyse(film: Path) -> None:
    r = make(film, Censor())
    assert r.run("prompt-packager", "S01_SH02").gate.passed
    with pytest.raises(Exception, match="no refused render of its GenPack"):
        r.run_once("regen-analyzer", "S01_SH02")


@pytest.mark.parametrize(
    ("failure", "level", "text", "expected"),
    [
        ("refusal", 1, "Nico shoots. Blood!", "Nico aims at. Red stage paint! A staged scene"),
        ("refusal", 2, "Nico shoots. Ida waits.", "Ida waits. A calm, staged moment"),
        ("invalid_input", 1, "Ida’s café —\tnow", "Ida's cafe - now"),
        ("invalid_input", 2, "One. Two.", "One."),
    ],
)
def test_rewordings(failure: str, level: int, text: str, expected: str) -> None:
    assert apply_rewordings(text, [rewording_rule(failure, level)]).startswith(expected)


def test_rewording_keeps_every_word_it_has_no_softer_wording_for() -> None:
    rules: list[Any] = [rewording_rule("refusal", 1)]
    assert apply_rewordings("Ida mends the tape.", rules) == (
        "Ida mends the tape. A staged scene from a fictional film."
    )
    assert apply_rewordings("Ida mends the tape.", []) == "Ida mends the tape."


class CensoredSynthetic(SyntheticVideo):
    """The synthetic model, with a filter that refuses S01_SH01 until it reads as staged."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[VideoJob] = []
        self.refused: set[str] = set()

    def submit(self, job: VideoJob) -> str:
        self.sent.append(job)
        job_id = super().submit(job)
        if job.shot_id == "S01_SH01" and "staged scene" not in job.prompt:
            self.refused.add(job_id)
        return job_id

    def poll(self, job_id: str) -> JobStatus:
        if job_id in self.refused:
            return JobStatus("failed", "content_policy_violation", failure="refusal")
        return super().poll(job_id)


def test_the_orchestrator_routes_a_refused_proxy_to_regen_analyzer(tmp_path: Path) -> None:
    runner, _ = synthetic_project(tmp_path / "film", 1, 2)
    censor = CensoredSynthetic()
    runner.render_service().providers[VIDEO_MODEL] = censor
    with runner.project:
        outcome = Orchestrator(runner).run()
        assert outcome.status == "complete", outcome.describe()
        shot = [job for job in censor.sent if job.shot_id == "S01_SH01"]
        assert len(shot) == 3  # refused proxy, reworded proxy, final
        assert shot[0].prompt != shot[1].prompt and "staged scene" in shot[1].prompt
        record = runner.store.latest("REGEN_RULES")
        assert record is not None
        rules = runner.store.load(record.name)
        assert isinstance(rules, RegenRules)
        assert [(a.type, a.scope) for a in rules.prompt_adjustment_rules] == [
            ("prompt_rewording", "S01_SH01")
        ]
        assert len(runner.store.versions("GENPACK", "S01_SH01")) == 2
        assert len(runner.store.versions("GENPACK", "S01_SH02")) == 1  # the other shot untouched
