"""Rules against a schema and a training table, before anything is fitted.

:func:`check_rules` refuses rules that cannot hold (unknown columns, kinds a rule
cannot take, rules that contradict each other); :func:`source_violations` lists the
rules the training table itself breaks (generation still honours them). Each rule
kind says what it needs (``check_kinds``) and what it allows (``bounds``,
``check_bounds``, ``ordering``); this module only combines the answers.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from synth_pipeline.columns import did_you_mean
from synth_pipeline.constraints.rules import BaseRule
from synth_pipeline.constraints.rules.base import OrderEdge
from synth_pipeline.errors import ConfigError
from synth_pipeline.schema import Schema


def check_rules(rules: Iterable[BaseRule], schema: Schema) -> None:
    """Refuse rules that cannot hold for this schema: unknown columns, kind mismatches, contradictions.

    Raises :class:`ConfigError` naming the rule.
    """
    rules = list(rules)
    for number, rule in enumerate(rules, start=1):
        where = f"rule {number} ({rule.describe()})"
        for name in rule.columns():
            if name not in schema:
                raise ConfigError(
                    f"{where} names column {name!r}, which the table lacks{did_you_mean(name, schema.names)}; "
                    f"its columns are: {', '.join(schema.names)}"
                )
        rule.check_kinds(schema, where)
    check_contradictions(rules)


def check_contradictions(rules: list[BaseRule]) -> None:
    """Refuse rules that cannot hold together: disjoint bounds, a rule outside them, a strict order cycle."""
    bounds: dict[str, tuple[float, float]] = {}
    for rule in rules:
        for column, (new_low, new_high) in rule.bounds().items():
            low, high = bounds.get(column, (-np.inf, np.inf))
            low, high = max(low, new_low), min(high, new_high)
            if low > high:
                raise ConfigError(f"contradictory rules: the ranges declared for {column!r} do not overlap")
            bounds[column] = (low, high)
    for rule in rules:
        rule.check_bounds(bounds)
    _check_order_cycles([edge for rule in rules if (edge := rule.ordering()) is not None and edge.tolerance == 0])


def _check_order_cycles(edges: list[OrderEdge]) -> None:
    """A strict step on a cycle of orderings (a < b, b <= c, c <= a) can never hold."""
    above: dict[str, list[tuple[str, bool]]] = {}
    for edge in edges:
        above.setdefault(edge.low, []).append((edge.high, edge.strict))
    for start in above:
        stack = [(start, False, [start])]
        while stack:
            node, strict, path = stack.pop()
            for nxt, edge_strict in above.get(node, []):
                if nxt == start and (strict or edge_strict):
                    raise ConfigError(f"contradictory rules: the inequalities {' -> '.join(path + [start])} form a "
                                      "cycle with a strict step")
                if nxt not in path:
                    stack.append((nxt, strict or edge_strict, path + [nxt]))


def source_violations(rules: Iterable[BaseRule], training: pd.DataFrame) -> list[tuple[BaseRule, int, float]]:
    """Rules the training table violates: (rule, violating rows, share of the rows the rule applies to)."""
    out = []
    for rule in rules:
        applies, violated = rule.check(training)
        if violated.any():
            out.append((rule, int(violated.sum()), float(violated.sum() / max(applies.sum(), 1))))
    return out


__all__ = ["check_contradictions", "check_rules", "source_violations"]
