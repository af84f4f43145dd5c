"""Dagster resources: the sources, the published warehouse, the private store, and the IO manager between assets.

Two stores, never mixed: :class:`WarehouseResource` is what consumers read
(synthetic snapshots and their catalog only); :class:`PrivateStoreResource`
holds the real tables and the models. Each resource is a thin wrapper that
hands the core object (a store, a source reader) to the lifecycle steps.
"""

import json
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

import pandas as pd
from dagster import ConfigurableIOManager, ConfigurableResource, InputContext, OutputContext

from resources.sources import (
    FileSourceResource,
    PostgresSourceResource,
    SimulatedSourceResource,
    SourceResource,
    SqlSourceResource,
    source_resource,
    source_resource_key,
)
from synth_pipeline.config import DEFAULT_PRIVATE_DIR, DEFAULT_WAREHOUSE
from synth_pipeline.errors import ConfigError, StoreError
from synth_pipeline.io import write_table, write_text
from synth_pipeline.model_store import ModelStore
from synth_pipeline.table_files import TableFiles
from synth_pipeline.warehouse import SnapshotStore
from synth_pipeline.warehouse_config import WarehouseConfig


class WarehouseResource(ConfigurableResource):
    """The warehouse of published synthetic snapshots: a DuckDB file, or a PostgreSQL schema.

    For PostgreSQL, ``postgres_dsn`` names the *environment variable* holding the DSN
    (``PG_DSN``), so the password never appears in Dagster's resource configuration.
    """

    path: str = DEFAULT_WAREHOUSE
    lock_timeout_seconds: float = 60.0
    reports_dir: str | None = None
    postgres_dsn_env: str | None = None
    postgres_schema: str = "synthetic"

    @classmethod
    def from_config(cls, settings: WarehouseConfig) -> "WarehouseResource":
        """The resource for a ``warehouse:`` setting; a PostgreSQL DSN must be written as ``${ENV_VAR}``."""
        common = {"lock_timeout_seconds": settings.lock_timeout_seconds, "reports_dir": settings.reports_dir}
        if settings.postgres is None:
            return cls(path=settings.path, **common)
        if settings.postgres.dsn_env is None:
            raise ConfigError(
                "warehouse.postgres.dsn: write it as ${ENV_VAR} (e.g. dsn: ${PG_DSN}), so the password stays in "
                "the environment and out of Dagster's resource configuration"
            )
        return cls(postgres_dsn_env=settings.postgres.dsn_env, postgres_schema=settings.postgres.db_schema, **common)

    def settings(self) -> WarehouseConfig:
        """The core's warehouse setting."""
        common = {"lock_timeout_seconds": self.lock_timeout_seconds, "reports_dir": self.reports_dir}
        if self.postgres_dsn_env is None:
            return WarehouseConfig(path=self.path, **common)
        dsn = os.environ.get(self.postgres_dsn_env)
        if not dsn:
            raise StoreError(f"the warehouse's PostgreSQL DSN is read from ${self.postgres_dsn_env}, which is not set")
        return WarehouseConfig(postgres={"dsn": dsn, "schema": self.postgres_schema}, **common)

    def store(self) -> SnapshotStore:
        """The core's warehouse object."""
        return SnapshotStore(self.settings())


class PrivateStoreResource(ConfigurableResource):
    """The private work area: real tables and trained models."""

    root: str = DEFAULT_PRIVATE_DIR

    def models(self) -> ModelStore:
        """The core's model store."""
        return ModelStore(Path(self.root) / "models")

    def run_dir(self, run_id: str, dataset: str) -> Path:
        """Where run ``run_id`` keeps the tables of ``dataset`` (the IO manager's per-run directory)."""
        return Path(self.root, "runs", run_id, dataset)


def latest_value_path(root: str | Path, dataset: str, step: str) -> Path | None:
    """The newest stored value of one lifecycle asset (``tables/<dataset>/<step>.parquet|json``), or None."""
    base = Path(root, "tables", dataset, step)
    return next((p for p in (base.with_suffix(".parquet"), base.with_suffix(".json")) if p.is_file()), None)


