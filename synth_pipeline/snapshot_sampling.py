"""The lifecycle's sampling step: claim a snapshot version, then sample its shards on the dataset's engine.

Re-exported by :mod:`synth_pipeline.lifecycle` (``lifecycle.sample_snapshot``), which holds the other steps.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synth_pipeline.config import DatasetConfig
from synth_pipeline.model_store import ModelStore
from synth_pipeline.shard_engines import sample_shards
from synth_pipeline.shards import SnapshotShards
from synth_pipeline.warehouse import SnapshotStore

if TYPE_CHECKING:
    from synth_pipeline.lifecycle import ModelRecord

log = logging.getLogger("synth_pipeline.lifecycle")


@dataclass(frozen=True)
class Sampled:
    """One snapshot's shards, the version claimed for them, the seed that drew them, and what rule enforcement did."""

    snapshot: SnapshotShards
    model_id: str
    version: int
    seed: int
    rule_report: dict[str, Any] | None
    seconds: float
    run_id: str = ""


def snapshot_seed(seed: int, version: int) -> int:
    """The sampling seed of snapshot ``version``: reproducible, and different for every snapshot."""
    digest = hashlib.sha256(f"{seed}:{version}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def sample_snapshot(
    dataset: DatasetConfig,
    model: ModelRecord,
    model_store: ModelStore,
    warehouse: SnapshotStore,
    *,
    run_id: str | None = None,
    work_dir: str | Path | None = None,
    before_shard: Callable[[int], None] | None = None,
) -> Sampled:
    """Claim the next snapshot version for run ``run_id`` and sample its shards from ``model`` on the dataset's engine.

    The version is claimed in the warehouse (status ``running``) before sampling, so
    concurrent runs get distinct versions and seeds (:func:`snapshot_seed` of the
    claimed version); a run that claimed one already (a rerun of a failed run) goes on
    with it, and the shards it finished are kept. Shards are written as Parquet to
    ``work_dir`` (default ``<private_dir>/runs/<run_id>/<dataset>/synthetic_shards``). As
    many rows as the source unless the dataset's ``rows`` is set. ``before_shard``: a test seam.
    """
    run_id = run_id or uuid.uuid4().hex
    info = model_store.info(dataset.name, model.model_id)
    resumed = warehouse.resume_claim(dataset.name, run_id)
    if resumed is None:
        claim = {
            "model_id": model.model_id,
            "generator": model.generator,
            "config_hash": dataset.config_hash(),
            "source_fingerprint": model.source_fingerprint,
        }
        version = warehouse.claim(dataset.name, run_id=run_id, lineage=claim)
        seed = snapshot_seed(dataset.seed, version)
        warehouse.set_seed(dataset.name, version, seed)
    else:
        version, seed = resumed
        log.info("%s: run %s goes on with version %d (seed %d)", dataset.name, run_id, version, seed)
    directory = Path(work_dir) if work_dir is not None else run_shard_dir(model_store, run_id, dataset.name)
    started = time.perf_counter()
    snapshot = sample_shards(
        dataset, info, seed, directory, lambda: model_store.load(dataset.name, model.model_id)[0],
        n_rows=dataset.rows or model.source_rows, before_shard=before_shard,
    )
    seconds = time.perf_counter() - started
    return Sampled(snapshot, model.model_id, version, seed, snapshot.rule_report(), seconds, run_id)


def run_shard_dir(model_store: ModelStore, run_id: str, dataset: str) -> Path:
    """Where run ``run_id`` keeps the shards of its snapshot: in the private area beside the model store."""
    return model_store.root.parent / "runs" / str(run_id) / dataset / "synthetic_shards"


__all__ = ["Sampled", "run_shard_dir", "sample_snapshot", "snapshot_seed"]
