"""Propose rules that hold exactly in a table, for a person to review.

:func:`infer_rules` looks for

* ranges of numeric and datetime columns: the observed minimum and maximum rounded outward
  (:func:`protected_range`), so no rule text holds a real extreme,
* not-null columns and unique id-like columns,
* dependencies between low-cardinality columns (``education <-> education_num``
  as one one-to-one rule; many-to-one ``zip -> city``), without transitive repeats,
* orderings that always hold between numeric (or datetime) columns, leaving out
  those the ranges already imply,
* sums that always hold (``total = a + b`` or ``a + b + c``), searched on a small
  row sample first so 50 columns stay fast.

Every search is bounded (cardinality, pairs, combinations); see the keyword
arguments.

>>> import pandas as pd
>>> table = pd.DataFrame({"a": [1, 2, 3] * 10, "b": [2, 4, 6] * 10})
>>> [r.describe() for r in infer_rules(table, ranges=False, not_null=False, max_mapping_values=0)]
['a <-> b', 'a < b']
"""

from __future__ import annotations

import itertools
import logging
import time
from typing import Any

import numpy as np
import pandas as pd

from synth_pipeline.columns import NUMBER_KINDS, ORDERED_KINDS, UNTABULATED_KINDS, ColumnKind, json_value, to_numbers
from synth_pipeline.constraints.rules import (
    BaseRule,
    DependencyRule,
    InequalityRule,
    NotNullRule,
    RangeRule,
    RuleSet,
    SumRule,
    UniqueRule,
    value_key,
)
from synth_pipeline.protection import MIN_COUNT, grid_unit, off_rare, rare_values, snap
from synth_pipeline.schema import Schema, apply_schema, infer_schema

log = logging.getLogger(__name__)


def infer_rules(
    data: pd.DataFrame,
    schema: Schema | None = None,
    *,
    ranges: bool = True,
    not_null: bool = True,
    unique: bool = True,
    dependencies: bool = True,
    orderings: bool = True,
    sums: bool = True,
    max_cardinality: int = 64,
    min_rows_per_value: int = 10,
    max_dependency_columns: int = 60,
    max_order_columns: int = 40,
    max_sum_columns: int = 40,
    max_sum_parts: int = 3,
    max_mapping_values: int = 30,
    blocking: bool = True,
) -> RuleSet:
    """Rules that every row of ``data`` satisfies.

    ``max_cardinality``: columns with more distinct values take no part in
    dependencies; a dependency also needs ``min_rows_per_value`` rows per
    determinant value on average (so small tables do not yield chance
    dependencies). The ``max_*_columns`` caps bound the pair and combination
    searches. Dependencies list their value pairs (``mapping``) when the
    determinant has at most ``max_mapping_values`` values. ``blocking`` is set
    on every proposed rule.
    """
    started = time.perf_counter()
    schema = schema or infer_schema(data, what="table")
    table = apply_schema(data, schema, what="table").reset_index(drop=True)
    kinds = {c.name: c.kind for c in schema.columns}
    found = _column_rules(table, schema, ranges=ranges, not_null=not_null, unique=unique, blocking=blocking)
    if dependencies:
        found += _dependencies(table, kinds, max_cardinality, min_rows_per_value, max_dependency_columns, blocking,
                               max_mapping_values)
    sum_rules = _sums(table, kinds, max_sum_columns, max_sum_parts, blocking) if sums else []
    if orderings:
        # part <= total is implied by a sum whose other parts are never negative: leave it out
        implied = set()
        for rule in sum_rules:
            for part in rule.parts:
                others = [p for p in rule.parts if p != part]
                if all(table[p].min() >= 0 for p in others):
                    implied.add((part, rule.total))
        found += [r for r in _orderings(table, kinds, max_order_columns, blocking)
                  if (r.low, r.high) not in implied]
    found += sum_rules
    log.info("inferred %d rules from %d rows x %d columns in %.2f s", len(found), len(table), table.shape[1],
             time.perf_counter() - started)
    return RuleSet(found)


def _column_rules(table: pd.DataFrame, schema: Schema, *, ranges: bool, not_null: bool, unique: bool,
                  blocking: bool) -> list[BaseRule]:
    """Unique ids, not-null columns and observed ranges."""
    found: list[BaseRule] = []
    for column in schema.columns:
        series = table[column.name]
        if column.kind is ColumnKind.ID:
            if unique and series.notna().all() and not series.duplicated().any():
                found.append(UniqueRule(column=column.name, blocking=blocking))
            continue
        if not_null and series.notna().all():
            found.append(NotNullRule(column=column.name, blocking=blocking))
        if ranges and column.kind in ORDERED_KINDS and series.notna().any():
            found.append(_range(column.name, column.kind, series, blocking))
    return found


