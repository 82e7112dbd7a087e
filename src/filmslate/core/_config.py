"""Project configuration: every policy number of SPEC §5-8, validated, with defaults.

``filmslate.toml`` is the only file read here. Problems are reported all at once, each with
its dotted key and the line it sits on, so a person can fix the file in one pass. Hostile values
are refused, not trusted: every number is finite, ``budget.project_cap`` must be in the file,
prices are not negative and every path stays inside the project folder.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from ._errors import ConfigError
from ._names import LAYERS

CONFIG_FILE = "filmslate.toml"
HeroTier = Literal["A", "B", "C"]
TEXT_TIERS = ("throughput", "judgment", "premium", "vision", "research")
VISUAL_TIERS = ("premium", "mid", "low")


class _Section(BaseModel):
    # inf and nan are refused everywhere: `project_cap = inf` (or 1e400) would be no cap at all
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


# Folders the store owns: a configured path there would mix hand-made files with artifacts.
_RESERVED = frozenset({*LAYERS, ".filmslate"})


def _inside_project(value: str) -> str:
    """A path relative to the project folder that stays inside it, refused otherwise."""
    if "\0" in value:
        raise ValueError("a path cannot hold a NUL character; delete it")
    if "\\" in value:
        raise ValueError(
            f"{value!r}: write a path inside the project with '/' between folders "
            '(e.g. "work/inbox")'
        )
    path = PurePosixPath(value)
    if path.is_absolute() or PureWindowsPath(value).drive or ".." in path.parts:
        raise ValueError(
            f"{value!r} leaves the project: give a path relative to the project folder that "
            'stays inside it (e.g. "inbox")'
        )
    if not path.parts:
        raise ValueError('name a folder or file inside the project (e.g. "inbox")')
    if path.parts[0] in _RESERVED:
        raise ValueError(
            f"{value!r} is inside {path.parts[0]}/, which filmslate owns; choose another folder"
        )
    return value


ProjectPath = Annotated[str, AfterValidator(_inside_project)]
"""A path in filmslate.toml: relative to the project folder and inside it."""
Price = Annotated[float, Field(ge=0)]
"""A price: finite and not negative."""


class ProjectSection(_Section):
    """Who the project is."""

    name: str = Field(min_length=1)
    title: str = ""


class QCSection(_Section):
    """QC pass thresholds (total of the 0-2 rubric) by hero tier."""

    threshold_a: int = Field(12, ge=0, le=14)
    threshold_b: int = Field(10, ge=0, le=14)
    threshold_c: int = Field(8, ge=0, le=14)
    # Where the 7 rubric scores come from: "technical" (the clip checks alone, offline) or
    # "model" (the vision tier, capped by the checks). The verdict is computed in code either way.
    rubric_source: Literal["technical", "model"] = "technical"

    def threshold(self, hero: HeroTier) -> int:
        """The pass threshold for a hero tier."""
        return {"A": self.threshold_a, "B": self.threshold_b, "C": self.threshold_c}[hero]


class ThresholdSection(_Section):
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


class RegenSection(_Section):
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


class BudgetSection(_Section):
    """Caps (project required; scene and shot recommended) and the warning/stop points.

    ``project_cap`` has a default for a Config built in code; a filmslate.toml must set it
    (:func:`parse_config` refuses a file without it, as SPEC §6 requires the cap).
    """

    currency: str = "USD"
    project_cap: float = Field(15000.0, gt=0)
    scene_cap: float | None = Field(1000.0, gt=0)
    shot_cap: float | None = Field(200.0, gt=0)
    warn_pct: float = Field(90.0, gt=0, le=100)
    stop_pct: float = Field(100.0, gt=0, le=100)

    @model_validator(mode="after")
    def _warn_before_stop(self) -> BudgetSection:
        if self.warn_pct >= self.stop_pct:
            raise ValueError("warn_pct must be below stop_pct")
        return self


class LoopSection(_Section):
    """How many revisions a loop tries at one tier before escalating."""

    max_revisions: int = Field(2, ge=0)
    enforce_order: bool = True


class QuotaSection(_Section):
    """Share caps on expensive tiers."""

    tier3_narrative_pct: float = Field(15.0, ge=0, le=100)
    premium_visual_pct: float = Field(25.0, ge=0, le=100)


class TierSection(_Section):
    """Tier -> model. Skills name tiers, never vendors."""

    throughput: str = "replay:throughput"
    judgment: str = "replay:judgment"
    premium: str = "replay:premium"
    vision: str = "replay:vision"
    research: str = "replay:research"


class VisualSection(_Section):
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


class Resolution(_Section):
    """One resolution tier."""

    width: int = Field(gt=0)
    height: int = Field(gt=0)
    fps: int = Field(gt=0, le=120)


class ResolutionSection(_Section):
    """Proxy first, final only after the proxy passed QC."""

    proxy: Resolution = Resolution(width=640, height=360, fps=12)
    final: Resolution = Resolution(width=1920, height=1080, fps=24)


class ProviderSection(_Section):
    """Where models live. Keys come from the environment variables named here, never files."""

    replay_dir: ProjectPath = "replay"
    inbox_dir: ProjectPath = "inbox"
    api_key_env: dict[str, str] = Field(default_factory=dict)
    base_urls: dict[str, str] = Field(default_factory=dict)
    timeout_s: float = Field(120.0, gt=0)
    max_retries: int = Field(3, ge=0)
    schema_retries: int = Field(2, ge=0)


class PriceSection(_Section):
    """Project price overrides: video per second by resolution tier, text per million tokens."""

    video: dict[str, dict[Literal["proxy", "final"], Price]] = Field(default_factory=dict)
    text: dict[str, tuple[Price, Price]] = Field(default_factory=dict)


class SkillSection(_Section):
    """Project-local skills: Python files (relative to the project) that define Skill classes."""

    paths: list[ProjectPath] = Field(default_factory=list)


class Config(_Section):
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


DEFAULT_TOML = """\
# filmslate project configuration. Every number here is a policy the code enforces.
# Edit freely; `slate config check` validates this file and names any bad key and line.

