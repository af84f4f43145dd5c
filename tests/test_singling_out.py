"""Anonymeter's multivariate singling out: the conjunctions it writes and counts (issue 15)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synth_pipeline.columns import ColumnKind
from synth_pipeline.quality.singling_out import (
    _Index,
    _matches,
    _value_matrices,
    multivariate_queries,
    multivariate_singling_out,
)

KINDS = {"age": ColumnKind.INTEGER, "city": ColumnKind.CATEGORICAL, "income": ColumnKind.NUMERIC,
         "member": ColumnKind.BOOLEAN}


def _table(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    income = rng.lognormal(10, 1, n).round(-1)
    income[rng.random(n) < 0.05] = np.nan
    return pd.DataFrame({
        "age": rng.integers(18, 90, n),
        "city": pd.Series(rng.choice(["Graz", "Linz", "Wien", None], n, p=[0.3, 0.3, 0.38, 0.02]), dtype=object),
        "income": income,
        "member": rng.random(n) < 0.3,
    })


def _count_with_pandas(table: pd.DataFrame, conditions: list[tuple[str, str, object]]) -> int:
    hit = pd.Series(True, index=table.index)
    for column, op, value in conditions:
        x = table[column]
        if op == "missing":
            hit &= x.isna()
        else:
            hit &= (x == value) if op == "==" else (x >= value) if op == ">=" else (x <= value)
    return int(hit.sum())


def test_every_kept_conjunction_singles_out_one_synthetic_row_the_way_anonymeter_writes_it():
    synthetic = _table(3000, 1).drop_duplicates().reset_index(drop=True)
    matrix = _value_matrices({"synthetic": synthetic}, KINDS)["synthetic"]
    ordered = np.array([True, False, True, False])
    columns, low, high = multivariate_queries(matrix, ordered, 300, 3, np.random.default_rng(0), 20_000)
    assert 50 <= len(columns) <= 300
    keys = {c.tobytes() + lo.tobytes() + hi.tobytes() for c, lo, hi in zip(columns, low, high, strict=True)}
    assert len(keys) == len(columns)  # never the same conjunction twice
    medians = synthetic[["age", "income"]].median()
    vocabulary = {"city": sorted(synthetic["city"].dropna().unique()), "member": [False, True]}
    names = list(KINDS)
    for c, lo, hi in zip(columns[:60], low[:60], high[:60], strict=True):
        conditions = []
        for k, lo_k, hi_k in zip(c, lo, hi, strict=True):
            name = names[k]
            if np.isinf(lo_k):
                conditions.append((name, "missing", None))
            elif name in vocabulary:
                assert lo_k == hi_k
                conditions.append((name, "==", vocabulary[name][int(lo_k)]))
            else:  # toward the extreme: >= above the synthetic median, <= at or below it
                op = ">=" if hi_k > 1e300 else "<="
                value = lo_k if op == ">=" else hi_k
                assert (value > medians[name]) == (op == ">=")
                conditions.append((name, op, value))
        assert _count_with_pandas(synthetic, conditions) == 1


def test_counts_agree_with_pandas_on_another_table():
    synthetic, other = _table(2000, 2).drop_duplicates(), _table(1500, 3).drop_duplicates()
    matrices = _value_matrices({"synthetic": synthetic, "other": other}, KINDS)
    queries = multivariate_queries(matrices["synthetic"], np.array([True, False, True, False]), 100, 2,
                                   np.random.default_rng(4), 20_000)
    counts = _matches(_Index(matrices["other"]), queries)
    assert counts.max() > 1 and (counts == 1).any() and (counts == 0).any()  # the check can tell them apart
    brute = [int(np.all((matrices["other"][:, c] >= lo) & (matrices["other"][:, c] <= hi), axis=1).sum())
             for c, lo, hi in zip(*queries, strict=True)]
    assert counts.tolist() == brute


def test_a_copy_of_the_training_rows_is_singled_out_by_every_conjunction_and_a_fresh_sample_is_not():
    training, holdout, fresh = _table(3000, 5), _table(3000, 6), _table(3000, 7)
    rates = {}
    for name, synthetic in (("fresh", fresh), ("copy", training.sample(frac=1.0, random_state=0))):
        tables = {"members": training, "holdout": holdout, "synthetic": synthetic}
        rates[name] = multivariate_singling_out(tables, KINDS, 3000, np.random.default_rng(0), max_attempts=20_000)
    member, control, found = rates["fresh"]
    assert found > 30 and abs(member - control) < 0.05
    member, control, found = rates["copy"]  # each conjunction fits one synthetic row, hence one training row
    assert member == found / 500 and member > control + 0.05
