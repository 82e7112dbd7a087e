"""Project configuration: every policy number of SPEC §5-8, validated, with defaults.

``filmslate.toml`` is the only file read here. Problems are reported all at once, each with
its dotted key and the line it sits on, so a person can fix the file in one pass. Hostile values
are refused, not trusted: every number is finite, ``budget.project_cap`` must be in the file,
prices are not negative and every path stays inside the project folder.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from ._catalogue import Catalogue, load_catalogue
from ._config_base import Price, ProjectPath, Section
from ._config_edit import EditSection
from ._config_models import catalogue_problems, catalogue_with, model_problems
from ._config_providers import AudioSection, ImagesSection, ProviderSection
from ._config_run import RunSection
from ._config_series import SeriesSection
from ._config_toml import DEFAULT_TOML, default_toml, key_lines
from ._errors import ConfigError

CONFIG_FILE = "filmslate.toml"
HeroTier = Literal["A", "B", "C"]
TEXT_TIERS = ("throughput", "judgment", "premium", "vision", "research")
VISUAL_TIERS = ("premium", "mid", "low")


__all__ = [
    "CONFIG_FILE",
    "DEFAULT_TOML",
    "AudioSection",
    "Config",
    "ImagesSection",
    "ProviderSection",
    "default_toml",
    "key_lines",
    "load_config",
    "parse_config",
]


class ProjectSection(Section):
    """Who the project is."""

    name: str = Field(min_length=1)
    title: str = ""


class QCSection(Section):
    """QC pass thresholds (total of the 0-2 rubric) by hero tier."""

    threshold_a: int = Field(12, ge=0, le=14)
    threshold_b: int = Field(10, ge=0, le=14)
    threshold_c: int = Field(8, ge=0, le=14)
    # Where the 7 rubric scores come from: "technical" (the clip checks alone, offline) or
    # "model" (the vision tier, capped by the checks). The verdict is computed in code either way.
    rubric_source: Literal["technical", "model"] = "technical"
    # frames of a take shown to the vision tier with rubric_source "model" (first, last, between)
    sample_frames: int = Field(6, ge=2, le=24)
    # visual-continuity over a scene's accepted proxies before render-final: the vision tier
    # reports what it sees, code checks it (issue 13 §4). Off by default: a call per shot
    visual_continuity: bool = False

    def threshold(self, hero: HeroTier) -> int:
        """The pass threshold for a hero tier."""
        return {"A": self.threshold_a, "B": self.threshold_b, "C": self.threshold_c}[hero]


class ThresholdSection(Section):
    """Pass thresholds of the validation and continuity gates."""

    plausibility_total: int = Field(7, ge=0, le=10)
    culture_authenticity: int = Field(3, ge=0, le=5)
    audience_clarity: int = Field(3, ge=1, le=5)
    audience_engagement: int = Field(3, ge=1, le=5)
    dialogue_distinctiveness: int = Field(3, ge=1, le=5)
    set_anchors_min: int = Field(3, ge=1)
    set_anchors_max: int = Field(5, ge=1)
    light_temperature_tolerance_k: int = Field(500, ge=0)
    light_temperature_fail_k: int = Field(1500, ge=0)

    @model_validator(mode="after")
    def _anchors_ordered(self) -> ThresholdSection:
        if self.set_anchors_min > self.set_anchors_max:
            raise ValueError("set_anchors_min must not exceed set_anchors_max")
        return self


class RegenSection(Section):
    """Regeneration limits by hero tier and the cost multipliers by regen risk."""

    limit_a: int = Field(3, ge=1)
    limit_b: int = Field(2, ge=1)
    limit_c: int = Field(2, ge=1)
    analyzer_after_failures: int = Field(2, ge=1)
    multiplier_low: float = Field(1.1, ge=1.0)
    multiplier_medium: float = Field(1.3, ge=1.0)
    multiplier_high: float = Field(1.6, ge=1.0)

    def limit(self, hero: HeroTier) -> int:
        """Regen attempt limit for a hero tier."""
        return {"A": self.limit_a, "B": self.limit_b, "C": self.limit_c}[hero]

    def multiplier(self, risk: Literal["low", "medium", "high"]) -> float:
        """Cost multiplier for a regen risk estimate."""
        return {
            "low": self.multiplier_low,
            "medium": self.multiplier_medium,
            "high": self.multiplier_high,
        }[risk]


class BudgetSection(Section):
    """Caps (project required; scene and shot recommended) and the warning/stop points.

    ``project_cap`` has a default for a Config built in code; a filmslate.toml must set it
    (:func:`parse_config` refuses a file without it, as SPEC §6 requires the cap).
    """

    currency: str = "USD"
    project_cap: float = Field(15000.0, gt=0)
    scene_cap: float | None = Field(1000.0, gt=0)
    shot_cap: float | None = Field(200.0, gt=0)
    episode_cap: float | None = Field(None, gt=0)  # per episode of a series (issue 16)
    warn_pct: float = Field(90.0, gt=0, le=100)
    stop_pct: float = Field(100.0, gt=0, le=100)

    @model_validator(mode="after")
    def _warn_before_stop(self) -> BudgetSection:
        if self.warn_pct >= self.stop_pct:
            raise ValueError("warn_pct must be below stop_pct")
        return self


class LoopSection(Section):
    """How many revisions a loop tries at one tier before escalating."""

    max_revisions: int = Field(2, ge=0)
    enforce_order: bool = True


class QuotaSection(Section):
    """Share caps on expensive tiers."""

    tier3_narrative_pct: float = Field(15.0, ge=0, le=100)
    premium_visual_pct: float = Field(25.0, ge=0, le=100)


class TierSection(Section):
    """Tier -> model. Skills name tiers, never vendors."""

    throughput: str = "replay:throughput"
    judgment: str = "replay:judgment"
    premium: str = "replay:premium"
    vision: str = "replay:vision"
    research: str = "replay:research"


class VisualSection(Section):
    """Visual tier -> video model, routed by hero tier (A premium, B mid, C low)."""

    premium: str = "animatic"
    mid: str = "animatic"
    low: str = "animatic"
    max_clip_s: float = Field(10.0, gt=0)
    complex_max_s: float = Field(5.0, gt=0)
    max_shots_per_scene: int = Field(12, ge=1)
    shots_per_summary_sentence: int = Field(4, ge=1)
    # the cost loop's reductions when a projection is over a cap
    coverage_min_s: float = Field(2.0, gt=0)
    coverage_keep_pct: float = Field(60.0, gt=0, le=100)
    duration_step_s: float = Field(0.5, gt=0)
    # a provider's clip of another shape: "crop" (scale to cover, centre crop) or "pad" (fit, bars)
    conform: Literal["crop", "pad"] = "crop"


class Resolution(Section):
    """One resolution tier."""

    width: int = Field(gt=0)
    height: int = Field(gt=0)
    fps: int = Field(gt=0, le=120)


class ResolutionSection(Section):
    """Proxy first, final only after the proxy passed QC."""

    proxy: Resolution = Resolution(width=640, height=360, fps=12)
    final: Resolution = Resolution(width=1920, height=1080, fps=24)


class PriceSection(Section):
    """Project price overrides: video per second by resolution tier, text per million tokens."""

    video: dict[str, dict[Literal["proxy", "final"], Price]] = Field(default_factory=dict)
    text: dict[str, tuple[Price, Price]] = Field(default_factory=dict)


class SkillSection(Section):
    """Project-local skills: Python files (relative to the project) that define Skill classes."""

    paths: list[ProjectPath] = Field(default_factory=list)


class Config(Section):
    """The whole validated filmslate.toml."""

    project: ProjectSection
    budget: BudgetSection = BudgetSection()
    qc: QCSection = QCSection()
    thresholds: ThresholdSection = ThresholdSection()
    regen: RegenSection = RegenSection()
    loops: LoopSection = LoopSection()
    quotas: QuotaSection = QuotaSection()
    tiers: TierSection = TierSection()
    visual: VisualSection = VisualSection()
    resolution: ResolutionSection = ResolutionSection()
    providers: ProviderSection = ProviderSection()
    prices: PriceSection = PriceSection()
    skills: SkillSection = SkillSection()
    edit: EditSection = EditSection()  # edit-planner's targets (issue 15 §4)
    images: ImagesSection = ImagesSection()
    audio: AudioSection = AudioSection()  # the scratch voices' speech model (issue 15)
    series: SeriesSection = SeriesSection()  # a series' episodes (issue 16)
    run: RunSection = RunSection()  # the engine of paid jobs (issue 17)
    # "provider:model" -> changes to a shipped catalogue entry, or a whole new entry
    catalogue: dict[str, dict[str, Any]] = Field(default_factory=dict)

    def model_catalogue(self) -> Catalogue:
        """The model catalogue with this project's [catalogue] overrides."""
        return catalogue_with(self.catalogue)


