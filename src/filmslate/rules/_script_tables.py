"""What code can read off a parsed screenplay, without a model: the SCENES and BREAKDOWN
tables (ids, locations, times, who is present, first appearances, visible risks) and each
scene's own slice of the file. Pure: the importer and script-breakdown both build on it."""

from __future__ import annotations

import re

from ..schemas import Breakdown, Scenes, ScriptScene
from ._fountain import ParsedScene, Screenplay, canonical_id

SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def present(scene: ParsedScene) -> list[str]:
    """Characters physically in the scene: speakers not only heard in voice-over, then those
    introduced in the action."""
    voice_only = {line.speaker for line in scene.dialogue} - {
        line.speaker for line in scene.dialogue if (line.extension or "") != "V.O."
    }
    speakers = [c for c in scene.characters if c not in voice_only]
    return speakers + [c for c in scene.mentioned_characters if c not in speakers]


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


def times_of_day(play: Screenplay) -> list[str]:
    """Each scene's time of day; a transition inherits the time before it and keeps its word:
    ``NIGHT (CONTINUOUS)``, so later checks see both the time and how the scene follows."""
    times, current = [], ""
    for scene in play.scenes:
        written = scene.time_of_day
        if written in TRANSITIONS:
            times.append(f"{current} ({written})" if current else written)
        else:
            current = written
            times.append(written)
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
    voice_only = [c for c in scene.characters if c not in present(scene)]
    if voice_only:
        risks.append("heard only in voice-over: " + ", ".join(voice_only))
    return risks


def script_slices(text: str, play: Screenplay) -> list[ScriptScene]:
    """Each scene's own lines of the file, heading first."""
    # the line ends parse_fountain reads: a lone \r (old Mac files) ends a line too
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    starts = [s.line for s in play.scenes] + [len(lines) + 1]
    return [
        ScriptScene(scene_id=s.scene_id, text="\n".join(lines[starts[i] - 1 : starts[i + 1] - 1]))
        for i, s in enumerate(play.scenes)
    ]
