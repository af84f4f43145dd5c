"""The engines that run a snapshot's shards: ``local`` (this process, one shard after another) or Ray.

:func:`run_shards` skips the shards a previous attempt finished (:meth:`ShardStore.finished`),
hands the others to the configured engine, saves each one as it arrives and returns the
finished :class:`~synth_pipeline.shards.SnapshotShards`. A shard that raises, or whose
worker dies, stops the run with :class:`ShardFailedError` naming the shard and the cause;
the shards finished before it stay on disk for the rerun, and nothing is published.
Progress is a live line on a terminal and one log line per shard elsewhere (a Dagster
run shows them through its logger).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Protocol

from synth_pipeline.config import DatasetConfig
from synth_pipeline.engine_config import LocalEngine, RayEngine
from synth_pipeline.generators.base import Generator
from synth_pipeline.model_store import ModelInfo
from synth_pipeline.progress import LiveProgress
from synth_pipeline.shard_sampling import DEFAULT_CHUNK_ROWS, render_shard
from synth_pipeline.shards import (
    ShardOutput,
    ShardPlan,
    ShardRecord,
    ShardSpec,
    ShardStore,
    SnapshotShards,
    cause,
    plan_shards,
    shard_failure,
)

log = logging.getLogger(__name__)


class ShardEngine(Protocol):
    """Runs shards and yields their outputs as they finish (in any order)."""

    def run(self, plan: ShardPlan, pending: Sequence[ShardSpec]) -> Iterator[ShardOutput]: ...


class LocalShardEngine:
    """Shards in this process, one after another, from a generator loaded once (``before_shard``: a test seam)."""

    def __init__(
        self, load_generator: Callable[[], Generator], *, before_shard: Callable[[int], None] | None = None
    ) -> None:
        self.load_generator = load_generator
        self.before_shard = before_shard

    def run(self, plan: ShardPlan, pending: Sequence[ShardSpec]) -> Iterator[ShardOutput]:
        generator = self.load_generator() if pending else None
        for spec in pending:
            try:
                if self.before_shard is not None:
                    self.before_shard(spec.index)
                output = render_shard(generator, spec, chunk_rows=plan.chunk_rows)
            except Exception as error:  # noqa: BLE001 - any failure of a shard is reported with its number
                raise shard_failure(spec.index, len(plan.shards), cause(error)) from error
            yield output


def make_engine(
    engine: LocalEngine | RayEngine,
    *,
    load_generator: Callable[[], Generator],
    model_dir: Path,
    before_shard: Callable[[int], None] | None = None,
) -> ShardEngine:
    """The engine a dataset's ``engine:`` setting names (Ray is imported only when it is used).

    ``before_shard(index)`` runs where each shard runs, before it: a test seam (a fault in shard *i*).
    """
    if isinstance(engine, RayEngine):
        from synth_pipeline.shard_engine_ray import RayShardEngine

        return RayShardEngine(engine, model_dir, before_shard=before_shard)
    return LocalShardEngine(load_generator, before_shard=before_shard)


def run_shards(
    plan: ShardPlan, store: ShardStore, engine: ShardEngine, *, dataset: str, show_progress: bool | None = None
) -> SnapshotShards:
    """Every shard of ``plan`` in ``store``: the finished ones kept, the others sampled by ``engine``."""
    records: dict[int, ShardRecord] = {}
    pending = []
    for spec in plan.shards:
        record = store.finished(spec)
        if record is None:
            pending.append(spec)
        else:
            records[spec.index] = record
    total = len(plan.shards)
    if records:
        log.info("%s: %d of %d shards already sampled by an earlier attempt; sampling %d", dataset, len(records),
                 total, len(pending))
    specs = {spec.index: spec for spec in pending}
    started = time.perf_counter()
    rows_done = 0
    with LiveProgress(f"{dataset} shards", unit="shards", total=total, enabled=show_progress) as progress:
        progress.update(len(records))
        for output in engine.run(plan, pending):
            records[output.index] = store.save(specs[output.index], output)
            rows_done += output.rows
            rate = rows_done / max(time.perf_counter() - started, 1e-9)
            progress.update(1, status=f"{rate:,.0f} rows/s")
            if not progress.enabled:
                log.info("%s: shard %d done (%d of %d shards; %d rows in %.1f s; %s rows/s overall)", dataset,
                         output.index, len(records), total, output.rows, output.seconds, f"{rate:,.0f}")
    return store.snapshot(list(records.values()))


def sample_shards(
    dataset: DatasetConfig,
    model: ModelInfo,
    snapshot_seed: int,
    directory: Path,
    load_generator: Callable[[], Generator],
    *,
    n_rows: int,
    before_shard: Callable[[int], None] | None = None,
) -> SnapshotShards:
    """The shards of a snapshot of ``n_rows`` from ``model``, sampled on ``dataset``'s engine into ``directory``."""
    chunk_rows = min(DEFAULT_CHUNK_ROWS, dataset.shard_rows)
    plan = plan_shards(model.model_id, snapshot_seed, n_rows, dataset.shard_rows, chunk_rows=chunk_rows)
    engine = make_engine(dataset.engine, load_generator=load_generator, model_dir=model.path, before_shard=before_shard)
    log.info("%s: sampling %d rows in %d shard(s) of up to %d rows on %s", dataset.name, n_rows, len(plan.shards),
             dataset.shard_rows, dataset.engine.describe())
    return run_shards(plan, ShardStore(directory, plan), engine, dataset=dataset.name)


__all__ = ["LocalShardEngine", "ShardEngine", "make_engine", "run_shards", "sample_shards"]
