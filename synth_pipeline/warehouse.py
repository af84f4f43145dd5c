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

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import duckdb
import numpy as np
import pandas as pd

from synth_pipeline.columns import validate_dataset_name
from synth_pipeline.errors import ConfigError, StoreError
from synth_pipeline.io import atomic_path
from synth_pipeline.version import __version__
from synth_pipeline.warehouse_catalog import (
    CATALOG_COLUMNS,
    CATALOG_TABLE,
    LINEAGE_KEYS,
    catalog_exists,
    empty_catalog,
    latest_view_name,
    lineage_row,
    now,
    quote_identifier,
    quote_literal,
    snapshot_table_name,
    to_arrow,
    utc_naive,
)
from synth_pipeline.warehouse_db import WarehouseConnections

# The points inside the publish transaction where ``on_publish_stage`` is called.
PublishStage = Literal["table_created", "catalog_written"]


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


class SnapshotStore:
    """Versioned synthetic snapshots in one DuckDB file, with their lineage.

    ``lock_timeout_seconds`` bounds how long an operation waits for another
    process that holds the file (DuckDB allows one writer process at a time).
    ``on_publish_stage`` is a test seam: called as ``(stage, info)`` at fixed
    points inside the publish transaction (:data:`PublishStage`), so a test can
    crash or stall a publish at a known moment; None in production.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        lock_timeout_seconds: float = 60.0,
        on_publish_stage: Callable[[PublishStage, dict[str, Any]], None] | None = None,
    ) -> None:
        if str(path) == ":memory:":
            raise StoreError("the snapshot warehouse must be a file; ':memory:' would vanish between operations")
        self.path = Path(path)
        if not isinstance(lock_timeout_seconds, (int, float)) or lock_timeout_seconds < 0:
            raise ConfigError(f"lock_timeout_seconds must be a non-negative number, got {lock_timeout_seconds!r}")
        self.lock_timeout_seconds = float(lock_timeout_seconds)
        self.on_publish_stage = on_publish_stage
        self._run = WarehouseConnections(self.path, self.lock_timeout_seconds).run

    def __repr__(self) -> str:
        return f"SnapshotStore({str(self.path)!r})"

    def reports_dir(self, dataset: str) -> Path:
        """Where the QA reports of ``dataset`` are published: beside the snapshots they judge."""
        return self.path.parent / "reports" / validate_dataset_name(dataset)

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
        arrow_table = to_arrow(synthetic, dataset)
        row = lineage_row(lineage or {})

        def work(con: duckdb.DuckDBPyConnection) -> SnapshotInfo:
            con.execute("BEGIN TRANSACTION")
            version = self._next_version(con, dataset)
            table_name = snapshot_table_name(dataset, version)
            created_at = now()
            con.register("_synthetic_rows", arrow_table)
            try:
                con.execute(f"CREATE TABLE {quote_identifier(table_name)} AS SELECT * FROM _synthetic_rows")
            finally:
                con.unregister("_synthetic_rows")
            self._stage("table_created", dataset, version)
            values = {
                "dataset": dataset,
                "version": version,
                "created_at": created_at,
                "row_count": arrow_table.num_rows,
                "table_name": table_name,
                **row,
                "library_version": __version__,
                "duckdb_version": duckdb.__version__,
            }
            con.execute(
                f"INSERT INTO {quote_identifier(CATALOG_TABLE)} ({', '.join(map(quote_identifier, CATALOG_COLUMNS))}) "
                f"VALUES ({', '.join('?' for _ in CATALOG_COLUMNS)})",
                [values[column] for column in CATALOG_COLUMNS],
            )
            self._stage("catalog_written", dataset, version)
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

    def _next_version(self, con: duckdb.DuckDBPyConnection, dataset: str) -> int:
        """The version a publish inside the caller's transaction gets; refuses a name clashing in letter case."""
        catalog = quote_identifier(CATALOG_TABLE)
        clash = con.execute(
            f"SELECT DISTINCT dataset FROM {catalog} WHERE lower(dataset) = lower(?) AND dataset <> ?",
            [dataset, dataset],
        ).fetchall()
        if clash:
            raise StoreError(
                f"dataset {dataset!r} differs only in letter case from {clash[0][0]!r}, which the warehouse "
                f"{str(self.path)!r} already holds; table names are case-insensitive, choose another name"
            )
        rows = con.execute(f"SELECT coalesce(max(version), 0) + 1 FROM {catalog} WHERE dataset = ?", [dataset])
        return int(rows.fetchall()[0][0])

    def _stage(self, stage: PublishStage, dataset: str, version: int) -> None:
        if self.on_publish_stage is not None:
            self.on_publish_stage(stage, {"dataset": dataset, "version": version, "warehouse": str(self.path)})

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
                cutoff = now() - timedelta(days=float(keep_days))
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
            return empty_catalog()

        def work(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
            if not catalog_exists(con):
                return empty_catalog()
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
            if not catalog_exists(con):
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
            moment = utc_naive(as_of)
            sql += " AND created_at <= ?"
            params.append(moment)
        rows = con.execute(sql + " ORDER BY created_at DESC, version DESC LIMIT 1", params).fetchall()
        row = rows[0] if rows else None
        if row is None:
            when = f" created at or before {as_of} (UTC)" if as_of is not None else ""
            raise StoreError(f"dataset {dataset!r} has no snapshot that passed its gates{when}")
        return int(row[0])

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
        with atomic_path(out_path) as tmp:

            def work(con: duckdb.DuckDBPyConnection) -> None:
                resolved = self._resolve(con, dataset, version, as_of)
                table = quote_identifier(snapshot_table_name(dataset, resolved))
                con.execute(f"COPY (SELECT * FROM {table}) TO {quote_literal(str(tmp))} {formats[suffix]}")

            self._run(f"exporting a snapshot of {dataset!r}", work, read_only=True)
        return out_path


__all__ = ["LINEAGE_KEYS", "PublishStage", "SnapshotInfo", "SnapshotStore", "latest_view_name", "snapshot_table_name"]
