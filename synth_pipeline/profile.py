"""The training profile: statistics fitted once on the training table, stored with the model.

Drift detection and the quality report bin a column the same way, so the binning lives here once:

* numbers and datetimes: up to ``N_BINS`` quantile bins on *protected* edges (never a real
  minimum, maximum or rare value: see :func:`protected_edges`; with ``N_BINS`` or fewer distinct
  values, one bin per value at least ``MIN_LABEL_COUNT`` rows hold), plus a bin below and a bin
  above them, plus missing;
* categoricals and booleans: the ``N_BINS`` most frequent training labels seen at least
  ``MIN_LABEL_COUNT`` times, plus "other", plus missing;
* id columns: no bins.

The edge search follows mostlyai-qa's, so the two implementations bin alike, but on protected
values: the report built on these bins never prints a real extreme or rare value. Datetimes are binned in
seconds since 1970 (:func:`synth_pipeline.columns.to_numbers`).

:class:`TrainingProfile` holds, per column, the kind, the bins and the training frequencies, plus the
table's fingerprint (:func:`fingerprint_table`); it round-trips through a plain dict, which the
lifecycle stores in the model's metadata. A profile written by an older version (the drift profile
with interior edges and the top 20 labels) still loads: its bins are kept as they were.

>>> profile = TrainingProfile.from_table(training, schema)        # doctest: +SKIP
>>> TrainingProfile.from_dict(profile.to_dict()) == profile       # doctest: +SKIP
True
"""

from __future__ import annotations

import hashlib
import itertools
import json
import sys
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from synth_pipeline.columns import LABEL_KINDS, ORDERED_KINDS, ColumnKind, from_seconds, to_numbers
from synth_pipeline.errors import InvalidDataError, StoreError
from synth_pipeline.protection import MIN_COUNT, grid_unit, off_rare, protected_bounds, rare_values, snap
from synth_pipeline.schema import ColumnSpec, Schema, apply_schema, infer_schema

N_BINS = 10
MIN_LABEL_COUNT = MIN_COUNT
MISSING_LABEL = "(missing)"
OTHER_LABEL = "(other)"
# Stands in for an open end when an older profile's bins (-inf, e1), ..., [ek, inf) are read:
# finite, so the profile stays plain JSON.
_OPEN_END = sys.float_info.max


def column_values(series: pd.Series, kind: ColumnKind) -> np.ndarray:
    """A column as float64 (numbers; datetimes in seconds since 1970; NaN missing) or as object labels.

    ``series`` should be in its kind's canonical dtype (:func:`synth_pipeline.schema.apply_schema`).
    """
    if kind in ORDERED_KINDS:
        return to_numbers(series)
    if series.dtype == object and pd.api.types.infer_dtype(series, skipna=True) == "string":
        # canonical labels (strings already): the same cells without a round trip through a string dtype
        out = series.to_numpy(dtype=object, copy=True)
        out[pd.isna(out)] = None
        return out
    labels = series.astype("object")
    mask = labels.isna().to_numpy()
    out = labels.astype(str).to_numpy(dtype=object)
    out[mask] = None
    return out


def search_edges(sorted_values: np.ndarray, n_bins: int = N_BINS) -> np.ndarray:
    """Distinct bin edges from evenly spaced order statistics: the fewest points giving ``n_bins + 1`` edges.

    Heavily tied columns (say 90% zeros) still get up to ``n_bins`` bins, spread over the distinct values.
    The edges include the minimum and the maximum.
    """
    n = len(sorted_values)
    edges = np.unique(sorted_values[[0, n - 1]])
    for points in range(n_bins, max(n_bins + 1, min(1000, n + 1))):
        edges = np.unique(sorted_values[np.linspace(0, n - 1, points).astype(int)])
        if len(edges) >= n_bins + 1:
            break
    return edges


