"""The DuckDB warehouse backend: one file, short-lived connections, retried on lock conflicts.

DuckDB allows one read-write *process* per file, so every operation opens its
own connection, retries lock and write conflicts with exponential backoff up
to ``lock_timeout_seconds`` and then raises :class:`StoreError` naming the
process that holds the lock (DuckDB's error states its PID). A directory or
file the operating system refuses to write is reported as such at once. The
first writer creates the catalog and records the DuckDB version that wrote the
file: a file is only opened by the DuckDB minor version that wrote it. A
catalog written by an older synth_pipeline is migrated by the next opening.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pandas as pd

from synth_pipeline.errors import StoreError
from synth_pipeline.version import __version__
from synth_pipeline.warehouse_backend import catalog_ddl, not_writable
from synth_pipeline.warehouse_catalog import (
    CATALOG_COLUMNS,
    CATALOG_TABLE,
    CATALOG_VERSION,
    META_TABLE,
    now,
    quote_identifier,
    quote_literal,
)

T = TypeVar("T")

TYPES = {
    "text": "VARCHAR",
    "int": "INTEGER",
    "bigint": "BIGINT",
    "double": "DOUBLE",
    "bool": "BOOLEAN",
    "timestamp": "TIMESTAMP",
    "json": "JSON",
}
# What duckdb.connect says when a thread of this process opens the file while another closes it.
_SAME_PROCESS_RACE = "Unique file handle conflict"
_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")
_HEADER_BYTES = 3 * 4096  # DuckDB's main header and two database headers
_NEW_FILE_SECONDS = 5.0  # how long an invalid file counts as one being created by another process
_FORMATS = {"parquet": "(FORMAT parquet)", "csv": "(FORMAT csv, HEADER true)"}


#: DuckDB's memory while a snapshot's shards are loaded into the warehouse
PUBLISH_MEMORY_LIMIT = "512MB"


class _LockBusy(Exception):
    """Internal: the warehouse file is locked by another process (retryable)."""


class _NeedsMigration(Exception):
    """Internal: a reader found a catalog of an older layout; one writable opening migrates it."""


def _minor(version: str) -> str:
    return ".".join(str(version).split(".")[:2])


def lock_holder(message: str) -> str | None:
    """``PID 123 (/usr/bin/python3)`` when DuckDB's lock error names the process holding the file."""
    found = _HOLDER.search(message)
    return f"PID {found['pid']} ({found['program']})" if found else None


class DuckDBSession:
    """One connection to the warehouse file."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    # Results are always fetched completely: with duckdb 2, a result left half-read blocks other work.
    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        return self.con.execute(sql, list(params)).fetchall()

    def frame(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        return self.con.execute(sql, list(params)).df()

    def name(self, name: str) -> str:
        return quote_identifier(name)

    def has_table(self, name: str) -> bool:
        sql = "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main' AND table_name = ?"
        return bool(self.rows(sql, [name])[0][0])

    def create_table(self, name: str, table: Any) -> None:
        self.con.register("_synthetic_rows", table)
        try:
            self.con.execute(f"CREATE TABLE {quote_identifier(name)} AS SELECT * FROM _synthetic_rows")
        finally:
            self.con.unregister("_synthetic_rows")

    def create_table_from_parquet(self, name: str, paths: Sequence[Path], date_columns: Sequence[str]) -> None:
        files = ", ".join(quote_literal(str(path)) for path in paths)
        dates = ", ".join(f"CAST({quote_identifier(c)} AS DATE) AS {quote_identifier(c)}" for c in date_columns)
        select = f"SELECT * REPLACE ({dates})" if date_columns else "SELECT *"
        # insertion order is preserved (DuckDB's default): the table holds the shards' rows in snapshot order
        self.con.execute("SET preserve_insertion_order = true")
        # without a limit DuckDB keeps the new table's blocks in memory up to 80% of RAM (3M rows x 32: +1 GB);
        # at this limit it writes them out (+0.5 GB), so publishing 10M rows stays bounded
        self.con.execute(f"SET memory_limit = '{PUBLISH_MEMORY_LIMIT}'")
        try:
            self.con.execute(f"CREATE TABLE {quote_identifier(name)} AS {select} FROM read_parquet([{files}])")
        finally:
            self.con.execute("RESET memory_limit")

    def lock_catalog(self) -> None:
        """Nothing to do: one process writes the file at a time, and threads' write conflicts are retried."""

    def export(self, select_sql: str, path: Path, file_format: str) -> None:
        self.con.execute(f"COPY ({select_sql}) TO {quote_literal(str(path))} {_FORMATS[file_format]}")


