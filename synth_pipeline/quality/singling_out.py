"""Singling out and linkability, as Anonymeter defines them (Giomi et al. 2023, the methods regulators cite).

Both attacks are run against training rows and, as the control, against as many holdout rows; the risk is
Anonymeter's residual success ``(rate_training - rate_control) / (1 - rate_control)``: the part of the
attacker's success that comes from the training rows having been used, not from knowing the population.

**Singling out**, both of Anonymeter's modes. As in Anonymeter, every table is first reduced to its
distinct rows. A predicate succeeds when it matches exactly one row of the attacked table; rate:
successes / ``n_attacks`` (the number asked for, even when the synthetic table yields fewer predicates).

* *Univariate*: from the synthetic table alone the attacker writes predicates that match exactly one
  synthetic row: ``column is missing`` when exactly one value is, ``column <= its minimum`` and
  ``column >= its maximum`` for numbers and datetimes, and ``column == value`` for every value seen exactly
  once; shuffled, at most ``n_attacks`` of them.
* *Multivariate* (Anonymeter's default, ``n_cols=3``): the attacker picks a random synthetic row and 3
  random columns (all when fewer), and writes the conjunction of one condition per column from that row's values:
  ``is missing`` for a missing value, ``== value`` for labels, and for numbers and datetimes ``>= value``
  when the value lies above the column's synthetic median, else ``<= value`` (toward the extreme: more
  likely to single out). A conjunction that matches exactly one synthetic row, and was not found before,
  is kept, until ``MULTIVARIATE_ATTACKS`` (500, Anonymeter's default) are found or ``MULTIVARIATE_ATTEMPTS``
  conjunctions have been tried (Anonymeter's own cap is 10 million; census yields about one in 300, so the
  cap bounds the cost at about a second of CPU, and a table that yields fewer reads a lower rate, as in Anonymeter).
  Exact: a random sample of rows rejects most conjunctions cheaply (a second matching row is proof), the
  rest are counted on the rows their most selective condition holds on. One difference: Anonymeter
  compares datetimes as text (``==``), here they are ordered like numbers.

**Linkability.** The attacker holds two tables of the same people, each with half of the columns (the
columns in table order, split in the middle), and links the rows whose halves have the same closest
synthetic row (Anonymeter's ``n_neighbors=1``; among equally close synthetic rows the first counts).
Rate: share of attacked rows linked. Distances are those of :mod:`synth_pipeline.quality.privacy`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synth_pipeline.columns import ORDERED_KINDS, ColumnKind
from synth_pipeline.profile import column_values
from synth_pipeline.quality.privacy import closest_rows, distinct_rows

SINGLING_OUT_ATTACKS = 2_000
MULTIVARIATE_COLUMNS = 3
MULTIVARIATE_ATTACKS = 500  # Anonymeter's default n_attacks
MULTIVARIATE_ATTEMPTS = 100_000
_ATTEMPT_BATCH = 2_000
_BATCH_ELEMENTS = 1 << 22
_SCREENS = (64, 1024)
_LARGEST = float(np.finfo(np.float64).max)


def residual_risk(rate: float, control: float) -> float:
    """Anonymeter's risk: the success beyond the control's, over the control's room for success."""
    return 0.0 if control >= 1.0 else (rate - control) / (1.0 - control)


class _Counter:
    """How many rows of one table a predicate matches, from each column's sorted values and value counts."""

    def __init__(self, table: pd.DataFrame, kinds: dict[str, ColumnKind]) -> None:
        self.missing: dict[str, int] = {}
        self.sorted: dict[str, np.ndarray] = {}
        self.counts: dict[str, dict[object, int]] = {}
        for column, kind in kinds.items():
            values = pd.Series(column_values(table[column], kind), dtype=np.float64 if kind in ORDERED_KINDS else None)
            present = values[values.notna()]
            self.missing[column] = int(len(values) - len(present))
            if kind in ORDERED_KINDS:
                self.sorted[column] = np.sort(present.to_numpy(dtype=np.float64))
            self.counts[column] = present.value_counts().to_dict()

    def __call__(self, predicate: tuple[str, str, object]) -> int:
        column, operator, value = predicate
        if operator == "missing":
            return self.missing[column]
        if operator == "==":
            return self.counts[column].get(value, 0)
        x = self.sorted[column]
        return int(np.searchsorted(x, value, side="right")) if operator == "<=" else int(
            len(x) - np.searchsorted(x, value, side="left"))


