"""What code can read off a parsed screenplay, without a model: the SCENES and BREAKDOWN
tables (ids, locations, times, who is present, first appearances, visible risks) and each
scene's own slice of the file. Pure: the importer and script-breakdown both build on it.

Who is present: every speaker heard on screen or off screen in the scene's space (``O.S.``,
``O.C.``), every character the action names, and a voice from elsewhere (``V.O.``, ``ON
PHONE``, ``FILTERED`` ...) only when the action also names that character. SCENES has no
column for how a speaker is heard (SPEC §4 fixes its columns), so the BREAKDOWN row of the
scene records it among its continuity risks, in one fixed form per kind (:func:`voice_notes`).
"""

from __future__ import annotations

import re

from ..schemas import Breakdown, Scenes, ScriptScene
from ._fountain import ParsedScene, Screenplay, canonical_id

SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


# Cue extensions of a voice from elsewhere, and of a speaker in the scene but off camera.
_VOICE = re.compile(
    r"^(?:V\.O\.|VOICE[- ]?OVER|FILTERED|PRE-?LAP|RECORD(?:ED|ING)|"
    r"(?:ON|OVER|THROUGH|VIA)(?: THE| A)? (?:PHONE|TELEPHONE|RADIO|TV|TELEVISION|SCREEN|"
    r"SPEAKER(?:PHONE)?|LOUDSPEAKER|INTERCOM|TAPE|VIDEO|PA|TANNOY|MONITOR|COMMS?))$"
)
_OFF = re.compile(r"^(?:O\.S\.|O\.C\.|OFF|OFF[- ]?(?:SCREEN|CAMERA|STAGE))$")


def off_screen(scene: ParsedScene) -> dict[str, tuple[str, ...]]:
    """Speakers never heard on screen in the scene -> the extensions they are heard by
    (``("O.S.",)``, ``("V.O.",)``); a speaker with any on-screen line is not listed."""
    marks: dict[str, list[str]] = {}
    on_screen: set[str] = set()
    for line in scene.dialogue:
        parts = (line.extension or "").split(", ")
        heard = [p for p in parts if _VOICE.match(p) or _OFF.match(p)]
        if heard:
            marks.setdefault(line.speaker, []).extend(heard)
        else:
            on_screen.add(line.speaker)
    return {c: unique(m) for c, m in marks.items() if c not in on_screen}


def _voice_only(scene: ParsedScene) -> list[str]:
    """Speakers heard only from elsewhere whom the action does not name: not present."""
    return [
        c
        for c, heard in off_screen(scene).items()
        if not any(_OFF.match(h) for h in heard) and c not in scene.named_in_action
    ]


def present(scene: ParsedScene) -> list[str]:
    """Characters in the scene: speakers (off screen included) but voices from elsewhere the
    action does not name, then the others the action names."""
    voice_only = _voice_only(scene)
    speakers = [c for c in scene.characters if c not in voice_only]
    return speakers + [c for c in scene.mentioned_characters if c not in speakers]


def voice_notes(scene: ParsedScene) -> list[str]:
    """How each speaker not heard on screen is heard, the marker the scene's cast carries:
    ``heard only in voice-over: MR_QUILL (V.O.)`` (not present), ``present, heard off
    screen: GUS (O.S.)``, ``present, heard in voice-over: NELL (V.O.)`` (the action names
    her)."""
    groups: dict[str, list[str]] = {}
    voice_only = _voice_only(scene)
    for char, heard in off_screen(scene).items():
        if char in voice_only:
            kind = "heard only in voice-over"
        elif any(_OFF.match(h) for h in heard):
            kind = "present, heard off screen"
        else:
            kind = "present, heard in voice-over"
        groups.setdefault(kind, []).append(f"{char} ({' / '.join(heard)})")
    return [f"{kind}: {', '.join(chars)}" for kind, chars in groups.items()]


def unique(items: list[str]) -> tuple[str, ...]:
    """The items without repeats, in first-seen order."""
    return tuple(dict.fromkeys(items))


def summary_of(scene: ParsedScene) -> str:
    """The scene's first action sentence (code does not summarise; it quotes)."""
    for paragraph in scene.action:
        first = SENTENCE_END.split(" ".join(paragraph.split()), 1)[0]
        if first:
            return first[:240]
    return scene.heading


TRANSITIONS = (
    "CONTINUOUS",
    "MOMENTS LATER",
    "SECONDS LATER",
    "LATER",
    "SAME",
    "SAME TIME",
    "SIMULTANEOUS",
)


