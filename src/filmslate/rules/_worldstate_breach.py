"""World-state rules and their breaches: the rule ids ``_worldstate`` can name, one broken
rule (:class:`RuleBreach`) and the refusal of a whole diff (:class:`WorldStateError`).

``_worldstate`` re-exports every name, so callers import from there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..core._errors import GateFailed

__all__ = ["RULES", "RuleBreach", "WorldStateError"]

RULES = {
    "scene_order": "diffs apply in scene order",
    "unknown_character": "a prop's owner is a character the world knows",
    "injury_persists": "injuries persist until explicitly healed",
    "prop_needs_event": "a prop changes location, owner or status only through a named event",
    "inventory_matches_owner": "inventories agree with prop owners",
    "item_not_held": "an item leaves an inventory only if it was held",
    "inventory_needs_update": "items leave an inventory only through an update",
    "knowledge_only_grows": "knowledge only grows, through learn",
    "giver_holds_prop": "a prop is handed over only by the one who holds it",
    "wardrobe_needs_event": "a costume changes only through a named event",
    "wardrobe_needs_update": "a costume changes only through a diff",
    "signs_need_injury": "visible signs belong to an injury the character has",
    # checked by world-state-tracker, which knows the scene and its breakdown:
    "unknown_scene": "the scene is listed in SCENES and BREAKDOWN",
    "scene_mismatch": "a scene's diff is about that scene",
    "first_appearance": "a new character or prop enters the world in a scene that shows it",
    "changes_recorded": "the state changes the breakdown lists are recorded in the diff",
}
"""Every rule id the engine can name, with the rule in a sentence."""


@dataclass(frozen=True)
class RuleBreach:
    """One broken rule: where, what, and how to fix the diff."""

    rule: str
    scene: str
    entity: str
    problem: str
    fix: str

    def __str__(self) -> str:
        return (
            f"{self.scene} {self.entity}: {self.problem} (rule {self.rule}: "
            f"{RULES.get(self.rule, self.rule)}). To fix: {self.fix}"
        )


class WorldStateError(GateFailed):
    """A diff broke one or more world-state rules; nothing was applied.

    ``rule`` is the first rule broken, ``breaches`` all of them (each names the scene, the
    entity and the rule, and says how to fix the diff).
    """

    def __init__(self, breaches: Sequence[RuleBreach]) -> None:
        first = breaches[0]
        message = " | ".join(str(b) for b in breaches)
        super().__init__(message, rule=first.rule, scene=first.scene, entity=first.entity)
        self.rule = first.rule
        self.breaches = tuple(breaches)

    @property
    def rules(self) -> tuple[str, ...]:
        """Every rule broken, in the order found."""
        return tuple(b.rule for b in self.breaches)
