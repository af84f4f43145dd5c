"""Connections to the warehouse file: short-lived, retried on lock conflicts, checked for the storage version.

DuckDB allows one read-write *process* per file, so every operation opens its
own connection, retries lock and write conflicts with exponential backoff up
to ``lock_timeout_seconds`` and then raises :class:`StoreError`. The first
writer creates the catalog and records the DuckDB version that wrote the file:
a file is only opened by the DuckDB minor version that wrote it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import duckdb

from synth_pipeline.errors import StoreError
from synth_pipeline.version import __version__
from synth_pipeline.warehouse_catalog import CATALOG_COLUMNS, CATALOG_TABLE, META_TABLE, now, quote_identifier

T = TypeVar("T")


# What duckdb.connect says when a thread of this process opens the file while another closes it.
_SAME_PROCESS_RACE = "Unique file handle conflict"


class _LockBusy(Exception):
    """Internal: the warehouse file is locked by another process (retryable)."""


def _minor(version: str) -> str:
    return ".".join(str(version).split(".")[:2])


class WarehouseConnections:
    """Opens, checks and retries connections to one warehouse file."""

    def __init__(self, path: Path, lock_timeout_seconds: float) -> None:
        self.path = path
        self.lock_timeout_seconds = lock_timeout_seconds

    def _open(self, *, read_only: bool) -> duckdb.DuckDBPyConnection:
        try:
            return duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.Error as error:
            message = str(error)
            if _SAME_PROCESS_RACE in message:
                # Another thread of this process is closing the file's last connection while this one
                # opens it (DuckDB's per-process instance cache): transient, so retried like a lock.
                raise _LockBusy(message) from None
            if isinstance(error, duckdb.ConnectionException):
                # This process already holds the file in the other mode (another
                # thread). A reader shares the writer's instance; a writer waits
                # until the readers are done.
                if "different configuration" in message:
                    if not read_only:
                        raise _LockBusy(message) from None
                    return self._open(read_only=False)
            elif isinstance(error, duckdb.IOException):
                if "lock" in message.lower():
                    raise _LockBusy(message) from None
            elif "version" in message.lower():
                raise StoreError(
                    f"the warehouse {str(self.path)!r} was written by another DuckDB storage version and cannot be "
                    f"opened with duckdb {duckdb.__version__}: {message}. Migrate it by exporting the snapshots "
                    "with the DuckDB version that wrote it and importing them into a new warehouse."
                ) from None
            raise StoreError(f"cannot open the warehouse {str(self.path)!r}: {message}") from None

    def run(self, operation: str, work: Callable[[duckdb.DuckDBPyConnection], T], *, read_only: bool) -> T:
        """Open a connection, run ``work``, close; retry lock and write conflicts with backoff."""
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.lock_timeout_seconds
        delay = 0.02
        attempts = 0
        while True:
            attempts += 1
            con = None
            try:
                con = self._open(read_only=read_only)
                self._check_meta(con, writable=not read_only)
                return work(con)
            except (_LockBusy, duckdb.TransactionException) as error:
                if con is not None:
                    _rollback_quietly(con)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise StoreError(
                        f"{operation}: the warehouse {str(self.path)!r} stayed locked by another process for "
                        f"{self.lock_timeout_seconds:g} s (lock_timeout_seconds; {attempts} attempts). "
                        f"Last error: {error}"
                    ) from None
                time.sleep(min(delay, remaining))
                delay = min(delay * 2, 1.0)
            except duckdb.Error as error:
                if con is not None:
                    _rollback_quietly(con)
                raise StoreError(f"{operation} failed on the warehouse {str(self.path)!r}: {error}") from None
            except BaseException:
                if con is not None:
                    _rollback_quietly(con)
                raise
            finally:
                if con is not None:
                    con.close()

    def _check_meta(self, con: duckdb.DuckDBPyConnection, *, writable: bool) -> None:
        tables = {
            row[0]
            for row in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'").fetchall()
        }
        if META_TABLE not in tables:
            foreign = tables - {CATALOG_TABLE}
            if foreign or CATALOG_TABLE in tables:
                raise StoreError(
                    f"{str(self.path)!r} is a DuckDB file but not a synth_pipeline warehouse (no {META_TABLE} table); "
                    "point the warehouse setting at a new file"
                )
            if writable:
                self._initialise(con)
            return
        recorded = dict(con.execute(f"SELECT key, value FROM {quote_identifier(META_TABLE)}").fetchall())
        written_by = recorded.get("duckdb_version", "?")
        if _minor(written_by) != _minor(duckdb.__version__):
            raise StoreError(
                f"the warehouse {str(self.path)!r} was written by duckdb {written_by} "
                f"(storage {recorded.get('storage_version', '?')}); this is duckdb {duckdb.__version__}. "
                "DuckDB's storage format is tied to its version: migrate by exporting the snapshots with the "
                "old version (synth-pipeline snapshots export) and publishing them into a new warehouse."
            )

    def _initialise(self, con: duckdb.DuckDBPyConnection) -> None:
        storage = "?"
        current = con.execute("SELECT current_database()").fetchall()[0][0]
        for name, options in con.execute("SELECT database_name, options FROM duckdb_databases()").fetchall():
            if name == current and isinstance(options, dict):
                storage = str(options.get("storage_version", "?"))
        columns = ", ".join(f"{quote_identifier(n)} {t}" for n, t in CATALOG_COLUMNS.items())
        con.execute("BEGIN TRANSACTION")
        con.execute(
            f"CREATE TABLE IF NOT EXISTS {quote_identifier(META_TABLE)} (key VARCHAR PRIMARY KEY, value VARCHAR)"
        )
        con.execute(
            f"CREATE TABLE IF NOT EXISTS {quote_identifier(CATALOG_TABLE)} ({columns}, PRIMARY KEY (dataset, version))"
        )
        con.execute(
            f"INSERT OR IGNORE INTO {quote_identifier(META_TABLE)} VALUES "
            "('duckdb_version', ?), ('storage_version', ?), ('library_version', ?), ('created_at', ?)",
            [duckdb.__version__, storage, __version__, now().isoformat()],
        )
        con.execute("COMMIT")


# Results are always fetched completely (fetchall): with duckdb 2, a result left
# half-read (fetchone) blocks register() and other work on the connection.
def _rollback_quietly(con: duckdb.DuckDBPyConnection) -> None:
    try:
        con.execute("ROLLBACK")
    except duckdb.Error:
        pass  # no transaction was open
