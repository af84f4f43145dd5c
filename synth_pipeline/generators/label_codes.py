"""Labels to their positions in a model's list of known labels, without a Python call per cell."""

from __future__ import annotations

import numpy as np
import pandas as pd


def label_codes(series: pd.Series, keys: list[str]) -> np.ndarray:
    """Position in ``keys`` (distinct texts) of each cell's text ``str(value)``; -1 where missing or unknown.

    The distinct values are found once (a hash table), and only their texts are looked up.
    """
    values = series.to_numpy(dtype=object)
    missing = pd.isna(values)
    codes = np.full(len(values), -1, dtype=np.int64)
    if missing.all():
        return codes
    positions, uniques = pd.factorize(values[~missing])
    lookup = {key: j for j, key in enumerate(keys)}
    codes[~missing] = np.array([lookup.get(str(v), -1) for v in uniques], dtype=np.int64)[positions]
    return codes
