"""regen-analyzer on findings routed to it (issue 13 §4): a take QC accepted that a later gate
judged (visual-continuity) comes back with that gate's findings as its revision notes.

Each finding becomes a rule of the shot, verbatim, so the next GenPack carries it and the
packager cannot reuse the old one. When every finding is already a rule (they were packed and
the new take still breaks continuity), the shot is calmed instead: a locked-off camera and a
single action, one new rule. The rules of every other shot are kept.
"""

from __future__ import annotations

from collections.abc import Sequence

from ...schemas import AdjustmentRule, RegenRules, ShotRow

__all__ = ["feedback_rules"]


def feedback_rules(
    row: ShotRow, previous: RegenRules | None, findings: Sequence[str]
) -> RegenRules:
    """The new REGEN_RULES version: the previous rules, plus this shot's findings as rules."""
    shot = row.shot_id
    kept = list(previous.prompt_adjustment_rules) if previous else []
    seen = {_key(r) for r in kept}
    added = [r for r in (_rule(shot, " ".join(f.split())) for f in findings) if _key(r) not in seen]
    if not added:
        calm = AdjustmentRule(
            type="complexity_reduction",
            scope=shot,
            rule="locked-off camera and a single action: the take still broke continuity "
            "with these findings as rules",
        )
        added = [calm] if _key(calm) not in seen else []
    listed = "\n".join(f"- {' '.join(f.split())}" for f in findings)
    return RegenRules(
        failure_pattern_summary=(
            f"{shot}: its accepted take breaks continuity; {len(findings)} finding(s) "
            f"routed here:\n{listed}"
        ),
        root_cause_hypothesis=(
            f"Continuity break: the GenPack of {shot} does not pin what the world state and "
            "the locks require of this take; each finding is now a rule of the shot."
        ),
        prompt_adjustment_rules=kept + added,
        structural_simplifications=list(previous.structural_simplifications if previous else []),
        escalation_recommendation=(
            f"No escalation for {shot} yet: render it again with these rules at its tier."
        ),
    )


def _rule(shot: str, finding: str) -> AdjustmentRule:
    return AdjustmentRule(type="constraint_tightening", scope=shot, rule=finding)


def _key(rule: AdjustmentRule) -> tuple[str, str, str]:
    return rule.type, rule.scope, rule.rule
