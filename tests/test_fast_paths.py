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


def _general_column_values(series: pd.Series) -> np.ndarray:
    """What column_values did for labels before its fast path (a round trip through a string dtype)."""
    labels = series.astype("object")
    out = labels.astype(str).to_numpy(dtype=object)
    out[labels.isna().to_numpy()] = None
    return out


def test_label_values_fast_path_gives_what_the_general_path_gives() -> None:
    from synth_pipeline.profile import column_values

    rng = np.random.default_rng(2)
    pool = ["a", "bb", None, np.nan, pd.NA, 3, 2.5, True, "", "c"]
    for _ in range(400):
        values = [pool[i] for i in rng.integers(0, len(pool), rng.integers(0, 7))]
        for dtype in (object, "str", "category"):
            series = pd.Series(values, dtype=dtype) if dtype is object else pd.Series(values).astype(dtype)
            got, expected = column_values(series, ColumnKind.CATEGORICAL), _general_column_values(series)
            assert got.dtype == expected.dtype == object
            assert [(type(v), v) for v in got] == [(type(v), v) for v in expected], (dtype, values)


def test_accuracy_is_the_same_on_row_major_and_column_major_codes() -> None:
    from synth_pipeline.quality.accuracy import compute_accuracy
    from synth_pipeline.quality.binning import bin_tables
    from synth_pipeline.schema import infer_schema
    from synth_pipeline.simulate import simulate_churn

    tables = {name: simulate_churn(2000, random_state=seed) for seed, name in enumerate(("training", "holdout",
                                                                                         "synthetic"))}
    schema = infer_schema(tables["training"])
    columns = [c for c in schema.names if schema.kind(c) is not ColumnKind.ID]
    kinds = {c: schema.kind(c) for c in columns}
    bins, codes = bin_tables(columns, kinds, tables)
    assert all(c.flags.f_contiguous for c in codes.values())
    by_rows = compute_accuracy(bins, {n: np.ascontiguousarray(c) for n, c in codes.items()}, np.random.default_rng(0))
    by_columns = compute_accuracy(bins, codes, np.random.default_rng(0))
    assert by_rows.section == by_columns.section
    assert by_rows.section.n_triples > 0


def test_numbers_written_two_ways_are_counted_over_the_whole_column() -> None:
    """Schema inference reads the distinct texts first; the error still counts the column's values."""
    from synth_pipeline.errors import InvalidDataError
    from synth_pipeline.schema import infer_schema

    table = pd.DataFrame({"n": ["1,234"] * 3 + ["1,5"] * 2 + [None]})
    with pytest.raises(InvalidDataError, match=r"2 of 5 values"):
        infer_schema(table)
    spec = infer_schema(pd.DataFrame({"n": [" 3,024,129", "12", "12", "7"]}))["n"]
    assert (spec.kind, spec.reason) == (ColumnKind.INTEGER, "whole numbers, 3 distinct (written as text with ',' "
                                                            "thousands separators)")


def test_label_codes_look_up_the_text_of_every_cell() -> None:
    from synth_pipeline.generators.label_codes import label_codes

    series = pd.Series(["b", None, "a", "zz", "b", np.nan], dtype=object)
    assert label_codes(series, ["a", "b"]).tolist() == [1, -1, 0, -1, 1, -1]
    flags = pd.Series([True, None, False, True], dtype="boolean")
    assert label_codes(flags, ["False", "True"]).tolist() == [1, -1, 0, 1]
    assert label_codes(pd.Series([None, None], dtype=object), ["a"]).tolist() == [-1, -1]
