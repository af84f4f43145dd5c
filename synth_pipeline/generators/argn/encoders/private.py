"""What the encoders learn under ``privacy``: the DP counterparts of their statistics.

Each function takes a column and the fit's :class:`synth_pipeline.dp_statistics.PrivateStatistics`
and returns what the encoder would otherwise read off the rows exactly:

* categories: the DP vocabulary (noisy counts above a threshold instead of "seen ``k`` times");
  booleans keep both values (a public domain), and a column always has a rare code, so its
  existence tells nothing;
* numbers: atoms from the DP vocabulary of exact values, bin edges and bounds from DP quantiles;
  floats keep every decimal (the decimals seen are a statistic too);
* whether a column has missing cells: the noisy count of "missing" in the same vocabulary;
* datetimes: whole days unless a noisy count of non-midnight values reaches the threshold.

"Equal to an earlier column" references are not searched under privacy (see
:class:`..table.TableEncoder`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synth_pipeline.columns import ColumnKind
from synth_pipeline.dp_statistics import DATETIME_SHARES, NUMBER_SHARES, PrivateStatistics
from synth_pipeline.errors import InvalidDataError


def private_categories(
    name: str, kind: ColumnKind, keys: pd.Series, statistics: PrivateStatistics
) -> tuple[list[Any], bool]:
    """The categories (sorted as the encoder sorts them) and whether the column has missing cells."""
    known = [False, True] if kind is ColumnKind.BOOLEAN else None
    vocabulary = statistics.vocabulary(name, keys, known=known)
    categories = sorted(vocabulary.counts, key=lambda v: (str(type(v)), v))
    return categories, vocabulary.has_missing


def private_time_unit(name: str, stamps: pd.Series, statistics: PrivateStatistics) -> str:
    """``"second"`` when a noisy count of values off midnight reaches the threshold, else ``"day"``."""
    off_midnight = int((stamps.dt.normalize() != stamps).sum())
    noisy, sigma = statistics.count(name, "time unit", off_midnight, share=DATETIME_SHARES["unit"])
    return "second" if noisy >= 1.0 + 3.0 * sigma else "day"


def private_atoms_and_edges(
    name: str,
    numbers: np.ndarray,
    statistics: PrivateStatistics,
    *,
    n_bins: int,
    max_exact_values: int,
    whole: bool,
    datetime: bool,
) -> tuple[bool, np.ndarray, np.ndarray]:
    """``(has_missing, atoms, edges)`` of a number column (``numbers`` NaN where missing).

    Atoms are the released exact values (all of them when at most ``max_exact_values``, else those
    heavier than a bin); the rest is binned between DP bounds.
    """
    shares = DATETIME_SHARES if datetime else NUMBER_SHARES
    vocabulary = statistics.vocabulary(name, pd.Series(numbers, dtype=np.float64), share=shares["atoms"])
    released = np.array(sorted(vocabulary.counts), dtype=np.float64)
    noisy = np.array([vocabulary.counts[v] for v in sorted(vocabulary.counts)], dtype=np.float64)
    if len(released) > max_exact_values:
        released = released[noisy >= max(vocabulary.threshold, len(numbers) / n_bins)]
    present = numbers[~np.isnan(numbers)]
    rest = present[~np.isin(present, released)]
    grid = statistics.number_grid(name, rest, n_quantiles=n_bins + 1, whole=whole,
                                  shares=(shares["scale"], shares["quantiles"]))
    if not len(released) and grid.empty:
        raise InvalidDataError(
            f"column {name!r}: too few rows for any of its values or its range to pass the noise of "
            f"privacy (statistics epsilon {statistics.epsilon:g}); raise privacy.epsilon, or drop the column"
        )
    return vocabulary.has_missing, released, grid.edges(whole=whole)
