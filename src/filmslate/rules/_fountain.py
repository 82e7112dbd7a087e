"""Deterministic import of a Fountain screenplay (https://fountain.io).

``parse_fountain`` turns screenplay text into plain frozen dataclasses: scenes with canonical
ids, headings split into interior / location / time of day, speaking and mentioned characters,
props (the screenwriting convention of a prop's name in ALL CAPS in action), dialogue and
action. Every element keeps the 1-based line number it came from, so a malformed script is
refused with a :class:`~filmslate.core._errors.SchemaError` that names the line and says what to fix.

Nothing is invented here: goal, conflict and outcome of a scene are left to later skills.

Why our own parser and not screenplain's: screenplain's paragraphs carry no line numbers (it
also deletes boneyards with a regex before splitting lines, which shifts every later line),
it silently keeps an unterminated ``/*`` or ``[[`` as action text, it turns a cue without
dialogue into action so the mistake cannot be reported, and it pulls in reportlab. Fountain's
rules are line based and small, so a parser of a few hundred lines is the simpler dependency.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from filmslate.core._errors import SchemaError

__all__ = ["DialogueLine", "ParsedScene", "Screenplay", "canonical_id", "parse_fountain"]


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
    characters named in action without speaking here: in CAPS, or written exactly as their cue in
    Title case (``Nell``, ``Mr. Quill``, ``Quill``); known means a speaker anywhere in the
    script, an alias, or someone introduced in CAPS with an age (``OLD FISHERMAN (70s)``).
    ``props`` are the other ALL-CAPS runs in action, without sound cues and screen directions.
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


@dataclass(frozen=True)
class Screenplay:
    """A parsed screenplay: title page title and scenes, plus everything in first-use order."""

    title: str | None
    scenes: tuple[ParsedScene, ...]
    characters: tuple[str, ...]
    locations: tuple[str, ...]
    props: tuple[str, ...]


# ---------------------------------------------------------------------------------------------
# Vocabulary


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


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
    r"|^(?:CONTINUOUS|LATER|SAME|SAME TIME|SIMULTANEOUS|"
    r"(?:A\s+)?(?:FEW\s+)?(?:MOMENTS?|SECONDS?|MINUTES?|HOURS?)\s+LATER)$"
)
_CONTINUOUS_TIME = re.compile(
    r"^(?:CONTINUOUS|SAME|SAME TIME|SIMULTANEOUS"
    r"|(?:A\s+)?(?:FEW\s+)?(?:MOMENTS?|SECONDS?)\s+LATER)$"
)
_NAMED_TRANSITION = re.compile(
    r"^(?:FADE IN[:.]?|FADE OUT\.?|(?:FADE|CUT) TO BLACK\.?|THE END\.?)$"
)
_CONTINUED_MARKER = re.compile(r"^\(?(?:CONTINUED|MORE|CONT['’]?D)\)?:?$", re.IGNORECASE)
_TITLE_KEY = re.compile(r"^(?P<key>[A-Za-z][A-Za-z0-9 _-]*):(?P<value>.*)$")
_CONT_D = re.compile(r"^CONT(?:['’]?D|INUED|INUING|\.)?$")
_EXTENSION_ALIASES = {"VO": "V.O.", "OS": "O.S.", "OC": "O.C."}
_AGE_AFTER_NAME = re.compile(
    r"^\s*(?:\(\s*|,\s*)(?:early\s+|mid-?\s*|late\s+)?\d{1,3}(?:['’]?s)?\b", re.IGNORECASE
)
_LABEL_LINE = re.compile(r"^(?:SUPER|TITLE|TITLE CARD|CHYRON|SUBTITLE|CAPTION|INSERT)\s*:")
_WORD = re.compile(r"[^\W\d_](?:\w|['’-](?=\w))*")
_HONORIFICS = _words(
    "MR MRS MS MISS DR PROF SIR DAME LORD LADY ST REV FR CAPT CAPTAIN SGT LT DET DETECTIVE COL "
    "GEN OFFICER AGENT"
)
_DOTTED_HONORIFICS = _words("MR MRS MS DR PROF ST REV FR CAPT SGT LT DET COL GEN JR SR")
_STOPWORDS = _words(
    "A AN THE HIS HER ITS THEIR MY YOUR OUR THIS THAT THESE THOSE OF AND OR TO IN ON AT WITH FOR "
    "FROM BY SOME"
)
# Screen directions, transitions and emphasis words: written in caps, never props.
_NOT_PROPS = _words(
    """CONTINUED CONT CONTD MORE CUT CUTS FADE FADES DISSOLVE DISSOLVES SMASH MATCH INTERCUT
    MONTAGE FLASHBACK FLASHFORWARD END BEGIN BACK SCENE SUPER TITLE CHYRON INSERT ANGLE POV CLOSE
    CLOSEUP CU ECU MCU WIDE SHOT SHOTS REVERSE PAN PANS TILT TILTS ZOOM ZOOMS DOLLY TRACKING
    OVER BLACK WHITE SLOW MOTION FREEZE FRAME SERIES SPLIT SCREEN VO OS OC INT EXT EST OK OKAY
    DAY NIGHT LATER CONTINUOUS SILENCE NOTHING EVERYTHING NOW NO YES STOP NEVER"""
)
# Sound cues (the convention of capitalising sounds in action).
_SOUNDS = _words(
    """BANG BOOM CRASH CRACK THUD SLAM CLICK BEEP KNOCK WHOOSH SNAP SCREAM GUNSHOT GUNFIRE
    THUNDER THUNDERCLAP SIREN WAIL HONK BUZZ CREAK SHATTER THUMP POP RUMBLE CLANG CLANK HISS
    ROAR HUM SCREECH SPLASH CLATTER BLARE CRACKLE STATIC FOOTSTEP EXPLOSION EXPLODE BLAST THWACK
    WHAM BAM POW ZAP DING CHIME TICK VROOM RATTLE GROWL BARK WHIMPER SOB GASP SHRIEK WHISTLE
    WHIRR WHIR CHIRP BLEEP DRIP SIZZLE SQUEAL SQUEAK THRUM"""
)
# Also objects: the bare word is a prop ("a RING"), only the verb is a sound ("it RINGS").
_SOUND_VERBS = frozenset({"RING", "WHISTLE", "TAP", "CHIME", "BELL", "HORN", "ALARM"})


def _is_sound(word: str) -> bool:
    for suffix in ("", "S", "ES", "ING", "ED", "D"):
        stem = word[: len(word) - len(suffix)]
        if word.endswith(suffix) and (stem in _SOUNDS or (suffix and stem in _SOUND_VERBS)):
            return True
    return False


# ---------------------------------------------------------------------------------------------
# Ids and small text helpers


def canonical_id(name: str) -> str:
    """Canonical id of a character or prop: ``"Mrs. Hale"`` -> ``"MRS_HALE"``.

    Accents are folded, periods and apostrophes dropped, any other run of non-alphanumerics
    becomes one underscore.
    """
    folded = unicodedata.normalize("NFKD", name)
    folded = "".join(c for c in folded if not unicodedata.combining(c)).upper()
    folded = re.sub(r"[.'’]", "", folded)
    return re.sub(r"[^A-Z0-9]+", "_", folded).strip("_")


def _strip_emphasis(text: str) -> str:
    text = re.sub(r"(\*{1,3})(?=\S)(.+?)(?<=\S)\1", r"\2", text)
    text = re.sub(r"(?<!\w)_(?=\S)(.+?)(?<=\S)_(?!\w)", r"\1", text)
    return text.replace("\\*", "*").replace("\\_", "_")


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _fail(message: str, *, line: int, source: str) -> SchemaError:
    return SchemaError(f"{source}:{line}: {message}", line=line, source=source)


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


# ---------------------------------------------------------------------------------------------
# Stage 1: lines without boneyards and notes, keeping original line numbers

_Line = tuple[int, str]


def _clean_lines(text: str, source: str) -> list[_Line]:
    """Split into numbered lines, removing ``/* */`` and ``[[ ]]`` (they may span lines)."""
    nul = text.find("\x00")
    if nul >= 0:
        raise _fail(
            "the file contains a NUL byte: it is binary, not a Fountain screenplay. "
            "Export the script as plain text (.fountain) and import that.",
            line=text.count("\n", 0, nul) + 1,
            source=source,
        )
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    kept: list[_Line] = []
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
        raise _fail(
            "boneyard '/*' opened here is never closed. Add '*/' where the cut text ends.",
            line=opened_at,
            source=source,
        )
    if state == "[[":
        raise _fail(
            "note '[[' opened here is never closed. Add ']]' where the note ends.",
            line=opened_at,
            source=source,
        )
    return kept


# ---------------------------------------------------------------------------------------------
# Stage 2: title page


def _split_title_page(lines: list[_Line]) -> tuple[str | None, list[_Line]]:
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
    title = _collapse(" ".join(title_parts)) or None
    return title, lines[len(block) :]


# ---------------------------------------------------------------------------------------------
# Stage 3: classify body lines into elements


@dataclass(frozen=True)
class _Heading:
    line: int
    text: str


@dataclass(frozen=True)
class _Speech:
    line: int
    cue: str
    text: str


@dataclass(frozen=True)
class _BareCue:
    line: int
    cue: str


@dataclass
class _Action:
    line: int
    lines: list[str] = field(default_factory=list)


_Element = _Heading | _Speech | _BareCue | _Action


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
    """Sections, synopses, page breaks and (CONTINUED)/(MORE) markers carry no story."""
    if text.startswith("#") or _CONTINUED_MARKER.match(text):
        return True
    return text.startswith("=")  # a synopsis '= ...' or a page break '==='


def _action_text(text: str) -> str:
    if text.startswith("!"):
        text = text[1:]
    centered = re.fullmatch(r"\s*>\s*(.*?)\s*<\s*", text)
    if centered:
        text = centered[1]
    return _strip_emphasis(text.lstrip("~").strip())


def _read_speech(body: list[_Line], start: int) -> tuple[str, int]:
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
    return _collapse(" ".join(spoken)), index


def _classify(body: list[_Line]) -> list[_Element]:
    """Walk the body once, turning lines into headings, speeches, bare cues and action."""
    elements: list[_Element] = []
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
            elements.append(_Heading(number, heading))
            prev_blank = True  # a cue may follow a heading directly
            continue
        if _is_ignorable(text) or (prev_blank and _is_transition(text, next_blank)):
            pass
        elif prev_blank and _is_cue(text) and not next_blank:
            spoken, index = _read_speech(body, index)
            elements.append(_Speech(number, text, spoken))
        elif prev_blank and _is_cue(text) and next_blank:
            elements.append(_BareCue(number, text))
        else:
            if prev_blank or not elements or not isinstance(elements[-1], _Action):
                elements.append(_Action(number))
            action = elements[-1]
            assert isinstance(action, _Action)
            action.lines.append(_action_text(raw))
        prev_blank = False
    return elements


# ---------------------------------------------------------------------------------------------
# Cues and headings


def _split_cue(cue: str) -> tuple[str, str | None]:
    """``"JONAH (V.O.) ^"`` -> (``"JONAH"``, ``"V.O."``); CONT'D is dropped."""
    cue = cue.strip().rstrip("^").strip()
    if cue.startswith("@"):
        cue = cue[1:]
    name = cue.split("(", 1)[0].strip()
    extensions: list[str] = []
    for raw in re.findall(r"\(([^)]*)\)", cue):
        word = _collapse(raw.upper())
        squeezed = word.replace(".", "").replace(" ", "")
        if not word or _CONT_D.match(word.replace(" ", "")):
            continue
        extensions.append(_EXTENSION_ALIASES.get(squeezed, word))
    return name, ", ".join(extensions) or None


