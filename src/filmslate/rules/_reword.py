"""Rewording a refused prompt within the locks (issue 12 §8), deterministically.

A provider that refuses a job for its content (``refusal``) or calls it invalid input
(``invalid_input``) never gets the same GenPack again. regen-analyzer writes a
``prompt_rewording`` rule for the shot; prompt-packager applies it to the shot's action, the
one part of a GenPack that is not a lock (locks are pasted verbatim and checked so by its
gate, so no lock item is ever dropped or changed). Each further refusal of the same shot asks
for a stronger rewording:

- ``neutral`` (a refusal): words that trip content filters become film-set wording ("blood"
  -> "red stage paint", "gun" -> "prop pistol"), and the action is framed as a staged scene;
- ``calm`` (a second refusal): the same, and every sentence still naming violence is left out;
- ``plain`` (invalid input): plain printable text, one space between words;
- ``short`` (invalid input again): plain, and only the first sentence.

A rule reads ``reword (<mode>): <what it asks>``; its wording is what the model is told to hold.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

__all__ = ["MODES", "SOFTER", "apply_rewordings", "plain", "rewording_rule", "soften"]

# (mode, what the rule asks), by failure kind and how many times the shot was refused
MODES: dict[str, tuple[tuple[str, str], ...]] = {
    "refusal": (
        ("neutral", "a staged, non-graphic scene from a fictional film, told in neutral words"),
        ("calm", "a calm staged moment from a fictional film: nothing graphic is shown"),
    ),
    "invalid_input": (
        ("plain", "the action in plain words, without special characters"),
        ("short", "the action in one plain sentence"),
    ),
}
_RULE = re.compile(r"reword \(([a-z]+)\):")
_FRAMING = {
    "neutral": "A staged scene from a fictional film.",
    "calm": "A calm, staged moment from a fictional film; nothing graphic is shown.",
}
# Words content filters trip on, and the film-set wording that says the same on screen.
SOFTER: dict[str, str] = {
    "bloodied": "stained",
    "bloody": "stained",
    "blood": "red stage paint",
    "gore": "stage effects",
    "corpse": "motionless figure",
    "dead body": "motionless figure",
    "kills": "stops",
    "killed": "stopped",
    "killing": "stopping",
    "kill": "stop",
    "murders": "confronts",
    "murdered": "confronted",
    "murder": "confrontation",
    "shoots": "aims at",
    "shooting": "aiming",
    "shot at": "aimed at",
    "shoot": "aim at",
    "gun": "prop pistol",
    "rifle": "prop rifle",
    "knife": "prop knife",
    "stabs": "lunges at",
    "stab": "lunge at",
    "punches": "swings at",
    "punch": "swing at",
    "beats up": "scuffles with",
    "strangles": "grapples with",
    "wound": "bandage",
    "wounded": "bandaged",
    "injured": "bandaged",
    "violence": "tension",
    "violent": "tense",
    "naked": "in a robe",
    "nude": "in a robe",
    "suicide": "despair",
    "drugs": "pills",
    "explosion": "burst of light",
    "explodes": "flares",
}
_SOFT = re.compile(
    r"\b(" + "|".join(re.escape(w) for w in sorted(SOFTER, key=len, reverse=True)) + r")\b",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_ASCII_PUNCTUATION = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2026": "...",
    }
)


def rewording_rule(failure: str, level: int) -> str:
    """The rule text for the ``level``-th (1-based) refusal of a shot for ``failure``."""
    modes = MODES["invalid_input" if failure == "invalid_input" else "refusal"]
    mode, asks = modes[min(level, len(modes)) - 1]
    again = f" (refused {level} times)" if level > len(modes) else ""
    return f"reword ({mode}): {asks}{again}"


def soften(text: str) -> str:
    """``text`` with every word of :data:`SOFTER` in its film-set wording (case kept)."""

    def softer(match: re.Match[str]) -> str:
        word = match.group(0)
        new = SOFTER[word.lower()]
        return new[:1].upper() + new[1:] if word[:1].isupper() else new

    return _SOFT.sub(softer, text)


def plain(text: str) -> str:
    """Printable ASCII, one space between words."""
    text = text.translate(_ASCII_PUNCTUATION)
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    kept = "".join(c if c.isprintable() else " " for c in folded)
    return " ".join(kept.split())


def apply_rewordings(text: str, rules: Iterable[str]) -> str:
    """``text`` reworded by every ``reword (<mode>): ...`` rule among ``rules`` (others
    ignored), each mode once, in the order neutral, calm, plain, short."""
    modes = {m.group(1) for rule in rules if (m := _RULE.search(rule))}
    out = text
    if modes & {"neutral", "calm"}:
        if "calm" in modes:  # leave out what still names violence; keep at least one sentence
            sentences = _SENTENCE.split(out)
            out = " ".join(s for s in sentences if not _SOFT.search(s)) or sentences[0]
        out = soften(out)
        framing = _FRAMING["calm" if "calm" in modes else "neutral"]
        out = f"{out.rstrip()} {framing}".strip()
    if modes & {"plain", "short"}:
        out = plain(out)
        if "short" in modes:
            out = _SENTENCE.split(out)[0]
    return out
