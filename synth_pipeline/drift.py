"""Source fingerprints and drift between a model's training data and the current source.

Stored with every trained model:

* :func:`fingerprint_table`: a content hash, the row count, and the column names
  and dtypes of the table as it was read;
* :class:`DriftProfile`: per column, bins fixed on the training data (quantile
  bins for numbers and datetimes, the top-k labels plus "other" for
  categoricals, and a missing-value bin) with the training frequencies.

:func:`measure_drift` scores a current table against a profile without the
training data: per-column PSI (population stability index) and TVD (total
variation distance), the largest PSI, and schema changes (columns added,
removed, or whose values no longer fit their kind).

>>> profile = DriftProfile.from_table(training)                    # doctest: +SKIP
>>> report = measure_drift(profile, current)                       # doctest: +SKIP
>>> report.drifted(0.2), report.summary                            # doctest: +SKIP
(False, 'max PSI 0.012 (age) over 6 columns; 1,200 rows now vs 1,000 in training; schema unchanged')

PSI rule of thumb: below 0.1 the distribution is stable, 0.1–0.25 moderate
shift, above 0.25 a large shift.
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from synth_pipeline.columns import ColumnKind
from synth_pipeline.errors import InvalidDataError, SynthPipelineError
from synth_pipeline.schema import ColumnSpec, Schema, apply_schema, infer_schema

# Keys under which a model's metadata (synth_pipeline.model_store.ModelStore) carries
# what drift detection needs: the source as it was read, and the training profile.
SOURCE_FINGERPRINT_KEY = "source_fingerprint"
DRIFT_PROFILE_KEY = "drift_profile"

DEFAULT_BINS = 10
DEFAULT_TOP_K = 20
# Frequencies are floored at this value before taking logarithms, so an empty
# bin on one side gives a large but finite PSI.
PSI_FLOOR = 1e-4
OTHER_LABEL = "__other__"
MISSING_LABEL = "__missing__"

_BINNED_NUMBERS = (ColumnKind.NUMERIC, ColumnKind.INTEGER, ColumnKind.DATETIME)
_LABELLED = (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN)


# -- fingerprint -----------------------------------------------------------------------
def _convert(series: pd.Series, kind: ColumnKind, name: str) -> pd.Series:
    """One column in the canonical dtype of ``kind`` (InvalidDataError when its values do not fit)."""
    frame = pd.DataFrame({name: series})
    return apply_schema(frame, Schema([ColumnSpec(name, kind)]), allow_missing_columns=True)[name]


def _dtype_family(dtype: Any) -> str:
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


# -- profile -----------------------------------------------------------------------------
class ColumnProfile(BaseModel):
    """The fixed bins of one column and its training frequencies.

    Numbers and datetimes: ``edges`` are the interior bin edges (datetimes in
    nanoseconds since the epoch); a value ``x`` falls in bin
    ``searchsorted(edges, x, side="right")``. Categoricals and booleans:
    ``categories`` are the top-k labels, followed by an "other" bin. The last
    frequency is always the missing-value bin. Id columns have no bins.
    """

    model_config = ConfigDict(extra="forbid")

    name: str
    kind: ColumnKind
    dtype_family: str = Field(description="number, boolean, datetime or text: the dtype the column was read with")
    edges: list[float] | None = None
    categories: list[str] | None = None
    frequencies: list[float] = Field(default_factory=list, description="training share per bin; the last is missing")

    @property
    def binned(self) -> bool:
        return self.kind is not ColumnKind.ID

    def bin_labels(self) -> list[str]:
        """A readable label per bin, matching ``frequencies``."""
        if self.edges is not None:
            bounds = [-math.inf, *self.edges, math.inf]
            return [f"[{bounds[i]:g}, {bounds[i + 1]:g})" for i in range(len(bounds) - 1)] + [MISSING_LABEL]
        if self.categories is not None:
            return [*self.categories, OTHER_LABEL, MISSING_LABEL]
        return []


class DriftProfile(BaseModel):
    """Binned training distributions of every column, stored with the model (JSON round trip)."""

    model_config = ConfigDict(extra="forbid")

    columns: list[ColumnProfile]
    n_rows: int
    fingerprint: dict[str, Any] = Field(default_factory=dict, description="fingerprint_table() of the training table")
    n_bins: int = DEFAULT_BINS
    top_k: int = DEFAULT_TOP_K
    created_at: str = ""

    @classmethod
    def from_table(
        cls,
        training: pd.DataFrame,
        schema: Schema | None = None,
        *,
        n_bins: int = DEFAULT_BINS,
        top_k: int = DEFAULT_TOP_K,
    ) -> DriftProfile:
        """Fix bins on ``training`` (kinds from ``schema``, inferred when not given) and record frequencies."""
        if n_bins < 2 or top_k < 1:
            raise InvalidDataError(f"a drift profile needs n_bins >= 2 and top_k >= 1, got {n_bins} and {top_k}")
        schema = schema or infer_schema(training, what="training table")
        missing = [n for n in schema.names if n not in training.columns]
        if missing:
            raise InvalidDataError(f"training table lacks column(s) {', '.join(map(repr, missing))} of its schema")
        columns = []
        for spec in schema.columns:
            raw = training[spec.name]
            values = _convert(raw, spec.kind, spec.name)
            profile = ColumnProfile(name=spec.name, kind=spec.kind, dtype_family=_dtype_family(raw.dtype))
            if spec.kind in _BINNED_NUMBERS:
                profile.edges = _fit_edges(_as_float(values, spec.kind), n_bins)
            elif spec.kind in _LABELLED:
                labels = _as_labels(values).dropna()
                counts = labels.value_counts()
                order = sorted(counts.index, key=lambda label: (-counts[label], label))
                profile.categories = [str(label) for label in order[:top_k]]
            if profile.binned:
                profile.frequencies = _frequencies(profile, values).tolist()
            columns.append(profile)
        return cls(
            columns=columns,
            n_rows=len(training),
            fingerprint=fingerprint_table(training),
            n_bins=n_bins,
            top_k=top_k,
            created_at=datetime.now(UTC).isoformat(),
        )

    def column(self, name: str) -> ColumnProfile:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DriftProfile:
        return cls.model_validate(data)

    def to_json(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_json(cls, text: str) -> DriftProfile:
        return cls.model_validate_json(text)


def _as_float(values: pd.Series, kind: ColumnKind) -> np.ndarray:
    """Non-missing values as float64 (datetimes in nanoseconds since the epoch)."""
    present = values.dropna()
    if kind is ColumnKind.DATETIME:
        return present.astype("datetime64[ns]").astype("int64").to_numpy(dtype="float64")
    return present.to_numpy(dtype="float64")


def _as_labels(values: pd.Series) -> pd.Series:
    return values.map(lambda v: v if pd.isna(v) else str(v))


def _fit_edges(values: np.ndarray, n_bins: int) -> list[float]:
    """Interior edges: one bin per value when there are few, else quantile bins."""
    distinct = np.unique(values)
    if len(distinct) <= 1:
        return []
    if len(distinct) <= n_bins:
        return ((distinct[:-1] + distinct[1:]) / 2).tolist()
    quantiles = np.quantile(values, np.linspace(0, 1, n_bins + 1)[1:-1])
    # An edge at the minimum would leave the first bin empty in training.
    return [float(e) for e in np.unique(quantiles) if e > distinct[0]]


def _frequencies(profile: ColumnProfile, values: pd.Series) -> np.ndarray:
    """Share of ``values`` (already converted to the column's kind) in each bin; missing last."""
    counts = _bin_counts(profile, values)
    total = counts.sum()
    return counts / total if total else counts


def _bin_counts(profile: ColumnProfile, values: pd.Series) -> np.ndarray:
    n_missing = int(values.isna().sum())
    if profile.edges is not None:
        numbers = _as_float(values, profile.kind)
        index = np.searchsorted(np.asarray(profile.edges, dtype="float64"), numbers, side="right")
        counts = np.bincount(index, minlength=len(profile.edges) + 1).astype("float64")
    else:
        labels = _as_labels(values).dropna()
        position = {label: i for i, label in enumerate(profile.categories or [])}
        index = labels.map(lambda label: position.get(label, len(position))).to_numpy(dtype="int64")
        counts = np.bincount(index, minlength=len(position) + 1).astype("float64")
    return np.append(counts, n_missing)


# -- measuring ---------------------------------------------------------------------------
class ColumnDrift(BaseModel):
    """Drift of one column: PSI and TVD between training and current bin frequencies."""

    name: str
    kind: ColumnKind
    psi: float | None = Field(None, description="population stability index; None when not measured")
    tvd: float | None = Field(None, description="total variation distance of the bin frequencies (0..1)")
    note: str = ""


class RetypedColumn(BaseModel):
    """A column whose current values no longer fit the kind it was trained with."""

    name: str
    expected: ColumnKind
    found: str = Field(description="the kind or dtype the values have now")
    detail: str = ""


class SchemaChanges(BaseModel):
    """Columns added, removed or retyped since training."""

    added: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)
    retyped: list[RetypedColumn] = Field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed or self.retyped)

    def describe(self) -> str:
        if not self.changed:
            return "schema unchanged"
        parts = []
        if self.added:
            parts.append("added " + ", ".join(map(repr, self.added)))
        if self.removed:
            parts.append("removed " + ", ".join(map(repr, self.removed)))
        if self.retyped:
            parts.append("retyped " + ", ".join(f"{r.name!r} ({r.expected.value} -> {r.found})" for r in self.retyped))
        return "schema changed: " + "; ".join(parts)


