"""The public warehouse (DuckDB): synthetic snapshots, their catalog and lineage; never a real row.

One DuckDB file that consumers are given access to, so it holds
synthetic data only:

* ``snapshots``: the catalog, one row per published version with its lineage
  (source fingerprint, generator, model id, config hash, gate results, QA summary);
* one table per version, ``"<dataset>__v<version>"``;
* a view ``"<dataset>_latest"`` on the newest snapshot that passed its gates;
* ``_warehouse_meta``: the DuckDB version that wrote the file. DuckDB's storage
  format is a version decision: a file is only opened by the DuckDB minor
  version that wrote it, and an upgrade is an export/import.

DuckDB allows one read-write *process* per file, so every operation opens its
own short-lived connection, retries lock conflicts with exponential backoff up
to ``lock_timeout_seconds`` and then raises :class:`StoreError`. A publish is
one transaction: the version number is computed inside it, and the data table,
the catalog row and the view commit together or not at all.

Dataset names are validated (``^[A-Za-z_][A-Za-z0-9_]{0,62}$``) *and* every
identifier is quoted, so a name such as ``x; DROP TABLE snapshots`` is refused
with a clear message and harms nothing.

>>> store = SnapshotStore(tmp_path / "warehouse.duckdb")           # doctest: +SKIP
>>> info = store.publish("churn", synthetic, {"model_id": "m1"})   # doctest: +SKIP
>>> store.read("churn", version=info.version)                      # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import os
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import numpy as np
import pandas as pd

from synth_pipeline.columns import json_default, validate_dataset_name
from synth_pipeline.errors import ConfigError, InvalidDataError, StoreError
from synth_pipeline.version import __version__

CATALOG_TABLE = "snapshots"
META_TABLE = "_warehouse_meta"

_CATALOG_COLUMNS: dict[str, str] = {
    "dataset": "VARCHAR NOT NULL",
    "version": "INTEGER NOT NULL",
    "created_at": "TIMESTAMP NOT NULL",  # UTC
    "row_count": "BIGINT NOT NULL",
    "table_name": "VARCHAR NOT NULL",
    "source_fingerprint": "VARCHAR",
    "generator": "VARCHAR",
    "model_id": "VARCHAR",
    "config_hash": "VARCHAR",
    "accuracy": "DOUBLE",
    "dcr_share": "DOUBLE",
    "gates_passed": "BOOLEAN NOT NULL",
    "gate_results": "VARCHAR",  # JSON list of gate results
    "qa_summary": "VARCHAR",  # JSON object
    "report_path": "VARCHAR",
    "library_version": "VARCHAR",
    "duckdb_version": "VARCHAR",
}
LINEAGE_KEYS = frozenset(
    {
        "source_fingerprint",
        "generator",
        "model_id",
        "config_hash",
        "accuracy",
        "dcr_share",
        "gates_passed",
        "gate_results",
        "qa_summary",
        "report_path",
    }
)

# Test seam: called as _publish_hook(stage, info) at fixed points inside the
# publish transaction ("table_created", "catalog_written"), so tests can crash or
# stall a publish at a known moment. Always None in production.
_publish_hook: Callable[[str, dict[str, Any]], None] | None = None

T = TypeVar("T")


# -- names ---------------------------------------------------------------------------
def quote_identifier(name: str) -> str:
    """Quote an SQL identifier for DuckDB (double quotes, embedded quotes doubled)."""
    return '"' + str(name).replace('"', '""') + '"'


def _quote_literal(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def snapshot_table_name(dataset: str, version: int) -> str:
    """The (unquoted) name of the data table of one snapshot version."""
    return f"{validate_dataset_name(dataset)}__v{int(version)}"


def latest_view_name(dataset: str) -> str:
    """The (unquoted) name of the view on a dataset's newest passing snapshot."""
    return f"{validate_dataset_name(dataset)}_latest"


def _minor(version: str) -> str:
    return ".".join(str(version).split(".")[:2])


