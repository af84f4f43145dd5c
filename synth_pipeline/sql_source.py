"""A config's DuckDB query, run in a sandbox.

A ``source: {sql: ...}`` setting is code that runs on the pipeline's machine, so it gets exactly what reading a
table needs and nothing more:

* exactly one statement, and its parsed type (DuckDB's parser, not a pattern over the text) must be
  ``SELECT`` (which covers ``WITH ...``, ``FROM ...``, ``VALUES``, ``DESCRIBE``); ``ATTACH``, ``COPY``,
  ``INSTALL``/``LOAD``, ``SET``, ``PRAGMA``, ``CREATE``... are refused before anything runs;
* it runs in a fresh in-memory connection of its own, which never has the warehouse (or any database) attached;
* that connection may read only the files and directories it is given (DuckDB's ``allowed_paths`` and
  ``allowed_directories`` with ``enable_external_access = false``: no other file, no URL), spills nothing to
  disk, installs and loads no extension, and its configuration is locked before the query runs, so the query
  cannot widen any of that.

A trailing ``;`` or a ``--`` comment is part of a valid statement: the statement DuckDB parsed is what runs,
never a text built around it.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from synth_pipeline.errors import ConfigError, InvalidDataError

if TYPE_CHECKING:  # pragma: no cover
    import duckdb
    import pyarrow as pa

_COUNT_BATCH_ROWS = 100_000
_LOCKDOWN = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def check_query(sql: str, *, setting: str | None = "source.sql") -> duckdb.Statement:
    """The one read-only statement ``sql`` holds, parsed; else :class:`ConfigError` naming ``setting``."""
    import duckdb

    prefix = f"{setting}: " if setting else ""
    if not isinstance(sql, str) or not sql.strip():
        raise ConfigError(f"{prefix}give one SELECT (or WITH ...) query")
    with duckdb.connect(":memory:", config=_LOCKDOWN) as parser:
        try:
            statements = parser.extract_statements(sql)
        except duckdb.Error as error:
            raise ConfigError(f"{prefix}not a valid DuckDB query: {_first_line(error)}") from None
    if len(statements) != 1:
        raise ConfigError(f"{prefix}give exactly one SELECT statement, got {len(statements)}")
    statement = statements[0]
    if statement.type != duckdb.StatementType.SELECT:
        kind = statement.type.name
        raise ConfigError(f"{prefix}only a read-only SELECT (or WITH ...) query is accepted, got {kind}")
    return statement


def _allowed(paths: Iterable[str | Path]) -> tuple[list[str], list[str]]:
    """(directories, files) as absolute paths: an existing directory opens everything below it."""
    directories, files = [], []
    for entry in paths:
        path = Path(entry).expanduser().resolve()
        if path.is_dir():
            directories.append(str(path).rstrip("/") + "/")
        else:
            files.append(str(path))
    return directories, files


def _quoted(items: list[str]) -> str:
    return "[" + ", ".join("'" + item.replace("'", "''") + "'" for item in items) + "]"


@contextmanager
def sandbox(allowed_paths: Iterable[str | Path] = ()) -> Iterator[duckdb.DuckDBPyConnection]:
    """A fresh in-memory DuckDB connection that can read only ``allowed_paths``, with its configuration locked."""
    import duckdb

    directories, files = _allowed(allowed_paths)
    with duckdb.connect(":memory:", config=_LOCKDOWN) as connection:
        connection.execute("SET temp_directory = ''")  # nothing spills to disk
        connection.execute(f"SET allowed_directories = {_quoted(directories)}")
        connection.execute(f"SET allowed_paths = {_quoted(files)}")
        connection.execute("SET enable_external_access = false")
        connection.execute("SET lock_configuration = true")
        yield connection


def _run_failed(error: Exception, allowed_paths: Iterable[str | Path]) -> InvalidDataError:
    import duckdb

    message = f"source query failed: {_first_line(error)}"
    if isinstance(error, duckdb.PermissionException):
        allowed = ", ".join(str(p) for p in allowed_paths) or "none"
        message += (
            f"; a sql source may read only the files and directories in source.allowed_paths (now: {allowed})"
        )
    return InvalidDataError(message)


def read_query(sql: str, allowed_paths: Iterable[str | Path] = ()) -> pd.DataFrame:
    """Run one read-only query in the sandbox and return its result."""
    import duckdb

    statement = check_query(sql)
    allowed_paths = list(allowed_paths)
    try:
        with sandbox(allowed_paths) as connection:
            return connection.execute(statement).df()
    except duckdb.Error as error:
        raise _run_failed(error, allowed_paths) from None


@contextmanager
def query_batches(
    sql: str, allowed_paths: Iterable[str | Path] = (), batch_rows: int = _COUNT_BATCH_ROWS
) -> Iterator[tuple[pa.Schema, Iterator[pa.RecordBatch]]]:
    """The query's result schema and its rows as Arrow record batches, read in the sandbox (nothing is kept)."""
    import duckdb

    statement = check_query(sql)
    allowed_paths = list(allowed_paths)

    def batches(reader: pa.RecordBatchReader) -> Iterator[pa.RecordBatch]:
        try:
            yield from reader
        except duckdb.Error as error:
            raise _run_failed(error, allowed_paths) from None

    try:
        with sandbox(allowed_paths) as connection, warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "makes an extra copy": of one batch at a time
            reader = connection.execute(statement).to_arrow_reader(batch_rows)
            yield reader.schema, batches(reader)
    except duckdb.Error as error:
        raise _run_failed(error, allowed_paths) from None


def count_query(sql: str, allowed_paths: Iterable[str | Path] = ()) -> int:
    """The number of rows the query returns, counted in the sandbox as the result streams by (nothing is kept).

    The parsed statement runs as it is: a count wrapped around its text would break on a trailing ``;``
    or comment (DuckDB's relation API wraps the text too).
    """
    import duckdb

    statement = check_query(sql)
    allowed_paths = list(allowed_paths)
    try:
        with sandbox(allowed_paths) as connection:
            with warnings.catch_warnings():  # "makes an extra copy": of one batch at a time, which is bounded
                warnings.simplefilter("ignore", UserWarning)
                batches = connection.execute(statement).to_arrow_reader(_COUNT_BATCH_ROWS)
                return sum(batch.num_rows for batch in batches)
    except duckdb.Error as error:
        raise _run_failed(error, allowed_paths) from None


__all__ = ["check_query", "count_query", "query_batches", "read_query", "sandbox"]
