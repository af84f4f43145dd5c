"""Column kinds: inferred from a table, explained, overridable, and applied.

A :class:`Schema` is the contract between a source table and everything
downstream of it (generators, quality metrics, constraints, drift). Inference
is deliberately conservative and every decision carries a one-line ``reason``
so a user can see *why* a column got its kind (``synth-pipeline schema``
prints them) and override it in the config.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synth_pipeline.canonical import check_int64_range, to_canonical
from synth_pipeline.cell_types import check_cell_types
from synth_pipeline.column_overrides import ColumnOverride, parse_overrides
from synth_pipeline.columns import ColumnKind, did_you_mean
from synth_pipeline.errors import ConfigError, InvalidDataError
from synth_pipeline.free_text import MIN_DISTINCT_SHARE, text_evidence
from synth_pipeline.text_values import date_format_of, grouped_numbers

# A string column whose distinct values make up more than this share of its
# non-missing rows (and that has more than MIN_ID_VALUES of them) is an id, unless it reads as
# free text (several words, mostly shared by many rows: see synth_pipeline.free_text).
ID_UNIQUE_SHARE = 0.9
MIN_ID_VALUES = 50
_TRUE_FALSE = {"true", "false"}


@dataclass
class ColumnSpec:
    """One column: its name, kind, whether it had missing values, and why.

    ``format`` is the format of dates written as text (a strftime format or
    ``ISO8601``), found by inference or declared in the config; None otherwise.
    """

    name: str
    kind: ColumnKind
    has_missing: bool = False
    reason: str = ""
    format: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = self.kind.value
        if self.format is None:
            del data["format"]  # schemas of ordinary columns stay as they were
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
                    format=c.get("format"),
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
    overrides: Mapping[str, str | ColumnKind | Mapping[str, Any] | ColumnOverride] | None = None,
    *,
    what: str = "table",
) -> Schema:
    """Infer the kind of every column of ``data``; ``overrides`` win (a kind, or ``{kind:, format:}``).

    >>> infer_schema(pd.DataFrame({"age": [31, 45], "city": ["Oslo", "Rome"]})).kind("age")
    <ColumnKind.INTEGER: 'integer'>
    """
    check_table(data, what=what)
    overrides = parse_overrides(overrides)
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
        check_cell_types(series, name, what=what)
        if name in overrides:
            spec = ColumnSpec(name, overrides[name].kind, reason="set in the configuration")
            spec.format = overrides[name].format
            _check_castable(series, spec)
            if spec.kind is ColumnKind.DATETIME and spec.format is None and not _is_datetime(series):
                spec.format = date_format_of(series.dropna().astype(str).str.strip(), name)
        else:
            spec = _infer_spec(series, name)
        spec.has_missing = bool(series.isna().any())
        columns.append(spec)
    return Schema(columns)


def _is_datetime(series: pd.Series) -> bool:
    return pd.api.types.is_datetime64_any_dtype(series.dtype)


def _infer_spec(series: pd.Series, name: str) -> ColumnSpec:
    values = series.dropna()
    if pd.api.types.is_bool_dtype(series.dtype):
        return ColumnSpec(name, ColumnKind.BOOLEAN, reason="boolean dtype")
    if _is_datetime(series):
        return ColumnSpec(name, ColumnKind.DATETIME, reason="datetime dtype")
    if pd.api.types.is_numeric_dtype(series.dtype):
        spec = _numeric_spec(values.astype("float64"), name)
        if spec.kind is ColumnKind.INTEGER:
            check_int64_range(series, name)
        return spec
    # Strings (or mixed objects): booleans, numbers and dates written as text first. The tests that depend only
    # on which texts occur read the distinct texts; the whole column only where rows are counted.
    text = pd.Series(values.astype(str).unique(), dtype=object).str.strip()
    lowered = set(text.str.lower().unique())
    if lowered <= _TRUE_FALSE and len(lowered) > 0:
        return ColumnSpec(name, ColumnKind.BOOLEAN, reason="only the values true/false")
    leading_zero = text.str.match(r"^[+-]?0\d").any()  # codes such as zip "02134": labels, not numbers
    if not leading_zero and _written_as_numbers(text, name):
        spec = _numbers_as_text(values.astype(str).str.strip(), name)
        if spec is not None:
            return spec
    date_format = date_format_of(text, name)
    if date_format is not None:
        spec = ColumnSpec(name, ColumnKind.DATETIME, reason=f"text dates, all in the format {date_format}")
        spec.format = date_format
        return spec
    distinct = text.nunique()
    if distinct > MIN_ID_VALUES and distinct >= MIN_DISTINCT_SHARE * len(values):
        evidence = text_evidence(values.astype(str).str.strip())
        if evidence.is_free_text:
            return ColumnSpec(name, ColumnKind.TEXT, reason=evidence.reason())
        if distinct >= ID_UNIQUE_SHARE * len(values):
            return ColumnSpec(name, ColumnKind.ID, reason=evidence.reason())
    return ColumnSpec(name, ColumnKind.CATEGORICAL, reason=f"{distinct} distinct labels")


def _written_as_numbers(distinct: pd.Series, name: str) -> bool:
    """Whether the distinct texts of a column are numbers, plain or with ',' thousands separators."""
    if pd.to_numeric(distinct, errors="coerce").notna().all():
        return True
    try:
        return grouped_numbers(distinct, name) is not None
    except InvalidDataError:  # written in more than one way: the whole column raises it, with its counts
        return True


def _numbers_as_text(text: pd.Series, name: str) -> ColumnSpec | None:
    """The spec of a column of numbers written as text (plain, or with ',' thousands separators), else None."""
    numbers = pd.to_numeric(text, errors="coerce")
    if numbers.notna().all():
        spec = _numeric_spec(numbers.astype("float64"), name)
        spec.reason += " (written as text)"
        return spec
    grouped = grouped_numbers(text, name)
    if grouped is None:
        return None
    spec = _numeric_spec(grouped.astype("float64"), name)
    spec.reason += " (written as text with ',' thousands separators)"
    return spec


def _numeric_spec(values: pd.Series, name: str) -> ColumnSpec:
    finite = values[np.isfinite(values.to_numpy())]
    if len(finite) and (finite == np.round(finite)).all():
        distinct = finite.nunique()
        span = finite.max() - finite.min() + 1
        if distinct == len(finite) and distinct > MIN_ID_VALUES and span <= 2 * distinct:
            return ColumnSpec(name, ColumnKind.ID, reason="unique, nearly consecutive whole numbers (a row id)")
        return ColumnSpec(name, ColumnKind.INTEGER, reason=f"whole numbers, {distinct} distinct")
    return ColumnSpec(name, ColumnKind.NUMERIC, reason="numbers with fractions")


def _check_castable(series: pd.Series, spec: ColumnSpec) -> None:
    try:
        to_canonical(series, spec.kind, spec.name, date_format=spec.format)
    except InvalidDataError as error:
        raise InvalidDataError(
            f"override of column {spec.name!r} to {spec.kind.value!r} does not fit its values: {error}"
        ) from None


def apply_schema(
    data: pd.DataFrame, schema: Schema, *, what: str = "table", allow_missing_columns: bool = False
) -> pd.DataFrame:
    """Return ``data`` with the schema's columns, in its order, in canonical dtypes.

    Canonical dtypes: numeric ``float64``, integer ``Int64``, boolean ``boolean``,
    datetime ``datetime64[ns]``, categorical ``object`` strings, id ``Int64`` (whole numbers) or ``object``
    strings; missing stays missing (:func:`synth_pipeline.canonical.to_canonical`).
    """
    if not allow_missing_columns:
        check_table(data, what=what)
    missing = [n for n in schema.names if n not in data.columns]
    if missing and not allow_missing_columns:
        raise InvalidDataError(f"{what} lacks column(s) {', '.join(map(repr, missing))} that the schema expects")
    converted = {
        spec.name: to_canonical(data[spec.name], spec.kind, spec.name, date_format=spec.format)
        for spec in schema.columns
        if spec.name in data.columns
    }
    return pd.DataFrame(converted, index=data.index)
