"""Artifact names: the one place that knows SPEC §3-4 naming, for parsing and formatting.

A versioned artifact file is ``<STEM>_v###.<ext>``; the stem is a kind's prefix, an optional
subject (scene, shot, target, lock name, task) and a kind's suffix. Everything else is refused
with a message that shows the expected form. Names are ASCII: NFKC first (``_name_chars``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, TypedDict

from ._errors import ArtifactNameError
from ._name_chars import bare_name
from ._runlog_columns import RUN_LOG_COLUMNS as RUN_LOG_COLUMNS
from ._runlog_columns import RUN_LOG_SPEC_COLUMNS as RUN_LOG_SPEC_COLUMNS
from ._scene_ids import EPISODE_RE as EPISODE_RE
from ._scene_ids import SCENE_RE as SCENE_RE
from ._scene_ids import SHOT_RE as SHOT_RE

SubjectType = Literal["scene", "shot", "target", "name", "task", "scene_or_run", "stop_target"]
LAYERS = ("narrative", "validation", "continuity", "production", "governance", "logs")
MAX_VERSION = 999
FORBIDDEN_SUFFIXES = ("FINAL", "NEW", "LATEST", "UPDATED", "OLD", "COPY", "BACKUP")

# scene and shot ids, plain (S03) or scoped by a series' episode (E02_S03): core._scene_ids
TARGET_RE = re.compile(rf"{SCENE_RE.pattern}|ACT_[0-9]+|{EPISODE_RE.pattern}|PROJECT")
TOKEN_RE = re.compile(r"[A-Z0-9]+(?:_[A-Z0-9]+)*")
RUN_RE = re.compile(r"RUN_[A-Z0-9]+(?:_[A-Z0-9]+)*")
VERSIONED_RE = re.compile(r"(?P<stem>.+)_v(?P<version>[0-9]+)\.(?P<ext>[A-Za-z0-9]+)")

SUBJECT_FORMS: dict[str, tuple[str, str]] = {
    "scene": ("<SCENE>", "S03 (in a series E02_S03)"),
    "shot": ("<SHOT>", "S03_SH02 (in a series E02_S03_SH02)"),
    "target": ("<TARGET>", "S03, ACT_1, E01 or PROJECT"),
    "name": ("<NAME>", "ALEX or ABANDONED_WAREHOUSE"),
    "task": ("<TASK>", "S03_SH02_QC"),
    "scene_or_run": ("<SCENE_OR_RUN>", "S03 or RUN_0007"),
    "stop_target": ("<TARGET_OR_SHOT>", "PROJECT, S03 or S03_SH02"),
}


@dataclass(frozen=True)
class Kind:
    """One artifact kind of SPEC §4: how its stem is built, its extension and its folder."""

    name: str
    prefix: str
    suffix: str
    subject: SubjectType | None
    extension: str
    layer: str

    @property
    def binary(self) -> bool:
        """Media kinds are stored as bytes and have no text schema."""
        return self.extension in ("png", "mp4", "wav")

    def form(self) -> str:
        """The expected file name form, for error messages: ``PSYCH_<SCENE>_v###.md``."""
        middle = SUBJECT_FORMS[self.subject][0] if self.subject else ""
        return f"{self.prefix}{middle}{self.suffix}_v###.{self.extension}"

    def example(self) -> str:
        """A valid example name of this kind."""
        examples = {
            "scene": "S03",
            "shot": "S03_SH02",
            "target": "S03",
            "name": "ALEX",
            "task": "S03_SH02_QC",
            "scene_or_run": "S03",
            "stop_target": "S03",
        }
        middle = examples[self.subject] if self.subject else ""
        return f"{self.prefix}{middle}{self.suffix}_v001.{self.extension}"


def _kind(
    name: str,
    subject: SubjectType | None,
    ext: str,
    layer: str,
    prefix: str | None = None,
    suffix: str = "",
) -> Kind:
    if prefix is None:
        prefix = f"{name}_" if subject else name
    return Kind(name, prefix, suffix, subject, ext, layer)


