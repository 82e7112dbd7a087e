"""The validation skills (SPEC §5), one module each; importing this package registers them.

Every answer type a skill asks a model for is importable from here by its class name: hand-off
task files name it by import path, and this is the path that stays put when modules move.
"""

from ...engine._skill import REGISTRY, Skill
from ._audience import AudienceAnswer, AudienceSimulator, ConfusionPoint
from ._culture import CulturalCheck, CultureAnswer
from ._digest import StoryDigestSkill
from ._plausibility import PlausibilityAnswer, PlausibilityAuditor
from ._redteam import (
    Coincidence,
    CriticalFailure,
    NarrativeRedTeam,
    NarrativeRedTeamLight,
    RedTeamAnswer,
)
from ._research import ResearchAgent, ResearchAnswer

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
    "StoryDigestSkill",
]

#: The package's skills, in the order they register. The full red team comes before its
#: light pass: both produce REDTEAM, and the first registered is the kind's producer.
SKILLS: tuple[type[Skill], ...] = (
    ResearchAgent,
    PlausibilityAuditor,
    CulturalCheck,
    StoryDigestSkill,
    NarrativeRedTeam,
    NarrativeRedTeamLight,
    AudienceSimulator,
)

for _skill in SKILLS:
    REGISTRY.register(_skill)
