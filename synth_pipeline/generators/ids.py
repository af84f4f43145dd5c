"""Id columns are never learned: fit records their format, sampling numbers the rows afresh."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd


def id_format(values: pd.Series) -> dict[str, Any]:
    """How to regenerate an id column: numbers from 1, or strings with the common prefix."""
    observed = values.dropna()
    if pd.api.types.is_numeric_dtype(values.dtype):
        return {"type": "number"}
    text = observed.astype(str)
    prefix = _common_prefix(list(text.head(1000)))
    width = int(text.str.len().median()) - len(prefix) if len(text) else 6
    return {"type": "string", "prefix": prefix, "width": max(width, 1)}


def _common_prefix(values: list[str]) -> str:
    # the non-digit prefix all values share (digits are what the ids count with)
    if not values:
        return ""
    first, last = min(values), max(values)
    size = 0
    while size < min(len(first), len(last)) and first[size] == last[size] and not first[size].isdigit():
        size += 1
    return first[:size]


def make_ids(fmt: Mapping[str, Any], offset: int, n_rows: int) -> pd.Series:
    """Ids ``offset + 1 .. offset + n_rows`` in the format :func:`id_format` recorded."""
    numbers = np.arange(offset + 1, offset + n_rows + 1)
    if fmt["type"] == "number":
        return pd.Series(numbers, dtype="Int64")
    return pd.Series([f"{fmt['prefix']}{n:0{fmt['width']}d}" for n in numbers], dtype=object)
