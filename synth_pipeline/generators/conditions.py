"""Fixed cells of a sampling request: seed data, rebalancing targets and the checks they pass first.

Both kinds of condition come out as a pair of frames of the request's rows:
``conditions`` (canonical values) and ``fixed`` (which of them the output must keep).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from synth_pipeline.columns import LABEL_KINDS, ColumnKind, did_you_mean
from synth_pipeline.errors import ConfigError, InvalidDataError
from synth_pipeline.schema import Schema, apply_schema

Rebalance = Mapping[str, Mapping[Any, float]]
#: per categorical or boolean column, each training value (as text) and its share
Frequencies = dict[str, dict[str, float]]


def category_frequencies(training: pd.DataFrame, schema: Schema) -> Frequencies:
    """The training shares of every label column's values, keyed by their text."""
    return {
        name: {str(k): float(v) for k, v in training[name].astype(str).value_counts(normalize=True).items()}
        for name in schema.names_of(*LABEL_KINDS)
    }


def check_known_columns(data: pd.DataFrame, schema: Schema, *, what: str) -> None:
    """Refuse columns the model was not fitted on."""
    unknown = [c for c in data.columns if c not in schema]
    if unknown:
        raise InvalidDataError(
            f"{what} has column(s) the model does not know: {', '.join(map(repr, unknown))}"
            f"{did_you_mean(unknown[0], schema.names)}; the model's columns are: {', '.join(schema.names)}"
        )


def check_categories(data: pd.DataFrame, frequencies: Frequencies, *, what: str) -> None:
    """Refuse label values never seen in training (the model has no code for them)."""
    for name in data.columns:
        if name not in frequencies:
            continue
        values = data[name].dropna().astype(str)
        unseen = sorted(set(values.unique()) - set(frequencies[name]))
        if unseen:
            raise InvalidDataError(
                f"{what}: column {name!r} has value(s) never seen in training: "
                f"{', '.join(map(repr, unseen[:5]))}{' ...' if len(unseen) > 5 else ''}"
            )


def seed_conditions(
    seed_data: pd.DataFrame, schema: Schema, model_columns: list[str], frequencies: Frequencies
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every given cell of ``seed_data`` fixed, one request row per seed row."""
    if not isinstance(seed_data, pd.DataFrame) or seed_data.shape[1] == 0:
        raise InvalidDataError("seed_data must be a DataFrame with at least one column")
    check_known_columns(seed_data, schema, what="seed_data")
    ids = [c for c in seed_data.columns if schema.kind(c) is ColumnKind.ID]
    columns = [c for c in model_columns if c in seed_data.columns]
    canonical = apply_schema(seed_data, schema, what="seed_data", allow_missing_columns=True)
    check_categories(canonical[columns], frequencies, what="seed_data")
    conditions = canonical[columns + ids].reset_index(drop=True)
    fixed = pd.DataFrame(True, index=conditions.index, columns=conditions.columns)
    return conditions, fixed


def rebalance_conditions(
    rebalance: Rebalance, n_rows: int, rng: np.random.Generator, schema: Schema, frequencies: Frequencies
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One label column fixed to values in the target shares, shuffled over the rows."""
    column, targets = _rebalance_targets(rebalance, frequencies)
    counts = largest_remainder(targets, n_rows)
    values = np.repeat(np.array(list(counts), dtype=object), list(counts.values()))
    rng.shuffle(values)
    conditions = apply_schema(pd.DataFrame({column: values}), schema, allow_missing_columns=True)
    conditions.loc[conditions[column].astype(str) == "nan", column] = np.nan
    fixed = pd.DataFrame({column: np.ones(n_rows, dtype=bool)})
    return conditions, fixed


def _rebalance_targets(rebalance: Rebalance, frequencies: Frequencies) -> tuple[str, dict[str, float]]:
    """The column and every value's target share: the given ones, the rest in training proportions."""
    if not isinstance(rebalance, Mapping) or len(rebalance) != 1:
        raise ConfigError("rebalance must name exactly one column, e.g. {'income': {'>50K': 0.5}}")
    ((column, shares),) = rebalance.items()
    if column not in frequencies:
        raise ConfigError(
            f"rebalance column {column!r} is not a categorical or boolean column of the model"
            f"{did_you_mean(column, frequencies)}; choose one of: {', '.join(frequencies) or '(none)'}"
        )
    training_shares = frequencies[column]
    shares = {str(k): v for k, v in dict(shares).items()}
    unknown = sorted(set(shares) - set(training_shares))
    if unknown:
        raise ConfigError(f"rebalance: column {column!r} has no value(s) {', '.join(map(repr, unknown))} in training")
    for value, share in shares.items():
        if not isinstance(share, (int, float)) or not 0 <= share <= 1:
            raise ConfigError(f"rebalance: share of {column}={value!r} must be between 0 and 1, got {share!r}")
    total = sum(shares.values())
    if total > 1 + 1e-9:
        raise ConfigError(f"rebalance: shares for column {column!r} add up to {total:.3f} > 1")
    rest = {v: f for v, f in training_shares.items() if v not in shares}
    rest_total = sum(rest.values())
    if rest_total == 0 and total < 1 - 1e-9:
        raise ConfigError(f"rebalance: shares for column {column!r} must add up to 1 (no other values exist)")
    targets = dict(shares)
    for value, frequency in rest.items():
        targets[value] = (1 - total) * frequency / rest_total
    return column, targets


def largest_remainder(targets: Mapping[str, float], n_rows: int) -> dict[str, int]:
    """Whole row counts adding up to ``n_rows``, as close to ``targets`` (shares) as rounding allows."""
    raw = {k: v * n_rows for k, v in targets.items()}
    counts = {k: int(math.floor(v)) for k, v in raw.items()}
    short = n_rows - sum(counts.values())
    for key in sorted(raw, key=lambda k: raw[k] - counts[k], reverse=True)[:short]:
        counts[key] += 1
    return counts


def fixed_patterns(fixed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of a boolean ``(n_rows, n_columns)`` matrix, sorted, and each row's pattern index.

    The same result as ``np.unique(fixed, axis=0, return_inverse=True)`` (whose generic row sort takes seconds
    on a quarter of a million rows): with nothing fixed there is one pattern; otherwise each row is packed into
    bytes (first column in the highest bit, so byte order is row order) and the byte strings are sorted.
    """
    n_rows, n_columns = fixed.shape
    if not fixed.any():
        return np.zeros((min(n_rows, 1), n_columns), dtype=bool), np.zeros(n_rows, dtype=np.intp)
    packed = np.ascontiguousarray(np.packbits(fixed, axis=1))
    keys = packed.view(np.dtype((np.void, packed.shape[1]))).reshape(-1)
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    return fixed[first], inverse.reshape(-1)
