"""Cell values as the rules see them: comparable keys, bounds as numbers, and typed columns rebuilt.

Rules compare cells across dtypes (``13``, ``13.0`` and ``"13"`` are one value), read
bounds that may be numbers or dates, and write repaired or derived values back into
a column of the schema's kind. These helpers are shared by every rule kind.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any, Union

import numpy as np
import pandas as pd

from synth_pipeline.columns import NS_PER_SECOND, NUMBER_KINDS, ColumnKind, to_numbers
from synth_pipeline.errors import ConfigError
from synth_pipeline.schema import ColumnSpec, Schema, apply_schema

Scalar = Union[bool, int, float, str, None]
Bound = Union[int, float, str, date, datetime, None]


def value_key(value: Any) -> str | None:
    """A comparable text key of a cell: ``13``, ``13.0`` and ``"13"`` agree; missing is None."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        return "True" if value else "False"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return None
        return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(float(value))
    if isinstance(value, (pd.Timestamp, datetime, date, np.datetime64)):
        return pd.Timestamp(value).isoformat()
    text = str(value)
    try:
        number = float(text)
    except ValueError:
        return text
    if math.isfinite(number) and text.strip() == text and text not in ("nan", "inf"):
        return value_key(number)
    return text


def series_keys(series: pd.Series) -> np.ndarray:
    """:func:`value_key` of every cell, as an object array (vectorized for the common dtypes)."""
    if pd.api.types.is_bool_dtype(series.dtype):
        out = np.where(series.fillna(False).to_numpy(dtype=bool), "True", "False").astype(object)
        out[series.isna().to_numpy()] = None
        return out
    if pd.api.types.is_numeric_dtype(series.dtype):
        numbers = series.astype("float64").to_numpy()
        out = np.empty(len(numbers), dtype=object)
        missing = np.isnan(numbers)
        whole = ~missing & (numbers == np.round(numbers)) & (np.abs(numbers) < 1e15)
        out[whole] = [str(v) for v in numbers[whole].astype(np.int64)]
        other = ~missing & ~whole
        out[other] = [repr(float(v)) for v in numbers[other]]
        out[missing] = None
        return out
    # text and datetimes: one key per distinct value
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    keys = np.array([value_key(v) for v in uniques] + [None], dtype=object)
    return keys[codes]


def is_number(text: str) -> bool:
    """Whether ``text`` reads as a number."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def bound_number(value: Bound) -> float | None:
    """A bound as a number: numbers as they are, dates and times as seconds since 1970."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_, int, float, np.integer, np.floating)):
        return float(value)
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        pass
    try:
        return pd.Timestamp(value).value / NS_PER_SECOND
    except (TypeError, ValueError):
        raise ConfigError(f"bound {value!r} is neither a number nor a date") from None


def check_bound(value: Any, kind: ColumnKind, where: str, column: str) -> None:
    """Refuse a bound that cannot compare with a column of ``kind`` (a number for a date, text for a number)."""
    if value is None:
        return
    if kind is ColumnKind.DATETIME:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            raise ConfigError(f"{where}: {column!r} is a datetime column; give the bound as a date like '2024-01-31'")
        try:
            pd.Timestamp(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: bound {value!r} of datetime column {column!r} is not a date") from None
    elif isinstance(value, str) and not is_number(value):
        raise ConfigError(f"{where}: bound {value!r} of {kind.value} column {column!r} is not a number")


def table_column(df: pd.DataFrame, name: str) -> pd.Series:
    """``df[name]``, or an error naming the column and the table's columns."""
    if name not in df.columns:
        columns = ", ".join(map(str, df.columns))
        raise ConfigError(f"rule names column {name!r}, which the table lacks; it has: {columns}")
    return df[name]


# -- typed columns: plain values out, the schema's dtype back -----------------------------------
def plain_values(series: pd.Series, kind: ColumnKind) -> list[Any]:
    """JSON-able values of a column that :func:`rebuild` turns back into it."""
    if kind is ColumnKind.DATETIME:
        return [None if pd.isna(v) else pd.Timestamp(v).isoformat() for v in series]
    if kind in NUMBER_KINDS:
        return [None if np.isnan(x) else float(x) for x in to_numbers(series)]
    if kind is ColumnKind.BOOLEAN:
        return [None if pd.isna(v) else bool(v) for v in series]
    return [None if pd.isna(v) else str(v) for v in series]


def key_to_plain(key: str | None, kind: ColumnKind) -> Any:
    """The plain value of a :func:`value_key` in a column of ``kind``."""
    if key is None:
        return None
    if kind in NUMBER_KINDS:
        return float(key)
    if kind is ColumnKind.BOOLEAN:
        return key == "True"
    return key


def rebuild(values: list[Any], name: str, kind: ColumnKind, index: pd.Index) -> pd.Series:
    """Plain values back into a column of ``kind`` (the schema's canonical dtype)."""
    series = pd.Series(values, index=index, dtype=object)
    return apply_schema(pd.DataFrame({name: series}), Schema([ColumnSpec(name, kind)]), what="rule values")[name]


def rebuild_numbers(numbers: np.ndarray, kind: ColumnKind, index: pd.Index) -> pd.Series:
    """Numbers (seconds since 1970 for datetimes) back into a column of ``kind``."""
    if kind is ColumnKind.DATETIME:
        stamps = pd.to_datetime(np.round(numbers * NS_PER_SECOND), unit="ns")
        return pd.Series(stamps, index=index).astype("datetime64[ns]")
    if kind is ColumnKind.INTEGER:
        return pd.Series(np.round(numbers), index=index).astype("Int64")
    return pd.Series(numbers, index=index, dtype="float64")


def mode(series: pd.Series, kind: ColumnKind) -> Any:
    """The most frequent plain value of a column (None when it has none)."""
    values = [v for v in plain_values(series.dropna(), kind) if v is not None]
    if not values:
        return None
    return pd.Series(values, dtype=object).value_counts().index[0]


__all__ = [
    "Bound",
    "Scalar",
    "bound_number",
    "check_bound",
    "is_number",
    "key_to_plain",
    "mode",
    "plain_values",
    "rebuild",
    "rebuild_numbers",
    "series_keys",
    "table_column",
    "value_key",
]
