"""The Gaussian copula under ``privacy``: DP marginals, category orders and correlation matrix.

Everything the copula learns is a statistic, so the whole budget goes to them (see
:func:`synth_pipeline.generators.privacy_budget.split_budget` without SGD), split over the columns
(:mod:`synth_pipeline.dp_statistics`), the correlation weighing a third of the total and each category
order half a column (:func:`budget_weights`):

* categories and booleans: the DP vocabulary, their shares from the noisy counts;
* numbers and datetimes: discrete (the released exact values, when at most ``discrete_threshold``
  of them hold nine tenths of the noisy mass) or a quantile grid of DP quantiles between DP bounds;
  datetimes are whole days unless a noisy count of values off midnight says otherwise;
* missing shares: the noisy count of "missing" in the column's vocabulary over the (public) row count;
* the category orders (optimal scaling): one round, from noisy per-category sums of the other
  columns' latents (each row clipped to a fixed norm, :meth:`PrivateStatistics.group_sums`);
* the correlation: the rows' scores under those marginals, each row clipped to a fixed norm, their
  noisy sum of outer products (:meth:`PrivateStatistics.gram`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synth_pipeline.columns import ColumnKind, json_value, to_numbers
from synth_pipeline.dp_statistics import DATETIME_SHARES, NUMBER_SHARES, PrivateStatistics
from synth_pipeline.errors import InvalidDataError
from synth_pipeline.schema import Schema

#: the correlation's share of the budget is filed under this name (no column is called so)
CORRELATION_KEY = "<correlation of the columns>"
#: discrete numbers: the released values must hold at least this share of the noisy mass
_DISCRETE_MASS = 0.9


def private_marginal(
    series: pd.Series, kind: ColumnKind, statistics: PrivateStatistics, *, max_quantiles: int, discrete_threshold: int
) -> dict[str, Any]:
    """The fields of one column's copula marginal, learned through ``statistics``."""
    name = str(series.name)
    fields: dict[str, Any] = {"name": name, "kind": kind.value, "mode": "discrete"}
    if kind in (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN):
        keys = series.map(lambda v: v if pd.isna(v) else str(v))
        known = ["False", "True"] if kind is ColumnKind.BOOLEAN else None
        vocabulary = statistics.vocabulary(name, keys, known=known)
        ordered = sorted(vocabulary.counts.items(), key=lambda item: (-item[1], str(item[0])))
        fields.update(_discrete(name, [k for k, _ in ordered], [c for _, c in ordered]))
    else:
        datetime = kind is ColumnKind.DATETIME
        shares = DATETIME_SHARES if datetime else NUMBER_SHARES
        numbers = to_numbers(series)
        if datetime:
            present = series.dropna()
            off_midnight = int((present.dt.normalize() != present).sum())
            noisy, sigma = statistics.count(name, "time unit", off_midnight, share=shares["unit"])
            fields["day_resolution"] = bool(noisy < 1.0 + 3.0 * sigma)
        vocabulary = statistics.vocabulary(name, pd.Series(numbers, dtype=np.float64), share=shares["atoms"])
        fields.update(_number_marginal(name, numbers, vocabulary.counts, statistics, shares, max_quantiles,
                                       discrete_threshold, present_mass=len(series) - max(vocabulary.missing, 0.0)))
    if vocabulary.has_missing:
        fields["missing_share"] = float(np.clip(vocabulary.missing / max(len(series), 1), 1e-6, 1 - 1e-6))
    return fields