@dataclass(frozen=True)
class _HeadingParts:
    heading: str
    interior: str
    location: str
    time_of_day: str


def _parse_heading(item: _Heading, source: str) -> _HeadingParts:
    heading = _collapse(_strip_emphasis(_SCENE_NUMBER.sub("", item.text)))
    rest = heading
    interior = ""
    prefix = _HEADING_PREFIX.match(heading)
    if prefix:
        word = re.sub(r"[\s.]", "", prefix["prefix"].upper())
        interior = {"INT": "INT", "EXT": "EXT", "EST": "EXT"}.get(word, "INT/EXT")
        rest = heading[prefix.end() :]
    parts = [p.strip(" .") for p in _HEADING_SPLIT.split(rest.strip(" .-–—")) if p.strip(" .")]
    time_of_day = ""
    if parts:
        # "DAY (1987)": the qualifier stays in the heading, the time is DAY
        candidate = re.sub(r"\s*\([^)]*\)$", "", parts[-1].upper()) or parts[-1].upper()
        candidate = _collapse(candidate.strip("()"))
        if _TIME_OF_DAY.match(candidate):
            time_of_day = candidate
            parts.pop()
    location = _collapse(" ".join(parts).upper())
    if not location:
        raise _fail(
            f"scene heading {heading!r} has no location. Write it as 'INT. LOCATION - TIME', "
            "for example 'INT. KITCHEN - NIGHT'.",
            line=item.line,
            source=source,
        )
    return _HeadingParts(heading, interior, location, time_of_day)


