"""The rows a publish writes: a DataFrame (small tables, tests) or a sampled snapshot's Parquet shards.

Either way the warehouse loads them inside its one publish transaction: an Arrow table is
bulk-loaded as it is; shards are read by the database straight from the files (DuckDB:
``CREATE TABLE ... AS SELECT * FROM read_parquet([...])``; PostgreSQL: ``COPY`` batch after
batch), so a snapshot of any size is never held in memory by the publishing process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from synth_pipeline.shards import SnapshotShards
from synth_pipeline.warehouse_backend import Session
from synth_pipeline.warehouse_catalog import to_arrow


@dataclass(frozen=True)
class ArrowRows:
    """A table already in memory."""

    table: Any

    @property
    def num_rows(self) -> int:
        return int(self.table.num_rows)

    def load(self, session: Session, table_name: str) -> None:
        session.create_table(table_name, self.table)


@dataclass(frozen=True)
class ShardRows:
    """A sampled snapshot's shard files, checked against their hashes before the transaction opens."""

    shards: SnapshotShards

    @property
    def num_rows(self) -> int:
        return self.shards.num_rows

    def load(self, session: Session, table_name: str) -> None:
        session.create_table_from_parquet(table_name, self.shards.paths, self.shards.date_columns)


def snapshot_rows(synthetic: pd.DataFrame | SnapshotShards, dataset: str) -> ArrowRows | ShardRows:
    """What :meth:`SnapshotStore.publish` loads for ``synthetic``; refuses what cannot be stored."""
    if isinstance(synthetic, SnapshotShards):
        synthetic.verify()
        return ShardRows(synthetic)
    return ArrowRows(to_arrow(synthetic, dataset))


__all__ = ["ArrowRows", "ShardRows", "snapshot_rows"]
