"""The project folder as the store sees it: every entry accounted for, no link followed.

``scan_project`` walks the whole folder (``.filmslate/`` excluded) without following a symbolic
link and without opening anything but a regular file, so no filesystem state (a dangling link,
a link to a folder, a FIFO, an unreadable folder, a name that is not UTF-8) can make verify
hang or crash; each is a :class:`Violation` instead. What may live in a project:

- ``filmslate.toml``; ``.filmslate/`` (the index, never looked into);
- the layer folders, holding only artifact files (``logs/`` also the run log);
- the folders the config names for people and agents: ``inbox_dir`` and ``replay_dir``
  (their contents are the providers' business, not looked into);
- the project-local skill files listed in ``[skills] paths`` and the ``__pycache__`` Python
  writes next to them;
- version control: ``.git/`` and ``.gitignore``.

Anything else is reported as not part of the project. Symbolic links are reported wherever
they are, and ``check_publish_target`` keeps the store from ever writing through one.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections import defaultdict
from dataclasses import dataclass, field
from functools import partial
from operator import attrgetter
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, NamedTuple

from ..core._config import CONFIG_FILE
from ..core._errors import IntegrityError
from ..core._names import LAYERS
from ._index import INDEX_DIR
from ._runlog import LOG_RELPATH

if TYPE_CHECKING:
    from ..core._config import Config

WRITE_BITS = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
ALWAYS_ALLOWED_FILES = (CONFIG_FILE, ".gitignore")
ALWAYS_ALLOWED_TREES = (".git", "exports")  # exports: `slate export` hand-off folders
CHUNK = 1 << 20


def shown(text: str) -> str:
    """A path as it can be printed: bytes that are not UTF-8 and control characters escaped."""
    raw = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in raw)


@dataclass(frozen=True)
class Violation:
    """One way the project breaks the contract."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{shown(self.path)}: {self.reason}"


class FileFacts(NamedTuple):
    """What verify needs of one regular file in a layer folder, from a single open."""

    rel: str
    sha256: str
    size: int
    links: int
    writable: bool


Facts = FileFacts | Violation
_new_facts = partial(tuple.__new__, FileFacts)  # without NamedTuple's Python constructor


@dataclass(frozen=True)
class Allowed:
    """The files and folders a project may hold besides its layer folders."""

    files: frozenset[str] = frozenset(ALWAYS_ALLOWED_FILES)
    trees: frozenset[str] = frozenset(ALWAYS_ALLOWED_TREES)

    @classmethod
    def of(cls, config: Config | None) -> Allowed:
        """The allowed set for a project's configuration (the defaults without one)."""
        if config is None:
            return cls(trees=frozenset({*ALWAYS_ALLOWED_TREES, "inbox", "replay"}))
        files = {*ALWAYS_ALLOWED_FILES}
        trees = {*ALWAYS_ALLOWED_TREES}
        for folder in (config.providers.inbox_dir, config.providers.replay_dir):
            trees.update(_inside(folder))
        for path in config.skills.paths:
            for rel in _inside(path):
                files.add(rel)
                trees.add(str(PurePosixPath(rel).parent / "__pycache__").removeprefix("./"))
        return cls(frozenset(files), frozenset(trees))

    def ancestors(self) -> frozenset[str]:
        """Folders that lead to an allowed file or folder (walked, not allowed wholesale)."""
        found: set[str] = set()
        for rel in self.files | self.trees:
            found.update(str(p) for p in PurePosixPath(rel).parents if str(p) != ".")
        return frozenset(found)


def _inside(path: str) -> list[str]:
    """A configured relative path as a posix relpath, or nothing when it leaves the project."""
    pure = PurePosixPath(path.replace("\\", "/"))
    if pure.is_absolute() or ".." in pure.parts or str(pure) in ("", "."):
        return []
    return [str(pure)]


