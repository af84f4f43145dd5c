"""The lifecycle of one dataset, step by step: ingest, split, train, sample a snapshot, assess, publish.

Each step is a plain function over plain values and returns a typed result;
the Dagster assets call exactly one step each, a notebook can call them in
order::

    source = ingest(dataset, ConfiguredSource(dataset.source), run_dir)   # run_dir/source.parquet
    halves = split(dataset, source.files)                                  # training/holdout.parquet beside it
    trained = train(dataset, halves.training, source.files, models)       # fingerprint and probe from ingest
    sampled = sample_snapshot(dataset, trained.model, models, warehouse)     # claims the version, writes shards
    assessment = assess(dataset, halves.training, halves.holdout, sampled.snapshot, trained.model, models,
                        warehouse, run_id=sampled.run_id)
    info = publish(dataset, assessment, sampled.snapshot, trained.model, warehouse)

Data flows one way. Only :func:`publish` writes snapshot data to the warehouse,
into the version :func:`sample_snapshot` claimed, and it refuses a table that is
not the one :func:`assess` judged (content hash) or whose verdict is not a pass.
The catalog records every attempt: the claim (``running``), a blocked verdict
(:func:`assess`), a failure (:func:`record_failure`), or the publish.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, computed_field

from synth_pipeline.config import DatasetConfig
from synth_pipeline.constraints import RuleResult, RuleSet
from synth_pipeline.drift import DRIFT_PROFILE_KEY, SOURCE_FINGERPRINT_KEY, DriftReport, measure_drift_batches
from synth_pipeline.errors import StoreError, SynthPipelineError
from synth_pipeline.generators.base import Generator
from synth_pipeline.generators.registry import make_generator
from synth_pipeline.lifecycle_ingest import (
    Halves,
    Ingested,
    check_training_size,
    column_kinds,
    ingest,
    qa_rows,
    rows_of,
    source_batches,
    source_identity,
    split,
    training_sample,
)
from synth_pipeline.model_store import ModelInfo, ModelStore
from synth_pipeline.profile import TrainingProfile, fingerprint_table
from synth_pipeline.quality import GateResult, QualityReport, check_gates, evaluate, render_html
from synth_pipeline.quality.report import ReportHeader
from synth_pipeline.schema import Schema
from synth_pipeline.secrets import scrub_any
from synth_pipeline.shards import SnapshotShards
from synth_pipeline.snapshot_sampling import Sampled, run_shard_dir, sample_snapshot, snapshot_seed
from synth_pipeline.table_files import TableFiles
from synth_pipeline.warehouse import SnapshotInfo, SnapshotStore

log = logging.getLogger(__name__)


class PublishRefusedError(SynthPipelineError):
    """A synthetic table was not published: it is not the assessed one, or its assessment did not pass."""


def content_hash(table: pd.DataFrame | SnapshotShards) -> str:
    """The content hash of a table or a sampled snapshot: what ties an assessment to the exact rows it judged."""
    if isinstance(table, SnapshotShards):
        return table.content_hash
    return fingerprint_table(table)["content_hash"]


# -- train ----------------------------------------------------------------------------------
class ModelRecord(BaseModel):
    """What the later steps need to know about a trained model (JSON between steps)."""

    model_config = ConfigDict(extra="ignore")

    model_id: str
    generator: str
    source_rows: int
    source_fingerprint: str
    rules: list[dict[str, Any]] | None = Field(
        None, description="the effective rules (declared + inferred) the model honours"
    )
    column_schema: dict[str, Any] | None = Field(
        None, description="the model's schema (Schema.to_dict); absent in records written before version 0.2"
    )
    privacy: dict[str, Any] | None = Field(
        None, description="what the model spent of its privacy budget (generator.privacy_); None: trained without DP"
    )
    training_rows_seen: int | None = Field(
        None, description="the training rows the model learned from (max_training_rows caps them)"
    )

    def rule_set(self, dataset: DatasetConfig) -> RuleSet | None:
        """The rules the model honours (the config's when the record has none); None when there are none."""
        rules = RuleSet.from_dicts(self.rules) if self.rules is not None else RuleSet(dataset.rules)
        return rules if len(rules) else None


@dataclass(frozen=True)
class TrainResult:
    """A trained and saved model, its training profile, and how far the source moved since the previous model."""

    model: ModelRecord
    generator: Generator
    info: ModelInfo
    profile: TrainingProfile
    fingerprint: dict[str, Any]
    previous_model_id: str | None
    drift: DriftReport | None


def make_dataset_generator(dataset: DatasetConfig, source_kinds: dict[str, str] | None = None) -> Generator:
    """The configured generator, seeded with the dataset's seed and its column kinds.

    ``source_kinds`` are the kinds the source declares (a PostgreSQL column's type); the config's overrides win.
    """
    return make_generator(
        dataset.generator.name,
        random_state=dataset.seed,
        column_kinds=column_kinds(dataset, source_kinds),
        rules=[rule.to_dict() for rule in dataset.rules],
        infer_rules=dataset.infer_rules,
        **dataset.generator.settings,
    )


def train(
    dataset: DatasetConfig,
    training: pd.DataFrame | TableFiles,
    source: pd.DataFrame | TableFiles,
    model_store: ModelStore,
    *,
    source_probe: dict[str, Any] | None = None,
    source_kinds: dict[str, str] | None = None,
    source_fingerprint: dict[str, Any] | None = None,
) -> TrainResult:
    """Fit the configured generator on ``training`` (at most ``max_training_rows`` of it), measure the source's
    drift from the previous model, save it.

    ``source`` (the whole real table, in memory or in files) is scored against the previous model's profile
    batch by batch. Its fingerprint and probe are the ones taken at ingest (stored in the ingested files) unless
    ``source_fingerprint`` / ``source_probe`` are given; a DataFrame is fingerprinted here.
    ``source_kinds`` are the column kinds the source declares (see :func:`make_dataset_generator`).
    """
    check_training_size(dataset, rows_of(training))
    learned = training_sample(dataset, training)
    generator = make_dataset_generator(dataset, source_kinds).fit(learned)
    profile = TrainingProfile.from_table(learned, generator.schema_)
    fingerprint, probe = source_identity(source, source_fingerprint, source_probe)
    previous_id = model_store.latest_id(dataset.name)
    previous = model_store.info(dataset.name, previous_id).metadata.get(DRIFT_PROFILE_KEY) if previous_id else None
    drift = measure_drift_batches(TrainingProfile.from_dict(previous), source_batches(source)) if previous else None
    metadata = {
        "config_hash": dataset.config_hash(),
        SOURCE_FINGERPRINT_KEY: fingerprint,
        DRIFT_PROFILE_KEY: profile.to_dict(),
        "privacy": getattr(generator, "privacy_", None),
        "source_probe": probe,
        "training_rows": rows_of(training),
        "training_rows_seen": len(learned),
        "source_rows": rows_of(source),
    }
    info = model_store.save(dataset.name, generator, metadata)
    record = ModelRecord(
        model_id=info.model_id,
        generator=generator.name,
        source_rows=rows_of(source),
        source_fingerprint=fingerprint["content_hash"],
        rules=generator.rules_.to_dicts(),
        column_schema=generator.schema_.to_dict(),
        privacy=getattr(generator, "privacy_", None),
        training_rows_seen=len(learned),
    )
    return TrainResult(record, generator, info, profile, fingerprint, previous_id, drift)


# -- sample: synth_pipeline.snapshot_sampling (Sampled, sample_snapshot, snapshot_seed) -----------------------


# -- assess ---------------------------------------------------------------------------------
class Assessment(BaseModel):
    """The verdict on one synthetic table: QA report, gate and rule results, and the hash of the rows judged.

    ``passed`` and ``failed_blocking`` are derived from the results, so a
    stored assessment cannot claim a pass its results do not support.
    """

    dataset: str
    version: int | None = Field(None, description="the snapshot version claimed for the table judged")
    synthetic_hash: str = Field(description="content hash of the synthetic table this assessment judged")
    gate_results: list[GateResult]
    rule_results: list[RuleResult] = Field(default_factory=list, description="the rules validated on synthetic")
    qa_summary: dict[str, float]
    report_path: str = Field(description="the HTML report (absolute path)")
    report_json_path: str
    report: QualityReport
    privacy: dict[str, Any] | None = Field(None, description="what the model spent of its privacy budget")

    @computed_field
    @property
    def failed_blocking(self) -> list[str]:
        """Names of the blocking gates and rules that failed."""
        gates = [r.name for r in self.gate_results if r.blocking and not r.passed]
        return gates + [r.rule for r in self.rule_results if r.blocking and not r.passed]

    @computed_field
    @property
    def passed(self) -> bool:
        """True when no blocking gate or rule failed: the table may be published."""
        return not self.failed_blocking

    def to_record(self) -> dict[str, Any]:
        """JSON-ready data (what travels between the Dagster assets)."""
        return self.model_dump(mode="json")

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Assessment:
        """Read back :meth:`to_record`."""
        return cls.model_validate(record)


def assess(
    dataset: DatasetConfig,
    training: pd.DataFrame | TableFiles,
    holdout: pd.DataFrame | TableFiles,
    synthetic: pd.DataFrame | SnapshotShards,
    model: ModelRecord,
    model_store: ModelStore,
    warehouse: SnapshotStore,
    *,
    run_id: str,
) -> Assessment:
    """QA report of ``synthetic`` (with the model's schema), its gates and rules; a blocked verdict is recorded.

    A sampled snapshot (its shards) is judged on a reproducible uniform subsample of at most
    ``quality_max_rows`` rows, read shard by shard (the report's header says how many of how
    many); the content hash still covers every shard. The report is written as
    ``<dataset>-v<version>.html`` and ``.json`` into the warehouse's reports directory, for
    the version run ``run_id`` claimed (:func:`sample_snapshot`). When a blocking gate or rule fails, the claimed
    version is marked ``blocked`` in the catalog with every gate's value and threshold.
    """
    from synth_pipeline.constraints.expectations import validate_rules  # Great Expectations is heavy

    version = warehouse.claimed_version(dataset.name, run_id)
    training, holdout = (qa_rows(t, dataset.quality_max_rows, seed=dataset.seed) for t in (training, holdout))
    if model.column_schema is not None:
        schema = Schema.from_dict(model.column_schema)
    else:  # a record from before the schema travelled with it: read it from the model
        schema = model_store.load(dataset.name, model.model_id)[0].schema_
    rules = model.rule_set(dataset)
    judged = _rows_to_judge(synthetic, dataset)
    report = evaluate(
        training,
        holdout,
        judged,
        target=dataset.target,
        schema=schema,
        max_rows=dataset.quality_max_rows,
        random_state=dataset.seed,
        rules=rules,
        sensitive_columns=dataset.sensitive_columns,
    )
    snapshot_rows = synthetic.num_rows if isinstance(synthetic, SnapshotShards) else len(synthetic)
    html, json_path = _write_reports(report, dataset, model, version, warehouse, snapshot_rows)
    assessment = Assessment(
        dataset=dataset.name,
        version=version,
        synthetic_hash=content_hash(synthetic),
        gate_results=check_gates(report, dataset.gates),
        rule_results=validate_rules(judged, rules) if rules is not None else [],
        qa_summary=report.summary(),
        report_path=str(html.resolve()),
        report_json_path=str(json_path.resolve()),
        report=report,
        privacy=model.privacy,
    )
    if not assessment.passed:
        warehouse.record_blocked(dataset.name, version, _verdict_lineage(assessment), blocked_reason(assessment))
    return assessment


def _rows_to_judge(synthetic: pd.DataFrame | SnapshotShards, dataset: DatasetConfig) -> pd.DataFrame:
    """The rows QA reads: a table as given, a snapshot's reproducible subsample of ``quality_max_rows`` rows."""
    if isinstance(synthetic, SnapshotShards):
        return synthetic.subsample(dataset.quality_max_rows, random_state=dataset.seed)
    return synthetic


def _write_reports(
    report: QualityReport,
    dataset: DatasetConfig,
    model: ModelRecord,
    version: int,
    warehouse: SnapshotStore,
    snapshot_rows: int,
) -> tuple[Path, Path]:
    """The report as ``<dataset>-v<version>.html`` and ``.json`` in the warehouse's reports directory."""
    report.header = ReportHeader(
        dataset=dataset.name,
        version=version,
        snapshot_rows=snapshot_rows,
        model_id=model.model_id,
        generator=model.generator,
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        epsilon=model.privacy["epsilon"] if model.privacy else None,
        delta=model.privacy["delta"] if model.privacy else None,
        training_rows_seen=model.training_rows_seen,
    )
    base = warehouse.reports_dir(dataset.name) / f"{dataset.name}-v{version}"
    title = f"{dataset.name} v{version}: synthetic data quality"
    html = render_html(report, base.with_suffix(".html"), gates=dataset.gates, title=title)
    return Path(html), Path(report.save_json(base.with_suffix(".json")))


def blocked_reason(assessment: Assessment) -> str:
    """One line naming each failed blocking gate (value and threshold) and rule."""
    gates = [r.message for r in assessment.gate_results if r.blocking and not r.passed]
    rules = [f"rule {r.rule}" for r in assessment.rule_results if r.blocking and not r.passed]
    return "blocking checks failed: " + "; ".join(gates + rules)


def _verdict_lineage(assessment: Assessment) -> dict[str, Any]:
    return {
        "accuracy": assessment.qa_summary.get("accuracy_overall"),
        "dcr_share": assessment.qa_summary.get("dcr_share"),
        "gate_results": [r.model_dump() for r in assessment.gate_results],
        # the model's privacy record travels in the catalog's qa_summary JSON (qa_summary->'privacy'->'epsilon')
        "qa_summary": {**assessment.qa_summary, **({"privacy": assessment.privacy} if assessment.privacy else {})},
        "report_path": assessment.report_path,
    }


# -- publish --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Published:
    """The snapshot version written, and the old versions retention removed."""

    info: SnapshotInfo
    removed_versions: list[int]


def publish(
    dataset: DatasetConfig,
    assessment: Assessment,
    synthetic: pd.DataFrame | SnapshotShards,
    model: ModelRecord,
    warehouse: SnapshotStore,
) -> Published:
    """Publish ``synthetic`` into the version claimed for it, if it is the table ``assessment`` judged and passed.

    A sampled snapshot is loaded by the warehouse from its shard files, in one transaction.
    Raises :class:`PublishRefusedError` otherwise; nothing is written then.
    """
    name = dataset.name
    if assessment.dataset != name or assessment.synthetic_hash != content_hash(synthetic):
        raise PublishRefusedError(
            f"{name}: the synthetic table is not the one its quality report judged (content hash differs); "
            "materialize quality_report for it before publishing"
        )
    if not assessment.passed:
        raise PublishRefusedError(
            f"{name}: blocking quality gates failed, not publishing: {assessment.failed_blocking}"
        )
    if isinstance(synthetic, SnapshotShards):
        try:
            synthetic.verify()
        except StoreError as error:
            raise PublishRefusedError(f"{name}: the synthetic table is not the one its quality report judged: "
                                      f"{error}") from None
    lineage = {
        "source_fingerprint": model.source_fingerprint,
        "generator": model.generator,
        "model_id": model.model_id,
        "config_hash": dataset.config_hash(),
        "gates_passed": True,
        **_verdict_lineage(assessment),
    }
    info = warehouse.publish(name, synthetic, lineage, version=assessment.version)
    retention = dataset.retention
    removed = []
    if retention.keep_last or retention.keep_days:
        removed = warehouse.apply_retention(name, keep_last=retention.keep_last, keep_days=retention.keep_days)
    return Published(info, removed)


def failure_message(error: BaseException) -> str:
    """What the catalog records of an error: its message (with its type when it is not ours), no password."""
    text = str(error) if isinstance(error, SynthPipelineError) else f"{type(error).__name__}: {error}"
    return scrub_any(text.strip() or type(error).__name__)


def record_failure(
    dataset: DatasetConfig, warehouse: SnapshotStore, *, run_id: str, step: str, error: BaseException
) -> int | None:
    """Record run ``run_id``'s attempt as ``failed`` at ``step``; returns its version.

    None when the run's attempt already has its final status, or when the warehouse
    itself cannot be written (the failure may be that; logged as a warning).
    """
    try:
        return warehouse.record_failure(dataset.name, run_id=run_id, step=step, error=failure_message(error))
    except SynthPipelineError as store_error:
        log.warning("%s: the failure of %s could not be recorded in the warehouse: %s", dataset.name, step, store_error)
        return None


__all__ = [
    "Assessment",
    "Halves",
    "Ingested",
    "ModelRecord",
    "PublishRefusedError",
    "Published",
    "Sampled",
    "TrainResult",
    "assess",
    "blocked_reason",
    "check_training_size",
    "content_hash",
    "ingest",
    "make_dataset_generator",
    "failure_message",
    "publish",
    "record_failure",
    "run_shard_dir",
    "sample_snapshot",
    "snapshot_seed",
    "split",
    "train",
]