# ---------------------------------------------------------------------------------------------
# Names and props in action text


@dataclass(frozen=True)
class _Token:
    word: str  # uppercase, possessive 'S removed
    start: int
    end: int
    caps: bool
    title: bool
    possessive: bool


def _tokens(text: str) -> list[_Token]:
    found: list[_Token] = []
    for match in _WORD.finditer(text):
        raw = match.group()
        possessive = raw.upper().endswith(("'S", "’S"))
        if possessive:
            raw = raw[:-2]
        letters = [c for c in raw if c.isalpha()]
        caps = len(letters) >= 2 and all(c.isupper() for c in letters)
        title = raw[:1].isupper() and any(c.islower() for c in letters)
        found.append(_Token(raw.upper(), match.start(), match.end(), caps, title, possessive))
    return found


def _joined(text: str, left: _Token, right: _Token) -> bool:
    """Are two neighbouring tokens part of one name or noun phrase?"""
    if left.possessive:
        return False
    gap = text[left.end : right.start]
    return not gap.strip() or (gap.strip() == "." and left.word in _DOTTED_HONORIFICS)


class _NameBook:
    """Every written form of every known character, longest forms tried first."""

    def __init__(self) -> None:
        # first word -> [(all words, character id)], longest first
        self._forms: dict[str, list[tuple[tuple[str, ...], str]]] = {}

    def add(self, written: str, char_id: str) -> None:
        words = tuple(w for w in canonical_id(written).split("_") if w)
        self._add_form(words, char_id)
        if len(words) > 1 and words[0] in _HONORIFICS:
            self._add_form(words[1:], char_id)

    def _add_form(self, words: tuple[str, ...], char_id: str) -> None:
        if not words:
            return
        forms = self._forms.setdefault(words[0], [])
        if all(known != words for known, _ in forms):
            forms.append((words, char_id))
            forms.sort(key=lambda form: -len(form[0]))

    def match(self, text: str, tokens: Sequence[_Token], at: int) -> tuple[str, int] | None:
        """(character id, token count) of the longest name starting at token ``at``."""
        for words, char_id in self._forms.get(tokens[at].word, ()):
            span = tokens[at : at + len(words)]
            if len(span) != len(words) or tuple(t.word for t in span) != words:
                continue
            if not (all(t.caps for t in span) or all(t.title for t in span)):
                continue
            if all(_joined(text, a, b) for a, b in pairwise(span)):
                return char_id, len(words)
        return None


