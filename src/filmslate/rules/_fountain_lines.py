"""Fountain lines into elements: the first stages of :func:`~._fountain.parse_fountain`.

Boneyards (``/* */``) and notes (``[[ ]]``) are removed while every kept line keeps its
1-based number; the title page is split off; each body line becomes part of a scene heading,
a speech (cue and dialogue), a cue left without dialogue, or action; cues and headings are
split into their parts. Fountain's rules are line based, so this is one pass over the lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from filmslate.core._errors import SchemaError

from ._fountain_names import canonical_id

# ---------------------------------------------------------------------------------------------
# Vocabulary


_HEADING_PREFIX = re.compile(
    r"^(?P<prefix>INT\.?\s*/\s*EXT|EXT\.?\s*/\s*INT|I\s*/\s*E|E\s*/\s*I|INT|EXT|EST)"
    r"(?:\.|\s|$)",
    re.IGNORECASE,
)
_SCENE_NUMBER = re.compile(r"\s*#[\w.\-]+#\s*$")
_HEADING_SPLIT = re.compile(r"\s+-{1,2}\s+|\s*--\s*|\s*[–—]\s*")
_TIME_OF_DAY = re.compile(
    r"^(?:(?:EARLY|LATE|LATER THAT|THAT|THE NEXT|NEXT|SAME)\s+)?"
    r"(?:DAY|NIGHT|DAWN|DUSK|MORNING|AFTERNOON|EVENING|NOON|MIDDAY|MIDNIGHT|SUNRISE|SUNSET|"
    r"TWILIGHT|DAYBREAK|NIGHTFALL|PRE-DAWN|PREDAWN|FIRST LIGHT|MAGIC HOUR|GOLDEN HOUR)$"
    r"|^(?:CONTINUOUS|LATER|SAME|SAME TIME|SIMULTANEOUS|PRESENT|PRESENT DAY|"
    r"BACK TO (?:THE )?PRESENT(?: DAY)?|END (?:OF )?FLASH[\s-]*(?:BACK|FORWARD)|"
    r"(?:A\s+)?(?:FEW\s+)?(?:MOMENTS?|SECONDS?|MINUTES?|HOURS?)\s+LATER)$"
)
# A heading's flashback / flash-forward marker, as a part ("- FLASHBACK -") or a qualifier
# ("(FLASHBACK)"); the import moves it to the time of day: "DAY (FLASHBACK)" (issue 16 §2).
_FLASH = re.compile(r"\bFLASH[\s-]*(BACK|FORWARD)S?\b", re.IGNORECASE)
_FLASH_QUALIFIER = re.compile(r"\s*\(\s*FLASH[\s-]*(?:BACK|FORWARD)S?[^)]*\)", re.IGNORECASE)
_NAMED_TRANSITION = re.compile(
    r"^(?:FADE IN[:.]?|FADE OUT\.?|(?:FADE|CUT) TO BLACK\.?|THE END\.?)$"
)
_CONTINUED_MARKER = re.compile(r"^\(?(?:CONTINUED|MORE|CONT['’]?D)\)?:?$", re.IGNORECASE)
_TITLE_KEY = re.compile(r"^(?P<key>[A-Za-z][A-Za-z0-9 _-]*):(?P<value>.*)$")
_CONT_D = re.compile(r"^CONT(?:['’]?D|INUED|INUING|\.)?$")
_EXTENSION_ALIASES = {
    "VO": "V.O.",
    "OS": "O.S.",
    "OC": "O.C.",
    "V/O": "V.O.",
    "O/S": "O.S.",
    "O/C": "O.C.",
}


# ---------------------------------------------------------------------------------------------
# Small text helpers


def _strip_emphasis(text: str) -> str:
    text = re.sub(r"(\*{1,3})(?=\S)(.+?)(?<=\S)\1", r"\2", text)
    text = re.sub(r"(?<!\w)_(?=\S)(.+?)(?<=\S)_(?!\w)", r"\1", text)
    return text.replace("\\*", "*").replace("\\_", "_")


def collapse(text: str) -> str:
    """Runs of whitespace as one space, the ends trimmed."""
    return " ".join(text.split())


def script_error(message: str, *, line: int, source: str) -> SchemaError:
    """The error for a malformed script: names the source and line, says what to fix."""
    return SchemaError(f"{source}:{line}: {message}", line=line, source=source)


# ---------------------------------------------------------------------------------------------
# Stage 1: lines without boneyards and notes, keeping original line numbers

Line = tuple[int, str]
"""A line of the script: its 1-based number in the file and its text."""


# Control characters (tab and newline aside), lone surrogates and the Unicode line and
# paragraph separators: a scene slice could not store them (SCRIPT text is line based).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def _refuse_control(text: str, source: str) -> None:
    found = _CONTROL.search(text)
    if found is None:
        return
    start = text.rfind("\n", 0, found.start()) + 1
    raise script_error(
        f"column {found.start() - start + 1} holds the control character "
        f"U+{ord(found.group()):04X}, which a screenplay cannot carry. Delete it (a page "
        "break in Fountain is a line of ===) and import again.",
        line=text.count("\n", 0, found.start()) + 1,
        source=source,
    )


def clean_lines(text: str, source: str) -> list[Line]:
    """Split into numbered lines, removing ``/* */`` and ``[[ ]]`` (they may span lines)."""
    nul = text.find("\x00")
    if nul >= 0:
        raise script_error(
            "the file contains a NUL byte: it is binary, not a Fountain screenplay. "
            "Export the script as plain text (.fountain) and import that.",
            line=text.count("\n", 0, nul) + 1,
            source=source,
        )
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    _refuse_control(text, source)
    kept: list[Line] = []
    state: str | None = None
    opened_at = 0
    for number, raw in enumerate(text.split("\n"), start=1):
        out: list[str] = []
        touched = state is not None
        pos = 0
        while pos < len(raw):
            if state is None:
                opener = raw[pos : pos + 2]
                if opener in ("/*", "[["):
                    state, opened_at, touched = opener, number, True
                    pos += 2
                else:
                    out.append(raw[pos])
                    pos += 1
                continue
            end = raw.find("*/" if state == "/*" else "]]", pos)
            if end < 0:
                pos = len(raw)
            else:
                state, pos = None, end + 2
        if state is not None:
            touched = True
        line = "".join(out).expandtabs(4).rstrip()
        if touched and not line.strip():
            continue  # a line that held only a comment is not a blank line
        kept.append((number, line))
    if state == "/*":
        raise script_error(
            "boneyard '/*' opened here is never closed. Add '*/' where the cut text ends.",
            line=opened_at,
            source=source,
        )
    if state == "[[":
        raise script_error(
            "note '[[' opened here is never closed. Add ']]' where the note ends.",
            line=opened_at,
            source=source,
        )
    return kept


# ---------------------------------------------------------------------------------------------
# Stage 2: title page


def split_title_page(lines: list[Line]) -> tuple[str | None, list[Line]]:
    """Return the title and the body; the title page is a leading ``Key: value`` block."""
    block: list[str] = []
    for _, text in lines:
        if not text.strip():
            break
        block.append(text)
    if not block:
        return None, lines
    first = _TITLE_KEY.match(block[0].strip())
    if first is None or (first["key"].isupper() and not first["value"].strip()):
        return None, lines  # "FADE IN:" is a transition, not a title page key
    fields: dict[str, list[str]] = {}
    key = ""
    for text in block:
        match = _TITLE_KEY.match(text.strip())
        if match and not text[:1].isspace():
            key = match["key"].strip().lower()
            value = match["value"].strip()
            fields.setdefault(key, [])
            if value:
                fields[key].append(value)
        elif text[:1].isspace() and key:
            fields[key].append(text.strip())
        else:
            return None, lines
    title_parts = [_strip_emphasis(part) for part in fields.get("title", [])]
    title = collapse(" ".join(title_parts)) or None
    return title, lines[len(block) :]


# ---------------------------------------------------------------------------------------------
# Stage 3: classify body lines into elements


@dataclass(frozen=True)
class Heading:
    """A scene heading line, without a forcing '.'."""

    line: int
    text: str


@dataclass(frozen=True)
class Speech:
    """A character cue with the dialogue below it (parentheticals dropped)."""

    line: int
    cue: str
    text: str


@dataclass(frozen=True)
class BareCue:
    """A cue-shaped line with no dialogue below it."""

    line: int
    cue: str


@dataclass
class Action:
    """A paragraph of action: its first line's number and its lines."""

    line: int
    lines: list[str] = field(default_factory=list)