def _utc_naive(value: Any, *, setting: str = "as_of") -> datetime:
    """A timestamp as a naive UTC datetime (the catalog's convention)."""
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as error:
        raise ConfigError(f"{setting}: cannot read {value!r} as a timestamp ({error})") from None
    if pd.isna(stamp):
        raise ConfigError(f"{setting}: {value!r} is not a timestamp")
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp.to_pydatetime()


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _to_json(value: Any, *, setting: str) -> str | None:
    if value is None:
        return None
    try:
        return json.dumps(value, default=json_default, sort_keys=True)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"lineage {setting!r} cannot be stored as JSON: {error}") from None


def _optional_float(value: Any, *, setting: str) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"lineage {setting!r} must be a number, got {value!r}") from None
    return number if math.isfinite(number) else None


def _optional_text(value: Any) -> str | None:
    return None if value is None else str(value)


# -- warehouse -----------------------------------------------------------------------
@dataclass(frozen=True)
class SnapshotInfo:
    """What :meth:`SnapshotStore.publish` wrote."""

    dataset: str
    version: int
    table_name: str
    row_count: int
    created_at: datetime
    warehouse: Path
    gates_passed: bool = True


class _LockBusy(Exception):
    """Internal: the warehouse file is locked by another process (retryable)."""


class SnapshotStore:
    """Versioned synthetic snapshots in one DuckDB file, with their lineage.

    ``lock_timeout_seconds`` bounds how long an operation waits for another
    process that holds the file (DuckDB allows one writer process at a time).
    """

    def __init__(self, path: str | Path, *, lock_timeout_seconds: float = 60.0) -> None:
        if str(path) == ":memory:":
            raise StoreError("the snapshot warehouse must be a file; ':memory:' would vanish between operations")
        self.path = Path(path)
        if not isinstance(lock_timeout_seconds, (int, float)) or lock_timeout_seconds < 0:
            raise ConfigError(f"lock_timeout_seconds must be a non-negative number, got {lock_timeout_seconds!r}")
        self.lock_timeout_seconds = float(lock_timeout_seconds)

    def __repr__(self) -> str:
        return f"SnapshotStore({str(self.path)!r})"

    # -- connections -------------------------------------------------------------
    def _open(self, *, read_only: bool) -> duckdb.DuckDBPyConnection:
        try:
            return duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.ConnectionException as error:
            # This process already holds the file in the other mode (another
            # thread). A reader shares the writer's instance; a writer waits
            # until the readers are done.
            if "different configuration" in str(error):
                if not read_only:
                    raise _LockBusy(str(error)) from None
                return self._open(read_only=False)
            raise StoreError(f"cannot open the warehouse {str(self.path)!r}: {error}") from None
        except duckdb.IOException as error:
            if "lock" in str(error).lower():
                raise _LockBusy(str(error)) from None
            raise StoreError(f"cannot open the warehouse {str(self.path)!r}: {error}") from None
        except duckdb.Error as error:
            message = str(error)
            if "version" in message.lower():
                raise StoreError(
                    f"the warehouse {str(self.path)!r} was written by another DuckDB storage version and cannot be "
                    f"opened with duckdb {duckdb.__version__}: {message}. Migrate it by exporting the snapshots "
                    "with the DuckDB version that wrote it and importing them into a new warehouse."
                ) from None
            raise StoreError(f"cannot open the warehouse {str(self.path)!r}: {message}") from None

    def _run(self, operation: str, work: Callable[[duckdb.DuckDBPyConnection], T], *, read_only: bool) -> T:
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
        columns = ", ".join(f"{quote_identifier(n)} {t}" for n, t in _CATALOG_COLUMNS.items())
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
            [duckdb.__version__, storage, __version__, _now().isoformat()],
        )
        con.execute("COMMIT")

    def _has_catalog(self) -> bool:
        return self.path.exists()

    # -- writing -----------------------------------------------------------------
    def publish(self, dataset: str, synthetic: pd.DataFrame, lineage: Mapping[str, Any] | None = None) -> SnapshotInfo:
        """Write ``synthetic`` as the next version of ``dataset``, atomically.

        ``lineage`` keys: source_fingerprint, generator, model_id, config_hash,
        accuracy, dcr_share, gates_passed (default True), gate_results (list of
        dicts), qa_summary (dict), report_path. The version is ``max + 1``,
        computed inside the transaction that creates the data table, the catalog
        row and the ``<dataset>_latest`` view, so concurrent publishers get
        distinct versions and a crash leaves no partial version.
        """
        dataset = validate_dataset_name(dataset)
        arrow_table = _to_arrow(synthetic, dataset)
        row = _lineage_row(lineage or {})

        def work(con: duckdb.DuckDBPyConnection) -> SnapshotInfo:
            catalog = quote_identifier(CATALOG_TABLE)
            con.execute("BEGIN TRANSACTION")
            clash = con.execute(
                f"SELECT DISTINCT dataset FROM {catalog} WHERE lower(dataset) = lower(?) AND dataset <> ?",
                [dataset, dataset],
            ).fetchall()
            if clash:
                raise StoreError(
                    f"dataset {dataset!r} differs only in letter case from {clash[0][0]!r}, which the warehouse "
                    f"{str(self.path)!r} already holds; table names are case-insensitive, choose another name"
                )
            version = int(
                con.execute(
                    f"SELECT coalesce(max(version), 0) + 1 FROM {catalog} WHERE dataset = ?", [dataset]
                ).fetchall()[0][0]
            )
            table_name = snapshot_table_name(dataset, version)
            created_at = _now()
            con.register("_synthetic_rows", arrow_table)
            try:
                con.execute(f"CREATE TABLE {quote_identifier(table_name)} AS SELECT * FROM _synthetic_rows")
            finally:
                con.unregister("_synthetic_rows")
            _call_hook("table_created", {"dataset": dataset, "version": version, "warehouse": str(self.path)})
            con.execute(
                f"INSERT INTO {catalog} ({', '.join(map(quote_identifier, _CATALOG_COLUMNS))}) "
                f"VALUES ({', '.join('?' for _ in _CATALOG_COLUMNS)})",
                [
                    dataset,
                    version,
                    created_at,
                    arrow_table.num_rows,
                    table_name,
                    row["source_fingerprint"],
                    row["generator"],
                    row["model_id"],
                    row["config_hash"],
                    row["accuracy"],
                    row["dcr_share"],
                    row["gates_passed"],
                    row["gate_results"],
                    row["qa_summary"],
                    row["report_path"],
                    __version__,
                    duckdb.__version__,
                ],
            )
            _call_hook("catalog_written", {"dataset": dataset, "version": version, "warehouse": str(self.path)})
            self._refresh_latest_view(con, dataset)
            con.execute("COMMIT")
            return SnapshotInfo(
                dataset=dataset,
                version=version,
                table_name=table_name,
                row_count=arrow_table.num_rows,
                created_at=created_at,
                warehouse=self.path,
                gates_passed=row["gates_passed"],
            )

        return self._run(f"publishing a snapshot of {dataset!r}", work, read_only=False)

    @staticmethod
    def _refresh_latest_view(con: duckdb.DuckDBPyConnection, dataset: str) -> int | None:
        """Point ``<dataset>_latest`` at the newest passing version (or drop it); inside the caller's transaction."""
        latest = con.execute(
            f"SELECT max(version) FROM {quote_identifier(CATALOG_TABLE)} WHERE dataset = ? AND gates_passed",
            [dataset],
        ).fetchall()[0][0]
        view = quote_identifier(latest_view_name(dataset))
        if latest is None:
            con.execute(f"DROP VIEW IF EXISTS {view}")
            return None
        table = quote_identifier(snapshot_table_name(dataset, int(latest)))
        con.execute(f"CREATE OR REPLACE VIEW {view} AS SELECT * FROM {table}")
        return int(latest)

    def apply_retention(
        self, dataset: str, *, keep_last: int | None = None, keep_days: float | None = None
    ) -> list[int]:
        """Remove old versions of ``dataset``; return the removed version numbers.

        A version is kept when it is among the last ``keep_last`` versions *or*
        was created within the last ``keep_days`` days (when both are given,
        either one keeps it). The latest passing snapshot is never removed.
        Tables and catalog rows go in one transaction.
        """
        dataset = validate_dataset_name(dataset)
        if keep_last is None and keep_days is None:
            raise ConfigError("apply_retention needs keep_last and/or keep_days")
        if keep_last is not None and (not isinstance(keep_last, int) or isinstance(keep_last, bool) or keep_last < 1):
            raise ConfigError(f"keep_last must be a positive integer, got {keep_last!r}")
        if keep_days is not None and (
            not isinstance(keep_days, (int, float)) or isinstance(keep_days, bool) or not keep_days >= 0
        ):
            raise ConfigError(f"keep_days must be a non-negative number, got {keep_days!r}")
        if not self._has_catalog():
            return []

        def work(con: duckdb.DuckDBPyConnection) -> list[int]:
            con.execute("BEGIN TRANSACTION")
            rows = con.execute(
                f"SELECT version, created_at, gates_passed FROM {quote_identifier(CATALOG_TABLE)} "
                "WHERE dataset = ? ORDER BY version",
                [dataset],
            ).fetchall()
            if not rows:
                con.execute("ROLLBACK")
                return []
            versions = [int(r[0]) for r in rows]
            keep: set[int] = set()
            if keep_last is not None:
                keep.update(versions[-keep_last:])
            if keep_days is not None:
                cutoff = _now() - timedelta(days=float(keep_days))
                keep.update(int(v) for v, created_at, _ in rows if created_at >= cutoff)
            passing = [int(v) for v, _, passed in rows if passed]
            if passing:
                keep.add(max(passing))
            removed = [v for v in versions if v not in keep]
            if not removed:
                con.execute("ROLLBACK")
                return []
            for version in removed:
                con.execute(f"DROP TABLE IF EXISTS {quote_identifier(snapshot_table_name(dataset, version))}")
            placeholders = ", ".join("?" for _ in removed)
            con.execute(
                f"DELETE FROM {quote_identifier(CATALOG_TABLE)} WHERE dataset = ? AND version IN ({placeholders})",
                [dataset, *removed],
            )
            self._refresh_latest_view(con, dataset)
            con.execute("COMMIT")
            return removed

        return self._run(f"applying retention to {dataset!r}", work, read_only=False)

    # -- reading -----------------------------------------------------------------
    def snapshots(self, dataset: str | None = None) -> pd.DataFrame:
        """The catalog (all datasets, or one), ordered by dataset and version."""
        if dataset is not None:
            validate_dataset_name(dataset)
        if not self._has_catalog():
            return _empty_catalog()

        def work(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
            if not _catalog_exists(con):
                return _empty_catalog()
            sql = f"SELECT * FROM {quote_identifier(CATALOG_TABLE)}"
            params: list[Any] = []
            if dataset is not None:
                sql += " WHERE dataset = ?"
                params.append(dataset)
            return con.execute(sql + " ORDER BY dataset, version", params).df()

        return self._run("listing snapshots", work, read_only=True)

    def datasets(self) -> list[str]:
        """The dataset names that have at least one snapshot."""
        catalog = self.snapshots()
        return sorted(catalog["dataset"].unique().tolist()) if len(catalog) else []

    def latest_version(self, dataset: str, *, passing_only: bool = True) -> int | None:
        """The newest version of ``dataset`` (that passed its gates, by default), or None."""
        validate_dataset_name(dataset)
        if not self._has_catalog():
            return None

        def work(con: duckdb.DuckDBPyConnection) -> int | None:
            if not _catalog_exists(con):
                return None
            sql = f"SELECT max(version) FROM {quote_identifier(CATALOG_TABLE)} WHERE dataset = ?"
            if passing_only:
                sql += " AND gates_passed"
            value = con.execute(sql, [dataset]).fetchall()[0][0]
            return None if value is None else int(value)

        return self._run(f"finding the latest version of {dataset!r}", work, read_only=True)

    def _resolve(self, con: duckdb.DuckDBPyConnection, dataset: str, version: int | None, as_of: Any) -> int:
        """The version a read means: explicit, as of a time, or the latest passing one."""
        catalog = quote_identifier(CATALOG_TABLE)
        if version is not None and as_of is not None:
            raise ConfigError("give either version or as_of, not both")
        known = con.execute(f"SELECT version, gates_passed FROM {catalog} WHERE dataset = ?", [dataset]).fetchall()
        if not known:
            datasets = [r[0] for r in con.execute(f"SELECT DISTINCT dataset FROM {catalog} ORDER BY 1").fetchall()]
            raise StoreError(
                f"the warehouse {str(self.path)!r} has no snapshot of dataset {dataset!r}; "
                f"it has: {', '.join(datasets) if datasets else 'no snapshots at all'}"
            )
        if version is not None:
            if isinstance(version, bool) or not isinstance(version, (int, np.integer)):
                raise ConfigError(f"version must be an integer, got {version!r}")
            if int(version) not in {int(v) for v, _ in known}:
                available = ", ".join(str(v) for v in sorted(int(v) for v, _ in known))
                raise StoreError(f"dataset {dataset!r} has no version {version}; available: {available}")
            return int(version)
        sql = f"SELECT version FROM {catalog} WHERE dataset = ? AND gates_passed"
        params: list[Any] = [dataset]
        if as_of is not None:
            moment = _utc_naive(as_of)
            sql += " AND created_at <= ?"
            params.append(moment)
        rows = con.execute(sql + " ORDER BY created_at DESC, version DESC LIMIT 1", params).fetchall()
        row = rows[0] if rows else None
        if row is None:
            when = f" created at or before {as_of} (UTC)" if as_of is not None else ""
            raise StoreError(f"dataset {dataset!r} has no snapshot that passed its gates{when}")
        return int(row[0])

    def resolve_version(self, dataset: str, version: int | None = None, as_of: Any = None) -> int:
        """The version :meth:`read` would return for these arguments."""
        dataset = validate_dataset_name(dataset)
        self._require_file()
        return self._run(
            f"resolving a snapshot of {dataset!r}",
            lambda con: self._resolve(con, dataset, version, as_of),
            read_only=True,
        )

    def _require_file(self) -> None:
        if not self._has_catalog():
            raise StoreError(f"no warehouse at {str(self.path)!r} yet; publish a snapshot first")

    def read(self, dataset: str, version: int | None = None, as_of: Any = None) -> pd.DataFrame:
        """One snapshot as a DataFrame.

        ``version=None`` and ``as_of=None``: the newest snapshot that passed its
        gates. ``as_of``: the newest passing snapshot created at or before that
        timestamp (naive timestamps are UTC). An explicit ``version`` is returned
        even if it failed its gates.
        """
        dataset = validate_dataset_name(dataset)
        self._require_file()

        def work(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
            resolved = self._resolve(con, dataset, version, as_of)
            table = quote_identifier(snapshot_table_name(dataset, resolved))
            return con.execute(f"SELECT * FROM {table}").df()

        return self._run(f"reading a snapshot of {dataset!r}", work, read_only=True)

    def export(self, dataset: str, out_path: str | Path, version: int | None = None, as_of: Any = None) -> Path:
        """Write one snapshot to ``out_path`` (Parquet for .parquet/.pq, CSV for .csv); returns the path.

        The file is written next to its destination and renamed, so a reader never
        sees a half-written export.
        """
        dataset = validate_dataset_name(dataset)
        out_path = Path(out_path)
        suffix = out_path.suffix.lower()
        formats = {".parquet": "(FORMAT parquet)", ".pq": "(FORMAT parquet)", ".csv": "(FORMAT csv, HEADER true)"}
        if suffix not in formats:
            raise ConfigError(f"export path {str(out_path)!r} must end in .parquet, .pq or .csv")
        self._require_file()
        out_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = out_path.with_name(f".{out_path.name}.{uuid.uuid4().hex[:8]}.tmp{suffix}")

        def work(con: duckdb.DuckDBPyConnection) -> Path:
            resolved = self._resolve(con, dataset, version, as_of)
            table = quote_identifier(snapshot_table_name(dataset, resolved))
            con.execute(f"COPY (SELECT * FROM {table}) TO {_quote_literal(str(tmp))} {formats[suffix]}")
            return out_path

        try:
            result = self._run(f"exporting a snapshot of {dataset!r}", work, read_only=True)
            os.replace(tmp, out_path)
        finally:
            if tmp.exists():
                tmp.unlink()
        return result


def _call_hook(stage: str, info: dict[str, Any]) -> None:
    if _publish_hook is not None:
        _publish_hook(stage, info)


# Results are always fetched completely (fetchall): with duckdb 2, a result left
# half-read (fetchone) blocks register() and other work on the connection.
def _rollback_quietly(con: duckdb.DuckDBPyConnection) -> None:
    try:
        con.execute("ROLLBACK")
    except duckdb.Error:
        pass  # no transaction was open


def _catalog_exists(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(
        con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main' AND table_name = ?", [CATALOG_TABLE]
        ).fetchall()[0][0]
    )


def _empty_catalog() -> pd.DataFrame:
    dtypes = {
        "VARCHAR": "object",
        "INTEGER": "int32",
        "BIGINT": "int64",
        "DOUBLE": "float64",
        "BOOLEAN": "bool",
        "TIMESTAMP": "datetime64[us]",
    }
    return pd.DataFrame({n: pd.Series([], dtype=dtypes[t.split()[0]]) for n, t in _CATALOG_COLUMNS.items()})


def _to_arrow(synthetic: pd.DataFrame, dataset: str) -> Any:
    import pyarrow as pa

    if not isinstance(synthetic, pd.DataFrame):
        raise InvalidDataError(f"publish({dataset!r}) expects a pandas DataFrame, got {type(synthetic).__name__}")
    if synthetic.shape[1] == 0:
        raise InvalidDataError(f"the synthetic table for {dataset!r} has no columns")
    names = [str(c) for c in synthetic.columns]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise InvalidDataError(
            f"the synthetic table for {dataset!r} has duplicated column names: {', '.join(duplicated)}"
        )
    frame = synthetic.reset_index(drop=True)
    frame.columns = names
    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowException, TypeError, ValueError) as error:
        raise InvalidDataError(
            f"the synthetic table for {dataset!r} cannot be stored (a column mixes types?): {error}"
        ) from None


def _lineage_row(lineage: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(lineage, Mapping):
        raise ConfigError(f"lineage must be a mapping, got {type(lineage).__name__}")
    unknown = sorted(set(lineage) - LINEAGE_KEYS)
    if unknown:
        raise ConfigError(
            f"unknown lineage key(s) {', '.join(map(repr, unknown))}; known keys: {', '.join(sorted(LINEAGE_KEYS))}"
        )
    gates_passed = lineage.get("gates_passed", True)
    if not isinstance(gates_passed, (bool, np.bool_)):
        raise ConfigError(f"lineage 'gates_passed' must be true or false, got {gates_passed!r}")
    fingerprint = lineage.get("source_fingerprint")
    if isinstance(fingerprint, Mapping):  # a full fingerprint_table() dict: keep its hash
        fingerprint = fingerprint.get("content_hash") or _to_json(fingerprint, setting="source_fingerprint")
    gate_results = lineage.get("gate_results")
    if gate_results is not None and not isinstance(gate_results, (list, tuple)):
        raise ConfigError("lineage 'gate_results' must be a list of gate results")
    qa_summary = lineage.get("qa_summary")
    if qa_summary is not None and not (isinstance(qa_summary, Mapping) or hasattr(qa_summary, "model_dump")):
        raise ConfigError("lineage 'qa_summary' must be a mapping")
    return {
        "source_fingerprint": _optional_text(fingerprint),
        "generator": _optional_text(lineage.get("generator")),
        "model_id": _optional_text(lineage.get("model_id")),
        "config_hash": _optional_text(lineage.get("config_hash")),
        "accuracy": _optional_float(lineage.get("accuracy"), setting="accuracy"),
        "dcr_share": _optional_float(lineage.get("dcr_share"), setting="dcr_share"),
        "gates_passed": bool(gates_passed),
        "gate_results": _to_json(list(gate_results) if gate_results is not None else None, setting="gate_results"),
        "qa_summary": _to_json(qa_summary, setting="qa_summary"),
        "report_path": _optional_text(lineage.get("report_path")),
    }