class ColumnBins(BaseModel):
    """How one column is binned: edges (numbers, datetimes) or kept labels (categories).

    Codes ``0 .. n_regular - 1`` are the regular bins; numbers then have below, above and missing,
    labels have other and missing. Id columns have no bins (``n_regular == 0``).
    """

    model_config = ConfigDict(extra="forbid")

    name: str
    kind: ColumnKind
    edges: list[float] | None = Field(
        None, description="Bin edges (datetimes in seconds since 1970): protected quantiles, rounded; with one "
        "bin per distinct value, the values at least MIN_LABEL_COUNT training rows hold."
    )
    categories: list[str] | None = Field(None, description="The labels with a bin of their own, most frequent first.")
    n_regular: int = Field(0, description="Number of regular bins (before below/above/other and missing).")

    @property
    def binned(self) -> bool:
        """False for id columns, which are never binned."""
        return self.edges is not None or self.categories is not None

    @property
    def size(self) -> int:
        """Number of codes: regular bins plus below/above/missing (numbers) or other/missing (labels)."""
        return self.n_regular + (3 if self.edges is not None else 2)

    @property
    def missing_code(self) -> int:
        """The code of a missing value (always the last)."""
        return self.size - 1

    @property
    def labels(self) -> list[str]:
        """A readable label per code."""
        if self.edges is None:
            return [*(self.categories or []), OTHER_LABEL, MISSING_LABEL]
        edges = self.edges
        if self.n_regular == len(edges):  # one bin per distinct value
            regular = [self._format(v) for v in edges]
        else:
            regular = [f"[{self._format(lo)}, {self._format(hi)})" for lo, hi in itertools.pairwise(edges[:-1])]
            regular.append(f"[{self._format(edges[-2])}, {self._format(edges[-1])}]")
        return [*regular, f"< {self._format(edges[0])}", f"> {self._format(edges[-1])}", MISSING_LABEL]

    def _format(self, value: float) -> str:
        if abs(value) >= _OPEN_END:  # an older profile's open end
            return "-inf" if value < 0 else "inf"
        if self.kind is ColumnKind.DATETIME:
            stamp = from_seconds(np.array([value])).iloc[0]
            return stamp.strftime("%Y-%m-%d") if stamp == stamp.normalize() else stamp.strftime("%Y-%m-%d %H:%M")
        if float(value).is_integer():
            return str(int(value))
        return f"{value:.10g}"  # edges sit on a coarse grid: print them exactly

    def codes(self, values: np.ndarray) -> np.ndarray:
        """Integer codes in ``range(self.size)`` for values from :func:`column_values`."""
        if self.edges is not None:
            x = values.astype("float64", copy=False)
            missing = np.isnan(x)
            edges = np.asarray(self.edges, dtype="float64")
            code = np.searchsorted(edges, x, side="right") - 1
            code = np.clip(code, 0, self.n_regular - 1)
            code[x < edges[0]] = self.n_regular
            code[x > edges[-1]] = self.n_regular + 1
            code[missing] = self.n_regular + 2
            return code.astype(np.int64)
        missing = pd.isna(values)
        code = pd.Index(self.categories or [], dtype=object).get_indexer(values).astype(np.int64)
        code[code < 0] = self.n_regular  # other
        code[missing] = self.n_regular + 1
        return code

    def frequencies_of(self, values: np.ndarray) -> np.ndarray:
        """Share of ``values`` (from :func:`column_values`) in each bin, in code order."""
        return np.bincount(self.codes(values), minlength=self.size) / max(len(values), 1)


def fit_bins(name: str, kind: ColumnKind, training_values: np.ndarray) -> ColumnBins:
    """Fit the bins of one column on its training values (from :func:`column_values`).

    No label can print a real rare value or a real extreme (:mod:`synth_pipeline.protection`):
    numbers with at most ``N_BINS`` distinct values get one bin per value that at least
    ``MIN_LABEL_COUNT`` rows hold (rarer values outside them fall into below/above); otherwise
    the edges are :func:`protected_edges`. Labels need ``MIN_LABEL_COUNT`` rows too.
    """
    if kind in ORDERED_KINDS:
        x = training_values.astype("float64", copy=False)
        x = np.sort(x[~np.isnan(x)])
        edges, n_regular = _number_edges(kind, x)
        return ColumnBins(name=name, kind=kind, edges=edges.tolist(), n_regular=n_regular)
    if kind not in LABEL_KINDS:
        return ColumnBins(name=name, kind=kind)
    counts = pd.Series(training_values, dtype=object).dropna().value_counts()
    ranked = sorted(counts.items(), key=lambda item: (-item[1], str(item[0])))
    categories = [str(label) for label, count in ranked[:N_BINS] if count >= MIN_LABEL_COUNT]
    return ColumnBins(name=name, kind=kind, categories=categories, n_regular=len(categories))


