"""Schema versions of WORLD_STATE and STATE_DIFF (issue 16 §3; DESIGN §5: a schema carries
its version and an upgrade function when it changes).

Version 2 adds a character's ``wardrobe`` and ``injury_signs``, a character update's
``wardrobe`` and ``injury_signs`` and a prop update's giver (``from``). The top-level keys are
unchanged (SPEC §3), so a file's version is read from its shape; a version 1 file is
upgraded as it is read, and the version 2 fields are written only when they hold something
(a state or diff that uses none of them renders byte for byte as version 1 did).
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import SerializerFunctionWrapHandler, model_serializer

from ._types import SubModel

__all__ = [
    "STATE_SCHEMA_VERSION",
    "Version2Fields",
    "state_version",
    "upgrade_state_diff",
    "upgrade_world_state",
]

STATE_SCHEMA_VERSION = 2
"""Version 2 of WORLD_STATE and STATE_DIFF (issue 16 §3): a character's ``wardrobe`` and
``injury_signs``, a prop update's giver (``from``). The top-level keys are unchanged (SPEC §3);
a version 1 file is upgraded as it is read (``upgrade_world_state``, ``upgrade_state_diff``)
and written back as version 2."""

_CHARACTER_V2: dict[str, Any] = {"wardrobe": "", "injury_signs": {}}
_CHARACTER_UPDATE_V2: dict[str, Any] = {"wardrobe": None, "injury_signs": {}}


class Version2Fields(SubModel):
    """A model whose version 2 fields are written only when they hold something, so a
    state or diff that uses none of them renders byte for byte as version 1 did."""

    V2_FIELDS: ClassVar[tuple[str, ...]] = ()

    @model_serializer(mode="wrap")
    def _without_unused_v2_fields(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if isinstance(data, dict):
            for name in self.V2_FIELDS:
                info = type(self).model_fields[name]
                key = info.alias or name
                if key in data and data[key] == info.get_default(call_default_factory=True):
                    del data[key]
        return data


def state_version(document: dict[str, Any]) -> int:
    """The schema version of a WORLD_STATE or STATE_DIFF document, read from its shape."""
    people = document.get("characters") or document.get("character_updates") or {}
    props = document.get("prop_updates") or {}
    v2 = any(isinstance(c, dict) and "wardrobe" in c for c in people.values()) or any(
        isinstance(p, dict) and ("from" in p or "giver" in p) for p in props.values()
    )
    return 2 if v2 else 1


def upgrade_world_state(document: dict[str, Any]) -> dict[str, Any]:
    """A WORLD_STATE document of any version as version 2 (a copy; already v2: unchanged).

    Version 1 had no wardrobe and no injury signs: every character gets an empty wardrobe
    (their lock's default) and no signs."""
    if state_version(document) == STATE_SCHEMA_VERSION:
        return document
    people = document.get("characters")
    if not isinstance(people, dict):
        return document
    upgraded = {
        cid: {**_CHARACTER_V2, **c} if isinstance(c, dict) else c for cid, c in people.items()
    }
    return {**document, "characters": upgraded}


def upgrade_state_diff(document: dict[str, Any]) -> dict[str, Any]:
    """A STATE_DIFF document of any version as version 2 (a copy; already v2: unchanged).

    Version 1 had no giver: each prop update gets ``from: null`` (not said: the checks take
    the recorded holder as the giver, as version 1 did); no wardrobe change, no signs."""
    if state_version(document) == STATE_SCHEMA_VERSION:
        return document
    people, props = document.get("character_updates"), document.get("prop_updates")
    out = dict(document)
    if isinstance(people, dict):
        out["character_updates"] = {
            cid: {**_CHARACTER_UPDATE_V2, **u} if isinstance(u, dict) else u
            for cid, u in people.items()
        }
    if isinstance(props, dict):
        out["prop_updates"] = {
            pid: {**p, "from": None} if isinstance(p, dict) else p for pid, p in props.items()
        }
    return out
