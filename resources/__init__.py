"""Dagster resources: the published warehouse, the private store, and the IO manager between assets.

Two stores, never mixed: :class:`WarehouseResource` is what consumers read
(synthetic snapshots and their catalog only); :class:`PrivateStoreResource`
holds the real tables, the models and the QA bookkeeping.
"""

import json
from pathlib import Path
from typing import Any

import pandas as pd
from dagster import ConfigurableIOManager, ConfigurableResource, InputContext, OutputContext

from synth_pipeline.config import DEFAULT_PRIVATE_DIR, DEFAULT_WAREHOUSE
from synth_pipeline.io import write_table
from synth_pipeline.model_store import ModelStore
from synth_pipeline.warehouse import SnapshotStore


class WarehouseResource(ConfigurableResource):
    """The DuckDB warehouse of published synthetic snapshots."""

    path: str = DEFAULT_WAREHOUSE
    lock_timeout_seconds: float = 60.0

    def store(self) -> SnapshotStore:
        return SnapshotStore(self.path, lock_timeout_seconds=self.lock_timeout_seconds)

    def reports_dir(self, dataset: str) -> Path:
        """QA reports are published beside the snapshots they judge."""
        return Path(self.path).parent / "reports" / dataset


class PrivateStoreResource(ConfigurableResource):
    """The private work area: real tables, trained models, QA bookkeeping."""

    root: str = DEFAULT_PRIVATE_DIR

    def models(self) -> ModelStore:
        return ModelStore(Path(self.root) / "models")

    def quality_record(self, dataset: str) -> Path:
        """Where the quality check leaves its verdict on the current synthetic table for publishing."""
        return Path(self.root) / "quality" / f"{dataset}.json"


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
            base.parent.mkdir(parents=True, exist_ok=True)
            tmp = base.with_suffix(".json.tmp")
            tmp.write_text(json.dumps(obj, indent=1, default=str))
            tmp.replace(base.with_suffix(".json"))
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


__all__ = ["PrivateParquetIOManager", "PrivateStoreResource", "WarehouseResource"]