Element = Heading | Speech | BareCue | Action
"""One element of the body, in script order."""


def _heading_text(text: str, next_blank: bool) -> str | None:
    """The heading without a forcing '.', or None when the line is not a scene heading."""
    if text.startswith(".") and len(text) > 1 and text[1] != ".":
        return text[1:].strip()
    if _HEADING_PREFIX.match(text) and (next_blank or text == text.upper()):
        return text
    return None


def _is_transition(text: str, next_blank: bool) -> bool:
    if text.startswith(">") and not text.endswith("<"):
        return True
    if _NAMED_TRANSITION.match(text):
        return True
    return next_blank and text == text.upper() and text.endswith("TO:")


def _is_cue(text: str) -> bool:
    """True when the line is shaped like a character cue (forced '@' or an uppercase name)."""
    if text.startswith("@"):
        return len(text.rstrip("^").strip()) > 1
    body = text.rstrip("^").strip()
    name = body.split("(", 1)[0].strip()
    if not re.fullmatch(r"[^()]+(?:\s*\([^()]*\))*", body):
        return False  # only parentheticals may follow the name
    if not name or not any(c.isalpha() for c in name) or name != name.upper():
        return False
    return all(c.isalpha() or c.isdigit() or c in " .'’-&" for c in name)


def _is_ignorable(text: str) -> bool:
    """Lines that name no cast or props wherever they stand: sections, synopses, page breaks,
    (CONTINUED)/(MORE) markers, centered text (``> TITLE <``, a card on screen), forced
    transitions (``> FADE OUT.``) and lyrics outside dialogue (``~...``, sung, not done)."""
    if text.startswith(("#", ">", "~")) or _CONTINUED_MARKER.match(text):
        return True
    return text.startswith("=")  # a synopsis '= ...' or a page break '==='


