"""A second view of the DCR share: centred quantile ranks and labels, every row scaled to unit length.

The DCR share is the worst over column subsets *and* over two encodings of the rows, so that a leak one
geometry hides still shows (issue 15: on SDV's census table the rank view alone read 0.504 where
mostlyai-qa's embedding view reads 0.533). The first view is ``privacy.encode_tables``. This one:

* numbers and datetimes: their quantile rank among the training values minus 0.5 (in [-0.5, 0.5]), where a
  value strictly between two training quantiles is interpolated between the *edges* of their blocks of tied
  quantiles (a value just above a mass of zeros ranks above that mass, not inside it); the training minimum
  ranks -0.5 and the maximum 0.5, values beyond them are clipped; missing numbers sit at 0 with a ±0.5 flag;
* labels: one-hot vectors scaled by 1/sqrt(2) and centred on their mean (random unit vectors for more than
  ``MAX_ONE_HOT`` labels), missing a label of its own;
* every row divided by its Euclidean length over all columns (an angle between rows, as mostlyai-qa does
  with its embeddings), then cut into the same column subsets as the first view.

A row's length depends on all its columns, so the subsets cannot be searched on distinct rows only; to bound
the cost the view is measured on a seeded sample of at most ``VIEW_ROWS`` rows of each table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synth_pipeline.columns import ColumnKind
from synth_pipeline.quality.features import column_blocks, label_strings, label_table

VIEW_NAME = "unit rows"
VIEW_ROWS = 10_000


def edge_ranks(x: np.ndarray, fitted_on: np.ndarray) -> np.ndarray:
    """Quantile rank in [0, 1] of ``x`` among ``fitted_on`` (no NaN), on 101 quantiles.

    A value equal to a quantile takes the mean level of that quantile's tied block; a value between two
    quantiles is interpolated from the upper edge of the lower block to the lower edge of the upper one.
    The minimum ranks 0, the maximum 1. One distinct value: 0 for it, 1 for any other.
    """
    distinct = np.unique(fitted_on)
    if len(distinct) < 2:
        return (x != distinct[0]).astype(np.float64) if len(distinct) else np.ones(len(x))
    levels = np.linspace(0.0, 1.0, 101)
    knots, block = np.unique(np.quantile(fitted_on, levels), return_inverse=True)
    mean = np.bincount(block, weights=levels) / np.bincount(block)
    low = np.full(len(knots), np.inf)
    high = np.full(len(knots), -np.inf)
    np.minimum.at(low, block, levels)
    np.maximum.at(high, block, levels)
    clipped = np.clip(x, knots[0], knots[-1])
    j = np.clip(np.searchsorted(knots, clipped, side="right") - 1, 0, len(knots) - 2)
    fraction = (clipped - knots[j]) / (knots[j + 1] - knots[j])
    rank = high[j] + fraction * (low[j + 1] - high[j])
    at = np.searchsorted(knots, clipped).clip(0, len(knots) - 1)
    rank = np.where(knots[at] == clipped, mean[at], rank)
    rank[clipped <= knots[0]] = 0.0
    rank[clipped >= knots[-1]] = 1.0
    return rank


def _number_block(values: dict[str, np.ndarray], fitted_on: np.ndarray) -> dict[str, np.ndarray]:
    observed = fitted_on[~np.isnan(fitted_on)]
    any_missing = any(np.isnan(v).any() for v in values.values())
    out = {}
    for name, x in values.items():
        missing = np.isnan(x)
        rank = edge_ranks(np.where(missing, 0.0, x), observed) - 0.5
        rank[missing] = 0.0
        out[name] = np.column_stack([rank, missing - 0.5]) if any_missing else rank[:, None]
    return out


def _label_block(values: dict[str, np.ndarray], rng: np.random.Generator) -> dict[str, np.ndarray]:
    labels = {name: label_strings(v) for name, v in values.items()}
    vocabulary = np.unique(np.concatenate(list(labels.values())))
    table = label_table(len(vocabulary), rng)
    table -= table.mean(axis=0)
    return {name: table[np.searchsorted(vocabulary, v)] for name, v in labels.items()}


def unit_row_tables(
    columns: list[str], kinds: dict[str, ColumnKind], tables: dict[str, pd.DataFrame], rng: np.random.Generator
) -> tuple[dict[str, np.ndarray], list[np.ndarray]]:
    """Encode ``tables`` (with a 'training' one) in this view; return the matrices and each column's dimensions."""
    stacked, dims = column_blocks(
        columns, kinds, tables, lambda values: _number_block(values, values["training"]),
        lambda values: _label_block(values, rng),
    )
    matrices = {}
    for name, x in stacked.items():
        length = np.linalg.norm(x, axis=1, keepdims=True)
        matrices[name] = np.ascontiguousarray(x / np.where(length > 0, length, 1.0))
    return matrices, dims
