"""The commented default filmslate.toml, and the line of every key of a TOML text (for errors
that name the line)."""

from __future__ import annotations

import re

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
# episode_cap = 5000.0     # per episode of a series (optional; docs/series.md)
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
visual_continuity = false       # true: the vision tier looks at each scene's accepted takes
                                # for continuity before the finals (a call per shot)
sample_frames = 6               # frames of a take the vision tier is shown (2-24: first,
                                # last, evenly between; plus one after each scene change)

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
# visual tier -> video model, routed by hero tier: A premium, B mid, C low. "animatic" renders
# offline; a hosted model is "provider:model" from the model catalogue (docs/catalogue.md),
# e.g. "fal:fal-ai/kling-video/v2.1/standard/image-to-video"
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
conform = "crop"                # a model's clip of another shape: "crop" (cover, centre crop)
                                # or "pad" (fit, black bars); then trimmed to the planned length

[images]
# image model for reference sheets, storyboard frames and first frames: "offline" draws the
# schematic; a hosted model is "provider:model", e.g. "fal:fal-ai/flux/dev". Optional per-use
# overrides: sheet, storyboard (e.g. "fal:fal-ai/bytedance/seedream/v4/edit", which takes the
# sheets as references), first_frame.
model = "offline"

[audio]
# the scratch voices of the dialogue: "espeak" speaks offline (espeak-ng, no download, free);
# a voice lock's pitch, cadence and accent set its voice
model = "espeak"
loudness_lufs = -23             # the cut's dialogue level (integrated loudness, EBU R128)
take_audio = "dialogue"         # where a take's model made its own sound: "dialogue", "take"
                                # (the model's sound instead) or "mix" (both)

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
max_retries = 3                 # 429 / 5xx / unreachable, honouring Retry-After (capped)
schema_retries = 2              # re-asks quoting the error when an answer misfits the schema
# retry_total_s = 300.0         # no retry of one call starts after this many seconds
# max_output_tokens = {{ judgment = 8192 }}   # per text tier (default 4096), in the worst case
# base_urls = {{ compat = "http://localhost:11434/v1" }}   # any OpenAI-compatible endpoint
# api_key_env = {{ openai = "OPENAI_API_KEY" }}   # names of environment variables, never keys
# vision_models = ["compat:qwen2.5-vl-72b"]   # models that take images beyond the built-in
#                                 # list (a local VL model): the vision tier sends them frames

# One table per provider (all keys optional; a key left out keeps the default):
# [providers.fal]
# base_url = "https://queue.fal.run"   # the vendor's by default; a gateway or test server
# api_key_env = "FAL_KEY"              # the variable holding the key (never the key)
# timeout_s = 600.0                    # per HTTP request
# max_concurrent = 2                   # jobs in flight at once (`slate run --jobs N`)
# requests_per_minute = 60             # calls and submissions started per minute (--jobs N)
# A text provider's table ([providers.compat], [providers.openai], ...) also takes:
# output_mode = "tool"                 # or "json_schema" (native), "prompted" (schema in prompt)
# idempotent = false                   # true: resend a request that timed out after it was
#                                      # sent (only if the endpoint never bills a repeat)

[edit]
# edit-planner's plan of each cut (EDIT_<TARGET>): the film's runtime target (unset: the sum
# of the planned shot durations), how far the plan may land from it, the shortest trimmed shot
# target_runtime_s = 90.0
runtime_tolerance_pct = 5.0
min_shot_s = 1.0
j_cut_s = 0.0                   # J cuts: in an exchange the next line is heard this long before
                                # its picture, which starts that much later (0: none)
plan_source = "rules"           # rules (code alone, no model asked) or model (the judgment
                                # tier may adjust trims and the order within a scene)

[prices]
# Override the built-in price tables (project currency). Video: per second of output by
# resolution tier; text: per million tokens (input, output).
# video = {{ "fal:some-model" = {{ proxy = 0.05, final = 0.20 }} }}
# text = {{ "openai:gpt-4.1-mini" = [0.40, 1.60] }}

[skills]
# Your own skills: Python files in this project defining filmslate.Skill subclasses
# (every Skill subclass with a name found in the file is registered).
paths = []

[run]
# engine = "dbos"        # each paid job a durable DBOS workflow, here or on `slate worker`s
# dbos_database_url = "postgresql://film@db-host:5432/filmslate"   # workers on other machines
#                        # (never a password here: FILMSLATE_DBOS_URL or PGPASSWORD; docs/scale.md)

[catalogue]
# Change a shipped model entry or describe a new one (docs/catalogue.md), keyed "provider:model";
# a changed price names its source and date:
# [catalogue."fal:fal-ai/flux/dev".billing]
# price = 0.03
# source = "invoice 2026-11"
# as_of = 2026-11-30
"""


def default_toml(name: str, title: str = "") -> str:
    """The commented default configuration for a new project."""
    safe = re.sub(r'["\\\n]', "", name)
    return DEFAULT_TOML.format(name=safe, title=re.sub(r'["\\\n]', "", title))


_SEGMENT = r'(?:"[^"]*"|[A-Za-z0-9_\-]+)'
_HEADER = re.compile(rf"\[\s*({_SEGMENT}(?:\s*\.\s*{_SEGMENT})*)\s*\]")
_KEY = re.compile(rf"({_SEGMENT})\s*=")


def _dotted(header: str) -> str:
    """``catalogue . "fal:a/b.c"`` -> ``catalogue.fal:a/b.c`` (quotes dropped)."""
    return ".".join(part.strip().strip('"') for part in re.findall(_SEGMENT, header))


def key_lines(text: str) -> dict[str, int]:
    """Map every dotted key of a TOML text to its line number (tables and keys)."""
    lines: dict[str, int] = {}
    table = ""
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line.startswith("["):
            line = line.split("#", 1)[0].strip()
        header = _HEADER.match(line)
        if header and not line.startswith("[["):
            table = _dotted(header.group(1))
            lines.setdefault(table, number)
            continue
        key = _KEY.match(line)
        if key:
            name = key.group(1).strip('"')
            lines.setdefault(f"{table}.{name}" if table else name, number)
    return lines
