"""Rules as a Great Expectations (1.x) suite, and validation of a table against it.

Each rule kind says which expectation it becomes (its ``expectation`` method):
GX's built-ins where GX has one (ranges, not-null, unique, allowed values, regex,
column-pair inequalities without tolerance); every other kind becomes a custom
expectation, a subclass of GX's ``MulticolumnMapExpectation`` backed by one custom
metric that evaluates the rule row by row with the same code the generator
enforces (``rule.check``), so nothing is silently skipped:

* ``ExpectColumnValuesToFollowDependency`` (dependencies, with or without a mapping),
* ``ExpectColumnSumToMatchTotal`` (sums),
* ``ExpectConditionalRuleToHold`` (conditionals),
* ``ExpectColumnPairInequalityWithTolerance`` (inequalities with a tolerance),
* ``Expect<Kind>RuleToHold`` for a kind that names no class of its own.

Great Expectations is imported inside the functions (it costs ~3 s), with its
analytics off, an ephemeral context (no files), and progress bars off.
"""

from __future__ import annotations

import functools
import json
import logging
import os
from dataclasses import dataclass
from typing import Any

import pandas as pd

from synth_pipeline.columns import json_value
from synth_pipeline.constraints.rules import BaseRule, RuleResult, RuleSet, parse_rules
from synth_pipeline.errors import ConfigError

RULE_METRIC = "multicolumn_values.synth_pipeline_rule_holds"
SUITE_NAME = "synth_pipeline_rules"


@functools.cache
def _gx() -> tuple[Any, type]:
    """Import GX once, quietly, and register the custom metric; returns GX and the custom expectations' base."""
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

    return gx, ExpectSynthPipelineRuleToHold


@functools.cache
def _custom_class(name: str, doc: str) -> type:
    """The custom expectation class ``name`` (made once: GX registers each class by its name)."""
    _, base = _gx()
    return type(name, (base,), {"__doc__": doc, "__module__": __name__})


@dataclass
class _Factory:
    """What a rule's ``expectation`` method is given (see :class:`.rules.base.ExpectationFactory`)."""

    gx: Any
    meta: dict[str, Any]
    columns: list[str]
    datetime_columns: set[str]

    def is_datetime(self, column: str) -> bool:
        return column in self.datetime_columns

    def custom(self, rule: BaseRule) -> Any:
        column_list = rule.columns()
        if len(column_list) < 2:  # GX's multicolumn expectations need two: borrow one from the table
            others = [c for c in self.columns if c not in column_list]
            if not others:
                raise ConfigError(f"rule {rule.describe()!r}: Great Expectations needs a second column in the table")
            column_list = [*column_list, others[0]]
        kind = str(rule.type)  # type: ignore[attr-defined]
        name, doc = rule.custom_expectation or (
            "Expect" + kind.title().replace("_", "") + "RuleToHold", f"Every row satisfies the {kind} rule."
        )
        return _custom_class(name, doc)(column_list=column_list, rule=json.dumps(rule.to_dict()), meta=self.meta)


def build_expectations(rules: RuleSet | Any, columns: list[str] | None = None,
                       datetime_columns: set[str] | None = None) -> list[Any]:
    """One GX expectation per rule, each carrying ``meta`` = {rule index, label, type, blocking}.

    ``columns`` (the table's columns) lets a rule on a single column borrow a second
    column, which GX's multicolumn expectations require; ``datetime_columns`` turns range
    bounds into datetimes.
    """
    gx, _ = _gx()
    ruleset = rules if isinstance(rules, RuleSet) else RuleSet(parse_rules(rules))
    out = []
    for index, rule in enumerate(ruleset):
        meta = {"rule_index": index, "rule": rule.label, "type": rule.type, "blocking": rule.blocking}  # type: ignore[attr-defined]
        out.append(rule.expectation(_Factory(gx.expectations, meta, columns or [], datetime_columns or set())))
    return out


def build_suite(rules: RuleSet | Any, *, name: str = SUITE_NAME, columns: list[str] | None = None,
                datetime_columns: set[str] | None = None) -> Any:
    """A GX ``ExpectationSuite`` with one expectation per rule (see :func:`build_expectations`)."""
    gx, _ = _gx()
    return gx.ExpectationSuite(name=name, expectations=build_expectations(rules, columns, datetime_columns))


def _context() -> Any:
    gx, _ = _gx()
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
        index = int((item.expectation_config.meta or {})["rule_index"])
        if item.exception_info and item.exception_info.get("raised_exception"):
            raise ConfigError(
                f"Great Expectations could not check rule {ruleset[index].describe()!r}: "
                f"{item.exception_info.get('exception_message')}"
            )
        results[index] = _result(item, len(data))
    return [r for r in results if r is not None]


def _result(item: Any, n_rows: int) -> RuleResult:
    """One GX expectation result as a :class:`RuleResult`."""
    config = item.expectation_config
    meta = config.meta or {}
    result = item.result or {}
    checked = int(result.get("element_count", n_rows)) - int(result.get("missing_count", 0) or 0)
    unexpected = int(result.get("unexpected_count", 0) or 0)
    percent = result.get("unexpected_percent")
    share = 1.0 - float(percent) / 100 if percent is not None else (1.0 - unexpected / checked if checked else 1.0)
    return RuleResult(
        rule=meta["rule"],
        type=meta["type"],
        expectation=config.type,
        blocking=bool(meta["blocking"]),
        rows_checked=checked,
        violations=unexpected,
        success_share=share,
        examples=[_example(v) for v in (result.get("partial_unexpected_list") or [])[:3]],
    )


def _example(value: Any) -> Any:
    """JSON-able form of an offending value GX reports (text for what JSON cannot hold)."""
    try:
        return json_value(value)
    except TypeError:
        return str(value)


def _dates_for_date_bounds(data: pd.DataFrame, rules: RuleSet) -> pd.DataFrame:
    """Parse text columns that a rule compares with dates (a CSV keeps dates as text)."""
    out = data
    for rule in rules:
        for column in rule.date_columns():
            if not pd.api.types.is_datetime64_any_dtype(out[column].dtype):
                out = out.copy() if out is data else out
                out[column] = pd.to_datetime(out[column], errors="coerce", format="mixed")
    return out


__all__ = ["SUITE_NAME", "build_expectations", "build_suite", "validate_rules"]
