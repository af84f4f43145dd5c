"""Dagster resources: the sources, the published warehouse, the private store, and the IO manager between assets.

Two stores, never mixed: :class:`WarehouseResource` is what consumers read
(synthetic snapshots and their catalog only); :class:`PrivateStoreResource`
holds the real tables and the models. Each resource is a thin wrapper that
hands the core object (a store, a source reader) to the lifecycle steps.
"""

import json
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
from synth_pipeline.io import write_table, write_text
from synth_pipeline.model_store import ModelStore
from synth_pipeline.warehouse import SnapshotStore


class WarehouseResource(ConfigurableResource):
    """The DuckDB warehouse of published synthetic snapshots."""

    path: str = DEFAULT_WAREHOUSE
    lock_timeout_seconds: float = 60.0

    def store(self) -> SnapshotStore:
        """The core's warehouse object."""
        return SnapshotStore(self.path, lock_timeout_seconds=self.lock_timeout_seconds)


class PrivateStoreResource(ConfigurableResource):
    """The private work area: real tables and trained models."""

    root: str = DEFAULT_PRIVATE_DIR

    def models(self) -> ModelStore:
        """The core's model store."""
        return ModelStore(Path(self.root) / "models")


class PrivateParquetIOManager(ConfigurableIOManager):
    """Stores asset values in the private area: DataFrames as Parquet, dicts as JSON.

    Files are named after the asset key (``<root>/tables/<dataset>/<asset>.parquet``)
    and written atomically, so a run can be inspected and a later run (a refresh)
    can load what an earlier run produced.
    """

    root: str = DEFAULT_PRIVATE_DIR

    def _base(self, key_path: list[str]) -> Path:
        return Path(self.root, "tables", *key_path)

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        base = self._base(list(context.asset_key.path))
        if isinstance(obj, pd.DataFrame):
            write_table(obj, base.with_suffix(".parquet"))
        elif isinstance(obj, dict):
            write_text(base.with_suffix(".json"), json.dumps(obj, indent=1, default=str))
        elif obj is not None:
            raise TypeError(f"{context.asset_key.to_user_string()}: cannot store a {type(obj).__name__}")

    def load_input(self, context: InputContext) -> Any:
        base = self._base(list(context.asset_key.path))
        if base.with_suffix(".parquet").is_file():
            return pd.read_parquet(base.with_suffix(".parquet"))
        if base.with_suffix(".json").is_file():
            return json.loads(base.with_suffix(".json").read_text())
        raise FileNotFoundError(
            f"{context.asset_key.to_user_string()} has not been materialized yet under {self.root!r}; "
            "run the dataset's full lifecycle job first"
        )


__all__ = [
    "FileSourceResource",
    "PostgresSourceResource",
    "PrivateParquetIOManager",
    "PrivateStoreResource",
    "SimulatedSourceResource",
    "SourceResource",
    "SqlSourceResource",
    "WarehouseResource",
    "source_resource",
    "source_resource_key",
]