def _number_edges(kind: ColumnKind, x: np.ndarray) -> tuple[np.ndarray, int]:
    """Edges and number of regular bins of a sorted, finite number column."""
    if len(x) == 0:
        return np.array([0.0]), 1
    distinct, counts = np.unique(x, return_counts=True)
    frequent = distinct[counts >= MIN_LABEL_COUNT]
    if len(distinct) <= N_BINS and len(frequent):
        rare = distinct[counts < MIN_LABEL_COUNT]
        if not ((rare > frequent[0]) & (rare < frequent[-1])).any():
            return frequent, len(frequent)
    edges = protected_edges(x, kind)
    return edges, len(edges) - 1


def protected_edges(sorted_values: np.ndarray, kind: ColumnKind, n_bins: int = N_BINS) -> np.ndarray:
    """Quantile bin edges that are not real extremes or rare values.

    The outer edges are the protected bounds (the ``MIN_LABEL_COUNT``-th smallest and largest
    values) rounded outward on a grid of about a thousandth of their range; the inner ones are
    :func:`search_edges` of the values between them, rounded to the same grid. No edge equals the
    real minimum, the real maximum or a value fewer than ``MIN_LABEL_COUNT`` rows hold (such an
    edge moves off it, or is left out). Values beyond the outer edges fall into below/above.
    """
    x = sorted_values
    lo, hi = protected_bounds(x, MIN_LABEL_COUNT)
    avoid = np.concatenate([rare_values(x, MIN_LABEL_COUNT), x[[0, -1]]])
    unit = grid_unit(hi - lo, lo, whole=kind is ColumnKind.INTEGER, datetime=kind is ColumnKind.DATETIME)
    low = off_rare(snap(lo, unit, "down"), unit, avoid, -1)
    high = off_rare(snap(hi, unit, "up"), unit, avoid, +1)
    if high <= low:
        high = off_rare(snap(low + unit, unit, "nearest"), unit, avoid, +1)
    interior: set[float] = set()
    for edge in search_edges(x[(x >= lo) & (x <= hi)], n_bins)[1:-1]:
        rounded = snap(float(edge), unit, "nearest")
        for candidate in (rounded, rounded - unit, rounded + unit, rounded - unit / 2):
            if low < candidate < high and not np.any(avoid == candidate):
                interior.add(candidate)
                break
    return np.array([low, *sorted(interior), high], dtype="float64")


def canonical_column(series: pd.Series, kind: ColumnKind, *, date_format: str | None = None) -> pd.Series:
    """One column in the canonical dtype of ``kind`` (InvalidDataError when its values do not fit).

    ``date_format``: the format of dates written as text (the schema's), found again when not given.
    """
    name = str(series.name)
    frame = pd.DataFrame({name: series})
    spec = ColumnSpec(name, kind, format=date_format)
    return apply_schema(frame, Schema([spec]), allow_missing_columns=True)[name]


def dtype_family(dtype: Any) -> str:
    """``number``, ``boolean``, ``datetime`` or ``text``: how a column was read."""
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_numeric_dtype(dtype):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    return "text"


def fingerprint_table(data: pd.DataFrame) -> dict[str, Any]:
    """A fingerprint of a table as read: content hash, row count, column names and dtypes.

    The hash covers the column names, their dtypes and every cell in row order
    (``pandas.util.hash_pandas_object``), so two reads of an unchanged source
    agree and any edit, append or reorder changes it.

    >>> fingerprint_table(pd.DataFrame({"a": [1, 2]}))["row_count"]
    2
    """
    if not isinstance(data, pd.DataFrame):
        raise InvalidDataError(f"fingerprint_table expects a DataFrame, got {type(data).__name__}")
    columns = [{"name": str(name), "dtype": str(dtype)} for name, dtype in data.dtypes.items()]
    digest = hashlib.sha256(json.dumps(columns, sort_keys=True).encode())
    if len(data) and data.shape[1]:
        try:
            row_hashes = pd.util.hash_pandas_object(data, index=False)
        except TypeError:  # unhashable cells (lists, dicts): hash their text
            row_hashes = pd.util.hash_pandas_object(data.astype(str), index=False)
        digest.update(row_hashes.to_numpy().tobytes())
    return {"content_hash": digest.hexdigest(), "row_count": len(data), "columns": columns}


