"""synth_pipeline: privacy-safe synthetic copies of sensitive tables.

The core library, usable without Dagster::

    from synth_pipeline import simulate_churn, split_holdout, make_generator, evaluate

    source = simulate_churn(5000)
    training, holdout = split_holdout(source, fraction=0.5, random_state=0)
    generator = make_generator("copula", random_state=0).fit(training)
    synthetic = generator.sample(len(training))
    report = evaluate(training, holdout, synthetic, target="churn")

Names are imported on first use, so ``import synth_pipeline`` stays fast
(torch, scikit-learn and Great Expectations load only when needed).
"""

from importlib import import_module
from typing import Any

from synth_pipeline.version import __version__

_EXPORTS = {
    # errors
    "SynthPipelineError": "synth_pipeline.errors",
    "ConfigError": "synth_pipeline.errors",
    "InvalidDataError": "synth_pipeline.errors",
    "NotFittedError": "synth_pipeline.errors",
    "StoreError": "synth_pipeline.errors",
    "ConstraintViolationError": "synth_pipeline.errors",
    # config and data
    "load_config": "synth_pipeline.config",
    "parse_config": "synth_pipeline.config",
    "PipelineConfig": "synth_pipeline.config",
    "DatasetConfig": "synth_pipeline.config",
    "read_table": "synth_pipeline.io",
    "read_source": "synth_pipeline.sources",
    "ConfiguredSource": "synth_pipeline.sources",
    "write_table": "synth_pipeline.io",
    "ColumnKind": "synth_pipeline.columns",
    "Schema": "synth_pipeline.schema",
    "infer_schema": "synth_pipeline.schema",
    "split_holdout": "synth_pipeline.split",
    "simulate": "synth_pipeline.simulate",
    "simulate_churn": "synth_pipeline.simulate",
    "TableSpec": "synth_pipeline.simulate",
    # generators
    "Generator": "synth_pipeline.generators.base",
    "make_generator": "synth_pipeline.generators.registry",
    "generator_names": "synth_pipeline.generators.registry",
    "GaussianCopulaGenerator": "synth_pipeline.generators.copula",
    "ARGNGenerator": "synth_pipeline.generators.argn",
    # quality
    "evaluate": "synth_pipeline.quality",
    "render_html": "synth_pipeline.quality",
    "QualityReport": "synth_pipeline.quality",
    "Gates": "synth_pipeline.quality",
    "check_gates": "synth_pipeline.quality",
    # business rules
    "RuleSet": "synth_pipeline.constraints",
    "infer_rules": "synth_pipeline.constraints.inference",
    "validate_rules": "synth_pipeline.constraints.expectations",
    "build_suite": "synth_pipeline.constraints.expectations",
    # the lifecycle steps (the Dagster assets call these)
    "ingest": "synth_pipeline.lifecycle",
    "train": "synth_pipeline.lifecycle",
    "sample_snapshot": "synth_pipeline.lifecycle",
    "assess": "synth_pipeline.lifecycle",
    "publish": "synth_pipeline.lifecycle",
    "Assessment": "synth_pipeline.lifecycle",
    "PublishRefusedError": "synth_pipeline.lifecycle",
    # snapshots, models, drift
    "SnapshotStore": "synth_pipeline.warehouse",
    "SnapshotShards": "synth_pipeline.shards",
    "ModelStore": "synth_pipeline.model_store",
    "TrainingProfile": "synth_pipeline.profile",
    "measure_drift": "synth_pipeline.drift",
    "fingerprint_table": "synth_pipeline.profile",
    "check_source": "synth_pipeline.drift_decision",
    "DriftDecision": "synth_pipeline.drift_decision",
    "SchemaChangeError": "synth_pipeline.drift_decision",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'synth_pipeline' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
