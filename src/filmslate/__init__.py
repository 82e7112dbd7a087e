"""filmslate: a gated, versioned, budgeted production system for AI-made films.

Open a project with :class:`Project`; everything written into it goes through its
:class:`Store`, which versions, hashes, links and logs every artifact.

Every public name is imported on first use (a module ``__getattr__``), so that importing the
package, or a light part of it such as the `slate` command, does not build every schema or
load the model SDKs. ``from filmslate import Project`` works as it always did.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .core._config import Config, load_config, parse_config
    from .core._errors import (
        AnalyzerRequired,
        ArtifactNameError,
        ArtifactNotFound,
        BudgetExceeded,
        ConfigError,
        CostReviewRequired,
        FilmslateError,
        GateFailed,
        HardStop,
        InputNotReady,
        IntegrityError,
        LockRefused,
        NoAcceptedTake,
        NotApplicable,
        ProjectError,
        ProviderError,
        ProxyFirst,
        RegenRefused,
        RenderRefused,
        RunError,
        SchemaError,
        UserError,
        WaitingForHandoff,
    )
    from .core._gate import Gate
    from .core._kinds import ArtifactKind
    from .core._names import KINDS, ArtifactName, Kind, register_kind
    from .engine._runner import Runner, RunResult
    from .engine._skill import REGISTRY, AutomaticSkill, Context, Media, Need, Skill
    from .rules._worldstate import WorldStateError
    from .store._metrics import Metrics, compute_metrics
    from .store._project import Project, Status
    from .store._runlog import LogEntry
    from .store._store import Record, Store
    from .store._verify import Violation, reindex, verify

__all__ = [
    "KINDS",
    "REGISTRY",
    "AnalyzerRequired",
    "ArtifactKind",
    "ArtifactName",
    "ArtifactNameError",
    "ArtifactNotFound",
    "AutomaticSkill",
    "BudgetExceeded",
    "Config",
    "ConfigError",
    "Context",
    "CostReviewRequired",
    "FilmslateError",
    "Gate",
    "GateFailed",
    "HardStop",
    "InputNotReady",
    "IntegrityError",
    "Kind",
    "LockRefused",
    "LogEntry",
    "Media",
    "Metrics",
    "Need",
    "NoAcceptedTake",
    "NotApplicable",
    "Project",
    "ProjectError",
    "ProviderError",
    "ProxyFirst",
    "Record",
    "RegenRefused",
    "RenderRefused",
    "RunError",
    "RunResult",
    "Runner",
    "SchemaError",
    "Skill",
    "Status",
    "Store",
    "UserError",
    "Violation",
    "WaitingForHandoff",
    "WorldStateError",
    "compute_metrics",
    "load_config",
    "parse_config",
    "register_kind",
    "reindex",
    "verify",
]

__version__ = "0.1.0"

_ERRORS = (
    "AnalyzerRequired",
    "ArtifactNameError",
    "ArtifactNotFound",
    "BudgetExceeded",
    "ConfigError",
    "CostReviewRequired",
    "FilmslateError",
    "GateFailed",
    "HardStop",
    "InputNotReady",
    "IntegrityError",
    "LockRefused",
    "NoAcceptedTake",
    "NotApplicable",
    "ProjectError",
    "ProviderError",
    "ProxyFirst",
    "RegenRefused",
    "RenderRefused",
    "RunError",
    "SchemaError",
    "UserError",
    "WaitingForHandoff",
)

# Each public name and the module (relative to this package) that defines it.
_MODULES: dict[str, str] = {
    **dict.fromkeys(("Config", "load_config", "parse_config"), ".core._config"),
    **dict.fromkeys(_ERRORS, ".core._errors"),
    "Gate": ".core._gate",
    **dict.fromkeys(("KINDS", "ArtifactName", "Kind", "register_kind"), ".core._names"),
    **dict.fromkeys(("Runner", "RunResult"), ".engine._runner"),
    **dict.fromkeys(
        ("REGISTRY", "AutomaticSkill", "Context", "Media", "Need", "Skill"), ".engine._skill"
    ),
    "ArtifactKind": ".core._kinds",
    "WorldStateError": ".rules._worldstate",
    **dict.fromkeys(("Metrics", "compute_metrics"), ".store._metrics"),
    **dict.fromkeys(("Project", "Status"), ".store._project"),
    "LogEntry": ".store._runlog",
    **dict.fromkeys(("Record", "Store"), ".store._store"),
    **dict.fromkeys(("Violation", "reindex", "verify"), ".store._verify"),
}


def __getattr__(name: str) -> object:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module 'filmslate' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
