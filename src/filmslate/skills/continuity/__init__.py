"""The continuity skills; importing this package registers them.

The skills and every answer type they ask a model for are re-exported here: a handoff task
file names its answer type by import path, and this one does not move when a module does.
"""

from ...schemas import CharLock, SetLock, StateDiff, VoiceLock
from . import _locks, _supervisor, _visual, _world
from ._locks import CharacterLock, LockSkill, SetLockSkill, VoiceLockSkill, done_subjects
from ._supervisor import ContinuitySupervisor, SupervisorAnswer
from ._visual import ShotAnswer, VisualContinuityCheck
from ._world import WorldStateTracker, check_order

__all__ = [
    "CharLock",
    "CharacterLock",
    "ContinuitySupervisor",
    "LockSkill",
    "SetLock",
    "SetLockSkill",
    "ShotAnswer",
    "StateDiff",
    "SupervisorAnswer",
    "VisualContinuityCheck",
    "VoiceLock",
    "VoiceLockSkill",
    "WorldStateTracker",
    "_locks",
    "_supervisor",
    "_visual",
    "_world",
    "check_order",
    "done_subjects",
]
