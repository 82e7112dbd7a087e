"""The exception tree of filmslate.

::

    FilmslateError                 root: the CLI prints these cleanly, anything else is a bug
    ├── UserError                  the user asked for something malformed; nothing was written
    │   ├── ConfigError            filmslate.toml is invalid (every problem with key and line)
    │   ├── ArtifactNameError      a file or artifact name breaks SPEC §3
    │   ├── SchemaError            an artifact's content breaks its kind's schema
    │   ├── ArtifactNotFound       no such artifact (or version) in the project
    │   ├── ProjectError           not a project, or a project that cannot be created here
    │   ├── LockRefused            a hand-written lock failed its gate (every reason listed)
    │   └── NotApplicable          the skill does not apply to this target
    ├── RunError                   the production cannot proceed
    │   ├── IntegrityError         a file changed behind the store's back (hash mismatch, ...)
    │   ├── GateFailed             a gate said FAIL
    │   │   └── WorldStateError    a state diff broke world-state rules (rules._worldstate)
    │   ├── BudgetExceeded         a cap would be passed
    │   ├── CostReviewRequired     a cap is at its warning: cost-optimizer reruns first
    │   ├── HardStop               SPEC §6 hard stop: needs a logged human override
    │   ├── ProviderError          a model or media provider failed
    │   ├── InputNotReady          a needed input is missing, stale or failed its gate
    │   ├── AnalyzerRequired       regen-analyzer must run before another attempt
    │   ├── RegenRefused           a regeneration from the GenPack whose take failed QC
    │   │   └── RenderRefused      the provider refused this GenPack's prompt: reword it first
    │   ├── ProxyFirst             a final render before the proxy passed QC
    │   └── NoAcceptedTake         a cut while some shots have no accepted take
    └── WaitingForHandoff          not a failure: a handoff task waits for its answer

Exceptions carry their context as keyword arguments (``exc.context``) and their message says
what to do next.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
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

    def __init__(
        self,
        message: str,
        problems: list[tuple[str, int | None, str]] | None = None,
        **context: Any,
    ) -> None:
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


class InputNotReady(RunError):
    """A needed input is missing, stale, or failed its gate."""


class AnalyzerRequired(RunError):
    """After repeated failures regen-analyzer must run before another attempt."""


class CostReviewRequired(RunError):
    """A cap is in its warning state: cost-optimizer must rerun before more paid work."""


class RegenRefused(RunError):
    """A regeneration whose GenPack is unchanged since the take that failed QC."""


class RenderRefused(RegenRefused):
    """A provider refused a job (content policy, invalid input): never sent again unchanged;
    regen-analyzer rewords the prompt within the locks. ``failure`` names the kind."""


class ProxyFirst(RunError):
    """A final render asked for before the shot's proxy passed QC."""


class NoAcceptedTake(RunError):
    """A cut asked for while some shots have no accepted take."""


class LockRefused(UserError):
    """A lock failed its gate; nothing was written. ``reasons`` lists every failure."""

    def __init__(self, message: str, reasons: Sequence[str] = (), **context: Any) -> None:
        super().__init__(message, **context)
        self.reasons = tuple(reasons)


class NotApplicable(UserError):
    """The skill does not apply to this target (nothing was asked, nothing written)."""


class WaitingForHandoff(FilmslateError):
    """Not a failure: the run waits until a person or agent answers the task at ``task_path``."""

    def __init__(self, task_path: Path, **context: Any) -> None:
        answer = task_path.name.replace(".task.json", ".answer.json")
        super().__init__(
            f"waiting for an answer: read {task_path} (or its .task.md copy), save the answer "
            f"as {task_path.with_name(answer)} and run again",
            task_path=task_path,
            **context,
        )
        self.task_path = task_path
