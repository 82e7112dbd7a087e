"""The ``[run]`` table of filmslate.toml: which engine runs a production's paid jobs (issue 17).

``engine = "local"`` (the default) runs them in the ``slate run`` process; ``"dbos"`` runs each
as a durable DBOS workflow, in that process or on ``slate worker``s (docs/scale.md). The system
database is SQLite in ``.filmslate/`` unless ``dbos_database_url`` (or FILMSLATE_DBOS_URL, which
wins) names a Postgres server shared by several machines. A password never goes in this file:
give it in FILMSLATE_DBOS_URL or in PGPASSWORD / ~/.pgpass, where Postgres clients look.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator

from ._config_base import Section

__all__ = ["RunSection"]


def _database_url(value: str) -> str:
    if not re.fullmatch(r"(postgres(ql)?(\+psycopg)?|sqlite)://\S*", value):
        raise ValueError(
            f"{value[:60]!r} is not a Postgres or SQLite URL; give e.g. "
            '"postgresql://filmslate@db-host:5432/filmslate"'
        )
    if re.match(r"[a-z+]+://[^/@\s]*:[^/@\s]*@", value):
        raise ValueError(
            "holds a password: keys stay out of files; put the whole URL in "
            "FILMSLATE_DBOS_URL, or the password in PGPASSWORD or ~/.pgpass"
        )
    return value


class RunSection(Section):
    """How ``slate run`` runs paid jobs (``slate run --engine`` overrides ``engine``)."""

    engine: Literal["local", "dbos"] = "local"
    dbos_database_url: Annotated[str, AfterValidator(_database_url)] | None = None
