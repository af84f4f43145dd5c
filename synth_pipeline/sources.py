"""The real table a dataset config points at: a file, a DuckDB query, a PostgreSQL table or query, or a simulated table.

:func:`read_source` loads it; :func:`source_probe` is the cheap signature the
drift sensor polls before it reads anything. The lifecycle and the drift
decision read through a :class:`SourceReader` (``read`` and ``probe``), so the
Dagster layer can hand them a resource and a notebook a :class:`ConfiguredSource`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from synth_pipeline.config import SourceConfig
from synth_pipeline.errors import InvalidDataError
from synth_pipeline.io import read_table


def read_sql(query: str) -> pd.DataFrame:
    """Run a DuckDB query (e.g. over read_csv/read_parquet) and return its result."""
    import duckdb

    try:
        with duckdb.connect() as connection:
            return connection.sql(query).df()
    except duckdb.Error as error:
        raise InvalidDataError(f"source query failed: {str(error).splitlines()[0]}") from None


def read_source(source: SourceConfig) -> pd.DataFrame:
    """Load the real table a dataset config points at."""
    if source.path is not None:
        return read_table(source.path, format=source.format)
    if source.sql is not None:
        return read_sql(source.sql)
    if source.postgres is not None:
        from synth_pipeline.sources_postgres import read_postgres  # psycopg only when a source needs it

        return read_postgres(source.postgres)
    from synth_pipeline.simulate import simulate_churn

    return simulate_churn(source.simulate.rows, random_state=source.simulate.seed)


def source_probe(source: SourceConfig) -> dict[str, Any]:
    """A cheap signature of the source that changes when its content may have changed.

    Files: size and modification time. Queries: row count of the query. PostgreSQL:
    ``count(*)``/``max(updated_at)`` or the table's statistics counters
    (:func:`synth_pipeline.sources_postgres.probe_postgres`). Simulated sources never change.
    """
    if source.path is not None:
        path = Path(source.path)
        if not path.is_file():
            raise InvalidDataError(f"source file {str(path)!r} does not exist")
        stat = path.stat()
        return {"kind": "file", "path": str(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    if source.sql is not None:
        count = read_sql(f"select count(*) as n from ({source.sql})")["n"].iloc[0]
        return {"kind": "sql", "sql_hash": hashlib.sha256(source.sql.encode()).hexdigest()[:16], "rows": int(count)}
    if source.postgres is not None:
        from synth_pipeline.sources_postgres import probe_postgres

        return probe_postgres(source.postgres)
    return {"kind": "simulate", **source.simulate.model_dump()}


class SourceReader(Protocol):
    """Where a dataset's real table comes from: a full read and a cheap probe."""

    def read(self) -> pd.DataFrame:
        """The whole table."""
        ...

    def probe(self) -> dict[str, Any]:
        """A cheap signature that changes when the content may have changed."""
        ...


@dataclass(frozen=True)
class ConfiguredSource:
    """The source a :class:`SourceConfig` names, read with :func:`read_source` and probed with :func:`source_probe`."""

    config: SourceConfig

    def read(self) -> pd.DataFrame:
        """The whole table."""
        return read_source(self.config)

    def probe(self) -> dict[str, Any]:
        """See :func:`source_probe`."""
        return source_probe(self.config)

    def column_kinds(self) -> dict[str, str]:
        """The kinds the source itself declares (a database's column types); the config's overrides win over them."""
        return source_column_kinds(self.config)


def source_column_kinds(source: SourceConfig) -> dict[str, str]:
    """Column kinds a typed source declares (PostgreSQL: uuid → id, enum → categorical); {} for files and queries."""
    if source.postgres is not None:
        from synth_pipeline.sources_postgres import postgres_column_kinds

        return postgres_column_kinds(source.postgres)
    return {}


def declared_kinds(reader: SourceReader) -> dict[str, str]:
    """The kinds ``reader`` declares, or {} for a reader without ``column_kinds`` (a file, a test's table)."""
    kinds = getattr(reader, "column_kinds", None)
    return dict(kinds()) if callable(kinds) else {}


__all__ = [
    "ConfiguredSource",
    "SourceReader",
    "declared_kinds",
    "read_source",
    "read_sql",
    "source_column_kinds",
    "source_probe",
]
