"""The narrative skills; importing this package registers them.

Every answer type a skill asks a model for is importable from here by its class name: hand-off
task files name it by import path, and this is the path that stays put when modules move.
"""

from ._dialogue import (
    HISTORY_WORDS,
    Answer,
    BeatStakes,
    BreakdownAnswer,
    CharacterJudgment,
    CharacterPsychology,
    DialogueAnswer,
    DialogueConsistencyCheck,
    ModelFlag,
    PropOwner,
    PsychAnswer,
    ScriptBreakdown,
    SpeakerAnswer,
    StoryAnswer,
    StoryArchitect,
    known_facts,
    merge_profiles,
    row_profile,
    running_profiles,
    same_fact,
    unknown_knowledge,
    voice_expectation,
)

__all__ = [
    "HISTORY_WORDS",
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
