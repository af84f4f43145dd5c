"""Fast paths that must give exactly what the general code gives (issue 14: copula end to end <= 90 s)."""

import numpy as np
import pandas as pd
import pytest

from synth_pipeline.canonical import to_canonical
from synth_pipeline.columns import ColumnKind
from synth_pipeline.generators.conditions import fixed_patterns


@pytest.mark.parametrize(
    ("rows", "columns", "share"),
    [(1000, 35, 0.0), (1000, 35, 0.3), (5000, 9, 0.5), (0, 5, 0.0), (7, 17, 0.9), (300, 64, 0.05), (300, 8, 1.0)],
)
def test_fixed_patterns_equal_numpy_unique_rows(rows: int, columns: int, share: float) -> None:
    fixed = np.random.default_rng(rows + columns).random((rows, columns)) < share
    expected, expected_inverse = np.unique(fixed, axis=0, return_inverse=True)
    patterns, inverse = fixed_patterns(fixed)
    assert patterns.dtype == bool and patterns.shape == expected.shape
    assert (patterns == expected).all()
    assert (inverse == np.asarray(expected_inverse).reshape(-1)).all()


def _general_labels(series: pd.Series) -> pd.Series:
    """What to_canonical did for labels before its fast paths (a Python call per cell)."""
    return series.map(lambda v: v if pd.isna(v) else str(v)).astype("object")


def _same_cells(a: pd.Series, b: pd.Series) -> bool:
    def same(x: object, y: object) -> bool:
        if pd.isna(x) or pd.isna(y):
            return bool(pd.isna(x) and pd.isna(y)) and type(x) is type(y)
        return x == y and type(x) is type(y)

    return a.dtype == b.dtype and a.index.equals(b.index) and all(same(x, y) for x, y in zip(a, b, strict=True))


def test_label_fast_paths_give_what_the_general_path_gives() -> None:
    rng = np.random.default_rng(1)
    pool = ["a", "bb", None, np.nan, pd.NA, 3, 2.5, True, pd.NaT, "c"]
    checked = 0
    for _ in range(600):
        values = [pool[i] for i in rng.integers(0, len(pool), rng.integers(0, 7))]
        for dtype in (object, "str", "string", "category"):
            try:
                series = pd.Series(values, dtype=dtype)
            except (TypeError, ValueError):
                continue
            converted = to_canonical(series, ColumnKind.CATEGORICAL, "c")
            assert _same_cells(converted, _general_labels(series)), (dtype, values)
            checked += 1
    assert checked > 1000
