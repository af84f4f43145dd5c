"""Id columns are never learned: fit records their format, sampling numbers the rows afresh.

Regenerated ids never coincide with a real one: they count from the power of ten above the
largest training id (``start``), so ``C000001 .. C024421`` comes back as ``C100001 ..`` and the
integers ``1 .. 24421`` as ``100001 ..``. The format keeps only that power of ten (how many digits
the ids have), never a training id. Integer ids stay integers (when the column is read as whole
numbers); ids that cannot fit above the largest one in int64 count down from -1 instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

_INT64_MAX = int(np.iinfo(np.int64).max)


def id_format(values: pd.Series) -> dict[str, Any]:
    """How to regenerate an id column: numbers from ``start``, or strings with the common prefix."""
    observed = values.dropna()
    if pd.api.types.is_numeric_dtype(values.dtype):
        largest = int(np.abs(observed.to_numpy(dtype=np.float64)).max()) if len(observed) else 0
        return {"type": "number", "start": _start_above(largest)}
    text = observed.astype(str)
    prefix = _common_prefix(list(text.head(1000)))
    width = int(text.str.len().median()) - len(prefix) if len(text) else 6
    tails = text.str.slice(len(prefix))
    digits = tails[tails.str.fullmatch(r"[0-9]+")]
    largest = max((int(t) for t in digits), default=0)
    return {"type": "string", "prefix": prefix, "width": max(width, 1), "start": 10 ** len(str(largest))}


def _start_above(largest: int) -> int:
    """The power of ten above ``largest``; -1 (count down) when ids from there would not fit in int64."""
    start = 10 ** len(str(largest))
    return start if start < _INT64_MAX // 2 else -1


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
    """The ids of rows ``offset .. offset + n_rows - 1`` in the format :func:`id_format` recorded.

    Row ``i`` gets ``start + i + 1`` (``-(i + 1)`` when ``start`` is -1). A format written before
    ``start`` was recorded numbers from 1, as it always did.
    """
    start = int(fmt.get("start", 0))
    if fmt["type"] == "number":
        counter = np.arange(offset + 1, offset + n_rows + 1, dtype=np.int64)
        return pd.Series(-counter if start < 0 else counter + start, dtype="Int64")
    # Python integers: a string id's digits may run past int64
    return pd.Series([f"{fmt['prefix']}{start + n:0{fmt['width']}d}" for n in range(offset + 1, offset + n_rows + 1)],
                     dtype=object)
