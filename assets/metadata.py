"""What each lifecycle step's result shows in the Dagster UI: row counts, timings, schema, model ids, drift, gates.

Pure translations from the core's typed results to Dagster metadata and check
results; no decision is taken here (the verdicts come from ``lifecycle.assess``).
"""

from pathlib import Path
from typing import Any

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetIn,
    AssetKey,
    MetadataValue,
    TableColumn,
    TableSchema,
)

from synth_pipeline.lifecycle import Assessment, Ingested, ModelRecord, Published, Sampled, TrainResult
from synth_pipeline.schema import Schema
from synth_pipeline.secrets import redact_dsn
from synth_pipeline.table_files import TableFiles

IO_MANAGER = "private_io"
#: the QA numbers the published snapshot shows on its own (the rest are on quality_report)
HEADLINE = (
    "accuracy_overall",
    "accuracy_overall_max",
    "accuracy_ratio",
    "dcr_share",
    "discriminator_auc_training_synthetic",
)


def asset_key(dataset: str, step: str) -> AssetKey:
    """The key of one lifecycle asset: ``[dataset, step]``."""
    return AssetKey([dataset, step])


def asset_inputs(dataset: str, *steps: str) -> dict[str, AssetIn]:
    """Inputs of an asset from earlier lifecycle steps of the same dataset, each under its step's name."""
    return {step: AssetIn(asset_key(dataset, step)) for step in steps}


def schema_markdown(schema: Schema) -> MetadataValue:
    """The inferred column kinds, with why, as a Markdown table."""
    lines = ["| column | kind | missing | why |", "|---|---|---|---|"]
    lines += [
        f"| {c.name} | {c.kind.value} | {'yes' if c.has_missing else 'no'} | {c.reason} |" for c in schema.columns
    ]
    return MetadataValue.md("\n".join(lines))


def attempt_id(context: Any) -> str:
    """The id a run's attempt is recorded under: its root run's, so a re-execution of a failed run goes on with
    the version it claimed and the shards it finished."""
    run = getattr(context, "run", None) or context.instance.get_run_by_id(context.run_id)
    return str(run.root_run_id or run.run_id)


def table_metadata(table: pd.DataFrame | TableFiles) -> dict[str, Any]:
    """Rows and columns of a table (in memory, or in Parquet files: then their size on disk too)."""
    if isinstance(table, TableFiles):
        return {"rows": table.rows, "columns": len(table.columns), "parquet_mb": round(table.bytes / 2**20, 1)}
    return {"rows": len(table), "columns": table.shape[1]}


def ingested_metadata(ingested: Ingested) -> dict[str, Any]:
    """The source asset's metadata."""
    return {
        **table_metadata(ingested.files),
        "seconds": round(ingested.seconds, 3),
        "content_hash": ingested.fingerprint["content_hash"],
        "probe": MetadataValue.json(ingested.probe),
        "schema": schema_markdown(ingested.schema),
    }


def model_metadata(trained: TrainResult, training_rows: int) -> dict[str, Any]:
    """The generator_model asset's metadata, with per-column PSI against the previous model when there is one."""
    metadata: dict[str, Any] = {
        "model_id": trained.info.model_id,
        "generator": trained.generator.name,
        "fit_seconds": round(trained.generator.fit_seconds_, 2),
        "rules": len(trained.generator.rules_),
        "training_rows": training_rows,
        "training_rows_seen": trained.model.training_rows_seen,  # max_training_rows caps them
        "path": MetadataValue.path(str(trained.info.path)),
    }
    privacy = getattr(trained.generator, "privacy_", None)
    if privacy is not None:  # what the model spent of its differential-privacy budget, and how
        metadata.update({"epsilon": round(privacy["epsilon"], 4), "delta": privacy["delta"],
                         "privacy": MetadataValue.json(privacy)})
    if trained.drift is not None:
        metadata.update(
            {
                "previous_model_id": trained.previous_model_id,
                "drift_max_psi": round(trained.drift.max_psi, 4),
                "drift_summary": trained.drift.summary,
                "drift_vs_previous_model": MetadataValue.json(trained.drift.as_metadata()),
            }
        )
    return metadata


def sampled_metadata(sampled: Sampled) -> dict[str, Any]:
    """The synthetic asset's metadata, with what rule enforcement did."""
    snapshot = sampled.snapshot
    metadata: dict[str, Any] = {
        "rows": snapshot.num_rows,
        "columns": len(snapshot.head_frame().columns),
        "shards": len(snapshot.shards),
        "shard_dir": MetadataValue.path(snapshot.directory),
        "content_hash": snapshot.content_hash,
        "version": sampled.version,  # claimed in the warehouse before sampling
        "model_id": sampled.model_id,
        "sampling_seed": sampled.seed,
        "sample_seconds": round(sampled.seconds, 3),
        "rows_per_second": round(snapshot.num_rows / max(sampled.seconds, 1e-9)),
    }
    if sampled.rule_report is not None:
        # how many rows the rules made the generator redraw or repair
        metadata["rule_enforcement"] = MetadataValue.json(sampled.rule_report)
    return metadata


