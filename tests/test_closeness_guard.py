"""The sampling-time closeness guard (issue 15): redraws rows that sit on top of a training row."""

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from synth_pipeline.columns import ColumnKind
from synth_pipeline.generators.argn import ARGNGenerator
from synth_pipeline.generators.closeness_guard import fit_guard, nearest_k, nearest_rows
from synth_pipeline.quality.privacy import closest_distances, dcr_share, distinct_rows, encode_tables, identical_share
from synth_pipeline.schema import infer_schema
from synth_pipeline.simulate import simulate_churn

FAST = {"max_epochs": 2, "random_state": 0, "closeness_guard": 0.1}


def _kinds(table: pd.DataFrame) -> dict[str, ColumnKind]:
    schema = infer_schema(table)
    return {c: schema.kind(c) for c in table.columns if schema.kind(c) is not ColumnKind.ID}


def test_nearest_k_is_exact_and_does_not_depend_on_the_thread_count():
    rng = np.random.default_rng(0)
    reference, query = rng.random((700, 9)), rng.random((300, 9))
    exact = np.sort(np.sqrt(((query[:, None, :] - reference[None]) ** 2).sum(axis=2)), axis=1)[:, :3]
    with threadpool_limits(1):
        one = nearest_k(query, reference, 3)
    with threadpool_limits(2):
        two = nearest_k(query, reference, 3)
    assert np.array_equal(one[0], two[0]) and np.array_equal(one[1], two[1])
    np.testing.assert_allclose(one[0], exact, rtol=1e-12)
    # repeated rows count once each: the same distances as a search on every row
    repeated = np.round(np.vstack([reference, reference[:200]]) * 4) / 4
    grid = np.round(query * 4) / 4
    full = np.sort(np.sqrt(((grid[:, None, :] - repeated[None]) ** 2).sum(axis=2)), axis=1)[:, :3]
    np.testing.assert_allclose(nearest_rows(grid, repeated, 3), full, rtol=1e-12, atol=1e-12)


def test_the_guard_lowers_the_closeness_of_a_generator_that_copies_training_rows():
    table = simulate_churn(2400, random_state=1)
    training, holdout = table.iloc[:800].reset_index(drop=True), table.iloc[800:1600].reset_index(drop=True)
    fresh = table.iloc[1600:].reset_index(drop=True)
    kinds = _kinds(training)
    columns = list(kinds)
    guard = fit_guard(training[columns], kinds, np.random.default_rng(0))
    draws = np.random.default_rng(1)

    def copying(n: int) -> pd.DataFrame:  # half the rows copied from training, half fresh from the population
        copies = training[columns].iloc[draws.integers(0, len(training), n // 2)]
        return pd.concat([copies, fresh[columns].iloc[draws.integers(0, len(fresh), n - n // 2)]], ignore_index=True)

    def closeness(rows: pd.DataFrame) -> tuple[float, float]:
        m, _ = encode_tables(columns, kinds, {"training": training, "holdout": holdout, "synthetic": rows},
                             np.random.default_rng(0))
        share = dcr_share(closest_distances(m["synthetic"], m["training"], second=False)[0],
                          closest_distances(m["synthetic"], m["holdout"], second=False)[0])
        return share, identical_share(rows, training[columns], kinds)

    unguarded, guarded = copying(800), guard.sample(copying, 800, 0.1)
    assert len(guarded) == 800
    before, after = closeness(unguarded), closeness(guarded)
    assert before[0] > 0.7 and before[1] > 0.45  # the copies sit on training rows
    assert after[0] < 0.6 and after[1] < 0.05, (before, after)


@pytest.fixture(scope="module")
def fitted() -> tuple[ARGNGenerator, pd.DataFrame]:
    table = simulate_churn(600, random_state=2)
    return ARGNGenerator(**FAST).fit(table), table


def test_the_guard_is_fitted_when_asked_and_sampling_stays_a_pure_function_of_the_seed(fitted, tmp_path):
    model, table = fitted
    assert model.closeness_guard_ is not None
    assert ARGNGenerator(max_epochs=1).fit(table).closeness_guard_ is None  # off by default
    rows = model.sample(500, random_state=7)
    model.set_params(n_threads=2)
    try:
        assert rows.equals(model.sample(500, random_state=7))  # another thread count: the same rows
    finally:
        model.set_params(n_threads=None)
    model.save(tmp_path / "m")
    assert rows.equals(ARGNGenerator.load(tmp_path / "m").sample(500, random_state=7))


def test_closeness_guard_zero_samples_as_the_unguarded_model(fitted):
    model, table = fitted
    model.set_params(closeness_guard=0.0)
    try:
        unguarded = model.sample(400, random_state=3)
    finally:
        model.set_params(closeness_guard=0.1)
    guarded = model.sample(400, random_state=3)
    assert not unguarded.equals(guarded)  # the guard redrew some rows
    kinds = _kinds(table)
    ratios = {name: model.closeness_guard_.ratios(rows[list(kinds)]).min(axis=0) for name, rows in
              (("off", unguarded), ("on", guarded))}
    assert np.quantile(ratios["on"], 0.05) > np.quantile(ratios["off"], 0.05)


@pytest.mark.integration
def test_the_guard_is_off_under_differential_privacy():
    table = simulate_churn(600, random_state=2)
    model = ARGNGenerator(max_epochs=1, random_state=0, closeness_guard=0.1,
                          privacy={"epsilon": 4.0, "delta": 1e-5}).fit(table)
    assert model.closeness_guard_ is None  # it would read the training rows outside the DP budget
    assert len(model.sample(50)) == 50


def test_distinct_rows_tells_apart_rows_of_round_numbers():
    # 0.25, 0.5, 1.0 set only a float's top bits: an unmixed linear hash merged 4 of 300 such rows
    grid = np.round(np.random.default_rng(0).random((3000, 9)) * 4) / 4
    found, back = distinct_rows(grid)
    assert len(found) == len(np.unique(grid, axis=0)) and np.array_equal(found[back], grid)