def singling_out_predicates(
    synthetic: pd.DataFrame, kinds: dict[str, ColumnKind], n_attacks: int, rng: np.random.Generator
) -> list[tuple[str, str, object]]:
    """Predicates ``(column, operator, value)`` that each match exactly one synthetic row (at most ``n_attacks``)."""
    count = _Counter(synthetic, kinds)
    candidates: list[tuple[str, str, object]] = []
    for column in kinds:
        if count.missing[column] == 1:
            candidates.append((column, "missing", None))
        values = count.sorted.get(column)
        if values is not None and len(values):
            candidates += [(column, "<=", float(values[0])), (column, ">=", float(values[-1]))]
        candidates += [(column, "==", value) for value, k in count.counts[column].items() if k == 1]
    chosen = [candidates[k] for k in rng.permutation(len(candidates)) if count(candidates[k]) == 1]
    return chosen[:n_attacks]


def singling_out(
    tables: dict[str, pd.DataFrame], kinds: dict[str, ColumnKind], n: int, rng: np.random.Generator,
    n_attacks: int = SINGLING_OUT_ATTACKS,
) -> tuple[float, float, int]:
    """Success rates of the univariate singling-out attack on ``n`` members and ``n`` non-members, and its size."""
    columns = list(kinds)
    predicates = singling_out_predicates(tables["synthetic"][columns].drop_duplicates(), kinds, n_attacks, rng)
    rates = []
    for name in ("members", "holdout"):
        count = _Counter(tables[name][columns].iloc[:n].drop_duplicates(), kinds)
        rates.append(sum(count(p) == 1 for p in predicates) / n_attacks)
    return rates[0], rates[1], len(predicates)


def multivariate_singling_out(
    tables: dict[str, pd.DataFrame], kinds: dict[str, ColumnKind], n: int, rng: np.random.Generator,
    n_attacks: int = MULTIVARIATE_ATTACKS, n_cols: int = MULTIVARIATE_COLUMNS,
    max_attempts: int = MULTIVARIATE_ATTEMPTS,
) -> tuple[float, float, int]:
    """Success rates of the multivariate attack on ``n`` members and ``n`` non-members, and its predicates found."""
    matrices = _value_matrices({"synthetic": tables["synthetic"], "members": tables["members"].iloc[:n],
                                "holdout": tables["holdout"].iloc[:n]}, kinds)
    distinct = {name: distinct_rows(x)[0] if len(x) else x for name, x in matrices.items()}
    ordered = np.array([kind in ORDERED_KINDS for kind in kinds.values()])
    queries = multivariate_queries(distinct["synthetic"], ordered, n_attacks, min(n_cols, len(kinds)), rng,
                                   max_attempts)
    rates = [float(np.sum(_matches(_Index(distinct[name]), queries) == 1)) / n_attacks
             for name in ("members", "holdout")]
    return rates[0], rates[1], len(queries[0])