class PrivateParquetIOManager(ConfigurableIOManager):
    """Stores asset values in the private area, per run: DataFrames as Parquet, dicts as JSON, and a
    :class:`~synth_pipeline.table_files.TableFiles` handle as its (single) Parquet file, linked into place.

    An input annotated ``TableFiles`` gets a handle on the stored file (nothing is read); a ``DataFrame``
    input reads it whole.

    A run writes ``<root>/runs/<run_id>/<dataset>/<asset>.parquet|json`` and then links it
    as the newest value, ``<root>/tables/<dataset>/<asset>...``. A step reads what its own
    run produced, so concurrent runs never read each other's tables or verdicts; an input
    its run did not produce (a refresh reads the current model) is the newest value.
    Run directories older than ``keep_run_hours`` are removed (they hold real rows).
    """

    root: str = DEFAULT_PRIVATE_DIR
    keep_run_hours: float = 24.0

    def _run_base(self, run_id: str, key_path: list[str]) -> Path:
        return Path(self.root, "runs", run_id, *key_path)

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        key_path = list(context.asset_key.path)
        base = self._run_base(context.run_id, key_path)
        if isinstance(obj, pd.DataFrame):
            written = write_table(obj, base.with_suffix(".parquet"))
        elif isinstance(obj, TableFiles):
            written = _place_files(obj, base.with_suffix(".parquet"))
        elif isinstance(obj, dict):
            written = write_text(base.with_suffix(".json"), json.dumps(obj, indent=1, default=str))
        elif obj is None:
            return
        else:
            raise TypeError(f"{context.asset_key.to_user_string()}: cannot store a {type(obj).__name__}")
        publish_latest(written, Path(self.root, "tables", *key_path).with_suffix(written.suffix))
        prune_runs(Path(self.root, "runs"), keep_seconds=self.keep_run_hours * 3600, current=context.run_id)

    def load_input(self, context: InputContext) -> Any:
        key_path = list(context.asset_key.path)
        base = self._run_base(context.step_context.run_id, key_path)
        own = next((p for p in (base.with_suffix(".parquet"), base.with_suffix(".json")) if p.is_file()), None)
        path = own or latest_value_path(self.root, key_path[0], "/".join(key_path[1:]))
        if path is None:
            raise FileNotFoundError(
                f"{context.asset_key.to_user_string()} has not been materialized yet under {self.root!r}; "
                "run the dataset's full lifecycle job first"
            )
        if path.suffix != ".parquet":
            return json.loads(path.read_text())
        wants_files = getattr(context.dagster_type, "typing_type", None) is TableFiles
        return TableFiles.of(path) if wants_files else pd.read_parquet(path)


def _place_files(files: TableFiles, target: Path) -> Path:
    """``files`` (one Parquet file) at ``target``: where it is already, else linked (or copied) there."""
    if len(files.paths) != 1:
        raise TypeError(f"the private IO manager stores a table of one Parquet file, not {len(files.paths)}")
    if files.paths[0].resolve() != target.resolve():
        publish_latest(files.paths[0], target)
    return target


def publish_latest(written: Path, latest: Path) -> None:
    """Make ``written`` the newest value at ``latest``, atomically (a hard link; a copy across file systems)."""
    latest.parent.mkdir(parents=True, exist_ok=True)
    tmp = latest.with_name(f".{latest.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        os.link(written, tmp)
    except OSError:
        shutil.copyfile(written, tmp)
    os.replace(tmp, latest)


def prune_runs(runs: Path, *, keep_seconds: float, current: str) -> None:
    """Remove run directories not touched for ``keep_seconds`` (never the current run's)."""
    cutoff = time.time() - keep_seconds
    for run_dir in runs.iterdir() if runs.is_dir() else []:
        if run_dir.name != current and run_dir.stat().st_mtime < cutoff:
            shutil.rmtree(run_dir, ignore_errors=True)


__all__ = [
    "FileSourceResource",
    "PostgresSourceResource",
    "PrivateParquetIOManager",
    "PrivateStoreResource",
    "SimulatedSourceResource",
    "SourceResource",
    "SqlSourceResource",
    "WarehouseResource",
    "latest_value_path",
    "source_resource",
    "source_resource_key",
]
