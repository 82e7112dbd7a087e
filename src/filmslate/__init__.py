"""filmslate: a gated, versioned, budgeted production system for AI-made films.

Open a project with :class:`Project`; everything written into it goes through its
:class:`Store`, which versions, hashes, links and logs every artifact.
"""

from ._config import Config, load_config, parse_config
from ._errors import (
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
from ._metrics import Metrics, compute_metrics
from ._names import KINDS, ArtifactName, Kind
from ._project import Project, Status
from ._runlog import LogEntry
from ._store import Record, Store
from ._verify import Violation, reindex, verify

__all__ = [
    "KINDS",
    "ArtifactName",
    "ArtifactNameError",
    "ArtifactNotFound",
    "BudgetExceeded",
    "Config",
    "ConfigError",
    "FilmslateError",
    "GateFailed",
    "HardStop",
    "IntegrityError",
    "Kind",
    "LogEntry",
    "Metrics",
    "Project",
    "ProjectError",
    "ProviderError",
    "Record",
    "RunError",
    "SchemaError",
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
