"""Rules as a Great Expectations (1.x) suite, and validation of a table against it.

Built-in expectations where GX has one (ranges, not-null, unique, allowed values,
regex, column-pair inequalities without tolerance); the other kinds become
custom expectations, subclasses of GX's ``MulticolumnMapExpectation`` backed by
one custom metric that evaluates the rule row by row with the same code the
generator enforces (:meth:`Rule.check`), so nothing is silently skipped:

* ``ExpectColumnValuesToFollowDependency`` (dependencies, with or without a mapping),
* ``ExpectColumnSumToMatchTotal`` (sums),
* ``ExpectConditionalRuleToHold`` (conditionals),
* ``ExpectColumnPairInequalityWithTolerance`` (inequalities with a tolerance).

Great Expectations is imported inside the functions (it costs ~3 s), with its
analytics off, an ephemeral context (no files), and progress bars off.
"""

from __future__ import annotations

import functools
import json
import logging
import os
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from synth_pipeline.constraints.rules import (
    AllowedValuesRule,
    ConditionalRule,
    DependencyRule,
    InequalityRule,
    NotNullRule,
    RangeRule,
    RegexRule,
    Rule,
    RuleResult,
    RuleSet,
    SumRule,
    UniqueRule,
    parse_rules,
)
from synth_pipeline.errors import ConfigError

RULE_METRIC = "multicolumn_values.synth_pipeline_rule_holds"
_CUSTOM: dict[str, Any] = {}  # rule type -> custom expectation class, filled by _gx()
SUITE_NAME = "synth_pipeline_rules"


@functools.cache
def _gx() -> Any:
    """Import GX once, quietly, and register the custom metric and expectations."""
    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    # GX logs every ephemeral context's temporary docs directory at INFO: not news for our users
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations as gx
    from great_expectations.execution_engine import PandasExecutionEngine
    from great_expectations.expectations.expectation import MulticolumnMapExpectation
    from great_expectations.expectations.metrics.map_metric_provider import (
        MulticolumnMapMetricProvider,
        multicolumn_condition_partial,
    )

    class MulticolumnRuleHolds(MulticolumnMapMetricProvider):
        """True for the rows that satisfy a synth_pipeline rule (given as JSON in ``rule``)."""

        condition_metric_name = RULE_METRIC
        condition_value_keys = ("rule",)

        @multicolumn_condition_partial(engine=PandasExecutionEngine)
        def _pandas(cls, column_list: pd.DataFrame, rule: str, **kwargs: Any) -> pd.Series:
            parsed = parse_rules([json.loads(rule)])[0]
            _, violated = parsed.check(column_list)
            return pd.Series(~violated, index=column_list.index)

    class ExpectSynthPipelineRuleToHold(MulticolumnMapExpectation):
        """Every row satisfies the synth_pipeline rule ``rule`` (JSON) over ``column_list``."""

        rule: str
        ignore_row_if: str = "never"
        map_metric = RULE_METRIC
        success_keys = ("rule", "mostly")

    class ExpectColumnValuesToFollowDependency(ExpectSynthPipelineRuleToHold):
        """The determinant column determines the dependent one (each value maps to one value; a mapping if given)."""

    class ExpectColumnSumToMatchTotal(ExpectSynthPipelineRuleToHold):
        """The total column equals the sum of the part columns within the rule's tolerance."""

    class ExpectConditionalRuleToHold(ExpectSynthPipelineRuleToHold):
        """Rows that meet the ``if`` conditions also meet the ``then`` conditions."""

    class ExpectColumnPairInequalityWithTolerance(ExpectSynthPipelineRuleToHold):
        """``left op right`` holds up to the rule's tolerance (rows with a missing side are skipped)."""

    _CUSTOM.update(
        {
            "dependency": ExpectColumnValuesToFollowDependency,
            "sum": ExpectColumnSumToMatchTotal,
            "conditional": ExpectConditionalRuleToHold,
            "inequality": ExpectColumnPairInequalityWithTolerance,
        }
    )
    return gx


def _bound(value: Any, column_is_datetime: bool) -> Any:
    if value is None:
        return None
    if column_is_datetime:
        return pd.Timestamp(value).to_pydatetime()
    return float(value)


def build_expectations(rules: RuleSet | Any, columns: list[str] | None = None,
                       datetime_columns: set[str] | None = None) -> list[Any]:
    """One GX expectation per rule, each carrying ``meta`` = {rule index, label, type, blocking}.

    ``columns`` (the table's columns) lets a conditional on a single column borrow a second
    column, which GX's multicolumn expectations require; ``datetime_columns`` turns range
    bounds into datetimes.
    """
    gx = _gx()
    ruleset = rules if isinstance(rules, RuleSet) else RuleSet(parse_rules(rules))
    datetime_columns = datetime_columns or set()
    custom = _CUSTOM
    ex = gx.expectations
    out = []
    for index, rule in enumerate(ruleset):
        meta = {"rule_index": index, "rule": rule.label, "type": rule.type, "blocking": rule.blocking}
        expectation = _expectation(rule, ex, custom, columns, datetime_columns, meta)
        out.append(expectation)
    return out


