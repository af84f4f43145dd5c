"""The real table a dataset config points at: a file, a DuckDB query, a PostgreSQL table or query, or a simulated table.

:func:`read_source` loads it; :func:`source_probe` is the cheap signature the
drift sensor polls before it reads anything. The lifecycle and the drift
decision read through a :class:`SourceReader` (``read`` and ``probe``), so the
Dagster layer can hand them a resource and a notebook a :class:`ConfiguredSource`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from synth_pipeline.config import SourceConfig
from synth_pipeline.errors import InvalidDataError
from synth_pipeline.io import read_table
from synth_pipeline.sql_source import count_query, read_query


def read_sql(query: str, allowed_paths: Iterable[str | Path] = ()) -> pd.DataFrame:
    """Run one read-only DuckDB query (e.g. over read_csv/read_parquet) in the sandbox and return its result.

    See :mod:`synth_pipeline.sql_source`: one SELECT statement, a fresh in-memory connection without the
    warehouse, files readable only under ``allowed_paths``.
    """
    return read_query(query, allowed_paths)


def read_source(source: SourceConfig) -> pd.DataFrame:
    """Load the real table a dataset config points at."""
    if source.path is not None:
        return read_table(source.path, format=source.format)
    if source.sql is not None:
        return read_sql(source.sql, source.allowed_paths)
    if source.postgres is not None:
        from synth_pipeline.sources_postgres import read_postgres  # psycopg only when a source needs it

        return read_postgres(source.postgres)
    from synth_pipeline.simulate import simulate_churn

    return simulate_churn(source.simulate.rows, random_state=source.simulate.seed)


def source_probe(source: SourceConfig, *, rows: int | None = None) -> dict[str, Any]:
    """A cheap signature of the source that changes when its content may have changed.

    Files: size and modification time. Queries: row count of the query (``rows``
    when the caller has just read the result, so the query does not run again). PostgreSQL:
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
        count = count_query(source.sql, source.allowed_paths) if rows is None else rows
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

    def read_and_probe(self) -> tuple[pd.DataFrame, dict[str, Any]]:
        """The whole table and its probe, a query's probe taken from the rows it returned (it runs once)."""
        table = self.read()
        return table, source_probe(self.config, rows=len(table))

    def column_kinds(self) -> dict[str, str]:
        """The kinds the source itself declares (a database's column types); the config's overrides win over them."""
        return source_column_kinds(self.config)


def read_and_probe(source: SourceReader) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The whole table and its probe, without running a query twice where the reader can avoid it."""
    if isinstance(source, ConfiguredSource):
        return source.read_and_probe()
    table = source.read()
    return table, source.probe()


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
    "read_and_probe",
    "read_source",
    "read_sql",
    "source_column_kinds",
    "source_probe",
]