@dataclass
class Scan:
    """The result of walking a project: candidate artifact files and everything wrong."""

    files: list[str] = field(default_factory=list)  # regular files in layer folders
    problems: list[Violation] = field(default_factory=list)
    unchecked: set[str] = field(default_factory=set)  # layer folders that could not be read


def scan_project(root: Path, allowed: Allowed) -> Scan:
    """Walk the project folder; never follows a link, never raises for what it finds."""
    walker = _Walker(Path(root), allowed)
    walker.walk("")
    return walker.scan


class _Walker:
    def __init__(self, root: Path, allowed: Allowed) -> None:
        self.root = root
        self.allowed = allowed
        self.ancestors = allowed.ancestors()
        self.scan = Scan()

    def problem(self, rel: str, reason: str) -> None:
        self.scan.problems.append(Violation(rel, reason))

    def entries(self, rel: str, ordered: bool = True) -> list[os.DirEntry[str]] | None:
        try:
            with os.scandir(self.root / rel if rel else self.root) as found:
                return sorted(found, key=attrgetter("name")) if ordered else list(found)
        except OSError as exc:
            self.problem(rel or ".", f"cannot be read: {exc.strerror or exc}")
            return None

    def walk(self, rel_dir: str) -> None:
        for entry in self.entries(rel_dir) or []:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            if rel == INDEX_DIR:
                continue
            if rel_dir == "" and entry.name in LAYERS:
                self.layer_folder(entry, rel)
            elif entry.is_symlink():
                self.problem(rel, link_reason(entry.path, "the project holds no links"))
            elif rel in self.allowed.trees and entry.is_dir(follow_symlinks=False):
                continue
            elif entry.is_dir(follow_symlinks=False):
                if rel in self.ancestors:
                    self.walk(rel)
                else:
                    self.problem(rel, "folder is not part of the project: " + MOVE_OUT)
            elif not entry.is_file(follow_symlinks=False):
                self.problem(rel, "is not a regular file or folder (a device, FIFO or socket)")
            elif rel not in self.allowed.files:
                self.problem(rel, "file is not part of the project: " + MOVE_OUT)

    def layer_folder(self, entry: os.DirEntry[str], layer: str) -> None:
        if entry.is_symlink():
            self.scan.unchecked.add(layer)
            self.problem(
                layer,
                link_reason(entry.path, "a layer folder must be a real folder in the project")
                + "; its artifacts were not checked",
            )
        elif not entry.is_dir(follow_symlinks=False):
            self.scan.unchecked.add(layer)
            self.problem(layer, "is not a folder: the layer folder was replaced")
        else:
            self.layer_files(layer)

    def layer_files(self, layer: str) -> None:
        found = self.entries(layer, ordered=False)
        if found is None:
            self.scan.unchecked.add(layer)
            return
        # the regular files (thousands) sorted by name alone, the rest (none, mostly) apart
        files = sorted([e.name for e in found if e.is_file(follow_symlinks=False)])
        self.scan.files += [r for r in (f"{layer}/{n}" for n in files) if r != LOG_RELPATH]
        others = [e for e in found if not e.is_file(follow_symlinks=False)]
        for entry in sorted(others, key=attrgetter("name")):
            rel = f"{layer}/{entry.name}"
            if entry.is_symlink():
                self.problem(rel, link_reason(entry.path, "an artifact must be a regular file"))
            elif entry.is_dir(follow_symlinks=False):
                self.problem(rel, "unexpected folder inside a layer folder")
            else:
                self.problem(rel, "is not a regular file (a device, FIFO or socket)")


MOVE_OUT = (
    "move it out of the project folder (a project holds filmslate.toml, the layer "
    "folders and the inbox and replay folders)"
)


def link_reason(path: str, why: str) -> str:
    """Why a symbolic link is reported, with where it points."""
    try:
        target = os.readlink(path)
    except OSError:
        target = "?"
    dangling = "" if os.path.exists(path) else ", which does not exist"
    return f"is a symbolic link to {shown(target)}{dangling}: {why}"


