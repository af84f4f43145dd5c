"""The training profile's bins applied to the quality report's tables: each column becomes small integer codes.

The bins are :mod:`synth_pipeline.profile`'s (the same ones drift uses), fitted on the training sample.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synth_pipeline.columns import ColumnKind
from synth_pipeline.profile import ColumnBins, column_values, fit_bins


def bin_tables(
    columns: list[str], kinds: dict[str, ColumnKind], tables: dict[str, pd.DataFrame], *, fit_on: str = "training"
) -> tuple[list[ColumnBins], dict[str, np.ndarray]]:
    """Fit bins on ``tables[fit_on]`` and return them with an ``(n_rows, n_columns)`` code matrix per table.

    The matrices are column-major: every measure reads whole columns (a joint histogram combines a few).
    """
    bins = []
    codes = {name: np.empty((len(table), len(columns)), dtype=np.int64, order="F") for name, table in tables.items()}
    for j, column in enumerate(columns):
        values = {name: column_values(table[column], kinds[column]) for name, table in tables.items()}
        column_bins = fit_bins(column, kinds[column], values[fit_on])
        bins.append(column_bins)
        for name in tables:
            codes[name][:, j] = column_bins.codes(values[name])
    return bins, codes