def _line_for(loc: tuple[Any, ...], lines: dict[str, int]) -> int | None:
    parts = [str(p) for p in loc]
    while parts:
        found = lines.get(".".join(parts))
        if found:
            return found
        parts.pop()
    return None


Problem = tuple[str, int | None, str]
"""One problem of a filmslate.toml: dotted key, line (None when unknown), message."""


def _required(data: dict[str, Any], lines: dict[str, int]) -> list[Problem]:
    """Keys the file must set although the model has a default (SPEC §6: the cap)."""
    budget = data.get("budget", {})
    if isinstance(budget, dict) and "project_cap" not in budget:
        return [
            (
                "budget.project_cap",
                lines.get("budget"),
                "required: add `project_cap = <amount>` under [budget], the hard stop for "
                "the whole production",
            )
        ]
    return []


def _problems_error(source: str, problems: list[Problem]) -> ConfigError:
    def one(key: str, line: int | None, msg: str) -> str:
        return ": ".join(
            part for part in (f"{source}:{line}" if line else source, key, msg) if part
        )

    if len(problems) == 1:
        message = one(*problems[0])
    else:
        listing = "\n".join(f"  {one(*problem)}" for problem in problems)
        message = f"{source} has {len(problems)} problems:\n{listing}"
    return ConfigError(message, problems=problems, source=source)