def action_text(text: str) -> str:
    """An action line as plain text: forcing marks, centring and emphasis removed."""
    if text.startswith("!"):
        text = text[1:]
    centered = re.fullmatch(r"\s*>\s*(.*?)\s*<\s*", text)
    if centered:
        text = centered[1]
    return _strip_emphasis(text.lstrip("~").strip())


def _read_speech(body: list[Line], start: int) -> tuple[str, int]:
    """Dialogue text below a cue (parentheticals dropped) and the index after the block."""
    spoken: list[str] = []
    in_paren = False
    index = start
    while index < len(body) and body[index][1].strip():
        text = body[index][1].strip()
        if text.startswith("(") or in_paren:
            in_paren = not text.endswith(")")
        else:
            spoken.append(_strip_emphasis(text.lstrip("~").strip()))
        index += 1
    return collapse(" ".join(spoken)), index


def classify(body: list[Line]) -> list[Element]:
    """Walk the body once, turning lines into headings, speeches, bare cues and action."""
    elements: list[Element] = []
    prev_blank = True
    index = 0
    while index < len(body):
        number, raw = body[index]
        text = raw.strip()
        next_blank = index + 1 >= len(body) or not body[index + 1][1].strip()
        index += 1
        if not text:
            prev_blank = True
            continue
        heading = _heading_text(text, next_blank) if prev_blank else None
        if heading is not None:
            elements.append(Heading(number, heading))
            prev_blank = True  # a cue may follow a heading directly
            continue
        if _is_ignorable(text) or (prev_blank and _is_transition(text, next_blank)):
            pass
        elif prev_blank and _is_cue(text) and not next_blank:
            spoken, index = _read_speech(body, index)
            elements.append(Speech(number, text, spoken))
        elif prev_blank and _is_cue(text) and next_blank:
            elements.append(BareCue(number, text))
        else:
            if prev_blank or not elements or not isinstance(elements[-1], Action):
                elements.append(Action(number))
            action = elements[-1]
            assert isinstance(action, Action)
            action.lines.append(action_text(raw))
        prev_blank = False
    return elements