class DuckDBBackend:
    """A warehouse in one DuckDB file."""

    def __init__(self, path: Path, lock_timeout_seconds: float) -> None:
        self.path = path
        self.lock_timeout_seconds = lock_timeout_seconds
        self.where = repr(str(path))
        self.reports_root = path.parent / "reports"
        self.row_stamp = {"duckdb_version": duckdb.__version__}

    def exists(self) -> bool:
        return self.path.exists()

    def _not_writable(self, message: str) -> StoreError:
        return StoreError(
            f"the warehouse {self.where} is not writable (read-only file or directory: DuckDB needs to write the "
            f"file and a .wal file beside it in {str(self.path.parent)!r}): {message}"
        )

    def _open(self, *, read_only: bool, config: dict[str, Any] | None = None) -> duckdb.DuckDBPyConnection:
        try:
            return duckdb.connect(str(self.path), read_only=read_only, config=config or {})
        except duckdb.Error as error:
            message = str(error)
            if _SAME_PROCESS_RACE in message:
                # Another thread of this process is closing the file's last connection while this one
                # opens it (DuckDB's per-process instance cache): transient, so retried like a lock.
                raise _LockBusy(message) from None
            if isinstance(error, duckdb.ConnectionException) and "different configuration" in message:
                # This process already holds the file in the other mode (another thread). A reader
                # shares the writer's instance; a writer waits until the readers are done.
                if not read_only:
                    raise _LockBusy(message) from None
                return self._open(read_only=False)
            if not_writable(message):
                raise self._not_writable(message) from None
            if "not a valid DuckDB database file" in message and _being_created(self.path):
                raise _LockBusy(message) from None  # another process is writing the new file's header
            if isinstance(error, duckdb.IOException) and "lock" in message.lower():
                raise _LockBusy(message) from None
            if "version" in message.lower():
                raise StoreError(
                    f"the warehouse {self.where} was written by another DuckDB storage version and cannot be "
                    f"opened with duckdb {duckdb.__version__}: {message}. Migrate it by exporting the snapshots "
                    "with the DuckDB version that wrote it and importing them into a new warehouse."
                ) from None
            raise StoreError(f"cannot open the warehouse {self.where}: {message}") from None

    def run(self, operation: str, work: Callable[[DuckDBSession], T], *, write: bool) -> T:
        """Open a connection, run ``work`` (in a transaction when writing), close; retry lock conflicts."""
        if write:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise self._not_writable(str(error)) from None
        try:
            return self._attempts(operation, work, write=write)
        except _NeedsMigration:
            self._attempts(f"migrating the catalog of {self.where}", lambda session: None, write=True)
            return self._attempts(operation, work, write=write)

    def _attempts(self, operation: str, work: Callable[[DuckDBSession], T], *, write: bool) -> T:
        deadline = time.monotonic() + self.lock_timeout_seconds
        delay, attempts = 0.02, 0
        while True:
            attempts += 1
            con = None
            try:
                con = self._open(read_only=not write)
                self._check_meta(con, writable=write)
                if not write:
                    return work(DuckDBSession(con))
                con.execute("BEGIN TRANSACTION")
                result = work(DuckDBSession(con))
                con.execute("COMMIT")
                return result
            except (_LockBusy, duckdb.TransactionException, duckdb.ConstraintException) as error:
                if isinstance(error, duckdb.ConstraintException) and "Duplicate key" not in str(error):
                    raise StoreError(f"{operation} failed on the warehouse {self.where}: {error}") from None
                # Duplicate key: another thread of this process committed the same new version first.
                if con is not None:
                    _rollback_quietly(con)
                if not_writable(str(error)):
                    raise self._not_writable(str(error)) from None
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise self._timeout(operation, str(error), attempts) from None
                time.sleep(min(delay, remaining))
                delay = min(delay * 2, 1.0)
            except duckdb.Error as error:
                if con is not None:
                    _rollback_quietly(con)
                if not_writable(str(error)):
                    raise self._not_writable(str(error)) from None
                raise StoreError(f"{operation} failed on the warehouse {self.where}: {error}") from None
            except BaseException:
                if con is not None:
                    _rollback_quietly(con)
                raise
            finally:
                if con is not None:
                    con.close()

    def _timeout(self, operation: str, message: str, attempts: int) -> StoreError:
        holder = lock_holder(message)
        return StoreError(
            f"{operation}: the warehouse {self.where} stayed locked by another process for "
            f"{self.lock_timeout_seconds:g} s ({f'held by {holder}; ' if holder else ''}{attempts} attempts; "
            "raise warehouse.lock_timeout_seconds to wait longer). Readers holding a connection open block "
            "publishing: read with short-lived connections, `synth-pipeline snapshots query`, or exported files. "
            f"Last error: {message}"
        )

    def query(self, sql: str, *, max_rows: int) -> pd.DataFrame:
        """One SELECT on a read-only connection that cannot touch other files; at most ``max_rows`` rows."""
        try:
            con = self._open(read_only=True, config={"enable_external_access": False})
        except _LockBusy as error:
            raise self._timeout("querying", str(error), 1) from None
        try:
            self._check_meta(con, writable=False)
            result = con.execute(sql)
            rows = result.fetchmany(max_rows)
            return pd.DataFrame(rows, columns=[d[0] for d in result.description])
        except _NeedsMigration:
            raise StoreError(
                f"the catalog of {self.where} is from an older synth_pipeline: publish once to migrate"
            ) from None
        except duckdb.Error as error:
            raise StoreError(f"the query failed on the warehouse {self.where}: {error}") from None
        finally:
            con.close()

    def _check_meta(self, con: duckdb.DuckDBPyConnection, *, writable: bool) -> None:
        session = DuckDBSession(con)
        tables = {row[0] for row in session.rows("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'")}
        if META_TABLE not in tables:
            if tables - {CATALOG_TABLE} or CATALOG_TABLE in tables:
                raise StoreError(
                    f"{self.where} is a DuckDB file but not a synth_pipeline warehouse (no {META_TABLE} table); "
                    "point the warehouse setting at a new file"
                )
            if writable:
                self._initialise(con)
            return
        recorded = dict(session.rows(f"SELECT key, value FROM {quote_identifier(META_TABLE)}"))
        written_by = recorded.get("duckdb_version", "?")
        if _minor(written_by) != _minor(duckdb.__version__):
            raise StoreError(
                f"the warehouse {self.where} was written by duckdb {written_by} "
                f"(storage {recorded.get('storage_version', '?')}); this is duckdb {duckdb.__version__}. "
                "DuckDB's storage format is tied to its version: migrate by exporting the snapshots with the "
                "old version (synth-pipeline snapshots export) and publishing them into a new warehouse."
            )
        if int(recorded.get("catalog_version", 1)) < CATALOG_VERSION:
            if not writable:
                raise _NeedsMigration()
            self._migrate(con)

    def _initialise(self, con: duckdb.DuckDBPyConnection) -> None:
        storage = "?"
        current = con.execute("SELECT current_database()").fetchall()[0][0]
        for name, options in con.execute("SELECT database_name, options FROM duckdb_databases()").fetchall():
            if name == current and isinstance(options, dict):
                storage = str(options.get("storage_version", "?"))
        con.execute("BEGIN TRANSACTION")
        for statement in catalog_ddl(TYPES, quote_identifier):
            con.execute(statement)
        con.execute(
            f"INSERT INTO {quote_identifier(META_TABLE)} VALUES ('duckdb_version', ?), ('storage_version', ?), "
            "('library_version', ?), ('created_at', ?), ('catalog_version', ?) ON CONFLICT DO NOTHING",
            [duckdb.__version__, storage, __version__, now().isoformat(), str(CATALOG_VERSION)],
        )
        con.execute("COMMIT")

    def _migrate(self, con: duckdb.DuckDBPyConnection) -> None:
        """Catalog version 1 (one row per published snapshot, JSON as text) -> 2 (one row per attempt)."""
        catalog, meta = quote_identifier(CATALOG_TABLE), quote_identifier(META_TABLE)
        old = {row[0] for row in con.execute(f"DESCRIBE {catalog}").fetchall()}
        kept = [quote_identifier(c) for c in CATALOG_COLUMNS if c in old]
        con.execute("BEGIN TRANSACTION")
        con.execute(f"ALTER TABLE {catalog} RENAME TO {quote_identifier('_snapshots_v1')}")
        for statement in catalog_ddl(TYPES, quote_identifier)[1:]:
            con.execute(statement)
        con.execute(
            f"INSERT INTO {catalog} ({', '.join(kept)}, status) "
            f"SELECT {', '.join(kept)}, 'published' FROM {quote_identifier('_snapshots_v1')}"
        )
        con.execute(f"DROP TABLE {quote_identifier('_snapshots_v1')}")
        con.execute(
            f"INSERT INTO {meta} VALUES ('catalog_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [str(CATALOG_VERSION)],
        )
        con.execute("COMMIT")


def _being_created(path: Path) -> bool:
    """Whether ``path`` looks like a new file another process is initialising: shorter than DuckDB's file
    headers, or written within the last few seconds (DuckDB may size the file before writing its headers).
    A file that stays invalid longer than that is reported as it is."""
    try:
        stat = path.stat()
    except OSError:
        return True
    return stat.st_size < _HEADER_BYTES or time.time() - stat.st_mtime < _NEW_FILE_SECONDS


def _rollback_quietly(con: duckdb.DuckDBPyConnection) -> None:
    try:
        con.execute("ROLLBACK")
    except duckdb.Error:
        pass  # no transaction was open