class DriftReport(BaseModel):
    """How far a current table has moved from a model's training data."""

    columns: list[ColumnDrift]
    schema_changes: SchemaChanges
    n_rows_training: int
    n_rows_current: int
    max_psi: float = Field(0.0, description="largest per-column PSI (0 when nothing was measured)")
    max_psi_column: str | None = None

    def drifted(self, threshold: float) -> bool:
        """True when some column's PSI exceeds ``threshold`` (schema changes are reported separately)."""
        return self.max_psi > threshold

    def needs_retraining(self, threshold: float) -> bool:
        """Drift beyond ``threshold`` or any schema change."""
        return self.drifted(threshold) or self.schema_changes.changed

    def psi_by_column(self) -> dict[str, float]:
        """PSI of every measured column, largest first."""
        measured = {c.name: float(c.psi) for c in self.columns if c.psi is not None}
        return dict(sorted(measured.items(), key=lambda item: -item[1]))

    def over(self, threshold: float) -> list[str]:
        """The columns whose PSI exceeds ``threshold``, largest first."""
        return [name for name, psi in self.psi_by_column().items() if psi > threshold]

    def as_metadata(self) -> dict[str, Any]:
        """Plain values for asset metadata and run tags: max PSI, PSI per column, schema changes."""
        return {
            "max_psi": round(self.max_psi, 6),
            "max_psi_column": self.max_psi_column or "",
            "psi_by_column": {name: round(psi, 6) for name, psi in self.psi_by_column().items()},
            "schema_changes": self.schema_changes.describe(),
            "rows_current": self.n_rows_current,
            "rows_training": self.n_rows_training,
        }

    @property
    def summary(self) -> str:
        """One line: the largest PSI, row counts, schema changes."""
        measured = sum(c.psi is not None for c in self.columns)
        where = f" ({self.max_psi_column})" if self.max_psi_column else ""
        return (
            f"max PSI {self.max_psi:.3f}{where} over {measured} columns; "
            f"{self.n_rows_current:,} rows now vs {self.n_rows_training:,} in training; "
            f"{self.schema_changes.describe()}"
        )