def assessment_metadata(assessment: Assessment) -> dict[str, Any]:
    """The quality_report asset's metadata: the verdict, each gate with value and threshold, the headline numbers."""
    return {
        "passed": assessment.passed,
        "version": assessment.version,
        "failed_blocking": MetadataValue.json(assessment.failed_blocking),
        "synthetic_hash": assessment.synthetic_hash,
        # the training rows the model learned from (max_training_rows caps them); unknown for older models
        "training_rows_seen": assessment.report.header.training_rows_seen or 0,
        **gate_metadata(assessment),
        # regenerated, not learned: `synth-pipeline run` lists them so nobody takes them for faithful copies
        "columns_not_learned": MetadataValue.json(
            [c.model_dump(mode="json") for c in assessment.report.columns_not_learned]
        ),
    }


def gate_metadata(assessment: Assessment) -> dict[str, Any]:
    """Each gate's value, threshold and outcome, the QA summary and the report's path."""
    metadata: dict[str, Any] = {
        r.name: MetadataValue.json(
            {"value": r.value, "threshold": r.threshold, "blocking": r.blocking, "passed": r.passed}
        )
        for r in assessment.gate_results
    }
    metadata.update({k: round(v, 4) for k, v in assessment.qa_summary.items()})
    metadata["report"] = MetadataValue.path(assessment.report_path)
    return metadata


def gate_check_result(assessment: Assessment) -> AssetCheckResult:
    """The quality_gates check's result: ERROR when a blocking gate failed, WARN for a warning one."""
    failed = [r for r in assessment.gate_results if not r.passed]
    return AssetCheckResult(
        passed=not failed,
        severity=AssetCheckSeverity.ERROR if any(r.blocking for r in failed) else AssetCheckSeverity.WARN,
        metadata=gate_metadata(assessment),
        description="; ".join(r.message for r in assessment.gate_results),
    )


def column_schema(synthetic: pd.DataFrame, schema: Schema | None) -> TableSchema:
    """The published table's columns with their storage type and the kind the generator learned them as."""
    kinds = {c.name: c for c in schema.columns} if schema is not None else {}
    columns = []
    for name, dtype in synthetic.dtypes.items():
        spec = kinds.get(str(name))
        description = f"{spec.kind.value} ({spec.reason})" if spec is not None else None
        columns.append(TableColumn(name=str(name), type=str(dtype), description=description))
    return TableSchema(columns=columns)


def _shown_location(location: Any) -> str:
    """A warehouse location as it may be shown: a DSN without its password, a path made absolute."""
    text = str(location)
    return redact_dsn(text) if text.startswith(("postgres://", "postgresql://")) else str(Path(text).resolve())


def verdict_line(assessment: Assessment) -> str:
    """One sentence: overall accuracy against its ceiling, the DCR share, and how many gates passed."""
    summary, gates = assessment.qa_summary, assessment.gate_results
    parts = []
    if "accuracy_overall" in summary:
        ceiling = summary.get("accuracy_overall_max")
        parts.append(f"accuracy {summary['accuracy_overall']:.3f}" + (f" (ceiling {ceiling:.3f})" if ceiling else ""))
    if "dcr_share" in summary:
        parts.append(f"DCR share {summary['dcr_share']:.3f}")
    parts.append(f"{sum(r.passed for r in gates)} of {len(gates)} gates passed")
    return ("passed: " if assessment.passed else "failed: ") + ", ".join(parts)


def published_metadata(
    published: Published, assessment: Assessment, model: ModelRecord, synthetic: pd.DataFrame
) -> dict[str, Any]:
    """The published_snapshot asset's metadata: the version written, its verdict and Dagster's table metadata.

    The verdict: overall accuracy and its ceiling, the DCR share, every gate's value and threshold, the rows, the
    report's absolute path and the model id; ``dagster/row_count`` and ``dagster/column_schema`` fill the UI's
    row count and columns tab.
    """
    info, summary = published.info, assessment.qa_summary
    schema = Schema.from_dict(model.column_schema) if model.column_schema is not None else None
    headline = {k: round(summary[k], 4) for k in HEADLINE if k in summary}
    return {
        "verdict": verdict_line(assessment),
        "version": info.version,
        "table": info.table_name,
        "rows": info.row_count,
        "dagster/row_count": MetadataValue.int(int(info.row_count)),
        "dagster/column_schema": MetadataValue.table_schema(column_schema(synthetic, schema)),
        "warehouse": MetadataValue.text(_shown_location(info.warehouse)),
        "model_id": model.model_id,
        "generator": model.generator,
        # differential privacy: the ε the model spent (∞: trained without privacy)
        "epsilon": round(model.privacy["epsilon"], 4) if model.privacy else "inf (no differential privacy)",
        **headline,
        "gates": MetadataValue.json(
            {r.name: {"value": r.value, "threshold": r.threshold, "blocking": r.blocking, "passed": r.passed}
             for r in assessment.gate_results}
        ),
        "removed_versions": MetadataValue.json(published.removed_versions),
        "report": MetadataValue.path(str(Path(assessment.report_path).resolve())),
        "report_json": MetadataValue.path(str(Path(assessment.report_json_path).resolve())),
    }
