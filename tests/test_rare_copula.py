"""Rows conditioned on a value argn saw very few times come from a copula of the whole table (rare_copula)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synth_pipeline.generators.argn import ARGNGenerator
from synth_pipeline.generators.argn.rare_copula import merge_rows, rare_rows, rows_of
from synth_pipeline.generators.request import SamplingRequest
from tests.test_rare_conditioning import N_RARE, rare_class_table

FREQUENCIES = {"label": {"rare": 20 / 3000, "common": 1 - 20 / 3000}, "colour": {"red": 0.5, "blue": 0.5}}


def _request(impute: bool = False) -> SamplingRequest:
    conditions = pd.DataFrame({"label": ["rare", "common", "rare", "rare"], "colour": ["red"] * 4})
    fixed = pd.DataFrame({"label": [True, True, False, True], "colour": [True] * 4})
    return SamplingRequest(4, conditions, fixed, impute=impute)


def test_rows_fixing_a_value_seen_fewer_times_go_to_the_copula() -> None:
    assert rare_rows(_request(), FREQUENCIES, 3000, below=50).tolist() == [True, False, False, True]
    assert not rare_rows(_request(), FREQUENCIES, 3000, below=20).any()  # seen 20 times: not fewer than 20
    assert not rare_rows(_request(), FREQUENCIES, 3000, below=0).any()
    assert not rare_rows(_request(impute=True), FREQUENCIES, 3000, below=50).any()  # imputation stays argn's
    part = rows_of(_request(), np.array([False, True, True, False]))
    assert part.n_rows == 2 and part.conditions["label"].tolist() == ["common", "rare"]
    assert part.fixed.index.tolist() == [0, 1]


def test_merge_rows_keeps_the_request_order() -> None:
    rows = np.array([True, False, True, False])
    copula = pd.DataFrame({"a": [10.0, 30.0], "b": ["x", "z"]})
    rest = pd.DataFrame({"a": [2.0, 4.0], "b": ["q", "s"]})
    merged = merge_rows(rest, copula, rows, argn_has_all=False)
    assert merged["a"].tolist() == [10.0, 2.0, 30.0, 4.0] and merged["b"].tolist() == ["x", "q", "z", "s"]
    everything = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": ["p", "q", "r", "s"], "text": ["t1", "t2", "t3", "t4"]})
    merged = merge_rows(everything, copula, rows, argn_has_all=True)
    assert merged["a"].tolist() == [10.0, 2.0, 30.0, 4.0] and merged["text"].tolist() == ["t1", "t2", "t3", "t4"]


@pytest.mark.integration
def test_rebalanced_rare_class_from_the_copula_and_the_network_unchanged(tmp_path) -> None:
    table = rare_class_table()
    settings = {"max_epochs": 2, "random_state": 3, "n_threads": 1}
    model = ARGNGenerator(**settings).fit(table)
    rows = model.sample(600, rebalance={"label": {"rare": 1.0}}, random_state=1)
    assert (rows["label"] == "rare").all()
    # the rare class (seen 20 times): 90% red, amount ~200, age 55-69; the majority: 10% red, amount ~100 (sd 15),
    # age 18-59. The copula shifts the rows along the whole table's correlations: most of the way, not all of it
    assert (rows["colour"] == "red").mean() >= 0.5 and rows["age"].median() >= 50
    assert rows["amount"].median() >= 120
    # a saved model draws the same rows, also for seeds that mix common rows (argn's) and rare ones (the copula's)
    loaded = type(model).load(model.save(tmp_path / "model"))
    pd.testing.assert_frame_equal(loaded.sample(600, rebalance={"label": {"rare": 1.0}}, random_state=1), rows)
    seeds = pd.DataFrame({"label": ["common"] * 50 + ["rare"] * 50})
    seeded = model.sample(seed_data=seeds, random_state=2)
    pd.testing.assert_frame_equal(loaded.sample(seed_data=seeds, random_state=2), seeded)
    # the copula is fitted after training, from its own seed: the network is what it is without it
    plain = ARGNGenerator(**settings, rare_copula_count=0).fit(table)
    for name, array in model.network_.numpy_state().items():
        np.testing.assert_array_equal(array, plain.network_.numpy_state()[name])
    pd.testing.assert_frame_equal(model.sample(500, random_state=4), plain.sample(500, random_state=4))
    assert N_RARE < model.rare_copula_count
