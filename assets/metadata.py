"""What each lifecycle step's result shows in the Dagster UI: row counts, timings, schema, model ids, drift, gates.

Pure translations from the core's typed results to Dagster metadata and check
results; no decision is taken here (the verdicts come from ``lifecycle.assess``).
"""

from typing import Any

import pandas as pd
from dagster import AssetCheckResult, AssetCheckSeverity, AssetIn, AssetKey, MetadataValue

from synth_pipeline.lifecycle import Assessment, Ingested, Published, Sampled, TrainResult
from synth_pipeline.schema import Schema

IO_MANAGER = "private_io"


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


def table_metadata(table: pd.DataFrame) -> dict[str, Any]:
    """Rows and columns of a table."""
    return {"rows": len(table), "columns": table.shape[1]}


def ingested_metadata(ingested: Ingested) -> dict[str, Any]:
    """The source asset's metadata."""
    return {
        **table_metadata(ingested.table),
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
        "path": MetadataValue.path(str(trained.info.path)),
    }
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
    metadata: dict[str, Any] = {
        **table_metadata(sampled.table),
        "model_id": sampled.model_id,
        "sampling_seed": sampled.seed,
        "sample_seconds": round(sampled.seconds, 3),
        "rows_per_second": round(len(sampled.table) / max(sampled.seconds, 1e-9)),
    }
    if sampled.rule_report is not None:
        # how many rows the rules made the generator redraw or repair
        metadata["rule_enforcement"] = MetadataValue.json(sampled.rule_report)
    return metadata


def assessment_metadata(assessment: Assessment) -> dict[str, Any]:
    """The quality_report asset's metadata: the verdict, each gate with value and threshold, the headline numbers."""
    return {
        "passed": assessment.passed,
        "failed_blocking": MetadataValue.json(assessment.failed_blocking),
        "synthetic_hash": assessment.synthetic_hash,
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


def published_metadata(published: Published, assessment: Assessment, model_id: str) -> dict[str, Any]:
    """The published_snapshot asset's metadata: the version written and what retention removed."""
    info = published.info
    return {
        "version": info.version,
        "table": info.table_name,
        "rows": info.row_count,
        "warehouse": MetadataValue.path(str(info.warehouse)),
        "model_id": model_id,
        "removed_versions": MetadataValue.json(published.removed_versions),
        "report": MetadataValue.path(assessment.report_path),
    }