def _number_marginal(
    name: str,
    numbers: np.ndarray,
    counts: dict[Any, float],
    statistics: PrivateStatistics,
    shares: dict[str, float],
    max_quantiles: int,
    discrete_threshold: int,
    *,
    present_mass: float,
) -> dict[str, Any]:
    values = sorted(counts)
    mass = sum(max(counts[v], 0.0) for v in values)
    discrete = 0 < len(values) <= discrete_threshold and mass >= _DISCRETE_MASS * present_mass
    # point masses (a spike at 0) stay exact: released values heavier than a 64th of the rows
    atoms = [v for v in values if counts[v] >= present_mass / 64]
    present = numbers[~np.isnan(numbers)]
    rest = present[~np.isin(present, atoms)]
    # the grid is always made (and paid for), so whether a column is discrete costs nothing extra
    grid = statistics.number_grid(name, rest, n_quantiles=max_quantiles,
                                  shares=(shares["scale"], shares["quantiles"]))
    if discrete or (grid.empty and values):
        return _discrete(name, [json_value(v) for v in values], [counts[v] for v in values])
    if grid.empty:
        raise InvalidDataError(
            f"column {name!r}: too few rows for any of its values or its range to pass the noise of "
            f"privacy (statistics epsilon {statistics.epsilon:g}); raise privacy.epsilon, or drop the column"
        )
    atom_mass = np.array([counts[v] for v in atoms], dtype=np.float64)
    rest_mass = max(present_mass - float(atom_mass.sum()), 0.0)
    probabilities = np.linspace(0.0, 1.0, max_quantiles)
    return {"mode": "quantile", "probabilities": probabilities,
            "grid": _mixture_quantiles(np.asarray(atoms, dtype=np.float64), atom_mass, grid.quantiles, rest_mass,
                                       probabilities)}


def _mixture_quantiles(
    atoms: np.ndarray, atom_mass: np.ndarray, rest: np.ndarray, rest_mass: float, probabilities: np.ndarray
) -> np.ndarray:
    """The quantile function of point masses ``atoms`` plus a continuous part with quantiles ``rest``.

    Each atom is a jump of the distribution function, so its value fills a flat stretch of the grid.
    """
    total = float(atom_mass.sum()) + rest_mass
    rest = np.maximum.accumulate(rest)
    rest_probabilities = np.linspace(0.0, 1.0, len(rest))
    points = np.unique(np.concatenate([rest, atoms]))

    def below(x: np.ndarray, *, inclusive: bool) -> np.ndarray:
        jumps = (atoms[None, :] <= x[:, None]) if inclusive else (atoms[None, :] < x[:, None])
        return (jumps @ atom_mass + rest_mass * np.interp(x, rest, rest_probabilities, left=0.0, right=1.0)) / total

    x = np.repeat(points, 2)
    cumulative = np.empty(len(x))
    cumulative[0::2], cumulative[1::2] = below(points, inclusive=False), below(points, inclusive=True)
    cumulative = np.maximum.accumulate(cumulative) + np.arange(len(x)) * 1e-12
    return np.interp(probabilities * cumulative[-1], cumulative, x)


def _discrete(name: str, values: list[Any], noisy_counts: list[float]) -> dict[str, Any]:
    if not values:
        raise InvalidDataError(f"column {name!r}: no value passed the noise of privacy, so none may be generated")
    weights = np.maximum(np.asarray(noisy_counts, dtype=np.float64), 1e-9)
    cumulative = np.cumsum(weights) / weights.sum()
    cumulative[-1] = 1.0
    return {"values": list(values), "cumulative": cumulative}


def budget_weights(schema: Schema) -> dict[str, float]:
    """The weights of the correlation and the category orders in the budget split (a column weighs 1).

    The correlation weighs half the number of columns (a third of the budget), each categorical
    column's order half a column.
    """
    columns = [c for c in schema.columns if c.kind is not ColumnKind.ID]
    weights = {CORRELATION_KEY: max(1.0, len(columns) / 2)}
    weights.update({order_key(c.name): 0.5 for c in columns if c.kind is ColumnKind.CATEGORICAL})
    return weights


def order_key(name: str) -> str:
    """The name a categorical column's order is budgeted under."""
    return f"<order of {name}>"


def private_sums(rows: np.ndarray, groups: np.ndarray, n_groups: int, statistics: PrivateStatistics,
                 name: str) -> np.ndarray:
    """Per category of column ``name``, the noisy sum of its rows' other latents (rows clipped to 1.5 sqrt(width))."""
    clip_norm = 1.5 * np.sqrt(max(rows.shape[1], 1))
    return statistics.group_sums(order_key(name), rows, groups, n_groups, clip_norm=clip_norm)


def private_products(scores: np.ndarray, statistics: PrivateStatistics) -> np.ndarray:
    """The scores' mean outer product (``scores.T @ scores / n``), DP; rows clipped to 1.5 sqrt(columns)."""
    clip_norm = 1.5 * np.sqrt(scores.shape[1])
    return statistics.gram(CORRELATION_KEY, scores, clip_norm=clip_norm) / max(len(scores), 1)
