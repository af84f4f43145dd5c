"""The LightGBM feature matrix shared by the similarity (discriminator) and utility (TSTR) sections."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synth_pipeline.columns import ORDERED_KINDS, ColumnKind
from synth_pipeline.profile import column_values


def model_features(
    columns: list[str], kinds: dict[str, ColumnKind], tables: list[pd.DataFrame]
) -> tuple[list[np.ndarray], list[int]]:
    """Float feature matrices for LightGBM (labels as codes over the tables' joint vocabulary).

    Returns the matrices (one per table) and the indices of the categorical features.
    """
    parts: list[list[np.ndarray]] = [[] for _ in tables]
    categorical = []
    for j, column in enumerate(columns):
        kind = kinds[column]
        values = [column_values(table[column], kind) for table in tables]
        if kind in ORDERED_KINDS:
            for part, v in zip(parts, values, strict=True):
                part.append(v.astype(np.float64))
        else:
            categorical.append(j)
            vocabulary = pd.Index(pd.unique(np.concatenate([pd.Series(v).dropna().to_numpy() for v in values])))
            for part, v in zip(parts, values, strict=True):
                codes = vocabulary.get_indexer(pd.Series(v).fillna("\x00").to_numpy()).astype(np.float64)
                codes[pd.isna(v)] = np.nan
                part.append(codes)
    matrices = [np.column_stack(part) if part else np.empty((len(t), 0)) for part, t in zip(parts, tables, strict=True)]
    return matrices, categorical
