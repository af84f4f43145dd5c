"""Singling out and linkability, as Anonymeter defines them (Giomi et al. 2023, the methods regulators cite).

Both attacks are run against training rows and, as the control, against as many holdout rows; the risk is
Anonymeter's residual success ``(rate_training - rate_control) / (1 - rate_control)``: the part of the
attacker's success that comes from the training rows having been used, not from knowing the population.

**Singling out** (Anonymeter's univariate mode). From the synthetic table alone the attacker writes
predicates that match exactly one synthetic row: ``column is missing`` when exactly one value is,
``column <= its minimum`` and ``column >= its maximum`` for numbers and datetimes, and ``column == value``
for every value seen exactly once; shuffled, at most ``n_attacks`` of them. A predicate succeeds when it
matches exactly one row of the attacked table. Rate: successes / ``n_attacks``.

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
    predicates = singling_out_predicates(tables["synthetic"], kinds, n_attacks, rng)
    rates = []
    for name in ("members", "holdout"):
        count = _Counter(tables[name].iloc[:n], kinds)
        rates.append(sum(count(p) == 1 for p in predicates) / n_attacks)
    return rates[0], rates[1], len(predicates)


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
    rates = []
    for name in ("members", "holdout"):
        first, second = (first_closest(encoded[name][:n, dims], encoded["synthetic"][:, dims]) for dims in halves)
        rates.append(float(np.mean(first == second)))
    return rates[0], rates[1]
