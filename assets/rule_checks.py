"""The ``rule_adherence`` asset check: the synthetic table validated against its rules with Great Expectations.

The rules are the ones the model was trained with (declared in the dataset's
config plus, with ``infer_rules``, those inferred from training), handed over
by the ``generator_model`` asset. Every rule becomes one expectation; the
check's metadata lists each with its success share. A violated blocking rule
fails the check with ERROR severity, which blocks publishing; a violated
warning rule only warns.
"""

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
from synth_pipeline.config import DatasetConfig
from synth_pipeline.constraints.rules import RuleSet


def model_rules(dataset: DatasetConfig, generator_model: dict) -> RuleSet | None:
    """The rules a trained model honours (None when there are none)."""
    stored = generator_model.get("rules")
    rules = RuleSet.from_dicts(stored) if stored is not None else RuleSet(dataset.rules)
    return rules if len(rules) else None


def _markdown(results: list) -> str:
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


def build_rule_check(dataset: DatasetConfig) -> AssetChecksDefinition:
    """The blocking ``rule_adherence`` check of one dataset's synthetic table."""
    name = dataset.name

    @asset_check(
        asset=asset_key(name, "synthetic"),
        name="rule_adherence",
        blocking=True,
        additional_ins={"generator_model": AssetIn(asset_key(name, "generator_model"))},
        description="The synthetic table against the dataset's business rules (Great Expectations suite).",
    )
    def rule_adherence(
        context: AssetCheckExecutionContext, synthetic: pd.DataFrame, generator_model: dict
    ) -> AssetCheckResult:
        from synth_pipeline.constraints.expectations import validate_rules

        rules = model_rules(dataset, generator_model)
        if rules is None:
            return AssetCheckResult(passed=True, metadata={"rules": 0}, description="no rules declared or inferred")
        with forward_logs(context):
            results = validate_rules(synthetic, rules)
        failed_blocking = [r for r in results if r.blocking and not r.passed]
        failed_warning = [r for r in results if not r.blocking and not r.passed]
        for r in results:
            (context.log.info if r.passed else context.log.warning)(
                f"{name}: rule {r.rule}: {r.violations} violation(s) in {r.rows_checked} rows "
                f"(success share {r.success_share:.4%})"
            )
        metadata = {
            "rules": len(results),
            "violated_blocking": len(failed_blocking),
            "violated_warning": len(failed_warning),
            "expectations": MetadataValue.md(_markdown(results)),
            "results": MetadataValue.json([r.model_dump() for r in results]),
        }
        for number, r in enumerate(results, start=1):
            metadata[f"{number:02d} {r.rule}"[:200]] = round(r.success_share, 6)
        if failed_blocking or failed_warning:
            description = "violated: " + "; ".join(
                f"{r.rule} ({r.violations} rows{'' if r.blocking else ', warning'})"
                for r in failed_blocking + failed_warning
            )
        else:
            description = f"all {len(results)} rules hold"
        return AssetCheckResult(
            passed=not (failed_blocking or failed_warning),
            severity=AssetCheckSeverity.ERROR if failed_blocking else AssetCheckSeverity.WARN,
            metadata=metadata,
            description=description,
        )

    return rule_adherence
