"""Deterministic import of a Fountain screenplay (https://fountain.io).

``parse_fountain`` turns screenplay text into plain frozen dataclasses: scenes with canonical
ids, headings split into interior / location / time of day, speaking and mentioned characters,
prop candidates (the screenwriting convention of a prop's name in ALL CAPS in action, without
sounds, verbs and emphasis), dialogue and action. Every element keeps the 1-based line
number it came from, so a malformed script is refused with a
:class:`~filmslate.core._errors.SchemaError` that names the line and says what to fix.

Nothing is invented here: goal, conflict and outcome of a scene are left to later skills.

Why our own parser and not screenplain's: screenplain's paragraphs carry no line numbers (it
also deletes boneyards with a regex before splitting lines, which shifts every later line),
it silently keeps an unterminated ``/*`` or ``[[`` as action text, it turns a cue without
dialogue into action so the mistake cannot be reported, and it pulls in reportlab. Fountain's
rules are line based and small, so a parser of a few hundred lines is the simpler dependency.

The stages live beside this module: lines into elements (``_fountain_lines``), names and
props in action (``_fountain_names``; which caps words are things, ``_fountain_props``), scene
assembly and the records returned (``_fountain_scenes``); the public names are re-exported
here.
"""

from __future__ import annotations

from collections.abc import Mapping

from ._fountain_lines import classify, clean_lines, script_error, split_title_page
from ._fountain_names import canonical_id
from ._fountain_scenes import (
    DialogueLine,
    ParsedScene,
    Resolver,
    Screenplay,
    finish_scene,
    name_book,
    scene_drafts,
    scene_ids,
    unique,
)

__all__ = ["DialogueLine", "ParsedScene", "Screenplay", "canonical_id", "parse_fountain"]


def parse_fountain(
    text: str, *, aliases: Mapping[str, str] | None = None, source: str = "<script>"
) -> Screenplay:
    """Parse Fountain screenplay text into scenes, characters, locations and props.

    ``aliases`` maps other written names of a character to its id (``{"DETECTIVE RUIZ":
    "RUIZ"}``); keys and values are normalised like cues. ``source`` names the script in error
    messages. Raises :class:`~filmslate.core._errors.SchemaError` (with ``line`` and ``source``) for
    a file that is not a screenplay, a control character (named by line and column), dialogue
    before the first scene heading, a cue without dialogue, an unterminated ``/*`` or ``[[``,
    and a heading without a location.
    """
    if not text.strip():
        raise script_error(
            "the script is empty. Import a Fountain screenplay whose scenes start "
            "with headings such as 'INT. KITCHEN - NIGHT'.",
            line=1,
            source=source,
        )
    resolve = Resolver(aliases, source)
    title, body = split_title_page(clean_lines(text, source))
    elements = classify(body)
    drafts = scene_drafts(elements, resolve, source)
    names = name_book(elements, drafts, resolve)
    scenes: list[ParsedScene] = []
    first_seen: list[tuple[int, str]] = []
    for draft, scene_id in zip(drafts, scene_ids(len(drafts)), strict=True):
        scene, appearances = finish_scene(draft, scene_id, names)
        scenes.append(scene)
        first_seen += appearances
    return Screenplay(
        title=title,
        scenes=tuple(scenes),
        characters=unique(c for _, c in sorted(first_seen, key=lambda seen: seen[0])),
        locations=unique(s.location for s in scenes),
        props=unique(p for s in scenes for p in s.props),
    )
