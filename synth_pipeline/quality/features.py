"""The LightGBM feature matrix shared by the similarity (discriminator) and utility (TSTR) sections."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from synth_pipeline.columns import ORDERED_KINDS, ColumnKind
from synth_pipeline.profile import column_values

#: beyond this many labels a column's labels are random unit vectors in ``HASH_DIMS`` dimensions, not one-hot
MAX_ONE_HOT = 64
HASH_DIMS = 32
MISSING_LABEL = "\x00missing"
#: the quantile levels of the rank scale
RANK_LEVELS = np.linspace(0.0, 1.0, 101)


def label_strings(values: np.ndarray) -> np.ndarray:
    """Labels as text, missing a label of its own."""
    return np.where(pd.isna(values), MISSING_LABEL, values).astype(str)


def label_table(n_labels: int, rng: np.random.Generator) -> np.ndarray:
    """One row per label, every two at distance 1: one-hot / sqrt(2), or random unit vectors / sqrt(2) in
    ``HASH_DIMS`` dimensions beyond ``MAX_ONE_HOT`` labels (nearly the same geometry in bounded memory)."""
    if n_labels <= MAX_ONE_HOT:
        return np.eye(n_labels) / np.sqrt(2.0)
    table = rng.standard_normal((n_labels, HASH_DIMS))
    table /= np.linalg.norm(table, axis=1, keepdims=True) * np.sqrt(2.0)
    return table


def rank_quantiles(fitted_on: np.ndarray) -> np.ndarray:
    """The quantiles (at ``RANK_LEVELS``) of the observed values that :func:`quantile_ranks` ranks against."""
    observed = fitted_on[~np.isnan(fitted_on)]
    return np.quantile(observed, RANK_LEVELS) if len(observed) else np.zeros(0)


def quantile_ranks(x: np.ndarray, quantiles: np.ndarray) -> np.ndarray:
    """Rank in [0, 1] of ``x`` interpolated between ``quantiles`` (tied quantiles at their mean level), missing
    at 0.5. With a single value fitted there are no ranks: a value is 0 when it is that value, 1 otherwise."""
    missing = np.isnan(x)
    knots, inverse = np.unique(quantiles, return_inverse=True)
    if len(knots) > 1:
        levels = np.bincount(inverse, weights=RANK_LEVELS) / np.bincount(inverse)
        rank = np.interp(np.where(missing, knots[0], x), knots, levels)
    else:
        rank = (x != knots[0]).astype(np.float64) if len(knots) else np.ones(len(x))
    rank[missing] = 0.5
    return rank


#: encodes one column's values in every table (name -> values) to name -> (rows, width) blocks
BlockEncoder = Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]


def column_blocks(
    columns: list[str], kinds: dict[str, ColumnKind], tables: dict[str, pd.DataFrame],
    number: BlockEncoder, labels: BlockEncoder,
) -> tuple[dict[str, np.ndarray], list[np.ndarray]]:
    """Every table's columns encoded side by side (``number`` for ordered kinds, ``labels`` for the rest), in
    column order; return the stacked matrices and each column's dimension indices."""
    blocks: dict[str, list[np.ndarray]] = {name: [] for name in tables}
    dims: list[np.ndarray] = []
    start = 0
    for column in columns:
        kind = kinds[column]
        values = {name: column_values(table[column], kind) for name, table in tables.items()}
        encoded = number(values) if kind in ORDERED_KINDS else labels(values)
        width = next(iter(encoded.values())).shape[1]
        for name in tables:
            blocks[name].append(encoded[name])
        dims.append(np.arange(start, start + width))
        start += width
    return {name: np.hstack(parts) for name, parts in blocks.items()}, dims


def model_features(
    columns: list[str], kinds: dict[str, ColumnKind], tables: list[pd.DataFrame]
) -> tuple[list[np.ndarray], list[int]]:
    """Float feature matrices for LightGBM (labels as codes over the tables' joint vocabulary).

    Returns the matrices (one per table) and the indices of the categorical features.
    """
    parts: list[list[np.ndarray]] = [[] for _ in tables]
    categorical = []
    for j, column in enumerate(columns):
        kind = kinds[column]
        values = [column_values(table[column], kind) for table in tables]
        if kind in ORDERED_KINDS:
            for part, v in zip(parts, values, strict=True):
                part.append(v.astype(np.float64))
        else:
            categorical.append(j)
            # codes in order of first appearance over the tables, missing NaN (factorize on the cells themselves:
            # no round trip through a string dtype)
            codes = pd.factorize(np.concatenate(values))[0].astype(np.float64)
            codes[codes < 0] = np.nan
            for part, block in zip(parts, np.split(codes, np.cumsum([len(v) for v in values])[:-1]), strict=True):
                part.append(block)
    matrices = [np.column_stack(part) if part else np.empty((len(t), 0)) for part, t in zip(parts, tables, strict=True)]
    return matrices, categorical
