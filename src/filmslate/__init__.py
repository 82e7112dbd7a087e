"""filmslate: a gated, versioned, budgeted production system for AI-made films.

Open a project with :class:`Project`; everything written into it goes through its
:class:`Store`, which versions, hashes, links and logs every artifact.
"""

from .core._config import Config, load_config, parse_config
from .core._errors import (
    ArtifactNameError,
    ArtifactNotFound,
    BudgetExceeded,
    ConfigError,
    FilmslateError,
    GateFailed,
    HardStop,
    IntegrityError,
    ProjectError,
    ProviderError,
    RunError,
    SchemaError,
    UserError,
)
from .core._gate import Gate
from .core._names import KINDS, ArtifactName, Kind
from .engine._skill import REGISTRY, Context, Media, Need, Skill
from .store._metrics import Metrics, compute_metrics
from .store._project import Project, Status
from .store._runlog import LogEntry
from .store._store import Record, Store
from .store._verify import Violation, reindex, verify

__all__ = [
    "KINDS",
    "REGISTRY",
    "ArtifactName",
    "ArtifactNameError",
    "ArtifactNotFound",
    "BudgetExceeded",
    "Config",
    "ConfigError",
    "Context",
    "FilmslateError",
    "Gate",
    "GateFailed",
    "HardStop",
    "IntegrityError",
    "Kind",
    "LogEntry",
    "Media",
    "Metrics",
    "Need",
    "Project",
    "ProjectError",
    "ProviderError",
    "Record",
    "RunError",
    "RunResult",
    "Runner",
    "SchemaError",
    "Skill",
    "Status",
    "Store",
    "UserError",
    "Violation",
    "compute_metrics",
    "load_config",
    "parse_config",
    "reindex",
    "verify",
]

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    # The runner pulls in the model gateway (pydantic-ai, HTTP clients): import it on first
    # use so that `slate status` and friends start fast.
    if name in ("Runner", "RunResult"):
        from .engine import _runner

        return getattr(_runner, name)
    raise AttributeError(f"module 'filmslate' has no attribute {name!r}")
