"""What a column is, once: its kind, its values as numbers, its values as JSON, and the name rules.

Every module that needs one of these asks here, so a column means the same thing
to the generators, the rules, the quality report and drift:

* :class:`ColumnKind` and the kind families (:data:`NUMBER_KINDS`, :data:`ORDERED_KINDS`);
* :func:`to_numbers`: a column as float64 with NaN where missing; datetimes in
  **seconds since 1970** (the one time unit), booleans as 0/1;
* :func:`json_value` / :func:`json_default`: plain JSON values of numpy, pandas and
  pydantic objects (missing floats become ``None``);
* :data:`DATASET_NAME` and :func:`validate_dataset_name`: a dataset name becomes a
  table name in the warehouse;
* :func:`did_you_mean`: the hint an error about an unknown column name carries.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synth_pipeline.errors import ConfigError

NS_PER_SECOND = 1_000_000_000
SECONDS_PER_DAY = 86_400


class ColumnKind(StrEnum):
    """What a column holds, which decides how it is encoded and measured."""

    NUMERIC = "numeric"  # continuous numbers
    INTEGER = "integer"  # whole numbers, sampled back as whole numbers
    CATEGORICAL = "categorical"  # a limited set of labels
    BOOLEAN = "boolean"  # true / false
    DATETIME = "datetime"  # points in time
    ID = "id"  # (near-)unique identifiers: never learned, regenerated
    TEXT = "text"  # free text (titles, descriptions): learned by a text model of words seen in >= k rows

    @classmethod
    def parse(cls, value: str | ColumnKind, *, setting: str = "kind") -> ColumnKind:
        """Turn a config string into a kind, with an error that lists the choices."""
        if isinstance(value, ColumnKind):
            return value
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            choices = ", ".join(k.value for k in cls)
            raise ConfigError(f"{setting}: unknown column kind {value!r}; choose one of {choices}") from None


#: kinds whose values are numbers
NUMBER_KINDS = frozenset({ColumnKind.NUMERIC, ColumnKind.INTEGER})
#: kinds whose values lie on a number line (binned by quantiles, compared with < and >)
ORDERED_KINDS = frozenset({ColumnKind.NUMERIC, ColumnKind.INTEGER, ColumnKind.DATETIME})
#: kinds whose values are labels (counted, never ordered)
LABEL_KINDS = frozenset({ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN})
#: kinds the table metrics and rule inference leave out (ids are regenerated; free text has its own measures)
UNTABULATED_KINDS = frozenset({ColumnKind.ID, ColumnKind.TEXT})


def to_numbers(series: pd.Series) -> np.ndarray:
    """A column as a writable float64 array, NaN where missing.

    Datetimes become seconds since 1970 (the one time unit of the package),
    booleans 0/1, numbers stay numbers; text that is all numbers or all
    timestamps is read as such, anything else becomes NaN.

    >>> to_numbers(pd.Series(pd.to_datetime(["1970-01-02", None]))).tolist()
    [86400.0, nan]
    """
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        series = series.dt.tz_convert("UTC").dt.tz_localize(None)
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        stamps = series.astype("datetime64[ns]")
        out = stamps.to_numpy().astype("int64").astype(np.float64) / NS_PER_SECOND
        out[stamps.isna().to_numpy()] = np.nan
        return out
    if pd.api.types.is_bool_dtype(series.dtype) or pd.api.types.is_numeric_dtype(series.dtype):
        # a writable copy: pandas may hand out read-only views (copy-on-write)
        return np.array(series.astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan), copy=True)
    converted = pd.to_numeric(series, errors="coerce")
    if converted.notna().sum() < series.notna().sum():
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            stamps = pd.to_datetime(series, errors="coerce", format="mixed")
        if stamps.notna().sum() == series.notna().sum():
            return to_numbers(stamps)
    return np.array(converted.astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan), copy=True)


def from_seconds(seconds: np.ndarray) -> pd.Series:
    """Seconds since 1970 (NaN = missing) back to a ``datetime64[ns]`` column."""
    seconds = np.asarray(seconds, dtype=np.float64)
    missing = np.isnan(seconds)
    ns = np.where(missing, 0, np.round(seconds * NS_PER_SECOND)).astype(np.int64)
    out = pd.Series(ns.astype("datetime64[ns]"))
    out[missing] = pd.NaT
    return out


def json_value(value: Any) -> Any:
    """``value`` as plain JSON data (dicts, lists, str, int, float, bool, None).

    numpy scalars and arrays, timestamps and dates (ISO 8601), paths, pydantic
    models, dataclasses and objects with ``to_dict()`` are converted; a missing
    or non-finite float becomes ``None``; anything else raises ``TypeError``.
    """
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, np.bool_):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [json_value(v) for v in value]
    if value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, (datetime, date, pd.Timestamp)):
        return value.isoformat()
    if isinstance(value, np.datetime64):
        return None if np.isnat(value) else pd.Timestamp(value).isoformat()
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "model_dump"):  # pydantic models (drift profile, gate results, QA report)
        return json_value(value.model_dump(mode="json"))
    if hasattr(value, "to_dict") and callable(value.to_dict):
        return json_value(value.to_dict())
    if is_dataclass(value) and not isinstance(value, type):
        return json_value(asdict(value))
    raise TypeError(f"cannot store a {type(value).__name__} as JSON")


def json_default(value: Any) -> Any:
    """``default=`` hook for :func:`json.dumps`, converting what :func:`json_value` knows."""
    return json_value(value)


DATASET_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def validate_dataset_name(dataset: Any, *, setting: str | None = None) -> str:
    """Return ``dataset`` if it is a safe dataset name, else raise :class:`ConfigError`.

    >>> validate_dataset_name("churn_2024")
    'churn_2024'
    """
    if not isinstance(dataset, str) or not DATASET_NAME.match(dataset):
        where = f"{setting}: " if setting else ""
        raise ConfigError(
            f"{where}invalid dataset name {dataset!r}: use a letter or underscore followed by up to 62 letters, "
            "digits or underscores (it becomes a table name in the warehouse)"
        )
    return dataset


def did_you_mean(name: Any, choices: Any) -> str:
    """``" (did you mean 'churn'?)"`` for the closest of ``choices`` to a misspelled ``name``, else ``""``.

    >>> did_you_mean("chrun", ["customer_id", "churn"])
    " (did you mean 'churn'?)"
    """
    choices = [str(c) for c in choices]
    close = difflib.get_close_matches(str(name), choices, n=3, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in choices}
        close = [lowered[str(name).lower()]] if str(name).lower() in lowered else []
    if not close:
        return ""
    return " (did you mean " + " or ".join(repr(c) for c in close) + "?)"


__all__ = [
    "DATASET_NAME",
    "LABEL_KINDS",
    "NUMBER_KINDS",
    "NS_PER_SECOND",
    "ORDERED_KINDS",
    "SECONDS_PER_DAY",
    "ColumnKind",
    "did_you_mean",
    "from_seconds",
    "json_default",
    "json_value",
    "to_numbers",
    "validate_dataset_name",
]
