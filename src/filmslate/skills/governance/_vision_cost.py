"""What the vision tier's looks at a shot will cost, projected before they are spent (SPEC §8).

With a vision model on the vision tier (one that takes images: ``engine._attachments``' table
or ``[providers] vision_models``; the offline ``replay`` and ``handoff`` cost nothing and are
not counted), each shot is looked at:

- by storyboard-generator's gate, once: the storyboard frame (proxy size) and the shot's
  sheets (``_storyboard_vision``);
- by qc-grader with ``[qc] rubric_source = "model"``, once per take, so times the shot's
  regen multiplier like its clips: ``[qc] sample_frames`` frames of the take at the decode's
  look size, and the sheets (``_qc_vision``; the few extra frames after a detected scene
  change are left out: such a take fails on its cuts);
- by visual-continuity with ``[qc] visual_continuity``, once per accepted take: the same
  frames and sheets (``skills.continuity._visual``).

A shot's sheets are one per character in frame and one for its set, at the size they are
asked of an image model. Each look is priced as the gateway reserves a call: input tokens
from the system prompt and a fixed allowance for the shot's own prompt (one token per three
characters, as the gateway estimates), each image by its vendor's formula
(``image_tokens``) plus its label, and the tier's ``max_output_tokens`` of output.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from ...core._config import Config
from ...core._prices import token_prices
from ...engine._attachments import image_tokens, takes_images
from ...engine._gateway import DEFAULT_MAX_OUTPUT_TOKENS, estimate_tokens
from ...rules._media_decode import ANALYSIS_WIDTH, LOOK_WIDTH
from ...schemas import ShotRow
from .._prompts import system_prompt
from ..production._sheets import SHEET_SIZE

__all__ = ["PROMPT_TOKENS", "Looks", "look_cost", "shot_looks", "vision_model"]

#: The shot's own prompt beside the system prompt (its GenPack, locks and the items or
#: frames listed): about 6,000 characters, more than the demo's longest.
PROMPT_TOKENS = 2000
#: What a label sent before each image costs (``"take frame 3 of 6 (about 1.2 s)"``).
LABEL_TOKENS = math.ceil(40 / 3) + 4
PRODUCTION = "filmslate.skills.production"
CONTINUITY = "filmslate.skills.continuity"

Size = tuple[int, int]


@dataclass(frozen=True)
class Looks:
    """A shot's projected vision cost: per take (QC), and once (storyboard, continuity)."""

    per_take: float = 0.0
    once: float = 0.0


def vision_model(config: Config) -> str | None:
    """The vision tier's model when it is a vision model that bills, else None."""
    model = config.tiers.vision
    return model if takes_images(model, config.providers.vision_models) else None


def shot_looks(row: ShotRow, config: Config) -> Looks:
    """What the vision tier's looks at ``row`` will cost (zero without a vision model)."""
    model = vision_model(config)
    if model is None:
        return Looks()
    proxy = config.resolution.proxy
    sheets = [SHEET_SIZE] * (len(row.char_ids) + 1)
    frames = [_look_size(proxy.width, proxy.height)] * config.qc.sample_frames
    board = (proxy.width, proxy.height)
    once = look_cost(config, model, (PRODUCTION, "storyboard-generator"), [board, *sheets])
    if config.qc.visual_continuity:
        once += look_cost(config, model, (CONTINUITY, "visual-continuity"), [*frames, *sheets])
    if config.qc.rubric_source != "model":
        return Looks(0.0, once)
    return Looks(look_cost(config, model, (PRODUCTION, "qc-grader"), [*frames, *sheets]), once)


def look_cost(config: Config, model: str, prompt: tuple[str, str], images: list[Size]) -> float:
    """The most one look costs: the system prompt ``(package, name)``, the shot's prompt,
    ``images`` (width, height) and the vision tier's output allowance."""
    prefix, _, name = model.partition(":")
    override = config.prices.text.get(model)
    prices = _prices(prefix, name, override, config.providers.base_urls.get(prefix))
    tokens = _system_tokens(*prompt) + PROMPT_TOKENS
    tokens += sum(image_tokens(prefix, w, h) + LABEL_TOKENS for w, h in images)
    output = config.providers.max_output_tokens.get("vision", DEFAULT_MAX_OUTPUT_TOKENS)
    return (tokens * prices[0] + output * prices[1]) / 1e6


def _look_size(width: int, height: int) -> Size:
    """A sampled frame's size: ``LOOK_WIDTH`` wide, the height the decode scales it to."""
    return LOOK_WIDTH, max(4, 4 * round(ANALYSIS_WIDTH // 2 * height / width))


@lru_cache(maxsize=64)
def _system_tokens(package: str, name: str) -> int:
    return estimate_tokens(system_prompt(package, name))


@lru_cache(maxsize=64)
def _prices(
    prefix: str, name: str, override: tuple[float, float] | None, url: str | None
) -> tuple[float, float]:
    """USD per million tokens (cached: the cost plan prices every shot many times)."""
    overrides = {f"{prefix}:{name}": override} if override is not None else None
    return token_prices(prefix, name, overrides=overrides, api_url=url)