def multivariate_queries(
    synthetic: np.ndarray, ordered: np.ndarray, n_attacks: int, n_cols: int, rng: np.random.Generator,
    max_attempts: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct conjunctions ``(columns, low, high)`` matching exactly one row of ``synthetic`` (distinct rows).

    A conjunction holds when ``low <= value <= high`` in each of its columns (missing is +inf).
    """
    n_rows, n_columns = synthetic.shape
    with np.errstate(all="ignore"):
        medians = np.array([np.median(c[~np.isinf(c)]) if (~np.isinf(c)).any() else np.nan for c in synthetic.T])
    found: dict[bytes, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    index = _Index(synthetic)
    attempts = 0
    while n_rows and len(found) < n_attacks and attempts < max_attempts:
        size = min(_ATTEMPT_BATCH, max_attempts - attempts)
        attempts += size
        anchors = rng.integers(0, n_rows, size)
        columns = np.sort(np.argsort(rng.random((size, n_columns)), axis=1)[:, :n_cols], axis=1)
        values = synthetic[anchors[:, None], columns]
        above = ordered[columns] & (values > medians[columns])
        below = ordered[columns] & ~above & ~np.isinf(values)
        low = np.where(below, -_LARGEST, values)
        high = np.where(above, _LARGEST, values)
        for i in _singles(index, anchors, (columns, low, high), rng):
            key = columns[i].tobytes() + low[i].tobytes() + high[i].tobytes()
            found.setdefault(key, (columns[i], low[i], high[i]))
            if len(found) == n_attacks:
                break
    if not found:
        return np.empty((0, n_cols), dtype=np.int64), np.empty((0, n_cols)), np.empty((0, n_cols))
    return tuple(np.array(part) for part in zip(*found.values(), strict=True))  # type: ignore[return-value]


def _singles(x: _Index, anchors: np.ndarray, queries: tuple[np.ndarray, ...], rng: np.random.Generator) -> np.ndarray:
    """Indices of the queries (each true on its anchor row) true on no other row of ``x``.

    Most queries hold on many rows: a random sample of rows rejects them at a fraction of a full count (a hit
    on another row is proof); the survivors are counted on every row. Exact: the sample only rejects.
    """
    alive = np.arange(len(anchors))
    for size in _SCREENS:
        if size < len(x.values) and len(alive):
            sample = rng.choice(len(x.values), size, replace=False)
            hits = _matches(_Index(x.values[sample]), tuple(part[alive] for part in queries))
            alive = alive[hits == np.isin(anchors[alive], sample)]
    return alive[_matches(x, tuple(part[alive] for part in queries)) == 1]


class _Index:
    """A table's rows and, per column, the row order that sorts it (a condition's rows are one run of it)."""

    def __init__(self, values: np.ndarray) -> None:
        self.values = values
        self.order = np.argsort(values, axis=0, kind="stable")
        self.sorted = np.take_along_axis(values, self.order, axis=0)


def _matches(x: _Index, queries: tuple[np.ndarray, ...]) -> np.ndarray:
    """How many rows of ``x`` each conjunction ``(columns, low, high)`` holds on.

    Exact, and checked only on the rows its most selective condition holds on (one run of that column's order).
    """
    columns, low, high = queries
    start, stop = np.empty(columns.shape, dtype=np.int64), np.empty(columns.shape, dtype=np.int64)
    for c in np.unique(columns):
        at = columns == c
        start[at] = np.searchsorted(x.sorted[:, c], low[at], side="left")
        stop[at] = np.searchsorted(x.sorted[:, c], high[at], side="right")
    best = (stop - start).argmin(axis=1)
    picked = np.arange(len(columns))
    first, length, column = start[picked, best], (stop - start)[picked, best], columns[picked, best]
    counts = np.zeros(len(columns), dtype=np.int64)
    ends = np.cumsum(length)
    begin = 0
    while begin < len(columns):  # chunks of about _BATCH_ELEMENTS candidate rows
        end = max(begin + 1, int(np.searchsorted(ends, ends[begin] - length[begin] + _BATCH_ELEMENTS, "right")))
        n = length[begin:end]
        query = np.repeat(np.arange(begin, end), n)
        position = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n) + np.repeat(first[begin:end], n)
        rows = x.order[position, column[query]]
        holds = np.ones(len(rows), dtype=bool)
        for k in range(columns.shape[1]):
            cells = x.values[rows, columns[query, k]]
            holds &= (cells >= low[query, k]) & (cells <= high[query, k])
        counts[begin:end] = np.bincount(query - begin, weights=holds, minlength=end - begin).astype(np.int64)
        begin = end
    return counts


def _value_matrices(tables: dict[str, pd.DataFrame], kinds: dict[str, ColumnKind]) -> dict[str, np.ndarray]:
    """Every table as one float matrix: numbers as themselves, labels as codes of one vocabulary; missing +inf."""
    parts: dict[str, list[np.ndarray]] = {name: [] for name in tables}
    for column, kind in kinds.items():
        values = {name: column_values(t[column], kind) for name, t in tables.items()}
        if kind not in ORDERED_KINDS:
            vocabulary = np.unique(np.concatenate([v[~pd.isna(v)] for v in values.values()]).astype(str))
            values = {name: _codes(v, vocabulary) for name, v in values.items()}
        for name in tables:
            x = np.asarray(values[name], dtype=np.float64)
            parts[name].append(np.where(np.isnan(x), np.inf, np.clip(x, -_LARGEST, _LARGEST)))
    return {name: np.column_stack(p) if p else np.empty((len(tables[name]), 0)) for name, p in parts.items()}


def _codes(labels: np.ndarray, vocabulary: np.ndarray) -> np.ndarray:
    missing = pd.isna(labels)
    codes = np.searchsorted(vocabulary, np.where(missing, "", labels).astype(str)).astype(np.float64)
    codes[missing] = np.nan
    return codes


def first_closest(query: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Index of every query row's closest reference row; among equally close ones the first."""
    distinct_reference, inverse = distinct_rows(reference)
    first = np.full(len(distinct_reference), len(reference))
    np.minimum.at(first, inverse, np.arange(len(reference)))
    distinct_query, query_inverse = distinct_rows(query)
    rows, cols = closest_rows(distinct_query, distinct_reference)
    best = np.full(len(distinct_query), len(reference))
    np.minimum.at(best, rows, first[cols])
    return best[query_inverse]


def linkability(encoded: dict[str, np.ndarray], halves: tuple[np.ndarray, np.ndarray], n: int) -> tuple[float, float]:
    """Share of ``n`` members and of ``n`` non-members whose two column halves link through one synthetic row."""
    queries = np.vstack([encoded["members"][:n], encoded["holdout"][:n]])  # members and control in one search
    first, second = (first_closest(queries[:, dims], encoded["synthetic"][:, dims]) for dims in halves)
    linked = first == second
    return float(np.mean(linked[:n])), float(np.mean(linked[n:]))
