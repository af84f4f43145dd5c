"""The ``rule_adherence`` asset check on ``quality_report``: the synthetic table against its rules.

``lifecycle.assess`` validated the synthetic table with Great Expectations
against the rules the model was trained with (declared in the dataset's config
plus, with ``infer_rules``, those inferred from training). Every rule became one
expectation; the check's metadata lists each with its success share. A violated
blocking rule fails the check with ERROR severity, which blocks publishing (and
fails the verdict the core's ``publish`` checks); a violated warning rule only warns.
"""

from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    MetadataValue,
    asset_check,
)

from assets.metadata import asset_key
from synth_pipeline.config import DatasetConfig
from synth_pipeline.constraints import RuleResult
from synth_pipeline.lifecycle import Assessment


def _markdown(results: list[RuleResult]) -> str:
    lines = [
        "| rule | expectation | blocking | checked rows | violations | success share |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        rule = r.rule.replace("|", "\\|")
        lines.append(
            f"| {rule} | {r.expectation} | {'yes' if r.blocking else 'no'} | {r.rows_checked} | {r.violations} | "
            f"{r.success_share:.4%} |"
        )
    return "\n".join(lines)


def _description(failed: list[RuleResult], total: int) -> str:
    if not failed:
        return f"all {total} rules hold"
    return "violated: " + "; ".join(
        f"{r.rule} ({r.violations} rows{'' if r.blocking else ', warning'})"
        for r in sorted(failed, key=lambda r: not r.blocking)
    )


def _metadata(results: list[RuleResult]) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "rules": len(results),
        "violated_blocking": sum(r.blocking and not r.passed for r in results),
        "violated_warning": sum(not r.blocking and not r.passed for r in results),
        "expectations": MetadataValue.md(_markdown(results)),
        "results": MetadataValue.json([r.model_dump() for r in results]),
    }
    for number, r in enumerate(results, start=1):
        metadata[f"{number:02d} {r.rule}"[:200]] = round(r.success_share, 6)
    return metadata


def build_rule_check(dataset: DatasetConfig) -> AssetChecksDefinition:
    """The blocking ``rule_adherence`` check of one dataset's quality report."""
    name = dataset.name

    @asset_check(
        asset=asset_key(name, "quality_report"),
        name="rule_adherence",
        blocking=True,
        description="The synthetic table against the dataset's business rules (Great Expectations suite).",
    )
    def rule_adherence(context: AssetCheckExecutionContext, quality_report: dict) -> AssetCheckResult:
        results = Assessment.from_record(quality_report).rule_results
        if not results:
            return AssetCheckResult(passed=True, metadata={"rules": 0}, description="no rules declared or inferred")
        for r in results:
            (context.log.info if r.passed else context.log.warning)(
                f"{name}: rule {r.rule}: {r.violations} violation(s) in {r.rows_checked} rows "
                f"(success share {r.success_share:.4%})"
            )
        failed = [r for r in results if not r.passed]
        return AssetCheckResult(
            passed=not failed,
            severity=AssetCheckSeverity.ERROR if any(r.blocking for r in failed) else AssetCheckSeverity.WARN,
            metadata=_metadata(results),
            description=_description(failed, len(results)),
        )

    return rule_adherence
