"""A column in the canonical dtype of its kind, or a clear error saying why its values do not fit.

Canonical dtypes: numeric ``float64``, integer ``Int64``, boolean ``boolean``,
datetime ``datetime64[ns]``, categorical ``object`` strings, id ``Int64`` for
whole numbers read as numbers and ``object`` strings otherwise; missing stays
missing. Text is read the way :mod:`synth_pipeline.text_values` allows: dates in
one format, numbers with thousands separators.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synth_pipeline.columns import NUMBER_KINDS, ColumnKind
from synth_pipeline.errors import InvalidDataError
from synth_pipeline.text_values import date_format_of, grouped_numbers, parse_dates

INT64_MAX = np.iinfo(np.int64).max
INT64_MIN = np.iinfo(np.int64).min


def to_canonical(series: pd.Series, kind: ColumnKind, name: str, *, date_format: str | None = None) -> pd.Series:
    """``series`` in ``kind``'s canonical dtype; ``date_format`` is the format of dates written as text."""
    if kind in NUMBER_KINDS:
        return _numbers(series, kind, name)
    if kind is ColumnKind.BOOLEAN:
        if pd.api.types.is_bool_dtype(series.dtype):
            return series.astype("boolean")
        mapped = series.map(_to_bool)
        bad = mapped.isna() & series.notna()
        if bad.any():
            raise InvalidDataError(f"column {name!r} is boolean but holds {series[bad].iloc[0]!r}")
        return mapped.astype("boolean")
    if kind is ColumnKind.DATETIME:
        return _datetimes(series, name, date_format)
    if kind is ColumnKind.ID and _whole_numbers_in_range(series):
        return series.astype("Int64")  # integer ids stay integers, so they are regenerated as integers
    # categorical and id: labels as strings, missing kept missing
    if isinstance(series.dtype, pd.StringDtype) and series.notna().any():
        return series.astype("object")  # a string dtype (a Parquet source): the same cells, its missing marker kept
    if series.dtype == object and pd.api.types.infer_dtype(series, skipna=True) == "string":
        return _strings_already(series)
    return series.map(lambda v: v if pd.isna(v) else str(v)).astype("object")


def _strings_already(series: pd.Series) -> pd.Series:
    """An object column of strings (and missing values) as the mapping above leaves it: missing as NaN.

    Without a Python call per value (sampled categoricals come as labels already).
    """
    values = series.to_numpy(dtype=object, copy=True)
    values[pd.isna(values)] = np.nan
    return pd.Series(values, index=series.index, name=series.name, dtype=object)


def check_int64_range(series: pd.Series, name: str) -> None:
    """Refuse whole numbers beyond the int64 range (uint64 Parquet columns), naming the column."""
    if not pd.api.types.is_integer_dtype(series.dtype) or series.dtype.kind != "u" or not len(series.dropna()):
        return
    if int(series.max()) > INT64_MAX:
        raise InvalidDataError(
            f"column {name!r} holds unsigned whole numbers beyond the int64 range (above {INT64_MAX}); "
            f"they cannot be modelled exactly: declare it columns: {{{name}: id}} (regenerated) or "
            f"{{{name}: numeric}} (approximate), or drop it from the source"
        )


def _whole_numbers_in_range(series: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(series.dtype) or not pd.api.types.is_numeric_dtype(series.dtype):
        return False
    values = series.dropna()
    if pd.api.types.is_integer_dtype(series.dtype):
        return not len(values) or int(values.max()) <= INT64_MAX
    numbers = values.to_numpy(dtype=np.float64)
    return bool(np.isfinite(numbers).all() and (numbers == np.round(numbers)).all()
                and (not len(numbers) or (numbers.min() >= INT64_MIN and numbers.max() < INT64_MAX)))


def _numbers(series: pd.Series, kind: ColumnKind, name: str) -> pd.Series:
    if kind is ColumnKind.INTEGER and pd.api.types.is_integer_dtype(series.dtype):
        check_int64_range(series, name)
        return series.astype("Int64")  # exactly, without a detour through float64
    if pd.api.types.is_bool_dtype(series.dtype):
        numbers = series.astype("float64")
    else:
        numbers = pd.to_numeric(series, errors="coerce")
        bad = numbers.isna() & series.notna()
        if bad.any() and not pd.api.types.is_numeric_dtype(series.dtype):
            present = series.dropna().astype(str).str.strip()
            grouped = grouped_numbers(present, name)
            if grouped is not None:
                numbers = pd.Series(np.nan, index=series.index, dtype="float64")
                numbers[present.index] = grouped.astype("float64").to_numpy()
                bad = numbers.isna() & series.notna()
        if bad.any():
            examples = ", ".join(map(repr, series[bad].astype(str).unique()[:3]))
            raise InvalidDataError(f"column {name!r} is {kind.value} but holds non-numbers such as {examples}")
    numbers = numbers.astype("float64")
    infinite = np.isinf(numbers.to_numpy())
    if infinite.any():
        raise InvalidDataError(
            f"column {name!r} holds {int(infinite.sum())} infinite value(s); replace them with a number "
            "or leave the cell empty"
        )
    if kind is ColumnKind.INTEGER:
        fractional = numbers.notna() & (numbers != np.round(numbers))
        if fractional.any():
            raise InvalidDataError(
                f"column {name!r} is integer but holds fractions such as {numbers[fractional].iloc[0]}"
            )
        return numbers.round().astype("Int64")
    return numbers


def _datetimes(series: pd.Series, name: str, date_format: str | None) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        out = series
    else:
        present = series.dropna()
        if not len(present):
            return pd.Series(pd.NaT, index=series.index, dtype="datetime64[ns]")
        if pd.api.types.infer_dtype(present, skipna=True) in ("datetime", "datetime64", "date"):
            return _datetimes(pd.to_datetime(series), name, None)  # datetime objects in an object column
        text = present.astype(str).str.strip()
        fmt = date_format or date_format_of(text, name)
        if fmt is None:
            example = text.iloc[0] if len(text) else ""
            raise InvalidDataError(
                f"column {name!r} is datetime but its values are not dates in one known format (such as {example!r}); "
                f"declare the format: columns: {{{name}: {{kind: datetime, format: '%d/%m/%Y'}}}}"
            )
        parsed = parse_dates(text, fmt)
        bad = parsed.isna()
        if bad.any():
            raise InvalidDataError(
                f"column {name!r} is datetime in format {fmt!r} but {int(bad.sum())} of {len(text)} values do not "
                f"fit it, such as {text[bad].iloc[0]!r}"
            )
        out = pd.Series(pd.NaT, index=series.index, dtype="datetime64[ns]")
        out[present.index] = parsed.astype("datetime64[ns]").to_numpy()
    if getattr(out.dt, "tz", None) is not None:
        out = out.dt.tz_convert("UTC").dt.tz_localize(None)
    return out.astype("datetime64[ns]")


def _to_bool(value: Any) -> Any:
    if pd.isna(value):
        return pd.NA
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, float, np.integer, np.floating)) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    return None


__all__ = ["INT64_MAX", "check_int64_range", "to_canonical"]