def _range(name: str, kind: ColumnKind, series: pd.Series, blocking: bool) -> RangeRule:
    """The observed range rounded outward (:func:`protected_range`): no real minimum or maximum in the text."""
    low, high = protected_range(kind, series)
    if kind is ColumnKind.DATETIME:
        present = series.dropna()
        dates_only = bool((present.dt.normalize() == present).all())
        text = (lambda t: t.date().isoformat()) if dates_only else (lambda t: t.isoformat())
        return RangeRule(column=name, min=text(low), max=text(high), blocking=blocking)
    if kind is ColumnKind.INTEGER:
        return RangeRule(column=name, min=int(low), max=int(high), blocking=blocking)
    return RangeRule(column=name, min=float(low), max=float(high), blocking=blocking)


def protected_range(kind: ColumnKind, series: pd.Series) -> tuple[Any, Any]:
    """Bounds every value of ``series`` satisfies that are neither its real minimum or maximum nor a rare value.

    Numbers: the minimum and maximum rounded outward to one significant digit of the range
    (``17..90`` -> ``10..100``); datetimes: to the year, month or day (by the range), as timestamps.
    A bound that lands on the real extreme or on a value fewer than ``MIN_COUNT`` rows hold moves
    one more step outward. Every training row satisfies the bounds.
    """
    if kind is ColumnKind.DATETIME:
        return _date_range(series.dropna())
    x = np.sort(to_numbers(series))
    x = x[~np.isnan(x)]
    avoid = np.concatenate([rare_values(x, MIN_COUNT), x[[0, -1]]])
    unit = grid_unit(x[-1] - x[0], x[0], whole=kind is ColumnKind.INTEGER, digits=1)
    low = off_rare(snap(x[0], unit, "down"), unit, avoid, -1)
    high = off_rare(snap(x[-1], unit, "up"), unit, avoid, +1)
    return low, high


def _range_numbers(kind: ColumnKind, series: pd.Series) -> tuple[float, float]:
    """:func:`protected_range` as numbers (datetimes in seconds); a column with no value has no bound."""
    if series.notna().sum() == 0:
        return np.inf, -np.inf
    low, high = protected_range(kind, series)
    return tuple(float(v) for v in to_numbers(pd.Series([low, high])))


def _date_range(present: pd.Series) -> tuple[pd.Timestamp, pd.Timestamp]:
    low, high = pd.Timestamp(present.min()), pd.Timestamp(present.max())
    span = high - low
    freq = "Y" if span > pd.Timedelta(days=730) else "M" if span > pd.Timedelta(days=60) else "D"
    avoid = set(present.value_counts().pipe(lambda c: c[c < MIN_COUNT]).index) | {low, high}
    start = low.to_period(freq)
    while start.start_time in avoid:
        start -= 1
    end = high.to_period(freq) + 1
    while end.start_time in avoid:
        end += 1
    return start.start_time, end.start_time


def _mapping(table: pd.DataFrame, determinant: str, dependent: str, max_values: int) -> dict[str, Any] | None:
    """The determinant -> dependent pairs, when few enough for a person to read (missing and rare keys left out)."""
    present = table[[determinant, dependent]].dropna(subset=[determinant])
    pairs = present.drop_duplicates(determinant)
    if len(pairs) > max_values:
        return None
    # a value fewer than MIN_COUNT rows hold is never printed (nor sampled: the mapping needs no entry for it)
    counts = present[determinant].value_counts()
    pairs = pairs[pairs[determinant].map(counts).to_numpy() >= MIN_COUNT]
    if pairs.empty:
        return None
    out = {}
    for key, value in zip(pairs[determinant], pairs[dependent], strict=True):
        out[str(value_key(key))] = json_value(value)
    return dict(sorted(out.items(), key=lambda kv: (str(type(kv[1])), kv[1] if kv[1] is not None else "")))