# ---------------------------------------------------------------------------------------------
# Cues and headings


def split_cue(cue: str) -> tuple[str, str | None]:
    """``"JONAH (V.O.) ^"`` -> (``"JONAH"``, ``"V.O."``); CONT'D is dropped."""
    cue = cue.strip().rstrip("^").strip()
    if cue.startswith("@"):
        cue = cue[1:]
    name = cue.split("(", 1)[0].strip()
    extensions: list[str] = []
    for raw in re.findall(r"\(([^)]*)\)", cue):
        word = collapse(raw.upper())
        squeezed = word.replace(".", "").replace(" ", "")
        if not word or _CONT_D.match(word.replace(" ", "")):
            continue
        extensions.append(_EXTENSION_ALIASES.get(squeezed, word))
    return name, ", ".join(extensions) or None


@dataclass(frozen=True)
class HeadingParts:
    """A heading split into its parts (the fields of the same name in ``ParsedScene``)."""

    heading: str
    interior: str
    location: str
    time_of_day: str


def parse_heading(item: Heading, source: str) -> HeadingParts:
    """Split a heading into interior, location and time of day; refuse one without a place."""
    heading = collapse(_strip_emphasis(_SCENE_NUMBER.sub("", item.text)))
    rest = heading
    interior = ""
    prefix = _HEADING_PREFIX.match(heading)
    if prefix:
        word = re.sub(r"[\s.]", "", prefix["prefix"].upper())
        interior = {"INT": "INT", "EXT": "EXT", "EST": "EXT"}.get(word, "INT/EXT")
        rest = heading[prefix.end() :]
    qualifier = _FLASH_QUALIFIER.search(rest)
    rest = _FLASH_QUALIFIER.sub("", rest)
    parts = [p.strip(" .") for p in _HEADING_SPLIT.split(rest.strip(" .-–—")) if p.strip(" .")]
    marked = [m for p in parts if (m := _FLASH.fullmatch(p.strip()))]
    parts = [p for p in parts if not _FLASH.fullmatch(p.strip())]
    flash = marked[0] if marked else _FLASH.search(qualifier[0]) if qualifier else None
    time_of_day = ""
    if parts:
        # "DAY (1987)": the qualifier stays in the heading, the time is DAY
        candidate = re.sub(r"\s*\([^)]*\)$", "", parts[-1].upper()) or parts[-1].upper()
        candidate = collapse(candidate.strip("()"))
        if _TIME_OF_DAY.match(candidate):
            time_of_day = candidate
            parts.pop()
    if flash:  # out of story order: the time text says so (story_position says where)
        marker = "FLASHBACK" if flash[1].upper() == "BACK" else "FLASH FORWARD"
        time_of_day = f"{time_of_day} ({marker})" if time_of_day else marker
    location = collapse(" ".join(parts).upper())
    if not location:
        raise script_error(
            f"scene heading {heading!r} has no location. Write it as 'INT. LOCATION - TIME', "
            "for example 'INT. KITCHEN - NIGHT'.",
            line=item.line,
            source=source,
        )
    if not canonical_id(location):
        raise script_error(
            f"scene heading {heading!r}: the location {location!r} has no Latin letter or "
            "digit to make its id from (ids are ASCII). Write the location in Latin letters, "
            "for example 'INT. KITCHEN - NIGHT'.",
            line=item.line,
            source=source,
        )
    return HeadingParts(heading, interior, location, time_of_day)
