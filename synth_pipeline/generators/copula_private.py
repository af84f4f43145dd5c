"""The Gaussian copula under ``privacy``: DP marginals and a DP correlation matrix.

Everything the copula learns is a statistic, so the whole budget goes to them (see
:func:`synth_pipeline.generators.privacy_budget.split_budget` without SGD), split equally
over the columns, with a third of it for the correlation (:mod:`synth_pipeline.dp_statistics`):

* categories and booleans: the DP vocabulary, in the order of their noisy counts (the learned
  category order reads the rows, so it is not made under privacy), their shares from the noisy
  counts;
* numbers and datetimes: discrete (the released exact values, when at most ``discrete_threshold``
  of them hold nine tenths of the noisy mass) or a quantile grid of DP quantiles between DP bounds;
  datetimes are whole days unless a noisy count of values off midnight says otherwise;
* missing shares: the noisy count of "missing" in the column's vocabulary over the (public) row count;
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
    present = numbers[~np.isnan(numbers)]
    # the grid is always made (and paid for), so whether a column is discrete costs nothing extra
    grid = statistics.number_grid(name, present, n_quantiles=max_quantiles, shares=(shares["scale"],
                                                                                    shares["quantiles"]))
    if discrete or (grid.empty and values):
        return _discrete(name, [json_value(v) for v in values], [counts[v] for v in values])
    if grid.empty:
        raise InvalidDataError(
            f"column {name!r}: too few rows for any of its values or its range to pass the noise of "
            f"privacy (statistics epsilon {statistics.epsilon:g}); raise privacy.epsilon, or drop the column"
        )
    return {
        "mode": "quantile",
        "grid": np.maximum.accumulate(grid.quantiles),
        "probabilities": np.linspace(0.0, 1.0, len(grid.quantiles)),
    }


def _discrete(name: str, values: list[Any], noisy_counts: list[float]) -> dict[str, Any]:
    if not values:
        raise InvalidDataError(f"column {name!r}: no value passed the noise of privacy, so none may be generated")
    weights = np.maximum(np.asarray(noisy_counts, dtype=np.float64), 1e-9)
    cumulative = np.cumsum(weights) / weights.sum()
    cumulative[-1] = 1.0
    return {"values": list(values), "cumulative": cumulative}


def correlation_weight(schema: Schema) -> float:
    """The correlation's weight in the budget split: a third of the total, the columns sharing the rest."""
    return max(1.0, sum(c.kind is not ColumnKind.ID for c in schema.columns) / 2)


def private_products(scores: np.ndarray, statistics: PrivateStatistics) -> np.ndarray:
    """The scores' mean outer product (``scores.T @ scores / n``), DP; rows clipped to 1.5 sqrt(columns)."""
    clip_norm = 1.5 * np.sqrt(scores.shape[1])
    return statistics.gram(CORRELATION_KEY, scores, clip_norm=clip_norm) / max(len(scores), 1)
