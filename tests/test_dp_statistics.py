"""DP statistics (synth_pipeline.dp_statistics) and argn's encoders under privacy: fast, no training."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import special

from synth_pipeline.columns import ColumnKind
from synth_pipeline.dp_statistics import PrivateStatistics, epsilon_of_rho, rho_for_epsilon
from synth_pipeline.errors import ConfigError
from synth_pipeline.generators.argn.encoders import EncoderSettings, TableEncoder

KINDS = {
    "colour": ColumnKind.CATEGORICAL,
    "amount": ColumnKind.NUMERIC,
    "age": ColumnKind.INTEGER,
    "active": ColumnKind.BOOLEAN,
    "signup": ColumnKind.DATETIME,
}


def _table(n_rows: int = 4000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    table = pd.DataFrame({
        "colour": rng.choice(["red", "green", "blue", "black"], n_rows, p=[0.4, 0.3, 0.2, 0.1]),
        "amount": np.round(rng.lognormal(8, 1, n_rows), 2),
        "age": pd.array(rng.integers(18, 30, n_rows), dtype="Int64"),
        "active": pd.array(rng.random(n_rows) < 0.3, dtype="boolean"),
        "signup": pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 700, n_rows), unit="D"),
    })
    table["amount"] = table["amount"].mask(rng.random(n_rows) < 0.2)
    # one row holds a unique value in every column
    table.loc[0, ["colour", "amount", "age", "signup"]] = ["unique-colour", 123456.78, 99, pd.Timestamp("2030-05-05")]
    return table


def _fit(table: pd.DataFrame, seed: int, epsilon: float = 1.0) -> tuple[TableEncoder, PrivateStatistics]:
    statistics = PrivateStatistics(epsilon, 1e-6, list(table.columns), random_state=seed)
    settings = EncoderSettings(rare_threshold=5, n_bins=32, n_levels=8, max_exact_values=64, private=statistics)
    return TableEncoder.fit(table, KINDS, settings), statistics


def test_a_value_in_one_row_is_never_in_the_vocabulary_across_20_seeds() -> None:
    table = _table()
    for seed in range(20):
        encoder, _ = _fit(table, seed)
        colour, amount, age, active, signup = encoder.encoders
        assert "unique-colour" not in colour.categories
        assert set(colour.categories) == {"red", "green", "blue", "black"}  # frequent ones pass the noise
        assert 99 not in age.atoms and 123456.78 not in amount.atoms
        # nothing beyond the DP bounds is sampled: the unique extremes lie outside every range
        assert age.edges.size == 0 or age.edges[-1] <= 31
        assert amount.edges[-1] < 123456.78 and signup.edges[-1] < signup.to_numbers(table["signup"]).max()
        assert colour.has_rare and amount.has_missing and not colour.has_missing
        assert active.categories == [False, True]


def test_dp_quantiles_of_a_normal_land_within_the_expected_error() -> None:
    n = 20_000
    x = np.sort(np.random.default_rng(1).normal(100.0, 15.0, n))
    statistics = PrivateStatistics(1.0, 1e-6, ["x"], random_state=3)
    grid = statistics.number_grid("x", x, n_quantiles=33, shares=(0.3, 0.7))
    sigma = statistics.mechanisms[-1].sigma
    ranks = np.searchsorted(x, grid.quantiles) / n
    # the bounds cut only thin tails, and stay inside the extremes
    assert 0 < ranks[0] < 0.01 and 0.99 < ranks[-1] < 1 and x[0] < grid.quantiles[0] < grid.quantiles[-1] < x[-1]
    # between them, the noisy distribution function errs by about sigma * sqrt(64 / 4) / n at most: allow 4 times
    # that, plus the interpolation inside a bucket (under a quarter of the heaviest bucket's mass, < 1/64 here)
    expected = ranks[0] + np.linspace(0.0, 1.0, 33) * (ranks[-1] - ranks[0])
    allowed = 4 * sigma * math.sqrt(64 / 4) / n + 1 / 64
    assert np.max(np.abs(ranks - expected)) < allowed
    assert abs(grid.quantiles[16] - 100.0) < 15.0 * allowed * 2.6  # the median, in units of x
    assert np.all(np.diff(grid.quantiles) >= 0)


def test_too_few_rows_release_no_range() -> None:
    statistics = PrivateStatistics(0.1, 1e-6, ["x"], random_state=0)
    assert statistics.number_grid("x", np.arange(5.0), n_quantiles=9, shares=(0.5, 0.5)).empty


def test_the_accountant_adds_the_columns_up_to_the_budget() -> None:
    epsilon, delta = 0.7, 1e-6
    rho = rho_for_epsilon(epsilon, delta)
    assert epsilon_of_rho(rho, delta) == pytest.approx(epsilon, rel=1e-9)
    table = _table(1000)
    _, statistics = _fit(table, seed=0, epsilon=epsilon)
    spent = statistics.spent()
    assert spent["epsilon"] == pytest.approx(epsilon, rel=1e-9) and spent["delta"] == pytest.approx(1e-6)
    # every mechanism's cost is a share of its column's: the shares of each column add up to one column
    per_column: dict[str, float] = {}
    for mechanism in spent["mechanisms"]:
        per_column[mechanism["column"]] = per_column.get(mechanism["column"], 0.0) + mechanism["rho"]
        assert mechanism["sigma"] == pytest.approx(math.sqrt(1 / (2 * mechanism["rho"])))
    assert set(per_column) == set(table.columns)
    assert sum(per_column.values()) == pytest.approx(spent["rho"]) == pytest.approx(rho_for_epsilon(epsilon, delta / 2))
    # 4 columns of which 2 are used: the epsilon of 2 shares, and half the thresholds' delta
    partial = PrivateStatistics(epsilon, delta, ["a", "b", "c", "d"], random_state=0)
    partial.vocabulary("a", pd.Series(["x"] * 50))
    partial.count("b", "n", 3, share=1.0)
    half = rho_for_epsilon(epsilon, delta / 2) / 2
    assert partial.spent()["epsilon"] == pytest.approx(epsilon_of_rho(half, delta / 2))
    assert partial.spent()["delta"] == pytest.approx(delta / 2 + delta / 4)


def test_the_threshold_releases_a_singleton_with_probability_delta() -> None:
    statistics = PrivateStatistics(1.0, 1e-6, ["c"], random_state=0)
    vocabulary = statistics.vocabulary("c", pd.Series(["a"] * 3000 + ["b"]))
    sigma = statistics.mechanisms[0].sigma
    assert vocabulary.threshold == pytest.approx(1 + sigma * special.ndtri(1 - 1e-6 / 2))
    assert list(vocabulary.counts) == ["a"] and vocabulary.counts["a"] == pytest.approx(3000, abs=6 * sigma)


def test_same_seed_same_statistics_and_other_seed_other_noise() -> None:
    table = _table(1000)
    first, second, other = _fit(table, 5)[0], _fit(table, 5)[0], _fit(table, 6)[0]
    assert np.array_equal(first.encoders[1].edges, second.encoders[1].edges)
    assert not np.array_equal(first.encoders[1].edges, other.encoders[1].edges)


def test_bad_budget_is_refused_naming_the_setting() -> None:
    with pytest.raises(ConfigError, match="epsilon"):
        PrivateStatistics(0.0, 1e-6, ["a"])
    with pytest.raises(ConfigError, match="delta"):
        PrivateStatistics(1.0, 0.0, ["a"])


def test_no_references_and_day_unit_under_privacy() -> None:
    rng = np.random.default_rng(0)
    start = pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 500, 3000), unit="D")
    table = pd.DataFrame({"start": start, "end": start.where(rng.random(3000) < 0.5, start + pd.Timedelta(days=3))})
    statistics = PrivateStatistics(2.0, 1e-6, ["start", "end"], random_state=0)
    settings = EncoderSettings(rare_threshold=5, n_bins=16, n_levels=8, max_exact_values=16, private=statistics)
    encoder = TableEncoder.fit(table, {"start": ColumnKind.DATETIME, "end": ColumnKind.DATETIME}, settings)
    assert encoder.encoders[1].references == [] and encoder.encoders[0].time_unit == "day"
