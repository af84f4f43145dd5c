"""Column kinds: inferred from a table, explained, overridable, and applied.

A :class:`Schema` is the contract between a source table and everything
downstream of it (generators, quality metrics, constraints, drift). Inference
is deliberately conservative and every decision carries a one-line ``reason``
so a user can see *why* a column got its kind (``synth-pipeline schema``
prints them) and override it in the config.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synth_pipeline.columns import NUMBER_KINDS, ColumnKind, did_you_mean
from synth_pipeline.errors import ConfigError, InvalidDataError

# A string column whose distinct values make up more than this share of its
# non-missing rows (and that has more than MIN_ID_VALUES of them) is an id.
ID_UNIQUE_SHARE = 0.9
MIN_ID_VALUES = 50
_TRUE_FALSE = {"true", "false"}


@dataclass
class ColumnSpec:
    """One column: its name, kind, whether it had missing values, and why."""

    name: str
    kind: ColumnKind
    has_missing: bool = False
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = self.kind.value
        return data


@dataclass
class Schema:
    """The ordered columns of a table with their kinds."""

    columns: list[ColumnSpec] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def __getitem__(self, name: str) -> ColumnSpec:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    def __contains__(self, name: object) -> bool:
        return any(c.name == name for c in self.columns)

    def kind(self, name: str) -> ColumnKind:
        return self[name].kind

    def names_of(self, *kinds: ColumnKind) -> list[str]:
        """The names of the columns of the given kinds, in table order."""
        return [c.name for c in self.columns if c.kind in kinds]

    def to_dict(self) -> dict[str, Any]:
        return {"columns": [c.to_dict() for c in self.columns]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Schema:
        return cls(
            [
                ColumnSpec(
                    name=c["name"],
                    kind=ColumnKind(c["kind"]),
                    has_missing=bool(c.get("has_missing", False)),
                    reason=c.get("reason", ""),
                )
                for c in data["columns"]
            ]
        )

    def describe(self) -> pd.DataFrame:
        """A table a person can read: column, kind, missing, reason."""
        return pd.DataFrame(
            [(c.name, c.kind.value, c.has_missing, c.reason) for c in self.columns],
            columns=["column", "kind", "has_missing", "reason"],
        )


def check_table(data: pd.DataFrame, *, what: str = "table") -> None:
    """Refuse tables nothing can be learned from, naming the problem."""
    if not isinstance(data, pd.DataFrame):
        raise InvalidDataError(f"{what}: expected a pandas DataFrame, got {type(data).__name__}")
    if data.shape[1] == 0:
        raise InvalidDataError(f"{what} has no columns")
    if len(data) == 0:
        raise InvalidDataError(f"{what} is empty (0 rows); a generator needs rows to learn from")
    names = [str(c) for c in data.columns]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise InvalidDataError(f"{what} has duplicated column names: {', '.join(duplicated)}")


def infer_schema(
    data: pd.DataFrame,
    overrides: Mapping[str, str | ColumnKind] | None = None,
    *,
    what: str = "table",
) -> Schema:
    """Infer the kind of every column of ``data``; ``overrides`` win.

    >>> infer_schema(pd.DataFrame({"age": [31, 45], "city": ["Oslo", "Rome"]})).kind("age")
    <ColumnKind.INTEGER: 'integer'>
    """
    check_table(data, what=what)
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - {str(c) for c in data.columns})
    if unknown:
        raise ConfigError(
            f"column kind override names unknown column(s) {', '.join(map(repr, unknown))}"
            f"{did_you_mean(unknown[0], data.columns)}; "
            f"the {what} has: {', '.join(map(str, data.columns))}"
        )
    columns = []
    for name in data.columns:
        series = data[name]
        name = str(name)
        if series.isna().all():
            raise InvalidDataError(
                f"column {name!r} of the {what} is entirely missing; drop it from the source "
                "(nothing can be learned from it)"
            )
        if name in overrides:
            kind = ColumnKind.parse(overrides[name], setting=f"columns.{name}")
            reason = "set in the configuration"
            _check_castable(series, kind, name)
        else:
            kind, reason = _infer_kind(series)
        columns.append(ColumnSpec(name, kind, bool(series.isna().any()), reason))
    return Schema(columns)


def _infer_kind(series: pd.Series) -> tuple[ColumnKind, str]:
    values = series.dropna()
    if pd.api.types.is_bool_dtype(series.dtype):
        return ColumnKind.BOOLEAN, "boolean dtype"
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return ColumnKind.DATETIME, "datetime dtype"
    if pd.api.types.is_numeric_dtype(series.dtype):
        return _numeric_kind(values.astype("float64"))
    # Strings (or mixed objects): booleans, numbers and dates written as text first.
    text = values.astype(str).str.strip()
    lowered = set(text.str.lower().unique())
    if lowered <= _TRUE_FALSE and len(lowered) > 0:
        return ColumnKind.BOOLEAN, "only the values true/false"
    numbers = pd.to_numeric(text, errors="coerce")
    leading_zero = text.str.match(r"^[+-]?0\d").any()  # codes such as zip "02134": labels, not numbers
    if numbers.notna().all() and not leading_zero:
        kind, reason = _numeric_kind(numbers.astype("float64"))
        return kind, reason + " (written as text)"
    if _looks_like_dates(text):
        return ColumnKind.DATETIME, "text that parses as dates"
    distinct = text.nunique()
    if distinct > MIN_ID_VALUES and distinct >= ID_UNIQUE_SHARE * len(text):
        return ColumnKind.ID, f"{distinct} distinct values in {len(text)} rows (near-unique)"
    return ColumnKind.CATEGORICAL, f"{distinct} distinct labels"


def _numeric_kind(values: pd.Series) -> tuple[ColumnKind, str]:
    finite = values[np.isfinite(values.to_numpy())]
    if len(finite) and (finite == np.round(finite)).all():
        distinct = finite.nunique()
        span = finite.max() - finite.min() + 1
        if distinct == len(finite) and distinct > MIN_ID_VALUES and span <= 2 * distinct:
            return ColumnKind.ID, "unique, nearly consecutive whole numbers (a row id)"
        return ColumnKind.INTEGER, f"whole numbers, {distinct} distinct"
    return ColumnKind.NUMERIC, "numbers with fractions"


def _looks_like_dates(text: pd.Series) -> bool:
    sample = text.head(500)
    if not sample.str.contains(r"\d", regex=True).all() or not sample.str.contains(r"[-/:.]", regex=True).all():
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
        except (ValueError, TypeError):
            return False
    return bool(parsed.notna().all())


def _check_castable(series: pd.Series, kind: ColumnKind, name: str) -> None:
    try:
        _convert(series, kind, name)
    except InvalidDataError as error:
        raise InvalidDataError(
            f"override of column {name!r} to {kind.value!r} does not fit its values: {error}"
        ) from None


def _convert(series: pd.Series, kind: ColumnKind, name: str) -> pd.Series:
    if kind in NUMBER_KINDS:
        if pd.api.types.is_bool_dtype(series.dtype):
            numbers = series.astype("float64")
        else:
            numbers = pd.to_numeric(series, errors="coerce")
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
    if kind is ColumnKind.BOOLEAN:
        if pd.api.types.is_bool_dtype(series.dtype):
            return series.astype("boolean")
        mapped = series.map(_to_bool)
        bad = mapped.isna() & series.notna()
        if bad.any():
            raise InvalidDataError(f"column {name!r} is boolean but holds {series[bad].iloc[0]!r}")
        return mapped.astype("boolean")
    if kind is ColumnKind.DATETIME:
        if pd.api.types.is_datetime64_any_dtype(series.dtype):
            out = series
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = pd.to_datetime(series, errors="coerce", format="mixed")
            bad = out.isna() & series.notna()
            if bad.any():
                raise InvalidDataError(f"column {name!r} is datetime but holds {series[bad].iloc[0]!r}")
        if getattr(out.dt, "tz", None) is not None:
            out = out.dt.tz_convert("UTC").dt.tz_localize(None)
        return out.astype("datetime64[ns]")
    # categorical and id: labels as strings, missing kept missing
    return series.map(lambda v: v if pd.isna(v) else str(v)).astype("object")


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


def apply_schema(
    data: pd.DataFrame, schema: Schema, *, what: str = "table", allow_missing_columns: bool = False
) -> pd.DataFrame:
    """Return ``data`` with the schema's columns, in its order, in canonical dtypes.

    Canonical dtypes: numeric ``float64``, integer ``Int64``, boolean ``boolean``,
    datetime ``datetime64[ns]``, categorical and id ``object`` strings; missing stays missing.
    """
    if not allow_missing_columns:
        check_table(data, what=what)
    missing = [n for n in schema.names if n not in data.columns]
    if missing and not allow_missing_columns:
        raise InvalidDataError(f"{what} lacks column(s) {', '.join(map(repr, missing))} that the schema expects")
    converted = {name: _convert(data[name], schema.kind(name), name) for name in schema.names if name in data.columns}
    return pd.DataFrame(converted, index=data.index)