KINDS: dict[str, Kind] = {
    k.name: k
    for k in [
        _kind("PREMISE", None, "md", "narrative"),
        _kind("BEATS", None, "md", "narrative"),
        _kind("SCENES", None, "csv", "narrative"),
        _kind("SCRIPT", "scene", "txt", "narrative"),
        _kind("BREAKDOWN", None, "csv", "narrative"),
        _kind("PSYCH", "scene", "md", "narrative"),
        _kind("DIALOGUE_CHECK", "scene", "md", "narrative"),
        _kind("TRUTH", "scene", "md", "validation"),
        _kind("PLAUS", "scene", "md", "validation"),
        _kind("CULTURE", "scene", "md", "validation"),
        _kind("REDTEAM", "target", "md", "validation"),
        _kind("AUDIENCE", "target", "md", "validation"),
        # the story as sequences, for the whole-story reviews (issue 14 §8)
        _kind("STORY_DIGEST", None, "csv", "validation"),
        _kind("CHAR_LOCK", "name", "txt", "continuity", "CHAR_", "_LOCK"),
        _kind("SET_LOCK", "name", "txt", "continuity", "SET_", "_LOCK"),
        _kind("VOICE_LOCK", "name", "txt", "continuity", "VOICE_", "_LOCK"),
        _kind("STYLE_LOCK", "name", "txt", "continuity", "STYLE_", "_LOCK"),
        _kind("WORLD_STATE", None, "json", "continuity"),
        _kind("STATE_DIFF", "scene", "json", "continuity"),
        _kind("CONTINUITY_REPORT", "target", "md", "continuity"),
        # what the vision tier saw in a scene's takes, and code's findings (issue 13 §4)
        _kind("VISUAL_CONTINUITY", "scene", "json", "continuity"),
        _kind("SHOTLIST", "scene", "csv", "production"),
        _kind("GENPACK", "shot", "txt", "production"),
        _kind("DIALOGUE", "scene", "csv", "production"),  # dialogue lines per shot (issue 15)
        _kind("AUDIO", "shot", "wav", "production"),  # a shot's scratch voices (issue 15)
        # reference sheets: a character's or a set's look drawn from its lock (issue 12 §3)
        _kind("CHAR_REF", "name", "png", "production", "CHAR_", "_REF"),
        _kind("SET_REF", "name", "png", "production", "SET_", "_REF"),
        _kind("STORYBOARD", "shot", "png", "production"),
        _kind("STORYBOARD_REPORT", "shot", "md", "production"),
        _kind("QC_BATCH", "scene_or_run", "csv", "production"),
        _kind("REGEN_RULES", None, "md", "production"),
        _kind("PROXY", "shot", "mp4", "production"),
        _kind("FINAL", "shot", "mp4", "production"),
        # the provider's clip as it arrived, kept beside the conformed PROXY / FINAL take
        _kind("RAW_PROXY", "shot", "mp4", "production"),
        _kind("RAW_FINAL", "shot", "mp4", "production"),
        _kind("EDIT", "target", "csv", "production"),  # the cut's edit plan (issue 15 §4)
        _kind("CUT", "target", "mp4", "production"),
        _kind("EXPORT", "target", "otio", "production"),  # the editor hand-off (issue 15)
        _kind("EXPORT_FCP", "target", "xml", "production", "EXPORT_", "_FCP"),  # its renderings
        _kind("EXPORT_EDL", "target", "edl", "production", "EXPORT_", "_EDL"),
        # the cut's subtitles (issue 15 §3), SubRip and WebVTT (a stem has one version series)
        _kind("SUBTITLES", "target", "srt", "production"),
        _kind("SUBTITLES_VTT", "target", "vtt", "production", "SUBTITLES_", "_VTT"),
        _kind("COST_REPORT", "target", "md", "governance"),
        _kind("ROUTING_DECISION", "task", "md", "governance"),
        _kind("BUDGET_STATUS", None, "md", "governance"),
        # A hard stop can sit on a shot (its cap, its regen limit), so overrides name shots too.
        _kind("OVERRIDE", "stop_target", "md", "governance"),
        _kind("RUN_LOG", None, "csv", "logs"),
    ]
}

