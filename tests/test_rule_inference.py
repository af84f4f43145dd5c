"""Rule inference: what holds exactly in a table, without chance findings, fast on wide tables."""

import time

import numpy as np
import pandas as pd
import pytest

from synth_pipeline.constraints import (
    infer_rules,
)
from tests.test_constraints import EDUCATION, simulate_contracts


@pytest.fixture(scope="module")
def contracts():
    return simulate_contracts(1500)


def test_inference_finds_what_holds_exactly(contracts):
    rules = infer_rules(contracts)
    described = {r.describe() for r in rules}
    assert "education <-> education_num" in described
    assert "city -> country" in described
    assert "start < end" in described
    assert "total = base + extras" in described
    assert "base in [0.0, 300.0]" in described  # the real range 3.15..234.93, rounded outward (value protection)
    assert {f"{c} is not null" for c in contracts.columns} <= described
    assert not any(r.type == "dependency" and r.dependent == "education" for r in rules)  # one rule per 1:1 pair
    by_kind = {r.type for r in rules}
    assert by_kind == {"not_null", "range", "dependency", "inequality", "sum"}
    assert all(r.violations == 0 for r in rules.results(contracts))
    # the 1:1 rule lists its pairs for the reviewer
    mapping = next(r.mapping for r in rules if r.describe() == "education <-> education_num")
    assert mapping == {k: v for k, v in EDUCATION.items()} | mapping and mapping["Bachelors"] == 13


def test_inference_skips_chance_findings():
    rng = np.random.default_rng(1)
    table = pd.DataFrame(
        {
            "small": rng.integers(0, 10, 60),  # 60 rows, 50 labels: any 'dependency' would be chance
            "label": rng.choice([f"v{i}" for i in range(50)], 60),
            "other": rng.choice(["a", "b"], 60),
            "young": rng.integers(1, 10, 60),
            "old": rng.integers(20, 90, 60),  # young < old always, but the ranges already say so
        }
    )
    rules = infer_rules(table)
    assert not [r for r in rules if r.type in ("dependency", "inequality", "sum")]


def test_inference_is_fast_on_fifty_columns():
    rng = np.random.default_rng(2)
    n = 5000
    columns = {f"cat{i}": rng.choice(list("abcdefgh"), n) for i in range(20)}
    columns |= {f"num{i}": rng.normal(size=n).round(3) for i in range(25)}
    columns |= {f"int{i}": rng.integers(0, 100, n) for i in range(5)}
    columns["num_total"] = columns["num0"] + columns["num1"]
    table = pd.DataFrame(columns)
    started = time.perf_counter()
    rules = infer_rules(table)
    assert time.perf_counter() - started < 10
    assert "num_total = num0 + num1" in {r.describe() for r in rules}


