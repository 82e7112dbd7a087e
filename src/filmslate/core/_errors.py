"""The exception tree of filmslate.

::

    FilmslateError                 root: the CLI prints these cleanly, anything else is a bug
    ├── UserError                  the user asked for something malformed; nothing was written
    │   ├── ConfigError            filmslate.toml is invalid (every problem with key and line)
    │   ├── ArtifactNameError      a file or artifact name breaks SPEC §3
    │   ├── SchemaError            an artifact's content breaks its kind's schema
    │   ├── ArtifactNotFound       no such artifact (or version) in the project
    │   └── ProjectError           not a project, or a project that cannot be created here
    └── RunError                   the production cannot proceed
        ├── IntegrityError         a file changed behind the store's back (hash mismatch, ...)
        ├── GateFailed             a gate said FAIL
        ├── BudgetExceeded         a cap would be passed
        ├── HardStop               SPEC §6 hard stop: needs a logged human override
        └── ProviderError          a model or media provider failed

Exceptions carry their context as keyword arguments (``exc.context``) and their message says
what to do next.
"""

from __future__ import annotations

from typing import Any


class FilmslateError(Exception):
    """Root of every error filmslate raises on purpose."""

    def __init__(self, message: str, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.context = context

    def __str__(self) -> str:
        return self.message


class UserError(FilmslateError):
    """The input was malformed; nothing was written."""


class ConfigError(UserError):
    """filmslate.toml is invalid. ``problems`` lists (key, line, message)."""

    def __init__(self, message: str, problems: list[tuple[str, int | None, str]] | None = None,
                 **context: Any) -> None:
        super().__init__(message, **context)
        self.problems = problems or []


class ArtifactNameError(UserError):
    """A name breaks the naming contract of SPEC §3."""


class SchemaError(UserError):
    """An artifact's content does not match its kind's schema."""


class ArtifactNotFound(UserError):
    """The artifact or version does not exist."""


class ProjectError(UserError):
    """Not a filmslate project, or one that cannot be created."""


class RunError(FilmslateError):
    """The production cannot proceed."""


class IntegrityError(RunError):
    """A file in the project was changed, removed or added behind the store's back."""


class GateFailed(RunError):
    """A gate said FAIL."""


class BudgetExceeded(RunError):
    """Spending would pass a cap."""


class HardStop(RunError):
    """A SPEC §6 hard stop: work stops until a human override is logged."""


class ProviderError(RunError):
    """A model or media provider failed."""
