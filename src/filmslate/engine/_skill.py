"""The skill contract: what a skill declares, what it gets, and how its gate is expressed.

A skill never touches files, budget, routing or the log: it receives its declared inputs
(already loaded and verified) and, when it needs judgment, asks a model through ``ctx.ask``,
which the runner backs with the router, the budget ledger and the gateway.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar, get_args

from pydantic import BaseModel

from ..core._config import Config
from ..core._errors import UserError
from ..core._gate import Gate
from ..core._kinds import load_entry_point, load_kinds
from ..core._names import KINDS, SCENE_RE, SHOT_RE, TARGET_RE, scene_of
from ..schemas import Artifact
from ._attachments import Attachment

Tier = Literal["throughput", "judgment", "premium", "vision", "research"]
Scope = Literal[
    "project",
    "scene",
    "shot",
    "target",
    "all",
    "within",
    "adjacent",
    "cast",
    "scene_set",
    "before_scene",
    "previous",
]
Layer = Literal[
    "narrative", "validation", "continuity", "production", "governance", "observability"
]
TargetScope = Literal["project", "scene", "shot", "target"]
SKILL_NAME_RE = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
ENTRY_POINT_GROUP = "filmslate.skills"
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Media:
    """A binary output (PNG frame, MP4 clip) of a skill, stored as bytes.

    ``inputs`` narrows the output's lineage to some of the run's inputs (file names from
    ``ctx.inputs.names``): one run making a sheet per lock records each sheet as made from
    its own lock only, so revising one lock leaves the other sheets fresh. None: every input.
    """

    KIND: str
    subject: str | None
    data: bytes
    inputs: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Need:
    """One input a skill declares: a kind, where its subject comes from, and if optional.

    scope: ``project`` (no subject, e.g. SCENES), ``scene`` / ``shot`` / ``target`` (subject
    from the run's target), ``all`` (the latest version of every subject, e.g. every lock),
    ``within`` (the subjects inside the target: a scene's own version, every subject for
    PROJECT, e.g. the shot lists a cost projection covers), ``adjacent`` (the target scene's
    version and its predecessor's, every subject for PROJECT: a scene's continuity join),
    ``cast`` / ``scene_set`` (the locks of the target scene's or shot's characters / set only,
    so an unrelated lock change does not make this run stale), ``before_scene`` (the
    WORLD_STATE as it stood before the target's scene), ``previous`` (the latest version for
    the nearest earlier scene that has one, e.g. the last DIALOGUE_CHECK).
    """

    kind: str
    scope: Scope = "project"
    optional: bool = False
    lineage: bool = True  # False: read for context only; a new version does not make us stale
    history: bool = False  # a record of what happened (QC sheets): its gate and age don't matter

    def describe(self) -> str:
        """``CHAR_LOCK (all, optional)``."""
        return f"{self.kind} ({self.scope}{', optional' if self.optional else ''})"


@dataclass
class Inputs:
    """The loaded inputs of one run, by kind; ``all`` scopes hold a subject -> model map."""

    one: dict[str, Artifact] = field(default_factory=dict)
    many: dict[str, dict[str, Artifact]] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)

    def get(self, kind_name: str) -> Any:
        """The single input of a kind, or None when it was optional and absent."""
        return self.one.get(kind_name)

    def all(self, kind_name: str) -> dict[str, Any]:
        """Every subject's latest version of a kind (``all`` scope)."""
        return self.many.get(kind_name, {})


@dataclass
class Context:
    """What a skill sees during one run."""

    target: str
    inputs: Inputs
    config: Config
    feedback: tuple[str, ...] = ()
    attempt: int = 1
    ask_model: Callable[..., BaseModel] | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def ask(
        self, output_type: type[M], system: str, prompt: str, images: tuple[Attachment, ...] = ()
    ) -> M:
        """Ask the routed model for a structured answer (the runner meters and logs it);
        ``images`` are sent after the prompt, each with its label."""
        if self.ask_model is None:
            raise UserError("this skill is deterministic and cannot ask a model")
        extra: dict[str, Any] = {"images": images} if images else {}
        answer = self.ask_model(output_type, system, prompt, **extra)
        assert isinstance(answer, output_type)
        return answer

    @property
    def scene_id(self) -> str:
        """The scene of the target ('' for PROJECT, acts and episodes)."""
        return scene_of(self.target)


class Skill:
    """Base class of every skill. Subclasses set the class attributes and ``produce``.

    ``produce`` returns the artifacts to store (they name their own subjects); ``gate``
    judges them in code. Deterministic skills set ``uses_model = False`` and route to the
    ``builtin`` model at zero cost.
    """

    name: ClassVar[str]
    layer: ClassVar[Layer]
    tier: ClassVar[Tier] = "throughput"
    loop: ClassVar[str] = ""
    needs: ClassVar[tuple[Need, ...]] = ()
    produces: ClassVar[tuple[str, ...]] = ()
    target_scope: ClassVar[TargetScope] = "project"
    uses_model: ClassVar[bool] = True
    wants_budget_view: ClassVar[bool] = False
    regen_limited: ClassVar[bool] = False  # generation skills: SPEC §8 regen limits apply
    wants_existing: ClassVar[bool] = False  # sees the verdicts of its own latest outputs
    # False when asking again cannot fix a FAIL (the fault is upstream): the loop stops at
    # once with the reasons instead of revising and escalating for nothing.
    revise_on_fail: ClassVar[bool] = True
    uses_video: ClassVar[bool] = False  # gets the runner's render service (video generation)
    uses_images: ClassVar[bool] = False  # gets the runner's image service (ctx.params["images"])
    uses_speech: ClassVar[bool] = False  # gets the runner's speech service (ctx.params["speech"])
    wants_refusals: ClassVar[bool] = False  # the shot's refused renders: ctx.params["refusals"]
    keeps_answers: ClassVar[bool] = False  # per-part answers across revisions: params["kept"]
    # A grading skill (qc-grader grades PROXY): one verdict per version of that kind. Grading
    # the same take again is not a new attempt, so the runner refuses it unless forced.
    grades: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    # Built into the engine: runs on its own around other skills, never through `slate run`.
    automatic: ClassVar[bool] = False

    def produce(self, ctx: Context) -> list[Artifact | Media]:
        """Turn the inputs (and model answers) into artifacts."""
        raise NotImplementedError

    def gate(self, outputs: list[Any], ctx: Context) -> Gate:
        """Judge the outputs in code; PASS by default only for skills with no rules."""
        return Gate("PASS")

    def check_target(self, target: str) -> str:
        """Validate that a target fits this skill's scope; returns it."""
        patterns = {
            "project": re.compile("PROJECT"),
            "scene": SCENE_RE,
            "shot": SHOT_RE,
            "target": TARGET_RE,
        }
        if not patterns[self.target_scope].fullmatch(target):
            example = {
                "project": "PROJECT",
                "scene": "--scene S03",
                "shot": "--shot S03_SH02",
                "target": "--target PROJECT (or a scene, ACT_1, E01)",
            }[self.target_scope]
            raise UserError(
                f"{self.name} runs on a {self.target_scope}, not {target!r}: use {example}",
                skill=self.name,
                target=target,
            )
        return target


class AutomaticSkill(Skill):
    """A skill of the seed that the engine performs around every other one (model-router,
    run-logger). It is listed with the others, with its gate and what it writes, but it is
    not run by hand: ``how`` says what the engine does and which command shows the result."""

    automatic: ClassVar[bool] = True
    uses_model: ClassVar[bool] = False
    how: ClassVar[str] = ""

    def check_target(self, target: str) -> str:
        """Refuse every run by hand, saying where the work happens instead."""
        raise UserError(f"{self.name} runs automatically: {self.how}", skill=self.name)


class Registry:
    """Skills by name: the built-ins plus anything registered through entry points."""

    def __init__(self) -> None:
        self._skills: dict[str, type[Skill]] = {}

    def register(self, skill: type[Skill]) -> type[Skill]:
        """Add a skill class (usable as a decorator); names are unique and every declaration
        is checked here, so a typo in a layer, tier, scope or kind fails loudly at load."""
        problems = declaration_problems(skill)
        if problems:
            raise UserError(
                f"skill {getattr(skill, 'name', skill.__qualname__)!r} "
                f"({skill.__module__}) is declared wrong: " + "; ".join(problems),
                skill=getattr(skill, "name", ""),
            )
        if skill.name in self._skills and self._skills[skill.name] is not skill:
            raise UserError(f"two skills are named {skill.name!r}", skill=skill.name)
        self._skills[skill.name] = skill
        return skill

    def get(self, name: str) -> type[Skill]:
        """The skill called ``name``; the error lists what exists."""
        try:
            return self._skills[name]
        except KeyError:
            raise UserError(
                f"no skill named {name!r}; `slate skills` lists them: "
                f"{', '.join(sorted(self._skills))}",
                skill=name,
            ) from None

    def producer_of(self, kind_name: str) -> type[Skill] | None:
        """The skill a person runs to produce a kind, if any (automatic ones are not run)."""
        return next(
            (s for s in self._skills.values() if kind_name in s.produces and not s.automatic), None
        )

    def __iter__(self) -> Iterator[type[Skill]]:
        return iter(sorted(self._skills.values(), key=lambda s: (s.layer, s.name)))

    def load_entry_points(self) -> None:
        """Register third-party skills from the ``filmslate.skills`` entry-point group (an
        entry point names a Skill subclass or a list of them). Their packages' artifact kinds
        come first, from ``filmslate.kinds``, so a skill can produce a kind of its own."""
        load_kinds()
        for point in entry_points(group=ENTRY_POINT_GROUP):
            for item in load_entry_point(point):
                if not (isinstance(item, type) and issubclass(item, Skill)):
                    raise UserError(
                        f"entry point {point.name} of {ENTRY_POINT_GROUP} gives "
                        f"{item!r}: expected a Skill subclass (artifact kinds go in "
                        "the filmslate.kinds group)",
                        entry_point=point.name,
                    )
                self.register(item)

    def load_file(self, path: Path) -> list[type[Skill]]:
        """Register every Skill subclass defined in a Python file (project-local skills)."""
        if not path.is_file():
            raise UserError(
                f"skill file {path} not found (listed in [skills] paths)", path=str(path)
            )
        name = "filmslate_project_skill_" + re.sub(r"\W", "_", path.stem)
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise UserError(f"cannot load skill file {path}", path=str(path))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # so answers can name its output types by import path
        spec.loader.exec_module(module)
        found = [
            obj
            for obj in vars(module).values()
            if isinstance(obj, type)
            and issubclass(obj, Skill)
            and obj is not Skill
            and "name" in vars(obj)
            and obj.__module__ == name
        ]
        # A long-lived process (`slate mcp`, `slate serve`) loads the file again for each
        # runner: the fresh classes replace the ones this same file registered before.
        self._skills = {k: v for k, v in self._skills.items() if v.__module__ != name}
        for skill in found:
            self.register(skill)
        return found


def declaration_problems(skill: type[Skill]) -> list[str]:
    """What is wrong with a skill class's declarations (empty when nothing is)."""
    name = getattr(skill, "name", None)
    problems = []
    if not isinstance(name, str) or not SKILL_NAME_RE.fullmatch(name):
        problems.append(f"name {name!r} must be lowercase words joined by '-' (story-architect)")
    for attr, allowed in (("layer", Layer), ("tier", Tier), ("target_scope", TargetScope)):
        value = getattr(skill, attr, None)
        if value not in get_args(allowed):
            problems.append(f"{attr} {value!r} is not one of {', '.join(get_args(allowed))}")
    for need in skill.needs:
        if need.scope not in get_args(Scope):
            problems.append(
                f"need {need.kind} has scope {need.scope!r}, not one of "
                f"{', '.join(get_args(Scope))}"
            )
    for kind_name in [*skill.produces, *(n.kind for n in skill.needs)]:
        if kind_name.upper() not in KINDS:
            problems.append(
                f"unknown artifact kind {kind_name!r} (publish an ArtifactKind "
                "for it in the filmslate.kinds entry-point group)"
            )
    return problems


REGISTRY = Registry()
# Each package registers its skills on import.
BUILTIN_SKILL_MODULES = (
    "filmslate.skills.narrative",
    "filmslate.skills.validation",
    "filmslate.skills.continuity",
    "filmslate.skills.production",
    "filmslate.skills.governance",
    "filmslate.skills.observability",
)
_LOADED = False


def load_skills(registry: Registry | None = None) -> Registry:
    """The registry with the built-in skills and third-party entry points loaded (once)."""
    global _LOADED
    if not _LOADED:
        for module in BUILTIN_SKILL_MODULES:  # each registers its skills on import
            importlib.import_module(module)

        REGISTRY.load_entry_points()
        _LOADED = True
    return registry or REGISTRY
