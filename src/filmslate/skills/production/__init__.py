"""The production skills; importing this package registers them.

The skills, their answer types and the helpers other layers and tests use are re-exported
here: a handoff task file names its answer type by import path, and this one does not move
when a module is split.
"""

from ...schemas import ShotList
from . import _packager, _production, _qc, _regen, _render, _shared, _sheets, _storyboard
from ._dialogue_shots import DialogueAssigner, assign_lines, dialogue_failures, scene_lines
from ._edit import EditPlanner
from ._packager import RESOLUTION_PARAM, PromptPackager, build_genpack, genpack_failures
from ._production import ShotPlanner, planner_prompt, shot_budget, shot_row, shotlist_failures
from ._qc import RUBRIC_PARAM, QcGrader, RubricAnswer, capped, clip_spec, qc_prompt, qc_verdict
from ._regen import RegenAnalyzer, analyse, regen_failures, regen_rules
from ._render import AssembleCut, RenderFinal, RenderProxy
from ._shared import applicable_rules, genpack_changed, pack_digest, passed_with, rules_missing
from ._sheets import SHEET_NEEDS, ReferenceSheets, shot_references
from ._storyboard import StoryboardGenerator, drift_risk, recommend, storyboard_report
from ._voices import ScratchVoices, audio_failures, voice_settings

__all__ = [
    "RESOLUTION_PARAM",
    "RUBRIC_PARAM",
    "SHEET_NEEDS",
    "AssembleCut",
    "DialogueAssigner",
    "EditPlanner",
    "PromptPackager",
    "QcGrader",
    "ReferenceSheets",
    "RegenAnalyzer",
    "RenderFinal",
    "RenderProxy",
    "RubricAnswer",
    "ScratchVoices",
    "ShotList",
    "ShotPlanner",
    "StoryboardGenerator",
    "_packager",
    "_production",
    "_qc",
    "_regen",
    "_render",
    "_shared",
    "_sheets",
    "_storyboard",
    "analyse",
    "applicable_rules",
    "assign_lines",
    "audio_failures",
    "build_genpack",
    "capped",
    "clip_spec",
    "dialogue_failures",
    "drift_risk",
    "genpack_changed",
    "genpack_failures",
    "pack_digest",
    "passed_with",
    "planner_prompt",
    "qc_prompt",
    "qc_verdict",
    "recommend",
    "regen_failures",
    "regen_rules",
    "rules_missing",
    "scene_lines",
    "shot_budget",
    "shot_references",
    "shot_row",
    "shotlist_failures",
    "storyboard_report",
    "voice_settings",
]
