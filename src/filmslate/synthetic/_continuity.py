"""The synthetic film's continuity answers: character, set and voice locks precise enough to
check, and each scene's world-state diff (the state stays the size of the cast)."""

from __future__ import annotations

import zlib
from typing import Any

from ..schemas import CharLock, SetLock, StateDiff, VoiceLock
from ._shape import CLIP_PALETTE, FilmShape, pick, title

_COLOURS = (
    ("navy", "#1F2A44"),
    ("rust", "#8A3B1E"),
    ("olive", "#4B5320"),
    ("charcoal", "#36454F"),
    ("ochre", "#C8893A"),
    ("teal", "#2F6F73"),
)
_EYES = ("green", "brown", "grey", "hazel", "blue", "amber")
_HAIR = (
    "dark brown, cropped close at the sides",
    "black, tied back at the nape",
    "copper red, cut level with the jaw",
    "silver grey, combed straight back",
)
_BUILDS = (
    "lean, 1.78 m, long arms",
    "broad-shouldered, 1.70 m, square hands",
    "slight, 1.62 m, quick on the feet",
    "stocky, 1.75 m, thick forearms",
)
_TEMPERS = ("patient and watchful", "brisk and decisive", "warm and stubborn", "dry and exacting")
_PITCHES = (("low", "warm and rounded"), ("mid", "clear and even"), ("high", "light and bright"))


def char_lock(film: FilmShape, name: str) -> CharLock:
    """character-lock: a precise, checkable look, manner and knowledge."""
    colour, hexcode = pick(_COLOURS, film.seed, name, "coat")
    marks = f"a small mole above the {pick(('left', 'right'), film.seed, name)} eyebrow"
    return CharLock.model_validate(
        {
            "name": name,
            "appearance": {
                "age_range": str(28 + zlib.crc32(name.encode()) % 30),
                "build": pick(_BUILDS, film.seed, name),
                "hair": pick(_HAIR, film.seed, name),
                "eyes": pick(_EYES, film.seed, name),
                "distinguishing_marks": [marks],
            },
            "wardrobe": {
                "default_outfit": f"{colour} wool coat over a grey jumper, dark "
                "trousers, brown leather boots",
                "palette": [hexcode, "#808080", "#3B2A1E"],
                "accessories": ["brass pocket watch on a short chain"],
            },
            "behavior": {
                "speech_patterns": "short, exact sentences; names times and places",
                "temperament": pick(_TEMPERS, film.seed, name),
                "decision_style": "checks the facts twice, then acts at once",
                "stress_behavior": "goes quiet and counts under the breath",
                "default_emotional_tone": "dry good humour",
            },
            "voice_profile": "An even voice that slows down on numbers.",
            "knowledge_at_introduction": [film.fact_of(name)],
            "visual_anchors": [f"{colour} wool coat", "brass pocket watch on a short chain", marks],
            "forbidden_drift": ["no hat", "the coat never changes colour"],
        }
    )


def set_lock(film: FilmShape, name: str) -> SetLock:
    """set-lock: layout, three anchors, daylight, the clip palette."""
    words = name.replace("_", " ").lower()
    return SetLock.model_validate(
        {
            "name": name,
            "layout": {
                "geometry": "rectangular room 8 m by 5 m with a 3 m ceiling",
                "entries_exits": "one door on the north wall and a stair to the loft",
                "windows": "three tall windows on the east wall",
                "spatial_relations": "the work table stands under the middle window; "
                "the door faces the stair",
            },
            "visual_anchors": [
                f"painted sign reading {words.upper()} above the door",
                "long oak work table under the middle window",
                "tide chart pinned beside the stair",
            ],
            "lighting": {
                "temperature_k": 5600,
                "primary_source": "daylight through the east windows",
                "shadow": "soft",
                "contrast": "low",
                "allowed_variation": "passing cloud dims the windows for a few seconds",
            },
            "environment": {
                "weather": "overcast and dry",
                "ambient_sound": "gulls and a distant foghorn",
                "time_of_day": "day",
                "cleanliness_decay": "swept floor, paint worn at the door frame",
            },
            "palette": [*CLIP_PALETTE, pick(_COLOURS, film.seed, name)[1]],
            "prop_anchors": [f"props rest on the work table of the {words} when not in hand"],
            "tone_rules": ["quiet and practical: working light, no spectacle"],
            "forbidden_drift": ["no neon signs", "no modern cars outside the windows"],
        }
    )


def voice_lock(film: FilmShape, name: str) -> VoiceLock:
    """voice-lock: pitch and timbre that agree, a plain accent, a defined range."""
    pitch, timbre = pick(_PITCHES, film.seed, name, "voice")
    return VoiceLock.model_validate(
        {
            "name": name,
            "tone": {"pitch": pitch, "timbre": timbre, "energy": "steady"},
            "cadence": {
                "sentence_length": "short",
                "pauses": "a beat before each answer",
                "speed": "measured",
                "hesitations": "none",
            },
            "accent": {
                "region": "neutral",
                "strength": "none",
                "vocabulary": "plain working words of the harbour",
                "slang_level": "low",
            },
            "emotional_range": {
                "default": "level and courteous",
                "upper_limit": "a firm, raised voice, never a shout",
                "baseline": "dry good humour",
                "stress_reaction": "speaks slower and lower",
            },
            "constraints": {
                "vocabulary_level": "everyday",
                "swearing": "never",
                "figurative_language": "none",
                "directness": "direct and plain",
            },
            "signature_phrases": ["Check it twice."],
            "forbidden_drift": ["never swears", "never shouts"],
        }
    )


def state_diff(film: FilmShape, scene_id: str) -> StateDiff:
    """world-state-tracker: where the cast goes, how they feel, and first appearances
    (a character's prop and single fact enter with them: the state stays small)."""
    index = film.scene_index(scene_id)
    place = film.location(index)
    characters: dict[str, Any] = {}
    props: dict[str, Any] = {}
    for c in film.scene_cast(index):
        update: dict[str, Any] = {"location": place, "emotional_state": film.mood(index, c)}
        if film.first_scene_of(c) == index:
            update["learn"] = [film.fact_of(c)]
            props[film.prop_of(c)] = {
                "owner": c,
                "location": place,
                "status": "in working order",
                "via": f"{title(c)} brings the {film.prop_of(c).split('_')[-1].lower()} "
                "into the story",
            }
        characters[c] = update
    return StateDiff.model_validate(
        {
            "scene_id": scene_id,
            "character_updates": characters,
            "prop_updates": props,
            "location_updates": {
                place: {
                    "condition": "in use and tidy",
                    "lighting_state": "daylight through the windows",
                }
            },
            "timeline_update": {"elapsed_time": f"day {index + 1}"},
        }
    )
