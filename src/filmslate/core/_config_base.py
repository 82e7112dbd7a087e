"""Shared pieces of the filmslate.toml model: the strict section base and checked path and
price types (``core._config`` and its split-out sections build on them)."""

from __future__ import annotations

from pathlib import PurePosixPath, PureWindowsPath
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from ._names import LAYERS


class Section(BaseModel):
    """A table of filmslate.toml: unknown keys and non-finite numbers are refused."""

    # inf and nan are refused everywhere: `project_cap = inf` (or 1e400) would be no cap at all
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


# Folders the store owns: a configured path there would mix hand-made files with artifacts.
_RESERVED = frozenset({*LAYERS, ".filmslate"})


def _inside_project(value: str) -> str:
    """A path relative to the project folder that stays inside it, refused otherwise."""
    if "\0" in value:
        raise ValueError("a path cannot hold a NUL character; delete it")
    if "\\" in value:
        raise ValueError(
            f"{value!r}: write a path inside the project with '/' between folders "
            '(e.g. "work/inbox")'
        )
    path = PurePosixPath(value)
    if path.is_absolute() or PureWindowsPath(value).drive or ".." in path.parts:
        raise ValueError(
            f"{value!r} leaves the project: give a path relative to the project folder that "
            'stays inside it (e.g. "inbox")'
        )
    if not path.parts:
        raise ValueError('name a folder or file inside the project (e.g. "inbox")')
    if path.parts[0] in _RESERVED:
        raise ValueError(
            f"{value!r} is inside {path.parts[0]}/, which filmslate owns; choose another folder"
        )
    return value


ProjectPath = Annotated[str, AfterValidator(_inside_project)]
"""A path in filmslate.toml: relative to the project folder and inside it."""
Price = Annotated[float, Field(ge=0)]
"""A price: finite and not negative."""