def parse_config(text: str, source: str = CONFIG_FILE) -> Config:
    """Validate a filmslate.toml text; ConfigError lists every problem with key and line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = int(m.group(1)) if (m := re.search(r"line (\d+)", str(exc))) else None
        problem = ("", line, f"not valid TOML: {exc}; correct the syntax there")
        raise _problems_error(source, [problem]) from None
    except RecursionError:
        problem = ("", None, "not valid TOML: arrays or tables nested too deeply")
        raise _problems_error(source, [problem]) from None
    lines = key_lines(text)
    problems = _required(data, lines)
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        problems.extend(_pydantic_problem(err, lines) for err in exc.errors())
    else:
        problems.extend(_model_problems(config, lines))
    if problems:
        raise _problems_error(source, problems)
    return config


def _pydantic_problem(err: Any, lines: dict[str, int]) -> Problem:
    loc = tuple(err["loc"])
    message = err["msg"].removeprefix("Value error, ")
    named = re.match(r"([a-z0-9_][a-z0-9_.-]*): (.*)", message, re.S)
    if loc[:1] in (("providers",), ("audio",)) and named:  # its validator names the key first
        loc, message = (*loc, *named[1].split(".")), named[2]
    key = ".".join(str(p) for p in loc) or "(top level)"
    return (key, _line_for(loc, lines), message)


def _model_problems(config: Config, lines: dict[str, int]) -> list[Problem]:
    """The [catalogue] overrides and every model name in [visual] and [images]."""
    if not config.catalogue:  # the shipped catalogue is read only when a name needs it
        return model_problems(config, lines, load_catalogue)
    catalogue, problems = catalogue_problems(config.catalogue, lines)
    if catalogue is None:
        return problems  # the names cannot be checked against a catalogue that does not load
    return model_problems(config, lines, lambda: catalogue)


def load_config(path: Path) -> Config:
    """Read and validate a project's filmslate.toml."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"{path} not found: is this a filmslate project? Create one with `slate init DIR`.",
            path=str(path),
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"{path} cannot be read ({exc.strerror}); make it a readable file", path=str(path)
        ) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        problem = (
            "",
            line,
            f"not UTF-8 text (byte 0x{data[exc.start]:02x} at column {column}); save the "
            "file as UTF-8",
        )
        raise _problems_error(str(path), [problem]) from None
    return parse_config(text, source=str(path))
