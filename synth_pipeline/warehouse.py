"""The public warehouse: synthetic snapshots, their catalog and lineage; never a real row.

A DuckDB file (the embedded default) or a PostgreSQL schema that consumers are
given access to, so it holds synthetic data only:

* ``snapshots``: the catalog, one row per attempt (see :mod:`synth_pipeline.warehouse_catalog`):
  a run *claims* the next version (status ``running``) before it samples, so the
  sampling seed derives from a number no other run holds, and the row ends
  ``published``, ``blocked`` (which gates failed, values and thresholds) or
  ``failed`` (the step and the error), with its lineage (source fingerprint,
  generator, model id, config hash, gate results, QA summary, report path);
* one table per published version, ``"<dataset>__v<version>"``;
* a view ``"<dataset>_latest"`` on the newest published snapshot that passed its gates;
* ``_warehouse_meta``: the versions that wrote the catalog (DuckDB's storage format is
  tied to its version; an upgrade is an export/import).

A publish is one transaction: the data table, the catalog row and the view commit
together or not at all. The backend-specific parts (connections, retries, bulk load,
types) sit behind :class:`synth_pipeline.warehouse_backend.Backend`; everything here is
shared. Dataset names are validated *and* every identifier is quoted.

>>> store = SnapshotStore(tmp_path / "warehouse.duckdb")           # doctest: +SKIP
>>> info = store.publish("churn", synthetic, {"model_id": "m1"})   # doctest: +SKIP
>>> store.read("churn", version=info.version)                      # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from synth_pipeline.columns import validate_dataset_name
from synth_pipeline.errors import ConfigError, StoreError
from synth_pipeline.io import atomic_path
from synth_pipeline.shards import SnapshotShards
from synth_pipeline.sql_source import check_query
from synth_pipeline.version import __version__
from synth_pipeline.warehouse_backend import Backend, Session
from synth_pipeline.warehouse_catalog import (
    CATALOG_COLUMNS,
    CATALOG_TABLE,
    LINEAGE_KEYS,
    STATUSES,
    claim_row,
    empty_catalog,
    latest_view_name,
    lineage_row,
    now,
    snapshot_table_name,
    utc_naive,
)
from synth_pipeline.warehouse_config import WarehouseConfig
from synth_pipeline.warehouse_retention import check_retention, retention_plan
from synth_pipeline.warehouse_rows import snapshot_rows
from synth_pipeline.warehouse_versions import next_version, refresh_latest_view

# The points inside the publish transaction where ``on_publish_stage`` is called.
PublishStage = Literal["table_created", "catalog_written"]
MAX_ERROR_CHARS = 2000


@dataclass(frozen=True)
class SnapshotInfo:
    """What :meth:`SnapshotStore.publish` wrote."""

    dataset: str
    version: int
    table_name: str
    row_count: int
    created_at: datetime
    warehouse: Path | str
    gates_passed: bool = True


def open_backend(settings: WarehouseConfig) -> Backend:
    """The backend a ``warehouse:`` setting names."""
    if settings.postgres is not None:
        from synth_pipeline.warehouse_postgres import PostgresBackend  # psycopg only where PostgreSQL is used

        return PostgresBackend(settings.postgres, settings.lock_timeout_seconds, settings.reports_root())
    from synth_pipeline.warehouse_duckdb import DuckDBBackend

    if settings.path == ":memory:":
        raise StoreError("the snapshot warehouse must be a file; ':memory:' would vanish between operations")
    backend = DuckDBBackend(Path(settings.path), settings.lock_timeout_seconds)
    backend.reports_root = settings.reports_root()
    return backend


class SnapshotStore:
    """Versioned synthetic snapshots with their lineage, in a DuckDB file or a PostgreSQL schema.

    ``target``: a DuckDB file path or a :class:`WarehouseConfig`. ``lock_timeout_seconds``
    (default: the config's, else 60) bounds how long an operation waits for another
    process's lock. ``on_publish_stage`` is a test seam: called as ``(stage, info)`` at
    fixed points inside the publish transaction (:data:`PublishStage`); None in production.
    """

    def __init__(
        self,
        target: str | Path | WarehouseConfig,
        *,
        lock_timeout_seconds: float | None = None,
        on_publish_stage: Callable[[PublishStage, dict[str, Any]], None] | None = None,
    ) -> None:
        settings = target if isinstance(target, WarehouseConfig) else WarehouseConfig(path=str(target))
        if lock_timeout_seconds is not None:
            if isinstance(lock_timeout_seconds, bool) or not isinstance(lock_timeout_seconds, (int, float)):
                raise ConfigError(f"lock_timeout_seconds must be a non-negative number, got {lock_timeout_seconds!r}")
            if not lock_timeout_seconds >= 0:
                raise ConfigError(f"lock_timeout_seconds must be a non-negative number, got {lock_timeout_seconds!r}")
            settings = settings.model_copy(update={"lock_timeout_seconds": float(lock_timeout_seconds)})
        self.settings = settings
        self.lock_timeout_seconds = settings.lock_timeout_seconds
        self.backend = open_backend(settings)
        self.path: Path | None = Path(settings.path) if settings.path is not None else None
        self.on_publish_stage = on_publish_stage

    def __repr__(self) -> str:
        return f"SnapshotStore({self.backend.where})"

    @property
    def location(self) -> Path | str:
        """The file (DuckDB) or the redacted server and schema (PostgreSQL)."""
        return self.path if self.path is not None else self.backend.where

    def reports_dir(self, dataset: str) -> Path:
        """Where the QA reports of ``dataset`` are published: beside the snapshots they judge (absolute)."""
        return (self.backend.reports_root / validate_dataset_name(dataset)).resolve()

    def _write(self, operation: str, work: Callable[[Session], Any]) -> Any:
        return self.backend.run(operation, work, write=True)

    def _read(self, operation: str, work: Callable[[Session], Any], default: Any) -> Any:
        if not self.backend.exists():
            return default

        def guarded(session: Session) -> Any:
            return work(session) if session.has_table(CATALOG_TABLE) else default

        return self.backend.run(operation, guarded, write=False)

    # -- claiming and verdicts ---------------------------------------------------------
    def claim(self, dataset: str, *, run_id: str, lineage: Mapping[str, Any] | None = None) -> int:
        """Claim the next version of ``dataset`` for run ``run_id`` (status ``running``); returns it.

        ``lineage``: what produces the snapshot (model_id, config_hash, generator,
        source_fingerprint, seed). Two runs never get the same number.
        """
        dataset = validate_dataset_name(dataset)
        values = claim_row(lineage or {})
        return self._write(f"claiming a version of {dataset!r}", lambda s: self._insert(s, dataset, run_id, values))

    def _insert(self, session: Session, dataset: str, run_id: str | None, values: dict[str, Any]) -> int:
        session.lock_catalog()
        version = next_version(session, dataset, self.backend.where)
        stamp = now()
        row = {"dataset": dataset, "version": version, "status": "running", "run_id": run_id}
        row.update({"created_at": stamp, "claimed_at": stamp, **values})
        names = ", ".join(f'"{n}"' for n in row)
        session.rows(
            f"INSERT INTO {session.name(CATALOG_TABLE)} ({names}) VALUES ({', '.join('?' for _ in row)})",
            list(row.values()),
        )
        return version

    def set_seed(self, dataset: str, version: int, seed: int) -> None:
        """Record the sampling seed derived from a claimed version."""
        self._update(dataset, version, {"seed": int(seed)}, statuses=("running",), operation="recording the seed")

    def claimed_version(self, dataset: str, run_id: str) -> int:
        """The version run ``run_id`` claimed for ``dataset``; StoreError when it claimed none."""
        dataset = validate_dataset_name(dataset)

        def work(session: Session) -> int | None:
            sql = f"SELECT max(version) FROM {session.name(CATALOG_TABLE)} WHERE dataset = ? AND run_id = ?"
            value = session.rows(sql, [dataset, str(run_id)])[0][0]
            return None if value is None else int(value)

        version = self._read(f"finding the version claimed for {dataset!r}", work, None)
        if version is None:
            raise StoreError(
                f"run {run_id} claimed no version of {dataset!r} in the warehouse {self.backend.where}; "
                "sample the synthetic table in the same run as its quality report"
            )
        return version

    def resume_claim(self, dataset: str, run_id: str) -> tuple[int, int] | None:
        """``(version, seed)`` of run ``run_id``'s attempt when it can go on: still ``running``, or ``failed``
        after its seed was drawn (then it is ``running`` again: a rerun finishes the same snapshot); else None."""
        dataset = validate_dataset_name(dataset)

        def work(session: Session) -> tuple[int, int] | None:
            session.lock_catalog()
            rows = session.rows(
                f"SELECT version, status, seed FROM {session.name(CATALOG_TABLE)} "
                "WHERE dataset = ? AND run_id = ? ORDER BY version DESC LIMIT 1",
                [dataset, str(run_id)],
            )
            if not rows or rows[0][2] is None:
                return None
            version, status, seed = rows[0]
            if status == "failed":
                self._set(session, dataset, version, {"status": "running", "failed_step": None, "error": None})
            elif status != "running":
                return None
            return int(version), int(seed)

        return self._write(f"resuming the attempt of run {run_id} on {dataset!r}", work)

    def record_blocked(self, dataset: str, version: int, lineage: Mapping[str, Any], reason: str) -> None:
        """Mark claimed ``version`` as ``blocked``: its verdict (gates with values and thresholds) and why."""
        values = {**lineage_row({**lineage, "gates_passed": False}), "error": str(reason)[:MAX_ERROR_CHARS]}
        self._update(dataset, version, {"status": "blocked", **values}, statuses=("running",), operation="blocking")

    def record_failure(self, dataset: str, *, run_id: str, step: str, error: str) -> int | None:
        """Mark the version run ``run_id`` claimed as ``failed`` (or record a new failed attempt); returns it.

        ``error`` must already be free of secrets. A run whose row has its final
        status (published, blocked) keeps it, and None is returned.
        """
        dataset = validate_dataset_name(dataset)
        failure = {"status": "failed", "failed_step": str(step), "error": str(error)[:MAX_ERROR_CHARS]}

        def work(session: Session) -> int | None:
            session.lock_catalog()
            catalog = session.name(CATALOG_TABLE)
            rows = session.rows(
                f"SELECT version, status FROM {catalog} WHERE dataset = ? AND run_id = ? ORDER BY version DESC",
                [dataset, str(run_id)],
            )
            if not rows:
                version = self._insert(session, dataset, str(run_id), {})
            elif rows[0][1] != "running":
                return None
            else:
                version = int(rows[0][0])
            self._set(session, dataset, version, {**failure, "created_at": now()})
            return version

        return self._write(f"recording a failed run of {dataset!r}", work)

    def _update(
        self, dataset: str, version: int, values: dict[str, Any], *, statuses: tuple[str, ...], operation: str
    ) -> None:
        dataset = validate_dataset_name(dataset)

        def work(session: Session) -> None:
            self._require_status(session, dataset, version, statuses)
            self._set(session, dataset, version, {**values, "created_at": now()})

        self._write(f"{operation} version {version} of {dataset!r}", work)

    @staticmethod
    def _set(session: Session, dataset: str, version: int, values: dict[str, Any]) -> None:
        assignments = ", ".join(f'"{n}" = ?' for n in values)
        session.rows(
            f"UPDATE {session.name(CATALOG_TABLE)} SET {assignments} WHERE dataset = ? AND version = ?",
            [*values.values(), dataset, int(version)],
        )

    def _require_status(self, session: Session, dataset: str, version: int, statuses: tuple[str, ...]) -> None:
        rows = session.rows(
            f"SELECT status FROM {session.name(CATALOG_TABLE)} WHERE dataset = ? AND version = ?",
            [dataset, int(version)],
        )
        if not rows:
            raise StoreError(f"version {version} of {dataset!r} was never claimed in {self.backend.where}")
        if rows[0][0] not in statuses:
            raise StoreError(f"version {version} of {dataset!r} is already {rows[0][0]}; claim a new version")

    # -- publishing ------------------------------------------------------------------------
    def publish(
        self,
        dataset: str,
        synthetic: pd.DataFrame | SnapshotShards,
        lineage: Mapping[str, Any] | None = None,
        *,
        version: int | None = None,
    ) -> SnapshotInfo:
        """Write ``synthetic`` (a DataFrame, or a sampled snapshot's Parquet shards) as a version of ``dataset``.

        ``version``: the version a run claimed (:meth:`claim`, status ``running``);
        None claims the next one inside this transaction. ``lineage`` keys:
        :data:`LINEAGE_KEYS` (gates_passed defaults to True). The data table, the
        catalog row and the ``<dataset>_latest`` view commit together, so a crash
        leaves no partial version; shards are loaded by the database from their files.
        """
        dataset = validate_dataset_name(dataset)
        rows = snapshot_rows(synthetic, dataset)
        values = lineage_row(lineage or {})

        def work(session: Session) -> SnapshotInfo:
            if version is None:
                written = self._insert(session, dataset, None, {})
            else:
                session.lock_catalog()
                written = int(version)
                self._require_status(session, dataset, written, ("running",))
            table_name = snapshot_table_name(dataset, written)
            rows.load(session, table_name)
            self._stage("table_created", dataset, written)
            created_at = now()
            stamp = {"library_version": __version__, **getattr(self.backend, "row_stamp", {})}
            final = {"status": "published", "created_at": created_at, "row_count": rows.num_rows}
            self._set(session, dataset, written, {**final, "table_name": table_name, **values, **stamp})
            self._stage("catalog_written", dataset, written)
            refresh_latest_view(session, dataset)
            return SnapshotInfo(
                dataset, written, table_name, rows.num_rows, created_at, self.location, values["gates_passed"]
            )

        return self._write(f"publishing a snapshot of {dataset!r}", work)

    def _stage(self, stage: PublishStage, dataset: str, version: int) -> None:
        if self.on_publish_stage is not None:
            self.on_publish_stage(stage, {"dataset": dataset, "version": version, "warehouse": str(self.location)})

    def apply_retention(
        self, dataset: str, *, keep_last: int | None = None, keep_days: float | None = None
    ) -> list[int]:
        """Remove old published versions of ``dataset``; return the removed version numbers.

        A published version is kept when it is among the last ``keep_last``
        published versions *or* was published within the last ``keep_days`` days
        (either one keeps it); the latest passing snapshot is never removed.
        Blocked and failed attempts older than the oldest kept snapshot (and not
        within ``keep_days``) go with them; running claims stay. One transaction.
        """
        dataset = validate_dataset_name(dataset)
        check_retention(keep_last, keep_days)
        if not self.backend.exists():
            return []

        def work(session: Session) -> list[int]:
            catalog = session.name(CATALOG_TABLE)
            rows = session.rows(
                f"SELECT version, created_at, gates_passed, status FROM {catalog} WHERE dataset = ? ORDER BY version",
                [dataset],
            )
            removed, attempts = retention_plan(rows, keep_last, keep_days)
            for version in removed:
                session.rows(f"DROP TABLE IF EXISTS {session.name(snapshot_table_name(dataset, version))}")
            if removed or attempts:
                gone = removed + attempts
                session.rows(
                    f"DELETE FROM {catalog} WHERE dataset = ? AND version IN ({', '.join('?' for _ in gone)})",
                    [dataset, *gone],
                )
            refresh_latest_view(session, dataset)
            return removed

        return self._write(f"applying retention to {dataset!r}", work)

    # -- reading -----------------------------------------------------------------
    def snapshots(self, dataset: str | None = None, *, status: str | None = None) -> pd.DataFrame:
        """The catalog (all datasets, or one; every attempt, or those with ``status``), by dataset and version."""
        if dataset is not None:
            validate_dataset_name(dataset)
        if status is not None and status not in STATUSES:
            raise ConfigError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
        filters = [(f, v) for f, v in (("dataset", dataset), ("status", status)) if v is not None]

        def work(session: Session) -> pd.DataFrame:
            where = " AND ".join(f'"{f}" = ?' for f, _ in filters)
            columns = ", ".join(f'"{c}"' for c in CATALOG_COLUMNS)
            sql = f"SELECT {columns} FROM {session.name(CATALOG_TABLE)}" + (f" WHERE {where}" if where else "")
            return session.frame(sql + " ORDER BY dataset, version", [v for _, v in filters])

        return self._read("listing snapshots", work, empty_catalog())

    def datasets(self) -> list[str]:
        """The dataset names that have at least one published snapshot."""
        catalog = self.snapshots(status="published")
        return sorted(catalog["dataset"].unique().tolist()) if len(catalog) else []

    def latest_version(self, dataset: str, *, passing_only: bool = True) -> int | None:
        """The newest published version of ``dataset`` (that passed its gates, by default), or None."""
        validate_dataset_name(dataset)

        def work(session: Session) -> int | None:
            sql = f"SELECT max(version) FROM {session.name(CATALOG_TABLE)} WHERE dataset = ? AND status = 'published'"
            value = session.rows(sql + (" AND gates_passed" if passing_only else ""), [dataset])[0][0]
            return None if value is None else int(value)

        return self._read(f"finding the latest version of {dataset!r}", work, None)

    def _resolve(self, session: Session, dataset: str, version: int | None, as_of: Any) -> int:
        """The version a read means: explicit, as of a time, or the latest passing one."""
        catalog = session.name(CATALOG_TABLE)
        if version is not None and as_of is not None:
            raise ConfigError("give either version or as_of, not both")
        known = session.rows(f"SELECT version, status FROM {catalog} WHERE dataset = ?", [dataset])
        published = sorted(int(v) for v, status in known if status == "published")
        if not published:
            names = session.rows(f"SELECT DISTINCT dataset FROM {catalog} WHERE status = 'published' ORDER BY 1")
            raise StoreError(
                f"the warehouse {self.backend.where} has no snapshot of dataset {dataset!r}; "
                f"it has: {', '.join(r[0] for r in names) if names else 'no snapshots at all'}"
            )
        if version is not None:
            if isinstance(version, bool) or not isinstance(version, (int, np.integer)):
                raise ConfigError(f"version must be an integer, got {version!r}")
            if int(version) not in published:
                status = dict((int(v), s) for v, s in known).get(int(version))
                why = f"version {version} was {status} and has no table" if status else f"no version {version}"
                raise StoreError(f"dataset {dataset!r} has {why}; available: {', '.join(map(str, published))}")
            return int(version)
        sql = f"SELECT version FROM {catalog} WHERE dataset = ? AND status = 'published' AND gates_passed"
        params: list[Any] = [dataset]
        if as_of is not None:
            sql += " AND created_at <= ?"
            params.append(utc_naive(as_of))
        rows = session.rows(sql + " ORDER BY created_at DESC, version DESC LIMIT 1", params)
        if not rows:
            when = f" created at or before {as_of} (UTC)" if as_of is not None else ""
            raise StoreError(f"dataset {dataset!r} has no snapshot that passed its gates{when}")
        return int(rows[0][0])

    def _require_catalog(self) -> None:
        if not self.backend.exists():
            raise StoreError(f"no warehouse at {self.backend.where} yet; publish a snapshot first")

    def read(self, dataset: str, version: int | None = None, as_of: Any = None) -> pd.DataFrame:
        """One snapshot as a DataFrame.

        ``version=None`` and ``as_of=None``: the newest snapshot that passed its
        gates. ``as_of``: the newest passing snapshot created at or before that
        timestamp (naive timestamps are UTC). An explicit published ``version`` is
        returned even if it failed its gates.
        """
        dataset = validate_dataset_name(dataset)
        self._require_catalog()

        def work(session: Session) -> pd.DataFrame:
            if not session.has_table(CATALOG_TABLE):
                raise StoreError(f"no warehouse at {self.backend.where} yet; publish a snapshot first")
            table = session.name(snapshot_table_name(dataset, self._resolve(session, dataset, version, as_of)))
            return session.frame(f"SELECT * FROM {table}")

        return self.backend.run(f"reading a snapshot of {dataset!r}", work, write=False)

    def export(self, dataset: str, out_path: str | Path, version: int | None = None, as_of: Any = None) -> Path:
        """Write one snapshot to ``out_path`` (Parquet for .parquet/.pq, CSV for .csv); returns the path.

        The file is written next to its destination and renamed, so a reader never
        sees a half-written export.
        """
        dataset = validate_dataset_name(dataset)
        out_path = Path(out_path)
        formats = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}
        if out_path.suffix.lower() not in formats:
            raise ConfigError(f"export path {str(out_path)!r} must end in .parquet, .pq or .csv")
        self._require_catalog()
        with atomic_path(out_path) as tmp:

            def work(session: Session) -> None:
                table = session.name(snapshot_table_name(dataset, self._resolve(session, dataset, version, as_of)))
                session.export(f"SELECT * FROM {table}", tmp, formats[out_path.suffix.lower()])

            self.backend.run(f"exporting a snapshot of {dataset!r}", work, write=False)
        return out_path

    def query(self, sql: str, *, max_rows: int = 1000) -> pd.DataFrame:
        """The result of one read-only ``SELECT``/``WITH`` statement (at most ``max_rows`` rows).

        Anything else (several statements, INSERT, ATTACH, COPY, PRAGMA...) is
        refused before it reaches the warehouse, which is opened read-only.
        """
        check_query(sql, setting="query")
        if isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 1:
            raise ConfigError(f"max_rows must be a positive integer, got {max_rows!r}")
        self._require_catalog()
        return self.backend.query(sql, max_rows=max_rows)


__all__ = [
    "LINEAGE_KEYS",
    "PublishStage",
    "SnapshotInfo",
    "SnapshotStore",
    "WarehouseConfig",
    "latest_view_name",
    "open_backend",
    "snapshot_table_name",
]
