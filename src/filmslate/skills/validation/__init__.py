"""The validation skills; importing this package registers them.

Every answer type a skill asks a model for is importable from here by its class name: hand-off
task files name it by import path, and this is the path that stays put when modules move.
"""

from ._common import (
    SKILLS,
    AudienceAnswer,
    AudienceSimulator,
    Coincidence,
    ConfusionPoint,
    CriticalFailure,
    CulturalCheck,
    CultureAnswer,
    NarrativeRedTeam,
    NarrativeRedTeamLight,
    PlausibilityAnswer,
    PlausibilityAuditor,
    RedTeamAnswer,
    ResearchAgent,
    ResearchAnswer,
)

__all__ = [
    "SKILLS",
    "AudienceAnswer",
    "AudienceSimulator",
    "Coincidence",
    "ConfusionPoint",
    "CriticalFailure",
    "CulturalCheck",
    "CultureAnswer",
    "NarrativeRedTeam",
    "NarrativeRedTeamLight",
    "PlausibilityAnswer",
    "PlausibilityAuditor",
    "RedTeamAnswer",
    "ResearchAgent",
    "ResearchAnswer",
]
