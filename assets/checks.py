"""The ``quality_gates`` asset check on ``quality_report``: the verdict's gates, shown per gate (blocking).

The gates were checked by ``lifecycle.assess``; this check reports them, so a
failing blocking gate stops ``published_snapshot`` from running (and the
core's ``publish`` would refuse the table anyway).
"""

from dagster import AssetCheckExecutionContext, AssetCheckResult, AssetChecksDefinition, asset_check

from assets.metadata import asset_key, gate_check_result
from synth_pipeline.config import DatasetConfig
from synth_pipeline.lifecycle import Assessment


def build_quality_check(dataset: DatasetConfig) -> AssetChecksDefinition:
    """The blocking ``quality_gates`` check of one dataset's quality report."""

    @asset_check(
        asset=asset_key(dataset.name, "quality_report"),
        name="quality_gates",
        blocking=True,
        description="Holdout-based accuracy and privacy of the synthetic table against the configured gates.",
    )
    def quality_gates(context: AssetCheckExecutionContext, quality_report: dict) -> AssetCheckResult:
        assessment = Assessment.from_record(quality_report)
        for result in assessment.gate_results:
            (context.log.info if result.passed else context.log.warning)(result.message)
        return gate_check_result(assessment)

    return quality_gates
