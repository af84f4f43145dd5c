"""Cells no column kind can hold: lists, structs and maps (Parquet nested types), durations.

A generator learns one value per cell; a nested or duration column is refused
with the column's name instead of being turned into text labels or ids.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synth_pipeline.errors import InvalidDataError

_CONTAINERS = (list, tuple, dict, set, frozenset, np.ndarray)
_SAMPLE = 1000


def check_cell_types(series: pd.Series, name: str, *, what: str = "table") -> None:
    """Raise InvalidDataError when ``series`` holds nested values or durations, naming the column."""
    dtype = series.dtype
    if pd.api.types.is_timedelta64_dtype(dtype) or _arrow_type(dtype, "duration"):
        raise InvalidDataError(
            f"column {name!r} of the {what} holds durations; durations are not modelled: convert it to a number "
            f"of seconds in the source (for a SQL source: epoch({name}) AS {name}_seconds) or drop it"
        )
    if any(_arrow_type(dtype, kind) for kind in ("list", "large_list", "fixed_size_list", "struct", "map")):
        nested = True
    elif pd.api.types.is_object_dtype(dtype):
        # a nested Parquet column reads as an object column of arrays/dicts; plain labels read as "string"
        nested = pd.api.types.infer_dtype(series, skipna=True) in ("mixed", "unknown-array") and any(
            isinstance(value, _CONTAINERS) for value in series.dropna().head(_SAMPLE)
        )
    else:
        nested = False
    if nested:
        raise InvalidDataError(
            f"column {name!r} of the {what} holds nested values (lists, structs or maps); a column must hold one "
            f"value per cell: flatten it in the source (one column per field, or a SQL source that unnests it) "
            "or drop it"
        )


def _arrow_type(dtype: object, kind: str) -> bool:
    arrow = getattr(dtype, "pyarrow_dtype", None)
    if arrow is None:
        return False
    import pyarrow as pa

    test = getattr(pa.types, f"is_{kind}", None)
    return bool(test is not None and test(arrow))


__all__ = ["check_cell_types"]
