"""STORY_DIGEST (issue 14 §8): the story as sequences, for the whole-story reviews.

One row per sequence of consecutive scenes: which scenes it holds, where it plays, who is in
it, what it wants, fights and ends on, a few of its turns on the way (by scene), what it
changes in the story's world, and which of its scenes a reviewer should read in full. Made by
code from SCENES alone (a breakdown revision never reopens a paid review); its gate
(``rules._digest``) checks that every scene is in exactly one sequence and that the digest
stays within its size bounds, so a review's prompt does not grow with the story.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from ._csv import CsvArtifact, CsvRow
from ._types import Id, IdList, NoteList, SceneId, Text

__all__ = ["DigestRow", "StoryDigest"]


class DigestRow(CsvRow):
    """One sequence: its scenes in story order and its bounded one-line facts."""

    sequence_id: Id
    scenes: list[SceneId] = Field(default_factory=list)
    sluglines: NoteList = Field(default_factory=list)
    characters: IdList = Field(default_factory=list)
    goal: Text = ""
    conflict: Text = ""
    outcome: Text = ""
    turns: NoteList = Field(default_factory=list)
    state_changes: NoteList = Field(default_factory=list)
    flagged: NoteList = Field(default_factory=list)


class StoryDigest(CsvArtifact):
    """The story's sequences, in order (one row each)."""

    KIND: ClassVar[str] = "STORY_DIGEST"

    rows: list[DigestRow] = Field(default_factory=list)