def file_facts(root: Path | str, rel: str) -> FileFacts | Violation:
    """Hash one file through a single descriptor opened without following links."""
    return _facts(f"{root}/{rel}", rel, root)


def hash_files(root: Path, rels: list[str]) -> dict[str, Facts]:
    """``file_facts`` of every file, by relative path: each folder is opened once (without
    following a link) and its files opened relative to it, which spares the kernel walking
    the whole path again for every file."""
    by_folder: dict[str, list[str]] = defaultdict(list)
    for rel in rels:
        by_folder[rel.rpartition("/")[0]].append(rel)
    out: dict[str, Facts] = {}
    for folder, inside in by_folder.items():
        where = f"{root}/{folder}" if folder else str(root)
        try:
            dir_fd = os.open(where, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        except OSError:  # replaced since the walk: each file says how, by its path
            out.update((rel, file_facts(root, rel)) for rel in inside)
            continue
        try:
            start = len(folder) + 1 if folder else 0
            for rel in inside:
                out[rel] = _facts(rel[start:], rel, root, dir_fd)
        finally:
            os.close(dir_fd)
    return out


_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK


def _facts(name: str, rel: str, root: Path | str, dir_fd: int | None = None) -> Facts:
    """``file_facts`` of ``name``, relative to ``dir_fd`` when given."""
    try:
        fd = os.open(name, _FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        return _unreadable(f"{root}/{rel}", rel, exc)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return Violation(rel, "is not a regular file (a device, FIFO or socket)")
        sha256 = _digest(fd, info.st_size)
    except OSError as exc:
        return _unreadable(f"{root}/{rel}", rel, exc)
    finally:
        os.close(fd)
    writable = bool(info.st_mode & WRITE_BITS)
    return _new_facts((rel, sha256, info.st_size, info.st_nlink, writable))


def _digest(fd: int, size: int) -> str:
    """The sha256 of what ``fd`` reads to its end; a small file in one read (of one byte
    more than its size: a file that grew meanwhile is read on, and hashed whole)."""
    digest = hashlib.sha256()
    if size < CHUNK:
        data = os.read(fd, size + 1)
        if len(data) == size:
            return hashlib.sha256(data).hexdigest()
        digest.update(data)
    while chunk := os.read(fd, CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def _unreadable(path: str, rel: str, exc: OSError) -> Violation:
    if os.path.islink(path):
        return Violation(rel, link_reason(path, "an artifact must be a regular file"))
    if isinstance(exc, FileNotFoundError):
        return Violation(rel, "disappeared while verify was reading it")
    return Violation(rel, f"cannot be read: {exc.strerror or exc}")


def check_publish_target(root: Path, final: Path, tmp: Path) -> None:
    """Refuse to publish an artifact through a link, onto an existing name, or from a temp
    file someone else holds a link to. Called in the write path before the folder is made."""
    rel = final.relative_to(root)
    here = root
    for part in rel.parts[:-1]:
        here = here / part
        try:
            info = os.lstat(here)
        except FileNotFoundError:
            break  # made by the store, as a real folder
        if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
            what = "a symbolic link" if stat.S_ISLNK(info.st_mode) else "not a folder"
            raise IntegrityError(
                f"{here.relative_to(root)} is {what}: the store publishes only into real "
                "folders inside the project, so nothing was written. Put the real folder back "
                "and run `slate verify`.",
                path=str(here),
            )
    if os.path.lexists(final):
        raise IntegrityError(
            f"{rel.as_posix()} already exists but the index does not know it; nothing was "
            "overwritten. Run `slate verify` to see how the project changed.",
            path=str(final),
        )
    if os.stat(tmp).st_nlink != 1:
        raise IntegrityError(
            f"the temporary copy of {rel.name} has another link to it, so it could be changed "
            "after publication; nothing was written",
            path=str(tmp),
        )
