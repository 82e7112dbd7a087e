"""The synthetic film's validation answers: research, plausibility, culture, red team and
audience, each passing its gate (they do not depend on the film's shape)."""

from __future__ import annotations

from ..schemas import Claim, PersonaReactions
from ..skills.validation import (
    AudienceAnswer,
    CultureAnswer,
    PlausibilityAnswer,
    RedTeamAnswer,
    ResearchAnswer,
)


def research() -> ResearchAnswer:
    """research-agent: one licensed claim, low risk, no real culture."""
    return ResearchAnswer(
        claims=[
            Claim(
                claim="A harbour signal lamp is serviced from the tower gallery.",
                status="Creative License",
                creative_license_note="the port and its routine are invented for the story",
            )
        ],
        realism_risk="low",
        cultural_context=False,
        cultural_context_note="a fictional port; no real culture, period or community is central",
    )


def plausibility() -> PlausibilityAnswer:
    """plausibility-auditor: full marks, nothing flagged."""
    return PlausibilityAnswer(
        procedural=2, physical=2, emotional=2, logistical=2, internal_consistency=2
    )


def culture() -> CultureAnswer:
    """cultural-check (only asked when a truth packet names a culture): a passing score."""
    text = "Nothing in the scene misrepresents the community."
    return CultureAnswer(
        cultural_accuracy=text,
        dialect_language=text,
        historical_alignment=text,
        social_norms=text,
        stereotype_risk=text,
        authenticity_score=4,
    )


def red_team() -> RedTeamAnswer:
    """narrative-red-team: weaknesses found, no critical failure, two different fixes."""
    return RedTeamAnswer(
        hidden_weaknesses=[
            "the cancelled ferry needs one line of cause so it reads as weather, not luck"
        ],
        stakes_audit="The stakes rise with every failed part and the storm's approach.",
        tension_audit="Tension dips in the middle scenes of readings; the clock holds it.",
        thematic_consistency="Every scene argues that a town is kept by its keepers.",
        fix_conservative="Add one line about the storm warning to the ferry scene.",
        fix_structural="Move the cable discovery earlier so the midpoint pays off a setup.",
    )


def audience() -> AudienceAnswer:
    """audience-simulator: three reactions, clear stakes, good scores."""
    return AudienceAnswer(
        reactions=PersonaReactions(
            mainstream_viewer="Follows the race against the storm with ease.",
            genre_fan="A tidy procedural drama with a clear clock.",
            critical_viewer="Restrained and well shaped, if a little even in the middle.",
        ),
        engagement_dips=["the middle run of reading scenes"],
        emotional_peaks=["the signal burns again before the storm"],
        predictability=3,
        clarity=4,
        engagement=4,
        stakes_clear_after_act_one=True,
    )