def _caps_groups(text: str, tokens: list[_Token]) -> list[list[int]]:
    """Indexes of runs of contiguous ALL-CAPS tokens."""
    groups: list[list[int]] = []
    for i, token in enumerate(tokens):
        if not token.caps:
            continue
        if groups and groups[-1][-1] == i - 1 and _joined(text, tokens[i - 1], token):
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def _props_in_group(text: str, words: list[str], end: int) -> list[str]:
    if text[end : end + 1] == "!":
        return []  # "BANG!" is a sound cue
    if words[0] in _HONORIFICS:
        return []  # "MR. QUILL" is a person even before he speaks
    parts: list[list[str]] = [[]]
    for word in words:
        if word in _NOT_PROPS or _is_sound(word):
            parts.append([])
        else:
            parts[-1].append(word)
    props: list[str] = []
    for part in parts:
        while part and part[0] in _STOPWORDS:
            part.pop(0)
        while part and part[-1] in _STOPWORDS:
            part.pop()
        if part:
            props.append(canonical_id(" ".join(part)))
    return props


def _scan_action(text: str, names: _NameBook) -> tuple[list[str], list[str]]:
    """(character ids named, prop ids in caps) in one action paragraph, in order."""
    tokens = _tokens(text)
    named: dict[int, str] = {}
    at = 0
    while at < len(tokens):
        hit = names.match(text, tokens, at)
        if hit:
            for k in range(at, at + hit[1]):
                named[k] = hit[0]
            at += hit[1]
        else:
            at += 1
    props: list[str] = []
    emphasis_only = not any(c.islower() for c in text)
    if not emphasis_only and not _LABEL_LINE.match(text):
        for group in _caps_groups(text, tokens):
            if any(i in named for i in group):
                continue  # "NELL ADAIR (34)": the whole run is the character
            props += _props_in_group(text, [tokens[i].word for i in group], tokens[group[-1]].end)
    return list(dict.fromkeys(named[k] for k in sorted(named))), props