BUILTIN_KINDS = frozenset(KINDS)
LOCK_KINDS = ("CHAR_LOCK", "SET_LOCK", "VOICE_LOCK", "STYLE_LOCK")
# A reference sheet shows one lock: made by hand or by the skill, it is drawn from that lock's
# current version, so revising the lock makes the sheet (and what used it) stale.
SHEET_LOCKS = {"CHAR_REF": "CHAR_LOCK", "SET_REF": "SET_LOCK"}
EXTENSION_RE = re.compile(r"[a-z0-9]{1,8}")


def _by_prefix() -> list[Kind]:
    # Longest prefixes first, so STORYBOARD_REPORT_ wins over STORYBOARD_.
    return sorted(KINDS.values(), key=lambda k: len(k.prefix) + len(k.suffix), reverse=True)


_BY_PREFIX = _by_prefix()


def register_kind(
    name: str,
    subject: SubjectType | None,
    extension: str,
    layer: str,
    prefix: str | None = None,
    suffix: str = "",
) -> Kind:
    """Add an artifact kind (a third-party skill's output) to the naming contract.

    The kind gets the same guarantees as the built-in ones: names parsed and refused by the
    same rules, a folder of its layer, versions allocated by the store. A kind's name, prefix
    and suffix may not collide with an existing kind's (names must parse one way only).
    Registering the same definition twice is a no-op.
    """
    new = _kind(name, subject, extension, layer, prefix, suffix)
    problems = _kind_problems(new)
    if problems:
        raise ArtifactNameError(
            f"artifact kind {name!r} cannot be registered: " + "; ".join(problems), kind=name
        )
    if KINDS.get(new.name) == new:
        return new
    KINDS[new.name] = new
    _BY_PREFIX[:] = _by_prefix()
    return new


def _kind_problems(new: Kind) -> list[str]:
    problems = []
    if not TOKEN_RE.fullmatch(new.name) or _ends_forbidden(new.name):
        problems.append("a kind name is an uppercase token such as MOODBOARD or SOUND_MAP")
    if new.subject is not None and new.subject not in SUBJECT_FORMS:
        problems.append(f"subject must be one of {', '.join(SUBJECT_FORMS)} or None")
    if not EXTENSION_RE.fullmatch(new.extension):
        problems.append("the extension is lowercase letters and digits, without the dot")
    if new.layer not in LAYERS:
        problems.append(f"layer must be one of the project folders {', '.join(LAYERS)}")
    if not TOKEN_RE.fullmatch(new.prefix.strip("_")) or (
        new.suffix and not TOKEN_RE.fullmatch(new.suffix.strip("_"))
    ):
        problems.append("prefix and suffix are uppercase tokens")
    old = KINDS.get(new.name)
    if old is not None and old != new:
        problems.append(f"{new.name} is already defined as {old.form()}")
    problems += [
        f"its names would read as {k.name} names ({k.form()})"
        for k in KINDS.values()
        if k.name != new.name and _overlap(k, new)
    ]
    return problems


def _overlap(a: Kind, b: Kind) -> bool:
    """Whether an example name of one kind would also parse as a name of the other."""
    for one, other in ((a, b), (b, a)):
        stem = other.example().rsplit("_v", 1)[0]
        if one.subject is None:
            if stem == one.prefix:
                return True
            continue
        if stem.startswith(one.prefix) and stem.endswith(one.suffix):
            middle = stem[len(one.prefix) : len(stem) - len(one.suffix)]
            if middle and _subject_ok(one.subject, middle):
                return True
    return False


def kind(name: str) -> Kind:
    """The kind called ``name`` (``SCENES``, ``CHAR_LOCK``); an ArtifactNameError lists them."""
    try:
        return KINDS[name.upper()]
    except KeyError:
        raise ArtifactNameError(
            f"unknown artifact kind {name!r}; known kinds: {', '.join(sorted(KINDS))}", kind=name
        ) from None


def _subject_ok(subject_type: SubjectType, subject: str) -> bool:
    if subject_type == "scene":
        return SCENE_RE.fullmatch(subject) is not None
    if subject_type == "shot":
        return SHOT_RE.fullmatch(subject) is not None
    if subject_type == "target":
        return TARGET_RE.fullmatch(subject) is not None
    if subject_type == "stop_target":
        return bool(TARGET_RE.fullmatch(subject) or SHOT_RE.fullmatch(subject))
    if subject_type == "scene_or_run":
        return bool(SCENE_RE.fullmatch(subject) or RUN_RE.fullmatch(subject))
    return TOKEN_RE.fullmatch(subject) is not None and not _ends_forbidden(subject)


