"""Bins fitted once on training and applied to every table: each column becomes small integer codes.

Numerics and datetimes: up to 10 quantile bins whose edges are distinct training values (with 10 or
fewer distinct values, one bin per value), plus a bin below and a bin above the training range, plus
missing. Categoricals and booleans: the 10 most frequent training labels seen at least
``MIN_LABEL_COUNT`` times (rarer labels are never shown in a report), plus "other", plus missing.
The edge search follows mostlyai-qa's so the two implementations bin alike.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from synth_pipeline.columns import ColumnKind

N_BINS = 10
MIN_LABEL_COUNT = 5
MISSING_LABEL = "(missing)"
OTHER_LABEL = "(other)"

_NUMBER_KINDS = (ColumnKind.NUMERIC, ColumnKind.INTEGER, ColumnKind.DATETIME)


def column_values(series: pd.Series, kind: ColumnKind) -> np.ndarray:
    """The column as float64 (numbers, datetimes as ns since epoch; NaN missing) or object labels."""
    if kind in (ColumnKind.NUMERIC, ColumnKind.INTEGER):
        return pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    if kind is ColumnKind.DATETIME:
        stamps = pd.to_datetime(series, errors="coerce")
        out = stamps.to_numpy(dtype="datetime64[ns]").astype("int64").astype("float64")
        out[stamps.isna().to_numpy()] = np.nan
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


@dataclass
class ColumnBins:
    """How one column is binned: edges (numbers) or kept labels (categories), and the bin labels."""

    name: str
    kind: ColumnKind
    edges: np.ndarray | None = None
    categories: list[str] = field(default_factory=list)
    n_regular: int = 0
    labels: list[str] = field(default_factory=list)

    @property
    def is_number(self) -> bool:
        return self.kind in _NUMBER_KINDS

    @property
    def size(self) -> int:
        """Number of codes: regular bins plus below/above/missing (numbers) or other/missing (labels)."""
        return len(self.labels)

    @property
    def missing_code(self) -> int:
        return self.size - 1

    def codes(self, values: np.ndarray) -> np.ndarray:
        """Integer codes in ``range(self.size)`` for values from :func:`column_values`."""
        if self.is_number:
            x = values.astype("float64", copy=False)
            missing = np.isnan(x)
            edges = self.edges
            code = np.searchsorted(edges, x, side="right") - 1
            code = np.clip(code, 0, self.n_regular - 1)
            code[x < edges[0]] = self.n_regular
            code[x > edges[-1]] = self.n_regular + 1
            code[missing] = self.n_regular + 2
            return code.astype(np.int64)
        missing = pd.isna(values)
        code = pd.Index(self.categories, dtype=object).get_indexer(values).astype(np.int64)
        code[code < 0] = self.n_regular  # other
        code[missing] = self.n_regular + 1
        return code


def fit_bins(name: str, kind: ColumnKind, training_values: np.ndarray) -> ColumnBins:
    """Fit the bins of one column on its training values (from :func:`column_values`)."""
    if kind in _NUMBER_KINDS:
        x = training_values.astype("float64", copy=False)
        x = np.sort(x[~np.isnan(x)])
        if len(x) == 0:
            edges = np.array([0.0])
            n_regular = 1
        else:
            distinct = np.unique(x)
            if len(distinct) <= N_BINS:
                edges, n_regular = distinct, len(distinct)
            else:
                edges = search_edges(x)
                n_regular = len(edges) - 1
        labels = _number_labels(edges, n_regular, kind)
        return ColumnBins(name, kind, edges=edges, n_regular=n_regular, labels=labels)
    series = pd.Series(training_values, dtype=object).dropna()
    counts = series.value_counts()
    ranked = sorted(counts.items(), key=lambda item: (-item[1], str(item[0])))
    categories = [str(label) for label, count in ranked[:N_BINS] if count >= MIN_LABEL_COUNT]
    labels = [*categories, OTHER_LABEL, MISSING_LABEL]
    return ColumnBins(name, kind, categories=categories, n_regular=len(categories), labels=labels)


def _format(value: float, kind: ColumnKind) -> str:
    if kind is ColumnKind.DATETIME:
        stamp = pd.Timestamp(int(value))
        return stamp.strftime("%Y-%m-%d") if stamp == stamp.normalize() else stamp.strftime("%Y-%m-%d %H:%M")
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.4g}"


def _number_labels(edges: np.ndarray, n_regular: int, kind: ColumnKind) -> list[str]:
    if n_regular == len(edges):  # one bin per distinct value
        regular = [_format(v, kind) for v in edges]
    else:
        regular = [f"[{_format(lo, kind)}, {_format(hi, kind)})" for lo, hi in itertools.pairwise(edges[:-1])]
        regular.append(f"[{_format(edges[-2], kind)}, {_format(edges[-1], kind)}]")
    return [*regular, f"< {_format(edges[0], kind)}", f"> {_format(edges[-1], kind)}", MISSING_LABEL]


def bin_tables(
    columns: list[str], kinds: dict[str, ColumnKind], tables: dict[str, pd.DataFrame], *, fit_on: str = "training"
) -> tuple[list[ColumnBins], dict[str, np.ndarray]]:
    """Fit bins on ``tables[fit_on]`` and return them with an ``(n_rows, n_columns)`` code matrix per table."""
    bins = []
    codes = {name: np.empty((len(table), len(columns)), dtype=np.int64) for name, table in tables.items()}
    for j, column in enumerate(columns):
        values = {name: column_values(table[column], kinds[column]) for name, table in tables.items()}
        column_bins = fit_bins(column, kinds[column], values[fit_on])
        bins.append(column_bins)
        for name in tables:
            codes[name][:, j] = column_bins.codes(values[name])
    return bins, codes
