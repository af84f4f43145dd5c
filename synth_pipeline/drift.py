"""Drift between a model's training data and the current source.

:func:`measure_drift` scores a current table against the model's
:class:`~synth_pipeline.profile.TrainingProfile` (bins fixed on training, stored with the
model) without the training data: per-column PSI (population stability index) and TVD
(total variation distance) over the profile's bins, the largest PSI, and schema changes
(columns added, removed, or whose values no longer fit their kind).

>>> profile = TrainingProfile.from_table(training)                 # doctest: +SKIP
>>> report = measure_drift(profile, current)                       # doctest: +SKIP
>>> report.drifted(0.2), report.summary                            # doctest: +SKIP
(False, 'max PSI 0.012 (age) over 6 columns; 1,200 rows now vs 1,000 in training; schema unchanged')

PSI rule of thumb: below 0.1 the distribution is stable, 0.1–0.25 moderate
shift, above 0.25 a large shift.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from synth_pipeline.columns import ColumnKind
from synth_pipeline.errors import InvalidDataError, SynthPipelineError
from synth_pipeline.profile import ColumnProfile, TrainingProfile, canonical_column, column_values, dtype_family
from synth_pipeline.schema import infer_schema

# Keys under which a model's metadata (synth_pipeline.model_store.ModelStore) carries
# what drift detection needs: the source as it was read, and the training profile
# (TrainingProfile.to_dict(); the key keeps its first name so older models still load).
SOURCE_FINGERPRINT_KEY = "source_fingerprint"
DRIFT_PROFILE_KEY = "drift_profile"

# Frequencies are floored at this value before taking logarithms, so an empty
# bin on one side gives a large but finite PSI.
PSI_FLOOR = 1e-4


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
    """The kind inference gives the column now, else its pandas dtype."""
    try:
        return infer_schema(series.to_frame()).kind(str(series.name)).value
    except (SynthPipelineError, ValueError, TypeError):  # e.g. an all-missing column: say what pandas sees
        return str(series.dtype)


def measure_drift(profile: TrainingProfile, current: pd.DataFrame) -> DriftReport:
    """Score ``current`` against the training ``profile``: PSI/TVD per column and schema changes.

    A column is *retyped* when its values can no longer be read as the kind it
    was trained with (e.g. text in a numeric column), or when a categorical
    column that was read as text now reads as numbers (or the reverse). Retyped
    and removed columns get no PSI.
    """
    if not isinstance(current, pd.DataFrame):
        raise InvalidDataError(f"measure_drift expects a DataFrame, got {type(current).__name__}")
    return measure_drift_batches(profile, [current])


def measure_drift_batches(profile: TrainingProfile, batches: Iterable[pd.DataFrame]) -> DriftReport:
    """:func:`measure_drift` of the table that consecutive ``batches`` make up, holding one batch at a time.

    Bin counts add up over the batches; a column is retyped when any batch's values no longer fit its kind.
    """
    counts: dict[str, np.ndarray] = {}
    retyped: dict[str, RetypedColumn] = {}
    current_names: list[str] | None = None
    n_rows = 0
    for batch in batches:
        if current_names is None:
            current_names = [str(c) for c in batch.columns]
        n_rows += len(batch)
        for column in profile.columns:
            if column.name in current_names and column.name not in retyped and len(batch):
                change = _add_counts(column, batch[column.name], counts)
                if change is not None:
                    retyped[column.name] = change
    if not n_rows or current_names is None:
        raise InvalidDataError("the current table is empty (0 rows); drift cannot be measured")
    changes = SchemaChanges(
        added=[n for n in current_names if n not in profile.names],
        removed=[n for n in profile.names if n not in current_names],
        retyped=[retyped[c.name] for c in profile.columns if c.name in retyped],
    )
    results = [_column_result(column, current_names, retyped, counts, n_rows) for column in profile.columns]
    measured = [r for r in results if r.psi is not None]
    worst = max(measured, key=lambda r: r.psi, default=None)
    return DriftReport(
        columns=results,
        schema_changes=changes,
        n_rows_training=profile.n_rows,
        n_rows_current=n_rows,
        max_psi=worst.psi if worst else 0.0,
        max_psi_column=worst.name if worst else None,
    )


def _add_counts(column: ColumnProfile, raw: pd.Series, counts: dict[str, np.ndarray]) -> RetypedColumn | None:
    """Add one batch's bin counts of a present column to ``counts``; the retyping when its values do not fit."""
    family = dtype_family(raw.dtype)
    detail = None
    try:
        values = canonical_column(raw, column.kind, date_format=column.date_format)
    except InvalidDataError as error:
        detail = str(error)
    else:
        if column.kind is ColumnKind.CATEGORICAL and {family, column.dtype_family} == {"number", "text"}:
            detail = f"read as {family} now, as {column.dtype_family} in training"
    if detail is not None:
        return RetypedColumn(name=column.name, expected=column.kind, found=_inferred_kind(raw), detail=detail)
    if column.binned:
        codes = column.codes(column_values(values, column.kind))
        counts[column.name] = counts.get(column.name, 0) + np.bincount(codes, minlength=column.size)
    return None


def _column_result(
    column: ColumnProfile, names: list[str], retyped: dict[str, RetypedColumn], counts: dict[str, np.ndarray],
    n_rows: int,
) -> ColumnDrift:
    """The drift of one column, or why it was not measured."""
    if column.name not in names:
        return ColumnDrift(name=column.name, kind=column.kind, note="removed")
    if column.name in retyped:
        return ColumnDrift(name=column.name, kind=column.kind, note="retyped")
    if not column.binned:
        return ColumnDrift(name=column.name, kind=column.kind, note="id column: not measured")
    expected = np.asarray(column.frequencies, dtype="float64")
    actual = counts[column.name] / n_rows
    # Bins empty in both tables (below/above the training range, missing where nothing is missing)
    # say nothing about a shift; leaving them out keeps the PSI independent of how many there are.
    seen = (expected > 0) | (actual > 0)
    psi = population_stability_index(expected[seen], actual[seen])
    tvd = float(0.5 * np.abs(actual - expected).sum())
    return ColumnDrift(name=column.name, kind=column.kind, psi=psi, tvd=tvd)
