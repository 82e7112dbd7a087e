"""The word tables of the lock gates (``filmslate.rules._locks``, SPEC §5).

Every lock rule is data: a rule is added by adding a word or a row here, and the checkers in
``_locks`` read these tables. ``_locks`` re-exports every name, so callers import from there.

The plain word lists sit between ``# fmt: off`` and ``# fmt: on``: they are tables read by a
person adding a word, and one word per line (what ``ruff format`` makes of them) turns a
screenful of vocabulary into several hundred lines that hide the rows around them. Only
literal data goes inside those markers; the rule rows (``CONTRADICTIONS``, ``CROSS_FIELD``)
are left to the formatter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "ABSENCE_WORDS",
    "AGE_RE",
    "CONTRADICTIONS",
    "CROSS_FIELD",
    "DAY_SOURCES",
    "EXACT_TERMS",
    "EXTERIOR_WORDS",
    "EYE_COLOURS",
    "EYE_SHADES",
    "HEAVY",
    "HEX_IN_TEXT",
    "INTERIOR_WORDS",
    "KINDS",
    "LONG_HAIR",
    "NEGATIONS",
    "NEUTRAL_REGIONS",
    "NONE_IS_AN_ANSWER",
    "NOT_PROSE",
    "OPENING_WORDS",
    "PLACEHOLDERS",
    "REQUIRED_LISTS",
    "REQUIRE_PATTERNS",
    "SHAPE_WORDS",
    "SHORT_HAIR",
    "SLIM",
    "SOURCE_KELVIN",
    "SWEAR_WORDS",
    "VAGUE_PHRASES",
    "Contradiction",
    "CrossField",
]

# -- what a section must hold -----------------------------------------------------------------

# fmt: off
# Values that say nothing: a required field holding one of these is treated as empty.
PLACEHOLDERS = frozenset({
    "", "(none)", "none", "n/a", "na", "tbd", "tbc", "todo", "unknown", "?", "-", "--", "...",
    "same", "as above", "see above", "misc",
})
# Fields where "none" is a concrete answer (a windowless room, a voice that never hesitates).
NONE_IS_AN_ANSWER = frozenset({
    "layout.windows", "environment.weather", "accent.region", "accent.strength",
    "accent.slang_level", "cadence.hesitations", "cadence.pauses",
    "constraints.figurative_language",
})
# Lists that must hold at least one item, per kind (set anchors have their own count rule).
REQUIRED_LISTS: dict[str, tuple[str, ...]] = {
    "CHAR_LOCK": ("wardrobe.palette", "knowledge_at_introduction", "visual_anchors",
                  "forbidden_drift"),
    "SET_LOCK": ("prop_anchors", "tone_rules", "forbidden_drift"),
    "VOICE_LOCK": ("forbidden_drift",),
    "STYLE_LOCK": ("palette", "forbidden_drift"),
}
# Identifiers and quoted speech, not descriptions: never scanned for vague phrasing (a
# character may well say "maybe").
NOT_PROSE = frozenset({"name", "external_voice_id", "signature_phrases"})

# Phrases that leave a generator free to drift (matched as whole words, any case).
VAGUE_PHRASES: tuple[str, ...] = (
    "kind of", "kinda", "sort of", "sorta", "some kind", "some sort", "sometimes", "normal",
    "normally", "etc", "and so on", "maybe", "perhaps", "possibly", "probably",
    "somewhat", "somehow", "various", "average", "typical", "typically", "generic",
    "whatever", "more or less", "or so", "ish", "a bit", "fairly", "pretty much", "stuff",
    "things like", "as needed", "depends on", "or something",
)
# Technical terms that contain a vague word but are exact (a 50mm "normal lens").
EXACT_TERMS: tuple[str, ...] = ("normal lens", "normal focal length")

NEGATIONS = frozenset({"no", "not", "never", "without", "nor", "neither", "non"})

# -- forbidden drift read with its negation (``_lock_drift``) ---------------------------------
# Words after which a description's clause shows things absent ('no hat', 'without his
# glasses'); 'off', 'removed', 'missing', 'gone', 'lost' mark the whole clause ('hat off').
ABSENCE_WORDS = frozenset({
    "no", "not", "never", "without", "nor", "minus", "lacks", "lacking", "missing", "removed",
    "off", "gone", "lost", "isn't", "aren't", "wasn't", "doesn't", "don't", "hasn't",
})
# A forbidden-drift item bound to inside or outside scenes ('no hat indoors').
INTERIOR_WORDS = ("indoors", "inside", "interiors", "interior")
EXTERIOR_WORDS = ("outdoors", "outside", "exteriors", "exterior")
# A drift item naming a kind of thing covers its members ('no hat indoors' bans a flat cap,
# 'never without his glasses' is broken by 'without his spectacles'). Words as
# ``_continuity_inputs.words`` writes them (lower case, no plural s).
_HATS = frozenset({"hat", "cap", "beanie", "beret", "bowler", "fedora", "trilby", "stetson",
                   "bonnet", "helmet", "sombrero", "headscarf"})
_JEWELS = frozenset({"jewellery", "jewelry", "jewel", "ring", "necklace", "earring", "bracelet",
                     "bangle", "brooch", "locket", "pendant", "anklet", "pearl", "choker"})
_GLASSES = frozenset({"glasse", "spectacle", "spec", "eyeglasse", "bifocal"})
_SHOES = frozenset({"shoe", "footwear", "boot", "sneaker", "trainer", "sandal", "loafer",
                    "slipper", "brogue"})
_MAKEUP = frozenset({"makeup", "lipstick", "mascara", "eyeliner", "eyeshadow", "rouge"})
KINDS: dict[str, frozenset[str]] = {
    **dict.fromkeys(("hat", "headwear"), _HATS),
    **dict.fromkeys(("jewellery", "jewelry", "jewel"), _JEWELS),
    **dict.fromkeys(("glasse", "spectacle", "spec", "eyeglasse"), _GLASSES),
    **dict.fromkeys(("shoe", "footwear"), _SHOES),
    **dict.fromkeys(("makeup",), _MAKEUP),
}
# fmt: on
# Items that *require* something (its absence is the drift); ``thing`` is what is required.
REQUIRE_PATTERNS: tuple[str, ...] = (
    r"\b(?:never|not|nor|no one sees \w+|not once)\s+without\s+(?P<thing>.+)$",
    r"^\s*without\s+(?P<thing>.+)$",
    r"\balways\s+(?:wears?|wearing|has|carries|carrying|keeps|with|in)?\s*(?P<thing>.+)$",
    r"\bmust\s+(?:always\s+)?(?:wear|have|carry|keep)\s+(?P<thing>.+)$",
    r"^\s*(?:removes?|removing|takes? off|taking off|loses?|losing)\s+(?P<thing>.+)$",
    r"^\s*(?P<thing>.+?)\s+(?:is\s+|are\s+)?(?:ever\s+)?(?:removed|missing|off|absent|taken off)\b",
)

# -- traits that contradict each other --------------------------------------------------------


@dataclass(frozen=True)
class Contradiction:
    """Two groups of words that cannot both describe one field (``slim`` and ``heavyset``)."""

    fields: tuple[str, ...]
    first: tuple[str, ...]
    second: tuple[str, ...]
    why: str


@dataclass(frozen=True)
class CrossField:
    """A word in one field that rules out a word in another (night vs. a sun key light).

    ``unless`` words in the first field lift the rule (``night`` with ``dawn`` is a
    transition, not a conflict).
    """

    field_a: str
    words_a: tuple[str, ...]
    field_b: str
    words_b: tuple[str, ...]
    why: str
    unless: tuple[str, ...] = ()
    negatable: bool = True  # False where the second field quotes speech ("No bloody way")


# fmt: off
SLIM = ("slim", "slender", "thin", "skinny", "lean", "wiry", "slight", "petite", "gaunt")
HEAVY = ("heavyset", "stocky", "heavy", "fat", "obese", "portly", "burly", "bulky", "chubby",
         "stout", "rotund", "overweight")
SHORT_HAIR = ("short", "cropped", "close-cropped", "buzzed", "buzz cut", "crew cut", "shaved",
              "bald")
LONG_HAIR = ("long", "waist-length", "hip-length", "flowing")
# fmt: on
CONTRADICTIONS: tuple[Contradiction, ...] = (
    Contradiction(("appearance.build",), SLIM, HEAVY, "a build cannot be both"),
    Contradiction(
        ("appearance.build",),
        ("tall", "towering"),
        ("short", "diminutive"),
        "a height cannot be both",
    ),
    Contradiction(("appearance.hair",), SHORT_HAIR, LONG_HAIR, "hair cannot be both"),
    Contradiction(
        ("appearance.hair",),
        ("bald", "shaved head"),
        ("ponytail", "braid", "braids", "plait", "curls", "curly", "wavy", "bun", "fringe"),
        "a bald head has no hairstyle",
    ),
    Contradiction(
        ("behavior.temperament",),
        ("calm", "placid", "serene", "even-tempered", "unflappable", "composed"),
        (
            "volatile",
            "explosive",
            "hot-headed",
            "hot-tempered",
            "erratic",
            "excitable",
            "irascible",
        ),
        "one temperament cannot be both",
    ),
    Contradiction(("lighting.contrast",), ("low",), ("high",), "contrast cannot be both"),
    Contradiction(
        ("lighting.shadow",),
        ("soft", "diffuse", "diffused", "shadowless"),
        ("hard", "harsh"),
        "shadows cannot be both",
    ),
    Contradiction(
        ("environment.cleanliness_decay",),
        ("spotless", "immaculate", "pristine"),
        ("filthy", "grimy", "dirty", "derelict", "decayed", "rotting", "squalid"),
        "a set cannot be both",
    ),
    Contradiction(
        ("tone.energy",),
        ("low", "subdued", "lethargic", "listless"),
        ("high", "energetic", "exuberant", "manic"),
        "energy cannot be both",
    ),
    Contradiction(
        ("cadence.speed",),
        ("slow", "unhurried", "leisurely"),
        ("fast", "rapid", "quick", "brisk", "rushed"),
        "speed cannot be both",
    ),
)

# fmt: off
DAY_SOURCES = ("sun", "sunlight", "daylight", "midday sun", "noon sun", "direct sun")
SWEAR_WORDS = ("damn", "damned", "dammit", "goddamn", "hell", "shit", "fuck", "fucking",
               "bloody", "bastard", "bugger", "crap", "arse", "ass", "piss", "pissed",
               "bollocks")
# fmt: on
CROSS_FIELD: tuple[CrossField, ...] = (
    CrossField(
        "environment.time_of_day",
        ("night", "midnight"),
        "lighting.primary_source",
        DAY_SOURCES,
        "a night set cannot be lit by the sun",
        unless=("day", "dawn", "dusk", "sunrise", "sunset", "evening", "morning", "afternoon"),
    ),
    CrossField(
        "environment.time_of_day",
        ("day", "daytime", "noon", "midday", "morning", "afternoon"),
        "lighting.primary_source",
        ("moon", "moonlight"),
        "a day set cannot be lit by the moon",
        unless=("night", "dusk", "dawn", "evening", "twilight"),
    ),
    CrossField(
        "tone.pitch",
        ("high",),
        "tone.timbre",
        ("deep", "bass", "basso", "baritone", "booming"),
        "a high pitch cannot have a deep timbre",
    ),
    CrossField(
        "tone.pitch",
        ("low",),
        "tone.timbre",
        ("shrill", "squeaky", "piping", "falsetto", "high-pitched"),
        "a low pitch cannot have a shrill timbre",
    ),
    CrossField(
        "constraints.swearing",
        ("never",),
        "signature_phrases",
        SWEAR_WORDS,
        "a voice that never swears cannot swear in a signature phrase",
        negatable=False,
    ),
    CrossField(
        "constraints.swearing",
        ("never",),
        "accent.vocabulary",
        ("swears", "swearing", "curses", "cursing", "profane", "profanity", "expletives"),
        "a voice that never swears cannot have a swearing vocabulary",
    ),
    CrossField(
        "accent.slang_level",
        ("none",),
        "accent.vocabulary",
        ("slang", "slangy"),
        "slang level none contradicts a slang vocabulary",
    ),
)

# -- the kind-specific rules ------------------------------------------------------------------

# fmt: off
# Plausible colour temperatures (K) of named light sources; generous, because a set may be
# graded warmer or cooler. A lock fails only when its temperature fits none of the sources
# its primary source names.
SOURCE_KELVIN: dict[str, tuple[int, int]] = {
    "candle": (1500, 2200), "candlelight": (1500, 2200), "candles": (1500, 2200),
    "fire": (1500, 2500), "firelight": (1500, 2500), "fireplace": (1500, 2500),
    "hearth": (1500, 2500), "embers": (1500, 2500),
    "oil lamp": (1800, 2800), "kerosene": (1800, 2800), "lantern": (1800, 2800),
    "gas lamp": (1800, 2800), "gaslight": (1800, 2800),
    "sodium": (1800, 2600), "streetlight": (1800, 5000), "street lamp": (1800, 5000),
    "tungsten": (2400, 3600), "incandescent": (2400, 3600), "halogen": (2600, 3600),
    "sunrise": (2000, 4000), "sunset": (2000, 4000), "golden hour": (2000, 4000),
    "low sun": (2500, 4500), "blue hour": (6500, 12000),
    "sun": (4500, 6500), "sunlight": (4500, 6500), "daylight": (4500, 6500),
    "hmi": (5000, 6500), "overcast": (5500, 8000), "skylight": (6500, 10000),
    "moon": (3800, 9000), "moonlight": (3800, 9000), "fluorescent": (2700, 6500),
}
EYE_COLOURS = ("blue", "green", "grey", "gray", "brown", "hazel", "amber", "black", "violet")
EYE_SHADES = frozenset({"light", "dark", "pale", "deep", "bright", "eyes", "eye"})
# A set's layout must name its shape or size, and how people get in and out.
SHAPE_WORDS = ("rectangular", "square", "round", "circular", "oval", "octagonal", "hexagonal",
               "l-shaped", "t-shaped", "u-shaped", "narrow", "long", "wide", "tall", "low",
               "cylindrical", "domed", "vaulted", "tiered", "split-level", "open-plan",
               "spiral")
OPENING_WORDS = ("door", "doors", "doorway", "hatch", "trapdoor", "stair", "stairs",
                 "staircase", "stairwell", "ladder", "gate", "archway", "arch", "entrance",
                 "exit", "corridor", "passage", "tunnel", "opening", "lift", "elevator",
                 "ramp", "window", "gangway", "none")
NEUTRAL_REGIONS = ("none", "neutral", "standard", "unaccented", "no accent")
# fmt: on
AGE_RE = re.compile(
    r"(\d{1,3})(?:\s*(?:-|–|to)\s*(\d{1,3}))?(?:\s*(?:years|yrs)(?:\s*old)?)?", re.IGNORECASE
)
HEX_IN_TEXT = re.compile(r"#[0-9A-Fa-f]{6}\b")