def _ends_forbidden(token: str) -> bool:
    return token.rsplit("_", 1)[-1] in FORBIDDEN_SUFFIXES or token in FORBIDDEN_SUFFIXES


def check_subject(k: Kind, subject: str | None) -> str | None:
    """Validate a subject for kind ``k``; returns it, or raises with the expected form."""
    if k.subject is None:
        if subject:
            raise ArtifactNameError(
                f"{k.name} artifacts have no subject; expected {k.form()}",
                kind=k.name,
                subject=subject,
            )
        return None
    if not subject:
        raise ArtifactNameError(
            f"{k.name} needs a subject: expected {k.form()}, e.g. {k.example()}", kind=k.name
        )
    if not _subject_ok(k.subject, subject):
        form, example = SUBJECT_FORMS[k.subject]
        raise ArtifactNameError(
            f"{subject!r} is not a valid {form} for {k.name} (expected e.g. {example}; "
            f"ids are uppercase, zero-padded, no _FINAL/_NEW/_LATEST/_UPDATED)",
            kind=k.name,
            subject=subject,
        )
    return subject


@dataclass(frozen=True, order=True)
class ArtifactName:
    """A parsed artifact name: kind, subject and version; formats back to its file name."""

    kind: str
    subject: str | None
    version: int

    def __post_init__(self) -> None:
        k = kind(self.kind)
        check_subject(k, self.subject)
        if not 1 <= self.version <= MAX_VERSION:
            raise ArtifactNameError(
                f"version {self.version} is out of range: versions run v001 to v{MAX_VERSION}",
                kind=self.kind,
                version=self.version,
            )

    @property
    def spec(self) -> Kind:
        """The kind's definition."""
        return KINDS[self.kind]

    @property
    def stem(self) -> str:
        """The name without version and extension: ``PSYCH_S03``."""
        return format_stem(self.kind, self.subject)

    @property
    def filename(self) -> str:
        """``PSYCH_S03_v002.md``."""
        return f"{self.stem}_v{self.version:03d}.{self.spec.extension}"

    @property
    def relpath(self) -> str:
        """Path inside the project: ``narrative/PSYCH_S03_v002.md``."""
        return f"{self.spec.layer}/{self.filename}"

    def __str__(self) -> str:
        return self.filename

    @classmethod
    def parse(cls, filename: str) -> ArtifactName:
        """Parse a versioned file name, refusing anything that breaks SPEC §3."""
        stem, version, ext = split_versioned(filename)
        if stem != stem.upper():
            raise ArtifactNameError(
                f"{filename!r}: artifact names are uppercase (expected "
                f"{stem.upper()}_v{version:03d}.{ext})",
                name=filename,
            )
        k, subject = parse_stem(stem)
        check_extension(k, ext, filename)
        return cls(k.name, subject, version)


def lock_subject(name: str) -> str:
    """SPEC §3's subject form of a character or set name: uppercase, spaces to underscores
    (``Old Mill`` -> ``OLD_MILL``)."""
    return "_".join(name.strip().upper().split())


def format_stem(kind_name: str, subject: str | None) -> str:
    """The stem for a kind and subject."""
    k = kind(kind_name)
    check_subject(k, subject)
    return f"{k.prefix}{subject or ''}{k.suffix}"