def population_stability_index(expected: np.ndarray, actual: np.ndarray, *, floor: float = PSI_FLOOR) -> float:
    """PSI between two frequency vectors: sum((actual - expected) * ln(actual / expected)).

    Frequencies are floored at ``floor`` and renormalised, so an empty bin gives a
    large but finite value.
    """
    p = np.maximum(np.asarray(expected, dtype="float64"), floor)
    q = np.maximum(np.asarray(actual, dtype="float64"), floor)
    p, q = p / p.sum(), q / q.sum()
    return float(np.sum((q - p) * np.log(q / p)))


def _inferred_kind(series: pd.Series) -> str:
    try:
        return infer_schema(series.to_frame()).kind(str(series.name)).value
    except (SynthPipelineError, ValueError, TypeError):  # e.g. an all-missing column: say what pandas sees
        return str(series.dtype)


def measure_drift(profile: DriftProfile, current: pd.DataFrame) -> DriftReport:
    """Score ``current`` against the training ``profile``: PSI/TVD per column and schema changes.

    A column is *retyped* when its values can no longer be read as the kind it
    was trained with (e.g. text in a numeric column), or when a categorical
    column that was read as text now reads as numbers (or the reverse). Retyped
    and removed columns get no PSI.
    """
    if not isinstance(current, pd.DataFrame):
        raise InvalidDataError(f"measure_drift expects a DataFrame, got {type(current).__name__}")
    if len(current) == 0:
        raise InvalidDataError("the current table is empty (0 rows); drift cannot be measured")
    current_names = [str(c) for c in current.columns]
    changes = SchemaChanges(
        added=[n for n in current_names if n not in profile.names],
        removed=[n for n in profile.names if n not in current_names],
    )
    results = []
    for column in profile.columns:
        if column.name not in current_names:
            results.append(ColumnDrift(name=column.name, kind=column.kind, note="removed"))
            continue
        raw = current[column.name]
        family = _dtype_family(raw.dtype)
        try:
            values = _convert(raw, column.kind, column.name)
        except InvalidDataError as error:
            changes.retyped.append(
                RetypedColumn(name=column.name, expected=column.kind, found=_inferred_kind(raw), detail=str(error))
            )
            results.append(ColumnDrift(name=column.name, kind=column.kind, note="retyped"))
            continue
        if column.kind is ColumnKind.CATEGORICAL and {family, column.dtype_family} == {"number", "text"}:
            changes.retyped.append(
                RetypedColumn(
                    name=column.name,
                    expected=column.kind,
                    found=_inferred_kind(raw),
                    detail=f"read as {family} now, as {column.dtype_family} in training",
                )
            )
            results.append(ColumnDrift(name=column.name, kind=column.kind, note="retyped"))
            continue
        if not column.binned:
            results.append(ColumnDrift(name=column.name, kind=column.kind, note="id column: not measured"))
            continue
        expected = np.asarray(column.frequencies, dtype="float64")
        actual = _frequencies(column, values)
        results.append(
            ColumnDrift(
                name=column.name,
                kind=column.kind,
                psi=population_stability_index(expected, actual),
                tvd=float(0.5 * np.abs(actual - expected).sum()),
            )
        )
    measured = [r for r in results if r.psi is not None]
    worst = max(measured, key=lambda r: r.psi, default=None)
    return DriftReport(
        columns=results,
        schema_changes=changes,
        n_rows_training=profile.n_rows,
        n_rows_current=len(current),
        max_psi=worst.psi if worst else 0.0,
        max_psi_column=worst.name if worst else None,
    )