[project]
name = "{name}"
title = "{title}"

[budget]
currency = "USD"
project_cap = 15000.0      # required: hard stop for the whole production
scene_cap = 1000.0         # per scene (recommended)
shot_cap = 200.0           # per shot (recommended)
warn_pct = 90.0            # warning state + required cost review at this share of a cap
stop_pct = 100.0           # hard stop at this share of a cap

[qc]
# pass thresholds for the QC rubric total (7 categories, 0-2 each) by hero tier
threshold_a = 12
threshold_b = 10
threshold_c = 8
rubric_source = "technical"     # rubric scores from: technical (clip checks alone) or model
                                # (the vision tier, capped by the checks); verdict in code

[thresholds]
plausibility_total = 7          # PLAUS total >= this of 10 passes
culture_authenticity = 3        # CULTURE authenticity >= this of 5 passes
audience_clarity = 3            # AUDIENCE clarity below this fails
audience_engagement = 3         # AUDIENCE engagement below this fails
dialogue_distinctiveness = 3    # per-character distinctiveness minimum (1-5)
set_anchors_min = 3             # a set lock needs 3-5 visual anchors
set_anchors_max = 5
light_temperature_tolerance_k = 500   # scene light this far from the set lock: Medium finding
light_temperature_fail_k = 1500       # ... this far: High finding (continuity FAIL)

[regen]
limit_a = 3                     # regeneration attempts per shot by hero tier
limit_b = 2
limit_c = 2
analyzer_after_failures = 2     # regen-analyzer is forced after this many failed attempts
multiplier_low = 1.1            # cost projection multipliers by regen risk
multiplier_medium = 1.3
multiplier_high = 1.6

[loops]
max_revisions = 2               # revisions at one tier before escalating one tier
enforce_order = true            # production waits for the narrative and validation loops;
                                # world-state updates wait for the scene's validation

[quotas]
tier3_narrative_pct = 15.0      # Tier 3 share of narrative skill runs
premium_visual_pct = 25.0       # premium visual tier share of shots

[tiers]
# capability tier -> text model ("provider:model"); skills never name vendors
throughput = "replay:throughput"
judgment = "replay:judgment"
premium = "replay:premium"
vision = "replay:vision"
research = "replay:research"

[visual]
# visual tier -> video model, routed by hero tier: A premium, B mid, C low
premium = "animatic"
mid = "animatic"
low = "animatic"
max_clip_s = 10.0               # longest clip the video models generate
complex_max_s = 5.0             # complex or crowded (3+ characters) shots stay this short
max_shots_per_scene = 12        # a shot list longer than this is bloated
shots_per_summary_sentence = 4  # ... as is one with more shots per summary sentence
coverage_min_s = 2.0            # cost loop: C shots are shortened to no less than this,
coverage_keep_pct = 60.0        # ... keeping this share of their duration,
duration_step_s = 0.5           # ... rounded to this step

[resolution.proxy]
width = 640
height = 360
fps = 12

[resolution.final]
width = 1920
height = 1080
fps = 24

[providers]
replay_dir = "replay"           # authored answers for the offline replay provider
inbox_dir = "inbox"             # handoff tasks and answers (a person or agent answers)
timeout_s = 120.0
max_retries = 3                 # 429 / 5xx / timeouts, honouring Retry-After
schema_retries = 2              # re-asks when an answer does not fit the output schema
# base_urls = {{ compat = "http://localhost:11434/v1" }}   # any OpenAI-compatible endpoint
# api_key_env = {{ openai = "OPENAI_API_KEY" }}   # names of environment variables, never keys

[prices]
# Override the built-in price tables (project currency). Video: per second of output by
# resolution tier; text: per million tokens (input, output).
# video = {{ "fal:some-model" = {{ proxy = 0.05, final = 0.20 }} }}
# text = {{ "openai:gpt-4.1-mini" = [0.40, 1.60] }}

[skills]
# Your own skills: Python files in this project defining filmslate.Skill subclasses
# (every Skill subclass with a name found in the file is registered).
paths = []
"""


def default_toml(name: str, title: str = "") -> str:
    """The commented default configuration for a new project."""
    safe = re.sub(r'["\\\n]', "", name)
    return DEFAULT_TOML.format(name=safe, title=re.sub(r'["\\\n]', "", title))


def key_lines(text: str) -> dict[str, int]:
    """Map every dotted key of a TOML text to its line number (tables and keys)."""
    lines: dict[str, int] = {}
    table = ""
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        header = re.fullmatch(r"\[\s*([A-Za-z0-9_.\- ]+?)\s*\]", line)
        if header:
            table = header.group(1).replace(" ", "")
            lines.setdefault(table, number)
            continue
        key = re.match(r"([A-Za-z0-9_\-\"]+)\s*=", line)
        if key:
            dotted = f"{table}.{key.group(1).strip(chr(34))}" if table else key.group(1)
            lines.setdefault(dotted, number)
    return lines


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
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"]) or "(top level)"
            message = err["msg"].removeprefix("Value error, ")
            problems.append((key, _line_for(err["loc"], lines), message))
    if problems:
        raise _problems_error(source, problems)
    return config


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
