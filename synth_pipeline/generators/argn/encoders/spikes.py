"""Spikes: values far more frequent than their neighbours, kept as exact atoms even in wide columns.

A number column with few frequent values keeps all of them exactly (see :mod:`.number`); one with
more frequent values than ``max_exact_values`` kept only the point masses heavier than a quantile
bin, and every lighter one was smeared over its bin. Payments show why that is not enough: beside
0, 2,000 and 3,000, a credit-card payment column holds 1,000, 1,500, 4,000, 10,000 ... each in 1-2%
of the rows and each tens of times as frequent as the amounts next to it (16% of the rows in all),
and a classifier tells real rows from synthetic ones by those exact amounts. A *spike* is a value
seen in at least ``1 / (SPIKE_BINS_FACTOR * n_bins)`` of the rows (and at least ``rare_threshold``
times) and at least ``MIN_LIFT`` times as often as the values around it: the rows of the
``NEIGHBOURS`` distinct values on each side, spread over the units (``10 ** -decimals``) they span.
Smooth integer columns (durations in seconds, counts) have no spikes: every value is about as
frequent as its neighbours. Only the most frequent spikes are kept, up to ``max_exact_values``
atoms in all, so the bin sub-column stays small.
"""

from __future__ import annotations

import numpy as np

MIN_LIFT = 10.0
NEIGHBOURS = 10
SPIKE_BINS_FACTOR = 8


def spike_values(
    distinct: np.ndarray, counts: np.ndarray, is_atom: np.ndarray, *, unit: float, rare_threshold: int,
    n_bins: int, budget: int,
) -> np.ndarray:
    """Mask over ``distinct`` (sorted, with ``counts``) of the spikes beyond the atoms ``is_atom``.

    ``unit`` is the column's smallest step (1 for whole numbers); at most ``budget`` spikes, the most frequent.
    """
    spikes = np.zeros(len(distinct), dtype=bool)
    rest = np.flatnonzero(~is_atom)
    if budget <= 0 or len(rest) < 2 * NEIGHBOURS + 1 or not unit > 0:
        return spikes
    values, weights = distinct[rest], counts[rest].astype(np.float64)
    cumulative = np.concatenate([[0.0], np.cumsum(weights)])
    index = np.arange(len(values))
    low, high = np.maximum(index - NEIGHBOURS, 0), np.minimum(index + NEIGHBOURS, len(values) - 1)
    around = cumulative[high + 1] - cumulative[low] - weights
    places = np.maximum((values[high] - values[low]) / unit, 1.0)  # unit positions the neighbours spread over
    expected = around / places
    heavy = weights >= max(rare_threshold, counts.sum() / (SPIKE_BINS_FACTOR * n_bins))
    candidates = np.flatnonzero(heavy & (weights >= MIN_LIFT * np.maximum(expected, 1e-12)))
    chosen = candidates[np.argsort(-weights[candidates], kind="stable")[:budget]]
    spikes[rest[chosen]] = True
    return spikes
