"""The characters of a name: ASCII, bare, normalised once where a name is parsed.

A file name is NFKC-normalised first, so a full-width ``SCRIPT_S０１.txt`` is the same
artifact as ``SCRIPT_S01.txt`` and never a stem of its own; anything still outside ASCII after
that (``CHAR_ZOË_LOCK.txt``, Arabic-Indic digits) is refused with the ASCII spelling to use.
Normalising comes before the folder check, since NFKC turns a full-width solidus into ``/``.
"""

from __future__ import annotations

import unicodedata

from ._errors import ArtifactNameError


def bare_name(name: str) -> str:
    """``name`` NFKC-normalised, refused unless it is a bare ASCII file name."""
    normal = unicodedata.normalize("NFKC", name)
    if not normal or not normal.strip():
        raise ArtifactNameError("empty artifact name; expected e.g. SCENES_v001.csv")
    odd = next((ch for ch in normal if not ch.isascii()), None)
    if odd is not None:
        ascii_form = "".join(map(_ascii_of, unicodedata.normalize("NFKD", normal)))
        raise ArtifactNameError(
            f"{name!r}: {odd!r} (U+{ord(odd):04X}) is not ASCII; names and ids are ASCII "
            f"letters, digits and '_' (e.g. {ascii_form!r})",
            name=name,
        )
    if "/" in normal or "\\" in normal or ".." in normal or "\0" in normal:
        raise ArtifactNameError(
            f"{name!r}: an artifact name is a bare file name, without folders or '..' "
            "(e.g. SCENES_v001.csv)",
            name=name,
        )
    return normal


def _ascii_of(ch: str) -> str:
    """The ASCII spelling of one character for a suggestion: itself, its digit, or nothing
    (an accent NFKD split off)."""
    if ch.isascii():
        return ch
    digit = unicodedata.decimal(ch, None)
    return "" if digit is None else str(digit)
