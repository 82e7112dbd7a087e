"""regen-analyzer's own failure pattern for a refused render (issue 12 §8).

A provider's content-policy refusal or invalid-input error is not a QC failure: no take exists
to grade. The render service records it on the job and never sends that GenPack again; the
runner hands the shot's refusals to regen-analyzer (``ctx.params["refusals"]``). When the
current GenPack is the refused one, the analyzer writes a ``prompt_rewording`` rule (stronger
with each refusal of the shot, ``rules._reword``); prompt-packager rewords the action with it,
keeping every lock verbatim, so the next GenPack differs and no lock item is dropped.
"""

from __future__ import annotations

from collections.abc import Iterable

from ...engine._refusals import REFUSALS_PARAM, Refusal
from ...engine._skill import Context
from ...rules._reword import rewording_rule
from ...rules._takes import genpack_sha
from ...schemas import AdjustmentRule, GenPack, RegenRules, ShotRow

REWORDING = "prompt_rewording"
REFUSAL_PATTERNS = {"refusal": "provider refusal", "invalid_input": "invalid input"}

__all__ = [
    "REFUSAL_PATTERNS",
    "REWORDING",
    "refusal_cause",
    "refusal_of",
    "refusal_summary",
    "rewording",
    "rewordings_for",
]


def refusal_of(ctx: Context, pack: GenPack) -> Refusal | None:
    """The refusal of the shot's current GenPack, if a render of it was refused."""
    found = ctx.params.get(REFUSALS_PARAM) or ()
    sha = genpack_sha(pack)
    mine = [r for r in found if isinstance(r, Refusal) and r.genpack_sha == sha]
    return mine[-1] if mine else None


def rewording(shot: str, refusal: Refusal, previous: RegenRules | None) -> AdjustmentRule:
    """The next rewording rule of the shot: one step stronger than its earlier ones."""
    earlier = [r for r in (previous.prompt_adjustment_rules if previous else []) if r.scope == shot]
    level = 1 + sum(1 for r in earlier if r.type == REWORDING)
    return AdjustmentRule(type=REWORDING, scope=shot, rule=rewording_rule(refusal.failure, level))


def rewordings_for(rules: RegenRules | None, shot_id: str) -> list[str]:
    """The rewording rules that apply to a shot (its own, its scene's or ALL), in order."""
    scopes = {shot_id, shot_id.split("_SH", 1)[0], "ALL"}
    found: Iterable[AdjustmentRule] = rules.prompt_adjustment_rules if rules else ()
    return [r.rule for r in found if r.type == REWORDING and r.scope in scopes]


def refusal_summary(refusal: Refusal) -> str:
    """The failure pattern of a refused render, in words."""
    why = f": {' '.join(refusal.message.split())[:300]}" if refusal.message.strip() else ""
    return (
        f"{refusal.shot_id}: {refusal.model} refused the {refusal.resolution} render of GenPack "
        f"sha256:{refusal.genpack_sha[:12]} ({refusal.failure}{why}). Dominant pattern: "
        f"{REFUSAL_PATTERNS.get(refusal.failure, refusal.failure)}; it is never sent again "
        "unchanged."
    )


def refusal_cause(row: ShotRow, refusal: Refusal) -> str:
    """The root-cause hypothesis of a refused render."""
    if refusal.failure == "invalid_input":
        return (
            f"Invalid input: {refusal.model} could not take {row.shot_id}'s request as sent; "
            "the action's wording (special characters, length) is the part that is not a "
            "lock, so it is reworded in plain words and the locks stay verbatim."
        )
    return (
        f"Provider refusal: the wording of {row.shot_id}'s action tripped {refusal.model}'s "
        "content policy; the locks stay verbatim (no lock item is dropped) and the action is "
        "reworded in neutral film-set terms, framed as a staged scene."
    )
