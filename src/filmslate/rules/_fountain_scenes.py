"""Scene assembly: elements into scenes with ids, speakers, mentioned characters and props.

The records :func:`~._fountain.parse_fountain` returns are defined here too: they are what
assembly builds. Names are resolved through canonical ids and the alias table; a cue that lost
its dialogue, or dialogue before the first heading, is refused with the line to fix.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from filmslate.core._errors import SchemaError

from ._fountain_lines import (
    BareCue,
    Element,
    Heading,
    HeadingParts,
    Speech,
    action_text,
    collapse,
    parse_heading,
    script_error,
    split_cue,
)
from ._fountain_names import NameBook, canonical_id, introduced, scan_action

# ---------------------------------------------------------------------------------------------
# Public data


@dataclass(frozen=True)
class DialogueLine:
    """One speech: who speaks, the words (parentheticals removed), the cue's line, extension.

    ``extension`` is ``"V.O."``, ``"O.S."``, ``"O.C."`` or another cue parenthetical as written
    (uppercase); ``(CONT'D)`` is dropped because it carries no meaning for a breakdown.
    """

    speaker: str
    text: str
    line: int
    extension: str | None


@dataclass(frozen=True)
class ParsedScene:
    """One scene of the screenplay, in script order.

    ``interior`` is ``"INT"``, ``"EXT"`` (also for ``EST.``), ``"INT/EXT"`` or ``""`` for a
    forced heading without a prefix. ``location`` is uppercase with sub-locations joined by a
    space (``"LIGHTHOUSE - LAMP ROOM"`` -> ``"LIGHTHOUSE LAMP ROOM"``). ``time_of_day`` is the
    last dash part when it is a time word, as written, else ``""``; ``continuous`` is true for
    CONTINUOUS, SAME and MOMENTS/SECONDS LATER. ``characters`` are the speakers in order of
    first cue (V.O. included: see each line's ``extension``). ``mentioned_characters`` are known
    characters named in action without speaking here, by any written form in CAPS, Title or
    mixed case (``NELL``, ``Nell``, ``Mr. Quill``, ``Quill``, ``Ms. Okafor`` once ``NELL
    OKAFOR (34)`` introduced her); known means a speaker anywhere in the script, an alias, or
    someone introduced in CAPS with an age (``OLD FISHERMAN (70s)``).
    ``named_in_action`` are all characters the action names, speakers included (a voice-over
    speaker the action names is seen). ``props`` are the other ALL-CAPS runs in action without
    sounds, verbs, emphasis and screen directions: candidates, which script-breakdown confirms.
    """

    scene_id: str
    heading: str
    line: int
    interior: str
    location: str
    time_of_day: str
    continuous: bool
    characters: tuple[str, ...]
    mentioned_characters: tuple[str, ...]
    props: tuple[str, ...]
    dialogue: tuple[DialogueLine, ...]
    action: tuple[str, ...]
    named_in_action: tuple[str, ...] = ()


@dataclass(frozen=True)
class Screenplay:
    """A parsed screenplay: title page title and scenes, plus everything in first-use order."""

    title: str | None
    scenes: tuple[ParsedScene, ...]
    characters: tuple[str, ...]
    locations: tuple[str, ...]
    props: tuple[str, ...]


# ---------------------------------------------------------------------------------------------
# Stage 4: scenes


_CONTINUOUS_TIME = re.compile(
    r"^(?:CONTINUOUS|SAME|SAME TIME|SIMULTANEOUS"
    r"|(?:A\s+)?(?:FEW\s+)?(?:MOMENTS?|SECONDS?)\s+LATER)$"
)


def unique(items: Iterable[str]) -> tuple[str, ...]:
    """The items without repeats, in first-seen order."""
    return tuple(dict.fromkeys(items))


@dataclass
class SceneDraft:
    """A scene being built: its heading, first line, speeches and action paragraphs."""

    heading: HeadingParts
    line: int
    speeches: list[DialogueLine] = field(default_factory=list)
    action: list[tuple[int, str]] = field(default_factory=list)


class Resolver:
    """Applies canonical ids and the alias table to character names."""

    def __init__(self, aliases: Mapping[str, str] | None, source: str) -> None:
        self.aliases: dict[str, str] = {}
        for written, target in (aliases or {}).items():
            key, value = canonical_id(written), canonical_id(target)
            if not key or not value:
                raise SchemaError(
                    f"{source}: alias {written!r} -> {target!r} is empty after normalising; "
                    "give both names with at least one letter.",
                    source=source,
                )
            self.aliases[key] = value

    def __call__(self, name: str) -> str:
        char_id = canonical_id(name)
        return self.aliases.get(char_id, char_id)


def _is_missing_speech(cue: str, known_speaker: bool, in_scene: bool) -> bool:
    """Is a lone cue-shaped line a cue that lost its dialogue (rather than caps action)?"""
    if cue.startswith("@") or known_speaker:
        return True
    # before the first scene a caps line with a parenthetical is more likely a bare title
    marked = cue.endswith("^") or re.search(r"\((?![^)]*\d)[^)]*\)", cue) is not None
    return in_scene and marked


def scene_drafts(elements: list[Element], resolve: Resolver, source: str) -> list[SceneDraft]:
    """The scenes of the script, in order, with their speeches and action (speakers resolved)."""
    speakers = {resolve(split_cue(e.cue)[0]) for e in elements if isinstance(e, Speech)}
    if not any(isinstance(e, Heading) for e in elements):
        raise script_error(
            "no scene heading found, so this is not a Fountain screenplay. Start every scene "
            "with a heading such as 'INT. KITCHEN - NIGHT' (or force one with a leading '.') "
            "after a blank line.",
            line=1,
            source=source,
        )
    drafts: list[SceneDraft] = []
    for element in elements:
        if isinstance(element, Heading):
            drafts.append(SceneDraft(parse_heading(element, source), element.line))
        elif isinstance(element, BareCue):
            name, extension = split_cue(element.cue)
            if _is_missing_speech(element.cue, resolve(name) in speakers, bool(drafts)):
                raise script_error(
                    f"character cue {element.cue!r} has no dialogue after it. Put the "
                    "dialogue on the line right below the cue (no blank line between), or "
                    "start the line with '!' if it is action.",
                    line=element.line,
                    source=source,
                )
            if drafts:
                drafts[-1].action.append((element.line, action_text(element.cue)))
        elif isinstance(element, Speech):
            name, extension = split_cue(element.cue)
            if not drafts:
                raise script_error(
                    f"dialogue for {name!r} comes before any scene heading. Add a heading "
                    "such as 'INT. KITCHEN - NIGHT' above it.",
                    line=element.line,
                    source=source,
                )
            if not element.text:
                raise script_error(
                    f"character cue {element.cue!r} has no dialogue after it, only a "
                    "parenthetical. Add the spoken line, or write the direction as action.",
                    line=element.line,
                    source=source,
                )
            if not resolve(name):
                raise script_error(
                    f"character cue {element.cue!r} has no Latin letter or digit to make the "
                    "character's id from (ids are ASCII). Write the name in Latin letters.",
                    line=element.line,
                    source=source,
                )
            drafts[-1].speeches.append(
                DialogueLine(resolve(name), element.text, element.line, extension)
            )
        elif drafts:
            text = collapse(" ".join(element.lines))
            if text:
                drafts[-1].action.append((element.line, text))
    return drafts


def name_book(elements: list[Element], drafts: list[SceneDraft], resolve: Resolver) -> NameBook:
    """Every written form of every character: speakers, aliases, introduced extras."""
    names = NameBook()
    for element in elements:
        if isinstance(element, Speech):
            name = split_cue(element.cue)[0]
            names.add(name, resolve(name))
    for written, target in resolve.aliases.items():
        names.add(written, target)
        names.add(target, target)
    paragraphs = [text for draft in drafts for _, text in draft.action]
    for written, char_id, _known in introduced(paragraphs, names):
        names.add(written, char_id)
    names.finish()
    return names


def scene_ids(count: int) -> list[str]:
    """``S01`` ... in script order (three digits from 100 scenes on)."""
    width = max(2, len(str(count)))
    return [f"S{n:0{width}d}" for n in range(1, count + 1)]


def finish_scene(
    draft: SceneDraft, scene_id: str, names: NameBook
) -> tuple[ParsedScene, list[tuple[int, str]]]:
    """Build a scene; also return (line, character id) of every appearance, in text order."""
    speakers = unique(d.speaker for d in draft.speeches)
    appearances = [(d.line, d.speaker) for d in draft.speeches]
    in_action: list[str] = []
    props: list[str] = []
    for line, text in draft.action:
        named, found = scan_action(text, names)
        in_action += named
        appearances += [(line, c) for c in named]
        props += found
    name_ids = {c for _, c in appearances}
    head = draft.heading
    scene = ParsedScene(
        scene_id=scene_id,
        heading=head.heading,
        line=draft.line,
        interior=head.interior,
        location=head.location,
        time_of_day=head.time_of_day,
        continuous=bool(_CONTINUOUS_TIME.match(head.time_of_day)),
        characters=speakers,
        mentioned_characters=unique(c for c in in_action if c not in speakers),
        props=unique(p for p in props if p not in name_ids),
        dialogue=tuple(draft.speeches),
        action=tuple(text for _, text in draft.action),
        named_in_action=unique(in_action),
    )
    # stable sort: names within one paragraph keep their reading order
    return scene, sorted(appearances, key=lambda appearance: appearance[0])