_DISPLACED = re.compile(r"\bFLASH[\s-]*(?:BACK|FORWARD)\b")
_RETURN = re.compile(r"^(?:BACK TO (?:THE )?PRESENT|PRESENT|END (?:OF )?FLASH)")


def _same_place(a: str, b: str) -> bool:
    """One place, or one inside the other ('HARBOUR OFFICE', 'HARBOUR OFFICE DESK')."""
    return a == b or a.startswith(b + " ") or b.startswith(a + " ")


def times_of_day(play: Screenplay) -> list[str]:
    """Each scene's time of day; a transition inherits the time before it and keeps its word:
    ``NIGHT (CONTINUOUS)``, so later checks see both the time and how the scene follows.

    A transition right after a flashback (or flash forward) at the place of the scene the
    flashback interrupted goes back to that scene: ``INT. OFFICE - CONTINUOUS`` after
    ``EXT. PIER - DAY (FLASHBACK)`` cut from the office is the office's time, not the
    flashback's (it is not marked FLASHBACK). BACK TO PRESENT (PRESENT, END FLASHBACK) takes
    the time of the scene the flashback left: ``NIGHT (BACK TO PRESENT)``."""
    times, current, present, present_at, last_at = [], "", "", "", ""
    for scene in play.scenes:
        written = scene.time_of_day
        if _RETURN.match(written):  # BACK TO PRESENT: the time of the scene left
            current = present
            times.append(f"{present} ({written})" if present else written)
        elif written in TRANSITIONS:
            back = (
                bool(_DISPLACED.search(current))
                and _same_place(scene.location, present_at)
                and not _same_place(scene.location, last_at)
            )
            if back:
                current = present
            times.append(f"{current} ({written})" if current else written)
        else:
            current = written
            times.append(written)
        if not _DISPLACED.search(times[-1]):
            present, present_at = current, scene.location
        last_at = scene.location
    return times


def scenes_table(play: Screenplay) -> Scenes:
    """SCENES rows; goal, conflict and outcome stay empty for the breakdown to fill."""
    return Scenes.model_validate(
        {
            "rows": [
                {
                    "scene_id": s.scene_id,
                    "summary": summary_of(s),
                    "location": canonical_id(s.location),
                    "time_of_day": time,
                    "characters_present": present(s),
                }
                for s, time in zip(play.scenes, times_of_day(play), strict=True)
            ]
        }
    )


def _first(seen: set[str], items: list[str]) -> list[str]:
    new = [i for i in items if i not in seen]
    seen.update(items)
    return new


def breakdown_table(play: Screenplay) -> Breakdown:
    """BREAKDOWN rows with first appearances, lock needs and what code can see as risk."""
    chars: set[str] = set()
    places: set[str] = set()
    props: set[str] = set()
    voiced: set[str] = set()
    rows = []
    for scene in play.scenes:
        cast = present(scene)
        location = canonical_id(scene.location)
        new_chars = _first(chars, cast)
        new_places = _first(places, [location])
        new_voices = _first(voiced, list(scene.characters))
        rows.append(
            {
                "scene_id": scene.scene_id,
                "characters_present": cast,
                "new_characters_introduced": new_chars,
                "locations_used": [location],
                "new_locations_introduced": new_places,
                "props_used": list(scene.props),
                "new_props_introduced": _first(props, list(scene.props)),
                "state_changes": [],
                "continuity_risks": _risks(scene),
                "lock_requirements": [f"CHAR_{c}_LOCK" for c in new_chars]
                + [f"SET_{p}_LOCK" for p in new_places]
                + [f"VOICE_{v}_LOCK" for v in new_voices],
            }
        )
    return Breakdown.model_validate({"rows": rows})


def _risks(scene: ParsedScene) -> list[str]:
    risks = []
    if scene.continuous:
        risks.append(
            f"continuous with the previous scene ({scene.time_of_day}): same time, "
            "same wardrobe and injuries"
        )
    return risks + voice_notes(scene)


def script_slices(text: str, play: Screenplay) -> list[ScriptScene]:
    """Each scene's own lines of the file, heading first."""
    # the line ends parse_fountain reads: a lone \r (old Mac files) ends a line too
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    starts = [s.line for s in play.scenes] + [len(lines) + 1]
    return [
        ScriptScene(scene_id=s.scene_id, text="\n".join(lines[starts[i] - 1 : starts[i + 1] - 1]))
        for i, s in enumerate(play.scenes)
    ]
