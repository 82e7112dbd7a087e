"""The narrative skills (SPEC §5), one module each; importing this package registers them.

Every answer type a skill asks a model for is importable from here by its class name: hand-off
task files name it by import path, and this is the path that stays put when modules move.
"""

from ...engine._skill import REGISTRY, Skill
from ._breakdown import BreakdownAnswer, PropOwner, ScriptBreakdown
from ._common import Answer, known_facts, same_fact, unknown_knowledge
from ._dialogue import (
    HISTORY_WORDS,
    DialogueAnswer,
    DialogueConsistencyCheck,
    ModelFlag,
    SpeakerAnswer,
    merge_profiles,
    row_profile,
    running_profiles,
    voice_expectation,
)
from ._psychology import CharacterJudgment, CharacterPsychology, PsychAnswer
from ._scene_goals import SceneGoals, SceneGoalsAnswer
from ._scene_revision import SceneRevision, SceneRevisionAnswer
from ._story import BeatStakes, StoryAnswer, StoryArchitect

__all__ = [
    "HISTORY_WORDS",
    "SKILLS",
    "Answer",
    "BeatStakes",
    "BreakdownAnswer",
    "CharacterJudgment",
    "CharacterPsychology",
    "DialogueAnswer",
    "DialogueConsistencyCheck",
    "ModelFlag",
    "PropOwner",
    "PsychAnswer",
    "SceneGoals",
    "SceneGoalsAnswer",
    "SceneRevision",
    "SceneRevisionAnswer",
    "ScriptBreakdown",
    "SpeakerAnswer",
    "StoryAnswer",
    "StoryArchitect",
    "known_facts",
    "merge_profiles",
    "row_profile",
    "running_profiles",
    "same_fact",
    "unknown_knowledge",
    "voice_expectation",
]

#: The package's skills, in the order they register (the order of the story's steps).
SKILLS: tuple[type[Skill], ...] = (
    StoryArchitect,
    SceneGoals,
    ScriptBreakdown,
    CharacterPsychology,
    DialogueConsistencyCheck,
    SceneRevision,
)

for _skill in SKILLS:
    REGISTRY.register(_skill)
