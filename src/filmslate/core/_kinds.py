"""Artifact kinds of third-party packages: declared with :class:`ArtifactKind`, published in
the ``filmslate.kinds`` entry-point group, registered when a project opens.

A registered kind gets every guarantee of a built-in one: its names are parsed and refused by
the same rules, its versions are allocated by the store, its text is checked by its schema.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from ._errors import UserError
from ._names import Kind, SubjectType, register_kind

ENTRY_POINT_GROUP = "filmslate.kinds"
_loaded = False


@dataclass(frozen=True)
class ArtifactKind:
    """A third-party artifact kind: its naming (SPEC §3 form), folder and schema.

    Publish it in the ``filmslate.kinds`` entry-point group of the package whose skill
    produces it; projects load the kinds when they open, skills when they load. A text kind
    needs its schema (an ``Artifact`` subclass whose ``KIND`` and ``EXTENSION`` match);
    media kinds (png, mp4) are stored as bytes and have none.
    """

    name: str
    subject: SubjectType | None
    extension: str
    layer: str
    schema: type[Any] | None = None  # an Artifact subclass (schemas sit above core)
    prefix: str | None = None
    suffix: str = ""

    def register(self) -> Kind:
        """Add the kind to the naming contract and check its schema; returns the kind."""
        registered = register_kind(
            self.name, self.subject, self.extension, self.layer, self.prefix, self.suffix
        )
        if registered.binary:
            return registered
        schema = self.schema
        if (
            schema is None
            or getattr(schema, "KIND", None) != self.name
            or getattr(schema, "EXTENSION", None) != self.extension
        ):
            raise UserError(
                f"artifact kind {self.name} is a .{self.extension} text kind: give "
                f"it a schema, an Artifact subclass with KIND = {self.name!r} and "
                f"EXTENSION = {self.extension!r}",
                kind=self.name,
            )
        return registered


def load_kinds() -> None:
    """Register every kind published in ``filmslate.kinds`` (once per process)."""
    global _loaded
    if _loaded:
        return
    for point in entry_points(group=ENTRY_POINT_GROUP):
        for item in load_entry_point(point):
            if not isinstance(item, ArtifactKind):
                raise UserError(
                    f"entry point {point.name} of {ENTRY_POINT_GROUP} gives "
                    f"{item!r}: expected an ArtifactKind",
                    entry_point=point.name,
                )
            item.register()
    _loaded = True


def load_entry_point(point: EntryPoint) -> Sequence[Any]:
    """What an entry point names, as a list; a plugin that fails to import is a clear error."""
    try:
        value = point.load()
    except Exception as exc:  # a broken plugin is the user's to fix, not our bug
        raise UserError(
            f"the plugin entry point {point.name} ({point.value}) fails to load: "
            f"{type(exc).__name__}: {exc}; fix or uninstall it",
            entry_point=point.name,
        ) from exc
    return list(value) if isinstance(value, list | tuple) else [value]
