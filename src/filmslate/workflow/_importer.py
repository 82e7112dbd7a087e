"""`slate import`: a Fountain screenplay into SCENES, BREAKDOWN and per-scene SCRIPT slices.

Everything written here is extracted, never invented: ids, locations and times from scene
headings, characters from dialogue cues (and names introduced in capitals), props from the
capitalised-noun convention, first appearances from order. Goal, conflict, outcome and implicit
state changes are left empty for the model-backed script-breakdown, and the import says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..store import _runlog
from ..core._errors import ProjectError, SchemaError
from ..rules._fountain import ParsedScene, Screenplay, canonical_id, parse_fountain
from ..store._project import Project
from ..store._store import Record
from ..schemas import Breakdown, Scenes, ScriptScene

SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
PENDING = "goal, conflict, outcome and implicit state changes: pending script-breakdown"


@dataclass
class ImportResult:
    """What an import wrote (or found unchanged) and what it left for the model."""

    screenplay: Screenplay
    records: list[Record] = field(default_factory=list)
    flagged: list[str] = field(default_factory=list)


def present(scene: ParsedScene) -> list[str]:
    """Characters physically in the scene: speakers not only heard in voice-over, then those
    introduced in the action."""
    voice_only = {line.speaker for line in scene.dialogue} - {
        line.speaker for line in scene.dialogue if (line.extension or "") != "V.O."}
    speakers = [c for c in scene.characters if c not in voice_only]
    return speakers + [c for c in scene.mentioned_characters if c not in speakers]


def summary_of(scene: ParsedScene) -> str:
    """The scene's first action sentence (code does not summarise; it quotes)."""
    for paragraph in scene.action:
        first = SENTENCE_END.split(" ".join(paragraph.split()), 1)[0]
        if first:
            return first[:240]
    return scene.heading


TRANSITIONS = ("CONTINUOUS", "MOMENTS LATER", "SECONDS LATER", "LATER", "SAME", "SAME TIME",
               "SIMULTANEOUS")


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
    return Scenes.model_validate({"rows": [
        {"scene_id": s.scene_id, "summary": summary_of(s), "location": canonical_id(s.location),
         "time_of_day": time, "characters_present": present(s)}
        for s, time in zip(play.scenes, times_of_day(play), strict=True)]})


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
        rows.append({
            "scene_id": scene.scene_id, "characters_present": cast,
            "new_characters_introduced": new_chars, "locations_used": [location],
            "new_locations_introduced": new_places, "props_used": list(scene.props),
            "new_props_introduced": _first(props, list(scene.props)),
            "state_changes": [], "continuity_risks": _risks(scene),
            "lock_requirements": [f"CHAR_{c}_LOCK" for c in new_chars]
            + [f"SET_{p}_LOCK" for p in new_places] + [f"VOICE_{v}_LOCK" for v in new_voices]})
    return Breakdown.model_validate({"rows": rows})


def _risks(scene: ParsedScene) -> list[str]:
    risks = []
    if scene.continuous:
        risks.append(f"continuous with the previous scene ({scene.time_of_day}): same time, "
                     "same wardrobe and injuries")
    voice_only = [c for c in scene.characters if c not in present(scene)]
    if voice_only:
        risks.append("heard only in voice-over: " + ", ".join(voice_only))
    return risks


def script_slices(text: str, play: Screenplay) -> list[ScriptScene]:
    """Each scene's own lines of the file, heading first."""
    lines = text.replace("\r\n", "\n").split("\n")
    starts = [s.line for s in play.scenes] + [len(lines) + 1]
    return [ScriptScene(scene_id=s.scene_id,
                        text="\n".join(lines[starts[i] - 1:starts[i + 1] - 1]))
            for i, s in enumerate(play.scenes)]


def import_screenplay(project: Project, path: Path,
                      aliases: dict[str, str] | None = None) -> ImportResult:
    """Parse a Fountain file and store SCENES, BREAKDOWN and SCRIPT_<SCENE> versions."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProjectError(f"{path} not found", path=str(path)) from None
    except UnicodeDecodeError as exc:
        raise SchemaError(f"{path}: not a UTF-8 text file (byte {exc.start}); a Fountain "
                          "screenplay is plain text", path=str(path)) from None
    play = parse_fountain(text, aliases=aliases, source=Path(path).name)
    result = ImportResult(play, flagged=[PENDING])
    run_id = _runlog.new_run_id()
    for slice_ in script_slices(text, play):
        result.records.append(_store(project, run_id, slice_, [], path))
    inputs = [r.filename for r in result.records]
    result.records.append(_store(project, run_id, scenes_table(play), inputs, path))
    result.records.append(_store(project, run_id, breakdown_table(play), inputs, path))
    return result


def _store(project: Project, run_id: str, payload: Scenes | Breakdown | ScriptScene,
           inputs: list[str], path: Path) -> Record:
    subject = payload.subject
    same = project.store.same_as_latest(payload.KIND, subject, payload, inputs)
    if same is not None:
        return same  # re-importing the same script changes nothing
    entry = _runlog.LogEntry(
        run_id=run_id, skill_name="import", event="write", outcome="PASS", model_used="builtin",
        tier="throughput", target=subject or "PROJECT", scene_id=subject or "",
        notes=f"imported from {Path(path).name}; {PENDING}")
    return project.store.write(payload.KIND, subject, payload, inputs=inputs, entry=entry)
