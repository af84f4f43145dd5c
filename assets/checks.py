"""Asset checks on ``synthetic``: the quality and privacy gates (blocking ones stop publishing)."""

import json
from datetime import UTC, datetime

import pandas as pd
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetIn,
    MetadataValue,
    asset_check,
)

from assets.lifecycle import asset_key
from assets.log_forwarding import forward_logs
from assets.rule_checks import model_rules
from resources import PrivateStoreResource, WarehouseResource
from synth_pipeline.config import DatasetConfig
from synth_pipeline.drift import fingerprint_table
from synth_pipeline.quality import check_gates, evaluate


def build_quality_check(dataset: DatasetConfig) -> AssetChecksDefinition:
    """The blocking ``quality_gates`` check of one dataset's synthetic table."""
    name = dataset.name

    @asset_check(
        asset=asset_key(name, "synthetic"),
        name="quality_gates",
        blocking=True,
        additional_ins={
            "generator_model": AssetIn(asset_key(name, "generator_model")),
            "training": AssetIn(asset_key(name, "training")),
            "holdout": AssetIn(asset_key(name, "holdout")),
        },
        description="Holdout-based accuracy and privacy of the synthetic table against the configured gates.",
    )
    def quality_gates(
        context: AssetCheckExecutionContext,
        synthetic: pd.DataFrame,
        training: pd.DataFrame,
        holdout: pd.DataFrame,
        generator_model: dict,
        private: PrivateStoreResource,
        warehouse: WarehouseResource,
    ) -> AssetCheckResult:
        with forward_logs(context):
            report = evaluate(
                training,
                holdout,
                synthetic,
                target=dataset.target,
                max_rows=dataset.quality_max_rows,
                random_state=dataset.seed,
                rules=model_rules(dataset, generator_model),
            )
        results = check_gates(report, dataset.gates)
        failed_blocking = [r.name for r in results if r.blocking and not r.passed]
        failed_warning = [r.name for r in results if not r.blocking and not r.passed]
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        reports = warehouse.reports_dir(name)
        html_path = report.to_html(
            reports / f"{stamp}.html", gates=dataset.gates, title=f"{name}: synthetic data quality"
        )
        report.save_json(reports / f"{stamp}.json")
        summary = report.summary()
        record = {
            "synthetic_hash": fingerprint_table(synthetic)["content_hash"],
            "passed": not failed_blocking,
            "failed": failed_blocking,
            "gate_results": [r.model_dump() for r in results],
            "qa_summary": summary,
            "report_path": str(html_path),
        }
        path = private.quality_record(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record, indent=1))
        tmp.replace(path)
        for result in results:
            (context.log.info if result.passed else context.log.warning)(result.message)
        metadata = {
            r.name: MetadataValue.json(
                {"value": r.value, "threshold": r.threshold, "blocking": r.blocking, "passed": r.passed}
            )
            for r in results
        }
        metadata.update({k: round(v, 4) for k, v in summary.items()})
        metadata["report"] = MetadataValue.path(str(html_path))
        return AssetCheckResult(
            passed=not (failed_blocking or failed_warning),
            severity=AssetCheckSeverity.ERROR if failed_blocking else AssetCheckSeverity.WARN,
            metadata=metadata,
            description="; ".join(r.message for r in results),
        )

    return quality_gates