def _dependencies(table: pd.DataFrame, kinds: dict[str, ColumnKind], max_cardinality: int,
                  min_rows_per_value: int, max_columns: int, blocking: bool, max_mapping_values: int) -> list[BaseRule]:
    n = len(table)
    codes: dict[str, np.ndarray] = {}
    sizes: dict[str, int] = {}
    for name, kind in kinds.items():
        if kind in UNTABULATED_KINDS:  # ids and free text determine nothing worth a rule
            continue
        values, uniques = pd.factorize(table[name], use_na_sentinel=False)
        if 1 < len(uniques) <= max_cardinality:
            codes[name], sizes[name] = values.astype(np.int64), len(uniques)
        if len(codes) >= max_columns:
            break
    names = list(codes)
    determines: dict[str, set[str]] = {c: set() for c in names}
    for a, b in itertools.combinations(names, 2):
        pairs = np.count_nonzero(np.bincount(codes[a] * sizes[b] + codes[b], minlength=sizes[a] * sizes[b]))
        if pairs == sizes[a] and n >= min_rows_per_value * sizes[a]:
            determines[a].add(b)
        if pairs == sizes[b] and n >= min_rows_per_value * sizes[b]:
            determines[b].add(a)
    # one-to-one groups: one representative (first in table order) stands for the group
    representative: dict[str, str] = {}
    rules: list[BaseRule] = []
    for a in names:
        if a in representative:
            continue
        representative[a] = a
        for b in names:
            if b != a and b not in representative and b in determines[a] and a in determines[b]:
                representative[b] = a
                rules.append(DependencyRule(determinant=a, dependent=b, one_to_one=True, blocking=blocking,
                                            mapping=_mapping(table, a, b, max_mapping_values)))
    heads = [c for c in names if representative[c] == c]
    edges = {a: {representative[b] for b in determines[a] if representative[b] != a} for a in heads}
    for a in heads:
        for b in sorted(edges[a], key=names.index):
            # leave out a -> b when a -> c -> b is already there
            if any(b in edges.get(c, set()) for c in edges[a] if c != b):
                continue
            rules.append(DependencyRule(determinant=a, dependent=b, blocking=blocking,
                                        mapping=_mapping(table, a, b, max_mapping_values)))
    return rules


def _orderings(table: pd.DataFrame, kinds: dict[str, ColumnKind], max_columns: int, blocking: bool) -> list[BaseRule]:
    rules: list[BaseRule] = []
    for family in (NUMBER_KINDS, {ColumnKind.DATETIME}):
        names = [c for c, k in kinds.items() if k in family][:max_columns]
        numbers = {c: to_numbers(table[c]) for c in names}
        ranges = {c: _range_numbers(kinds[c], table[c]) for c in names}
        for a, b in itertools.combinations(names, 2):
            x, y = numbers[a], numbers[b]
            both = ~np.isnan(x) & ~np.isnan(y)
            if both.sum() < 10:
                continue
            x, y = x[both], y[both]
            for low, high, lo_name, hi_name in ((x, y, a, b), (y, x, b, a)):
                if ranges[lo_name][1] <= ranges[hi_name][0]:
                    continue  # implied by the (rounded) ranges
                if (low < high).all():
                    rules.append(InequalityRule(left=lo_name, op="<", right=hi_name, blocking=blocking))
                elif (low <= high).all() and (low < high).any():
                    rules.append(InequalityRule(left=lo_name, op="<=", right=hi_name, blocking=blocking))
    return rules


def _sums(table: pd.DataFrame, kinds: dict[str, ColumnKind], max_columns: int, max_parts: int,
          blocking: bool) -> list[BaseRule]:
    names = []
    for c, k in kinds.items():
        if k in NUMBER_KINDS and table[c].notna().all() and table[c].nunique() > 1:
            names.append(c)
    names = names[:max_columns]
    if len(names) < 3 or len(table) < 10:
        return []
    matrix = np.column_stack([to_numbers(table[c]) for c in names])
    scale = np.abs(matrix).max(axis=0) + 1.0
    tolerance = 1e-9 * scale + 1e-9
    # candidates are screened on 64 rows at once for every total, then confirmed on all rows
    probe = matrix[np.random.default_rng(0).choice(len(matrix), min(64, len(matrix)), replace=False)]
    rules: list[BaseRule] = []
    used_totals: set[int] = set()
    for size in range(2, max_parts + 1):
        for parts in itertools.combinations(range(len(names)), size):
            partial = probe[:, parts].sum(axis=1)
            close = np.abs(probe - partial[:, None]).max(axis=0) <= tolerance
            for t in np.flatnonzero(close):
                t = int(t)
                if t in parts or t in used_totals:
                    continue
                if np.abs(matrix[:, t] - matrix[:, parts].sum(axis=1)).max() > tolerance[t]:
                    continue
                used_totals.add(t)
                rules.append(SumRule(total=names[t], parts=[names[p] for p in parts],
                                     tolerance=float(1e-6 * scale[t]), blocking=blocking))
    return rules


__all__ = ["infer_rules"]