def _introduced_extras(paragraphs: Iterable[str], names: _NameBook) -> list[tuple[str, str]]:
    """Non-speaking characters introduced the conventional way: ``"OLD FISHERMAN (70s)"``."""
    extras: list[tuple[str, str]] = []
    for text in paragraphs:
        tokens = _tokens(text)
        for group in _caps_groups(text, tokens):
            end = tokens[group[-1]].end
            if tokens[group[-1]].possessive or not _AGE_AFTER_NAME.match(text[end:]):
                continue
            if any(names.match(text, tokens, i) for i in group):
                continue
            words = [tokens[i].word for i in group]
            while words and words[0] in _STOPWORDS:
                words.pop(0)
            if words:
                extras.append((" ".join(words), canonical_id(" ".join(words))))
    return extras


# ---------------------------------------------------------------------------------------------
# Stage 4: scenes


@dataclass
class _SceneDraft:
    heading: _HeadingParts
    line: int
    speeches: list[DialogueLine] = field(default_factory=list)
    action: list[tuple[int, str]] = field(default_factory=list)


class _Resolver:
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


def _drafts(elements: list[_Element], resolve: _Resolver, source: str) -> list[_SceneDraft]:
    speakers = {resolve(_split_cue(e.cue)[0]) for e in elements if isinstance(e, _Speech)}
    if not any(isinstance(e, _Heading) for e in elements):
        raise _fail(
            "no scene heading found, so this is not a Fountain screenplay. Start every scene "
            "with a heading such as 'INT. KITCHEN - NIGHT' (or force one with a leading '.') "
            "after a blank line.",
            line=1,
            source=source,
        )
    drafts: list[_SceneDraft] = []
    for element in elements:
        if isinstance(element, _Heading):
            drafts.append(_SceneDraft(_parse_heading(element, source), element.line))
        elif isinstance(element, _BareCue):
            name, extension = _split_cue(element.cue)
            if _is_missing_speech(element.cue, resolve(name) in speakers, bool(drafts)):
                raise _fail(
                    f"character cue {element.cue!r} has no dialogue after it. Put the "
                    "dialogue on the line right below the cue (no blank line between), or "
                    "start the line with '!' if it is action.",
                    line=element.line,
                    source=source,
                )
            if drafts:
                drafts[-1].action.append((element.line, _action_text(element.cue)))
        elif isinstance(element, _Speech):
            name, extension = _split_cue(element.cue)
            if not drafts:
                raise _fail(
                    f"dialogue for {name!r} comes before any scene heading. Add a heading "
                    "such as 'INT. KITCHEN - NIGHT' above it.",
                    line=element.line,
                    source=source,
                )
            if not element.text:
                raise _fail(
                    f"character cue {element.cue!r} has no dialogue after it, only a "
                    "parenthetical. Add the spoken line, or write the direction as action.",
                    line=element.line,
                    source=source,
                )
            drafts[-1].speeches.append(
                DialogueLine(resolve(name), element.text, element.line, extension)
            )
        elif drafts:
            text = _collapse(" ".join(element.lines))
            if text:
                drafts[-1].action.append((element.line, text))
    return drafts