def _expectation(rule: Rule, ex: Any, custom: dict[str, Any], columns: list[str] | None,
                 datetime_columns: set[str], meta: dict[str, Any]) -> Any:
    if isinstance(rule, RangeRule):
        is_dt = rule.column in datetime_columns
        return ex.ExpectColumnValuesToBeBetween(
            column=rule.column, min_value=_bound(rule.min, is_dt), max_value=_bound(rule.max, is_dt),
            strict_min=not rule.min_inclusive, strict_max=not rule.max_inclusive, meta=meta,
        )
    if isinstance(rule, NotNullRule):
        return ex.ExpectColumnValuesToNotBeNull(column=rule.column, meta=meta)
    if isinstance(rule, UniqueRule):
        return ex.ExpectColumnValuesToBeUnique(column=rule.column, meta=meta)
    if isinstance(rule, AllowedValuesRule):
        return ex.ExpectColumnValuesToBeInSet(column=rule.column, value_set=[v for v in rule.values if v is not None],
                                              meta=meta)
    if isinstance(rule, RegexRule):
        return ex.ExpectColumnValuesToMatchRegex(column=rule.column, regex=rule.pattern, meta=meta)
    if isinstance(rule, InequalityRule) and rule.tolerance == 0:
        return ex.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A=rule.high, column_B=rule.low, or_equal=not rule.strict,
            ignore_row_if="either_value_is_missing", meta=meta,
        )
    if isinstance(rule, (DependencyRule, SumRule, ConditionalRule, InequalityRule)):
        column_list = rule.columns()
        if len(column_list) < 2:
            others = [c for c in (columns or []) if c not in column_list]
            if not others:
                raise ConfigError(f"rule {rule.describe()!r}: Great Expectations needs a second column in the table")
            column_list = [*column_list, others[0]]
        return custom[rule.type](column_list=column_list, rule=json.dumps(rule.to_dict()), meta=meta)
    raise ConfigError(f"no Great Expectations expectation for rule type {rule.type!r}")  # pragma: no cover


def build_suite(rules: RuleSet | Any, *, name: str = SUITE_NAME, columns: list[str] | None = None,
                datetime_columns: set[str] | None = None) -> Any:
    """A GX ``ExpectationSuite`` with one expectation per rule (see :func:`build_expectations`)."""
    gx = _gx()
    return gx.ExpectationSuite(name=name, expectations=build_expectations(rules, columns, datetime_columns))


def _context() -> Any:
    gx = _gx()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def validate_rules(data: pd.DataFrame, rules: RuleSet | Any) -> list[RuleResult]:
    """Validate ``data`` against ``rules`` with Great Expectations; one result per rule, in rule order.

    ``success_share`` is GX's share of expected values among the rows it checked
    (``1 - unexpected_percent / 100``; missing cells are not checked by column
    expectations).

    >>> results = validate_rules(synthetic, RuleSet.from_yaml("rules.yaml"))  # doctest: +SKIP
    >>> [(r.rule, r.success_share) for r in results]  # doctest: +SKIP
    """
    ruleset = rules if isinstance(rules, RuleSet) else RuleSet(parse_rules(rules))
    if not len(ruleset):
        return []
    missing = [c for c in ruleset.columns() if c not in data.columns]
    if missing:
        raise ConfigError(f"rules name column(s) {', '.join(map(repr, missing))} that the table lacks")
    data = _dates_for_date_bounds(data, ruleset)
    context = _context()
    datetime_columns = {str(c) for c in data.columns if pd.api.types.is_datetime64_any_dtype(data[c].dtype)}
    suite = context.suites.add(build_suite(ruleset, columns=[str(c) for c in data.columns],
                                           datetime_columns=datetime_columns))
    source = context.data_sources.add_pandas("synth_pipeline")
    batch_definition = source.add_dataframe_asset("table").add_batch_definition_whole_dataframe("whole table")
    batch = batch_definition.get_batch(batch_parameters={"dataframe": data.reset_index(drop=True)})
    validation = batch.validate(suite, result_format={"result_format": "SUMMARY", "partial_unexpected_count": 3})
    results: list[RuleResult | None] = [None] * len(ruleset)
    for item in validation.results:
        config = item.expectation_config
        meta = config.meta or {}
        index = int(meta["rule_index"])
        if item.exception_info and item.exception_info.get("raised_exception"):
            raise ConfigError(
                f"Great Expectations could not check rule {ruleset[index].describe()!r}: "
                f"{item.exception_info.get('exception_message')}"
            )
        result = item.result or {}
        checked = int(result.get("element_count", len(data))) - int(result.get("missing_count", 0) or 0)
        unexpected = int(result.get("unexpected_count", 0) or 0)
        percent = result.get("unexpected_percent")
        share = 1.0 - float(percent) / 100 if percent is not None else (1.0 - unexpected / checked if checked else 1.0)
        results[index] = RuleResult(
            rule=meta["rule"],
            type=meta["type"],
            expectation=config.type,
            blocking=bool(meta["blocking"]),
            rows_checked=checked,
            violations=unexpected,
            success_share=share,
            examples=[_plain(v) for v in (result.get("partial_unexpected_list") or [])[:3]],
        )
    return [r for r in results if r is not None]


def _dates_for_date_bounds(data: pd.DataFrame, rules: RuleSet) -> pd.DataFrame:
    """Parse text columns that a range compares with dates (a CSV keeps dates as text)."""
    out = data
    for rule in rules:
        if not isinstance(rule, RangeRule) or pd.api.types.is_datetime64_any_dtype(data[rule.column].dtype):
            continue
        bounds = [b for b in (rule.min, rule.max) if b is not None]
        if any(isinstance(b, str) and not _is_number(b) or isinstance(b, (date, datetime)) for b in bounds):
            out = out.copy() if out is data else out
            out[rule.column] = pd.to_datetime(out[rule.column], errors="coerce", format="mixed")
    return out


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _plain(value: Any) -> Any:
    """JSON-able form of an offending value GX reports."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (pd.Timestamp, datetime, date)):
        return value.isoformat()
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, np.generic):
        return _plain(value.item())
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)


__all__ = ["SUITE_NAME", "build_expectations", "build_suite", "validate_rules"]