def split_versioned(filename: str) -> tuple[str, int, str]:
    """Split ``STEM_v###.ext`` into its parts with a precise message for each mistake."""
    filename = bare_name(filename)
    m = VERSIONED_RE.fullmatch(filename)
    if m is None:
        base = filename.rsplit(".", 1)[0]
        last = base.rsplit("_", 1)[-1]
        if last.upper() in FORBIDDEN_SUFFIXES:
            clean = re.sub(r"_v\d+$", "", base.rsplit("_", 1)[0])
            raise ArtifactNameError(
                f"{filename!r}: '_{last}' is not a version; versions are _v### "
                f"(e.g. {clean}_v002.{filename.rsplit('.', 1)[-1]}); a change is a new "
                "version number",
                name=filename,
            )
        raise ArtifactNameError(
            f"{filename!r} has no version suffix; expected <STEM>_v###.<ext>, e.g. SCENES_v001.csv",
            name=filename,
        )
    digits = m.group("version")
    if len(digits) != 3:
        raise ArtifactNameError(
            f"{filename!r}: version must be exactly three digits (v{int(digits):03d}), "
            f"not v{digits}",
            name=filename,
        )
    return m.group("stem"), int(digits), m.group("ext")


def parse_stem(stem: str) -> tuple[Kind, str | None]:
    """Find the kind and subject of a stem (``CHAR_ALEX_LOCK`` -> CHAR_LOCK, ``ALEX``)."""
    stem = bare_name(stem)
    last = stem.rsplit("_", 1)[-1].upper()
    if last in FORBIDDEN_SUFFIXES:
        raise ArtifactNameError(
            f"{stem!r}: '_{last}' is not allowed; a change is a new version (_v###), "
            "never a _FINAL/_NEW/_LATEST/_UPDATED copy",
            name=stem,
        )
    if stem != stem.upper():
        raise ArtifactNameError(
            f"{stem!r}: artifact names are uppercase (e.g. {stem.upper()})", name=stem
        )
    for k in _BY_PREFIX:
        if k.subject is None:
            if stem == k.prefix:
                return k, None
            continue
        if stem.startswith(k.prefix) and stem.endswith(k.suffix):
            subject = stem[len(k.prefix) : len(stem) - len(k.suffix)]
            return k, check_subject(k, subject)
    if any(stem.startswith(k.prefix) for k in KINDS.values() if k.subject is None):
        k = next(k for k in _BY_PREFIX if k.subject is None and stem.startswith(k.prefix))
        return k, check_subject(k, stem[len(k.prefix) :].lstrip("_"))
    raise ArtifactNameError(
        f"{stem!r} is not a known artifact; expected one of: "
        + ", ".join(k.form() for k in KINDS.values()),
        name=stem,
    )


def check_extension(k: Kind, ext: str, filename: str) -> None:
    """Refuse a wrong extension for the kind."""
    if ext != k.extension:
        raise ArtifactNameError(
            f"{filename!r}: {k.name} artifacts are .{k.extension} files ({k.form()})",
            name=filename,
            kind=k.name,
        )


def parse_unversioned(filename: str) -> tuple[Kind, str | None]:
    """Parse a hand-written file name without a version, as ``slate add`` takes it; a
    versioned name is refused: the store allocates versions, a person never does."""
    filename = bare_name(filename)
    if VERSIONED_RE.fullmatch(filename) or re.search(r"_v\d+$", filename.rsplit(".", 1)[0]):
        raise ArtifactNameError(
            f"{filename!r} already carries a version; name the file without one "
            "(e.g. SCENES.csv): filmslate allocates the next version itself",
            name=filename,
        )
    if "." not in filename:
        raise ArtifactNameError(
            f"{filename!r} has no extension; expected e.g. SCENES.csv", name=filename
        )
    stem, ext = filename.rsplit(".", 1)
    k, subject = parse_stem(stem)
    check_extension(k, ext, filename)
    return k, subject


def scene_of(target: str) -> str:
    """The scene id inside a scene or shot id, else ''."""
    head = target.split("_SH", 1)[0]
    return head if SCENE_RE.fullmatch(head) else ""


class TargetFields(TypedDict):
    """The run-log cells that name a target."""

    target: str
    scene_id: str
    shot_id: str


def target_fields(target: str) -> TargetFields:
    """The run-log cells naming a target: the target itself, its scene and its shot."""
    return {
        "target": target,
        "scene_id": scene_of(target),
        "shot_id": target if SHOT_RE.fullmatch(target) else "",
    }


# Which visual tier renders a shot of each hero tier (SPEC §7).
VisualTier = Literal["premium", "mid", "low"]
HERO_VISUAL: dict[str, VisualTier] = {"A": "premium", "B": "mid", "C": "low"}