def _name_book(
    elements: list[_Element], drafts: list[_SceneDraft], resolve: _Resolver
) -> _NameBook:
    names = _NameBook()
    for element in elements:
        if isinstance(element, _Speech):
            name = _split_cue(element.cue)[0]
            names.add(name, resolve(name))
    for written, target in resolve.aliases.items():
        names.add(written, target)
        names.add(target, target)
    paragraphs = [text for draft in drafts for _, text in draft.action]
    for written, char_id in _introduced_extras(paragraphs, names):
        names.add(written, char_id)
    return names


def _scene_ids(count: int) -> list[str]:
    width = max(2, len(str(count)))
    return [f"S{n:0{width}d}" for n in range(1, count + 1)]


def _finish(
    draft: _SceneDraft, scene_id: str, names: _NameBook
) -> tuple[ParsedScene, list[tuple[int, str]]]:
    """Build a scene; also return (line, character id) of every appearance, in text order."""
    speakers = _unique(d.speaker for d in draft.speeches)
    appearances = [(d.line, d.speaker) for d in draft.speeches]
    mentioned: list[str] = []
    props: list[str] = []
    for line, text in draft.action:
        named, found = _scan_action(text, names)
        mentioned += [c for c in named if c not in speakers]
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
        mentioned_characters=_unique(mentioned),
        props=_unique(p for p in props if p not in name_ids),
        dialogue=tuple(draft.speeches),
        action=tuple(text for _, text in draft.action),
    )
    # stable sort: names within one paragraph keep their reading order
    return scene, sorted(appearances, key=lambda appearance: appearance[0])


def parse_fountain(
    text: str, *, aliases: Mapping[str, str] | None = None, source: str = "<script>"
) -> Screenplay:
    """Parse Fountain screenplay text into scenes, characters, locations and props.

    ``aliases`` maps other written names of a character to its id (``{"DETECTIVE RUIZ":
    "RUIZ"}``); keys and values are normalised like cues. ``source`` names the script in error
    messages. Raises :class:`~filmslate.core._errors.SchemaError` (with ``line`` and ``source``) for
    a file that is not a screenplay, dialogue before the first scene heading, a cue without
    dialogue, an unterminated ``/*`` or ``[[``, and a heading without a location.
    """
    if not text.strip():
        raise _fail(
            "the script is empty. Import a Fountain screenplay whose scenes start "
            "with headings such as 'INT. KITCHEN - NIGHT'.",
            line=1,
            source=source,
        )
    resolve = _Resolver(aliases, source)
    title, body = _split_title_page(_clean_lines(text, source))
    elements = _classify(body)
    drafts = _drafts(elements, resolve, source)
    names = _name_book(elements, drafts, resolve)
    scenes: list[ParsedScene] = []
    first_seen: list[tuple[int, str]] = []
    for draft, scene_id in zip(drafts, _scene_ids(len(drafts)), strict=True):
        scene, appearances = _finish(draft, scene_id, names)
        scenes.append(scene)
        first_seen += appearances
    return Screenplay(
        title=title,
        scenes=tuple(scenes),
        characters=_unique(c for _, c in sorted(first_seen, key=lambda seen: seen[0])),
        locations=_unique(s.location for s in scenes),
        props=_unique(p for s in scenes for p in s.props),
    )