class ColumnProfile(ColumnBins):
    """One column's bins, how it was read, and its training share per bin (code order)."""

    dtype_family: str = Field(description="number, boolean, datetime or text: the dtype the column was read with")
    frequencies: list[float] = Field(default_factory=list, description="Training share per bin; empty for ids.")
    date_format: str | None = Field(None, description="The format of dates written as text (the schema's), if any.")


class TrainingProfile(BaseModel):
    """Binned training distributions of every column and the table's fingerprint (dict round trip)."""

    model_config = ConfigDict(extra="forbid")

    columns: list[ColumnProfile]
    n_rows: int
    fingerprint: dict[str, Any] = Field(default_factory=dict, description="fingerprint_table() of the training table")
    created_at: str = ""

    @classmethod
    def from_table(cls, training: pd.DataFrame, schema: Schema | None = None) -> TrainingProfile:
        """Fit bins on ``training`` (kinds from ``schema``, inferred when not given) and record frequencies."""
        schema = schema or infer_schema(training, what="training table")
        missing = [n for n in schema.names if n not in training.columns]
        if missing:
            raise InvalidDataError(f"training table lacks column(s) {', '.join(map(repr, missing))} of its schema")
        columns = []
        for spec in schema.columns:
            raw = training[spec.name]
            values = column_values(canonical_column(raw, spec.kind, date_format=spec.format), spec.kind)
            bins = fit_bins(spec.name, spec.kind, values)
            frequencies = bins.frequencies_of(values).tolist() if bins.binned else []
            columns.append(
                ColumnProfile(
                    **dict(bins), dtype_family=dtype_family(raw.dtype), frequencies=frequencies, date_format=spec.format
                )
            )
        return cls(
            columns=columns,
            n_rows=len(training),
            fingerprint=fingerprint_table(training),
            created_at=datetime.now(UTC).isoformat(),
        )

    def column(self, name: str) -> ColumnProfile:
        """The profile of column ``name`` (KeyError when the training table had no such column)."""
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        """The training columns, in order."""
        return [c.name for c in self.columns]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data (what the lifecycle stores in the model's metadata)."""
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingProfile:
        """Read :meth:`to_dict` output, or a drift profile stored by an older version."""
        try:
            return cls.model_validate(_upgrade_drift_profile(data) if "top_k" in data else data)
        except (ValidationError, KeyError, TypeError) as error:
            raise StoreError(
                f"the model's stored training profile cannot be read ({error}); retrain the model to store a new one"
            ) from None

    def to_json(self) -> str:
        """:meth:`to_dict` as JSON text."""
        return self.model_dump_json()

    @classmethod
    def from_json(cls, text: str) -> TrainingProfile:
        """Read :meth:`to_json` output (or an older version's drift profile)."""
        return cls.from_dict(json.loads(text))


def _upgrade_drift_profile(data: dict[str, Any]) -> dict[str, Any]:
    """An older ``DriftProfile`` dict as a profile with the same bins and frequencies.

    Its numeric bins were (-inf, e1), [e1, e2), ..., [ek, inf) on interior edges (datetimes in
    nanoseconds), its labels the top 20 plus other; the frequencies end with missing. The open ends
    become edges at +-float max, so every old bin is a regular bin and below/above stay empty.
    """
    columns = []
    for column in data["columns"]:
        kind = ColumnKind(column["kind"])
        entry = {"name": column["name"], "kind": kind, "dtype_family": column["dtype_family"]}
        frequencies = list(column.get("frequencies") or [])
        if column.get("edges") is not None:
            scale = 1e9 if kind is ColumnKind.DATETIME else 1.0
            interior = [float(edge) / scale for edge in column["edges"]]
            entry.update(edges=[-_OPEN_END, *interior, _OPEN_END], n_regular=len(interior) + 1,
                         frequencies=[*frequencies[:-1], 0.0, 0.0, frequencies[-1]])
        elif column.get("categories") is not None:
            entry.update(categories=column["categories"], n_regular=len(column["categories"]), frequencies=frequencies)
        columns.append(entry)
    return {key: data[key] for key in ("n_rows", "fingerprint", "created_at") if key in data} | {"columns": columns}


__all__ = [
    "MISSING_LABEL",
    "MIN_LABEL_COUNT",
    "N_BINS",
    "OTHER_LABEL",
    "ColumnBins",
    "ColumnProfile",
    "TrainingProfile",
    "canonical_column",
    "column_values",
    "dtype_family",
    "fingerprint_table",
    "fit_bins",
    "protected_edges",
    "search_edges",
]
