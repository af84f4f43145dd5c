"""One pass through the core lifecycle steps (ingest → assess) into stores under a tmp directory, for tests."""

from dataclasses import dataclass
from pathlib import Path

from synth_pipeline import lifecycle
from synth_pipeline.config import DatasetConfig
from synth_pipeline.model_store import ModelStore
from synth_pipeline.sources import ConfiguredSource
from synth_pipeline.warehouse import SnapshotStore


@dataclass(frozen=True)
class LifecycleRun:
    models: ModelStore
    warehouse: SnapshotStore
    source: lifecycle.Ingested
    halves: lifecycle.Halves
    trained: lifecycle.TrainResult
    sampled: lifecycle.Sampled
    assessment: lifecycle.Assessment


def run_lifecycle(tmp_path: Path, dataset: DatasetConfig) -> LifecycleRun:
    """Every step up to the verdict, with a model store and a DuckDB warehouse in ``tmp_path``."""
    models, warehouse = ModelStore(tmp_path / "models"), SnapshotStore(tmp_path / "warehouse.duckdb")
    source = lifecycle.ingest(dataset, ConfiguredSource(dataset.source), tmp_path / "run")
    halves = lifecycle.split(dataset, source.files)
    trained = lifecycle.train(dataset, halves.training, source.files, models)
    sampled = lifecycle.sample_snapshot(dataset, trained.model, models, warehouse)
    assessment = lifecycle.assess(
        dataset, halves.training, halves.holdout, sampled.snapshot, trained.model, models, warehouse,
        run_id=sampled.run_id,
    )
    return LifecycleRun(models, warehouse, source, halves, trained, sampled, assessment)
