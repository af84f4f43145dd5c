"""The PostgreSQL warehouse backend: the catalog, one table per version and the views in one schema.

Every operation opens its own connection (psycopg 3) and runs in one transaction:
a publish creates the snapshot table, bulk-loads it with ``COPY``, updates the
catalog row and the ``<dataset>_latest`` view, and commits all of it or nothing (a
killed client's transaction is rolled back by the server). Version claims take
``LOCK TABLE snapshots IN SHARE ROW EXCLUSIVE MODE``, which serializes writers but
never blocks readers; a writer waits for it at most ``lock_timeout_seconds``.

The DSN holds a password: messages name the server as ``host:port/db`` through
:func:`synth_pipeline.secrets.redact_dsn`, and a driver's error text is scrubbed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
import psycopg
from psycopg import errors as pg_errors
from psycopg.types.json import set_json_loads

from synth_pipeline.errors import StoreError
from synth_pipeline.secrets import scrub, server_address
from synth_pipeline.version import __version__
from synth_pipeline.warehouse_backend import catalog_ddl
from synth_pipeline.warehouse_catalog import CATALOG_TABLE, CATALOG_VERSION, META_TABLE, now, quote_identifier
from synth_pipeline.warehouse_config import PostgresWarehouseConfig

T = TypeVar("T")
COPY_BATCH_ROWS = 50_000  # rows per COPY of a publish (the publishing process holds one batch at a time)

TYPES = {
    "text": "TEXT",
    "int": "INTEGER",
    "bigint": "BIGINT",
    "double": "DOUBLE PRECISION",
    "bool": "BOOLEAN",
    "timestamp": "TIMESTAMP",
    "json": "JSONB",
}
# Errors after which the whole transaction is simply tried again (another writer got there first).
_RETRYABLE = (
    pg_errors.LockNotAvailable,
    pg_errors.SerializationFailure,
    pg_errors.DeadlockDetected,
    pg_errors.UniqueViolation,
)


def column_type(arrow_type: Any) -> str:
    """The PostgreSQL type of a snapshot column of Arrow type ``arrow_type``."""
    import pyarrow as pa

    if pa.types.is_dictionary(arrow_type):
        return column_type(arrow_type.value_type)
    checks = [
        (pa.types.is_boolean, "BOOLEAN"),
        (pa.types.is_integer, "BIGINT"),
        (pa.types.is_floating, "DOUBLE PRECISION"),
        (pa.types.is_decimal, "NUMERIC"),
        (pa.types.is_date, "DATE"),
        (lambda t: pa.types.is_timestamp(t) and t.tz is not None, "TIMESTAMPTZ"),
        (pa.types.is_timestamp, "TIMESTAMP"),
        (pa.types.is_duration, "INTERVAL"),
    ]
    return next((name for check, name in checks if check(arrow_type)), "TEXT")


class PostgresSession:
    """One connection, in one transaction, with names qualified by the warehouse's schema."""

    def __init__(self, connection: psycopg.Connection, schema: str) -> None:
        self.connection = connection
        self.schema = schema

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        with self.connection.cursor() as cursor:
            cursor.execute(sql.replace("?", "%s"), list(params) if params else None)
            return cursor.fetchall() if cursor.description else []

    def frame(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        with self.connection.cursor() as cursor:
            cursor.execute(sql.replace("?", "%s"), list(params) if params else None)
            return pd.DataFrame(cursor.fetchall(), columns=[column.name for column in cursor.description])

    def name(self, name: str) -> str:
        return f"{quote_identifier(self.schema)}.{quote_identifier(name)}"

    def has_table(self, name: str) -> bool:
        sql = (
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_schema = ? AND table_name = ? AND table_type = 'BASE TABLE'"
        )
        return bool(self.rows(sql, [self.schema, name])[0][0])

    def create_table(self, name: str, table: Any) -> None:
        self._create_columns(name, table.schema)
        self._copy(name, table.schema, table.to_batches(max_chunksize=COPY_BATCH_ROWS))

    def create_table_from_parquet(self, name: str, paths: Sequence[Path], date_columns: Sequence[str]) -> None:
        """The shards' rows, batch by batch, each with one ``COPY`` inside the publish transaction."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = pq.read_schema(paths[0])
        for column in date_columns:
            schema = schema.set(schema.get_field_index(column), pa.field(column, pa.date32()))
        self._create_columns(name, schema)

        def batches() -> Any:
            for path in paths:
                for batch in pq.ParquetFile(path).iter_batches(batch_size=COPY_BATCH_ROWS):
                    yield pa.Table.from_batches([batch]).cast(schema)

        self._copy(name, schema, batches())

    def _create_columns(self, name: str, schema: Any) -> None:
        columns = ", ".join(f"{quote_identifier(f.name)} {column_type(f.type)}" for f in schema)
        self.rows(f"CREATE TABLE {self.name(name)} ({columns})")

    def _copy(self, name: str, schema: Any, batches: Any) -> None:
        names = ", ".join(quote_identifier(f.name) for f in schema)
        with self.connection.cursor() as cursor:
            for batch in batches:
                with cursor.copy(f"COPY {self.name(name)} ({names}) FROM STDIN") as copy:
                    for row in zip(*(column.to_pylist() for column in batch.columns), strict=True):
                        copy.write_row(row)

    def lock_catalog(self) -> None:
        self.rows(f"LOCK TABLE {self.name(CATALOG_TABLE)} IN SHARE ROW EXCLUSIVE MODE")

    def export(self, select_sql: str, path: Path, file_format: str) -> None:
        frame = self.frame(select_sql)
        if file_format == "parquet":
            frame.to_parquet(path, index=False)
        else:
            frame.to_csv(path, index=False)


class PostgresBackend:
    """A warehouse in one PostgreSQL schema."""

    def __init__(self, settings: PostgresWarehouseConfig, lock_timeout_seconds: float, reports_root: Path) -> None:
        self.dsn = settings.dsn
        self.schema = settings.db_schema
        self.connect_timeout = settings.connect_timeout_seconds
        self.lock_timeout_seconds = lock_timeout_seconds
        self.reports_root = reports_root
        self.where = str(settings)
        self.row_stamp: dict[str, Any] = {}

    def _message(self, error: BaseException) -> str:
        text = str(error).strip().splitlines()
        return scrub(text[0] if text else type(error).__name__, self.dsn)

    def _connect(self, *, read_only: bool) -> psycopg.Connection:
        try:
            connection = psycopg.connect(self.dsn, connect_timeout=self.connect_timeout)
        except psycopg.Error as error:
            raise StoreError(
                f"cannot connect to the PostgreSQL warehouse at {server_address(self.dsn)}: {self._message(error)}"
            ) from None
        set_json_loads(lambda data: data if isinstance(data, str) else bytes(data).decode(), connection)
        connection.read_only = read_only
        milliseconds = max(1, int(self.lock_timeout_seconds * 1000))
        connection.execute(f"SET lock_timeout = {milliseconds}")
        return connection

    def exists(self) -> bool:
        return bool(self._with_retries("opening the warehouse", self._catalog_present, write=False))

    def _catalog_present(self, session: PostgresSession) -> bool:
        return session.has_table(CATALOG_TABLE)

    def run(self, operation: str, work: Callable[[PostgresSession], T], *, write: bool) -> T:
        if write and not self.exists():
            self._with_retries(f"creating the warehouse {self.where}", self._initialise, write=True)
        return self._with_retries(operation, work, write=write)

    def _with_retries(self, operation: str, work: Callable[[PostgresSession], T], *, write: bool) -> T:
        deadline = time.monotonic() + self.lock_timeout_seconds
        delay, attempts = 0.02, 0
        while True:
            attempts += 1
            connection = self._connect(read_only=not write)
            try:
                result = work(PostgresSession(connection, self.schema))
                connection.commit()
                return result
            except _RETRYABLE as error:
                connection.rollback()
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise StoreError(
                        f"{operation}: the warehouse {self.where} stayed locked by another process for "
                        f"{self.lock_timeout_seconds:g} s ({attempts} attempts; raise "
                        f"warehouse.lock_timeout_seconds to wait longer). Last error: {self._message(error)}"
                    ) from None
                time.sleep(min(delay, remaining))
                delay = min(delay * 2, 1.0)
            except psycopg.Error as error:
                _rollback_quietly(connection)
                raise StoreError(f"{operation} failed on the warehouse {self.where}: {self._message(error)}") from None
            except BaseException:
                _rollback_quietly(connection)
                raise
            finally:
                connection.close()

    def _initialise(self, session: PostgresSession) -> None:
        session.rows(f"CREATE SCHEMA IF NOT EXISTS {quote_identifier(self.schema)}")
        for statement in catalog_ddl(TYPES, session.name):
            session.rows(statement)
        server = session.rows("SHOW server_version")[0][0]
        session.rows(
            f"INSERT INTO {session.name(META_TABLE)} VALUES ('postgres_version', ?), ('library_version', ?), "
            "('created_at', ?), ('catalog_version', ?) ON CONFLICT DO NOTHING",
            [str(server), __version__, now().isoformat(), str(CATALOG_VERSION)],
        )

    def query(self, sql: str, *, max_rows: int) -> pd.DataFrame:
        """One SELECT in a read-only transaction, names resolved in the warehouse's schema first."""

        def work(session: PostgresSession) -> pd.DataFrame:
            session.rows(f"SET LOCAL search_path TO {quote_identifier(self.schema)}, public")
            with session.connection.cursor() as cursor:
                cursor.execute(sql)
                rows = cursor.fetchmany(max_rows)
                return pd.DataFrame(rows, columns=[column.name for column in cursor.description])

        return self._with_retries("querying", work, write=False)


def _rollback_quietly(connection: psycopg.Connection) -> None:
    try:
        connection.rollback()
    except psycopg.Error:
        pass  # the connection is gone
