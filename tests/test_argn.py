"""Tests of the flagship ARGN generator on small simulated tables (fast: a few epochs)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from synth_pipeline.columns import ColumnKind
from synth_pipeline.errors import ConfigError
from synth_pipeline.generators.argn import ARGNGenerator
from synth_pipeline.generators.argn.encoders import RARE_LABEL, EncoderSettings, TableEncoder, fit_column
from synth_pipeline.generators.registry import make_generator

FAST = {"max_epochs": 25, "patience": 3, "random_state": 7}


def _table(n_rows: int = 1500, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    country = rng.choice(["NO", "IT", "DE"], size=n_rows, p=[0.5, 0.3, 0.2])
    currency = np.where(country == "NO", "NOK", "EUR")
    plan = np.where(rng.random(n_rows) < 0.7, "basic", "premium")
    age = rng.integers(18, 80, size=n_rows)
    income = np.round(np.where(plan == "premium", 80_000, 40_000) + rng.normal(0, 8000, n_rows), 2)
    income[rng.random(n_rows) < 0.1] = np.nan
    amount = rng.integers(0, 100_000, size=n_rows)
    active = rng.random(n_rows) < 0.6
    signup = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1000, n_rows), unit="D")
    table = pd.DataFrame(
        {
            "customer_id": [f"C{i:06d}" for i in range(n_rows)],
            "country": country,
            "currency": currency,
            "plan": plan,
            "age": age,
            "income": income,
            "amount": amount,
            "active": active,
            "signup": signup,
        }
    )
    table.loc[3, "country"] = "ZZ-unique"  # seen once: must never be generated
    return table


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return _table()


@pytest.fixture(scope="module")
def fitted(table: pd.DataFrame) -> ARGNGenerator:
    return ARGNGenerator(**FAST).fit(table)


# -- encoding --------------------------------------------------------------------------------


def _settings() -> EncoderSettings:
    return EncoderSettings(rare_threshold=3, n_bins=16, n_levels=8, max_exact_values=20)


def test_categorical_encoding_round_trip_with_missing_and_rare() -> None:
    values = pd.Series(["a"] * 5 + ["b"] * 4 + ["once"] + [None] * 2, dtype=object)
    encoder = fit_column("c", ColumnKind.CATEGORICAL, values, _settings())
    codes = encoder.encode(values)
    decoded = encoder.decode(codes, np.zeros(len(values)))
    assert decoded[:9].tolist() == values[:9].tolist()
    assert decoded[10:].isna().all()
    # the rare code is drawn like any other but written as a frequent value, never as a placeholder:
    # ``uniform`` picks the stand-in evenly among the frequent values
    assert decoded[9] != RARE_LABEL and decoded[9] in {"a", "b"}
    rare = np.full((4, 1), encoder.rare_code)
    assert encoder.decode(rare, np.array([0.0, 0.49, 0.5, 0.999])).tolist() == ["a", "a", "b", "b"]
    assert encoder.rare_code not in encoder.forbidden_codes(impute=False)
    assert encoder.missing_code in encoder.forbidden_codes(impute=True)


def test_boolean_encoding_round_trip_with_missing() -> None:
    values = pd.Series([True, False, None, True], dtype="boolean")
    encoder = fit_column("b", ColumnKind.BOOLEAN, values, _settings())
    decoded = encoder.decode(encoder.encode(values), np.zeros(4))
    assert str(decoded.dtype) == "boolean"
    assert decoded[:2].tolist() == [True, False] and decoded.isna().tolist() == [False, False, True, False]


def test_integer_encoding_keeps_atoms_exact_and_bins_whole_and_in_bin() -> None:
    rng = np.random.default_rng(1)
    raw = np.concatenate([np.zeros(300), rng.integers(1, 10_000, 700)]).astype(float)
    values = pd.Series(pd.array(np.append(raw, np.nan), dtype="Float64").astype("Int64"))
    encoder = fit_column("i", ColumnKind.INTEGER, values, _settings())
    assert 0.0 in encoder.atoms and encoder.n_bins > 1
    codes = encoder.encode(values)
    for uniform in (np.zeros(len(values)), np.full(len(values), 0.999)):
        decoded = encoder.decode(codes, uniform)
        assert str(decoded.dtype) == "Int64"
        assert decoded.isna().tolist() == values.isna().tolist()
        assert (decoded[values == 0] == 0).all()
        # a binned value decodes into the same bin and slice it came from
        np.testing.assert_array_equal(encoder.encode(decoded)[:-1], codes[:-1])
    # out-of-range numbers are clipped into the outer bins
    outside = encoder.decode(encoder.encode(pd.Series([-5e6, 5e6], dtype="Int64")), np.array([0.5, 0.5]))
    assert outside.min() >= 0 and outside.max() <= raw.max()


def test_numeric_encoding_rounds_to_training_decimals() -> None:
    rng = np.random.default_rng(2)
    values = pd.Series(np.round(rng.normal(100, 15, 500), 2))
    encoder = fit_column("x", ColumnKind.NUMERIC, values, _settings())
    assert encoder.decimals == 2
    decoded = encoder.decode(encoder.encode(values), rng.random(len(values)))
    assert np.allclose(decoded, np.round(decoded, 2))
    assert (decoded - values).abs().max() < (values.max() - values.min()) / 2
    assert abs(decoded.mean() - values.mean()) < 3


def test_datetime_encoding_round_trip() -> None:
    dates = pd.Series(pd.to_datetime(["2020-01-01", "2020-01-01", "2021-06-30", None] * 5))
    encoder = fit_column("d", ColumnKind.DATETIME, dates, _settings())
    assert encoder.time_unit == "day"
    decoded = encoder.decode(encoder.encode(dates), np.zeros(len(dates)))
    assert str(decoded.dtype) == "datetime64[ns]"
    assert decoded.isna().tolist() == dates.isna().tolist()
    assert (decoded.dropna() == dates.dropna()).all()
    stamps = pd.Series(pd.Timestamp("2024-03-01 10:00:00") + pd.to_timedelta(np.arange(50) * 3671, unit="s"))
    encoder = fit_column("t", ColumnKind.DATETIME, stamps, _settings())
    assert encoder.time_unit == "second"
    decoded = encoder.decode(encoder.encode(stamps), np.full(50, 0.5))
    assert decoded.min() >= stamps.min() and decoded.max() <= stamps.max() + pd.Timedelta(seconds=1)


# -- generator -------------------------------------------------------------------------------


def test_registered_and_settings_validated() -> None:
    assert isinstance(make_generator("argn"), ARGNGenerator)
    for setting, value in [("max_epochs", 0), ("learning_rate", -1.0), ("device", "tpu"), ("n_bins", 2.5),
                           ("validation_share", 0.9), ("max_training_seconds", 0), ("input_sparsity", -0.1)]:
        with pytest.raises(ConfigError, match=setting):
            ARGNGenerator(**{setting: value}).fit(_table(100))


@pytest.mark.integration
def test_plain_sampling_structure_and_rare_values(fitted: ARGNGenerator, table: pd.DataFrame) -> None:
    # (kinds, columns and ids: tests/test_generator_contract.py)
    synthetic = fitted.sample(3000)
    assert "ZZ-unique" not in set(synthetic["country"]) and RARE_LABEL not in set(synthetic["country"])
    assert set(synthetic["country"].dropna()) <= {"NO", "IT", "DE"}
    # continuous integers are not limited to training values
    assert len(set(synthetic["amount"].dropna()) - set(table["amount"])) > 1000
    # learned structure: marginals and a deterministic dependency
    assert abs((synthetic["country"] == "NO").mean() - 0.5) < 0.06
    assert ((synthetic["country"] == "NO") == (synthetic["currency"] == "NOK")).mean() > 0.95
    assert 0.04 < synthetic["income"].isna().mean() < 0.17
    assert synthetic["age"].between(18, 79).all()


@pytest.mark.integration
def test_seeded_sampling_keeps_seeds_and_conditions_the_rest(fitted: ARGNGenerator) -> None:
    seed = pd.DataFrame({"currency": ["NOK"] * 300 + ["EUR"] * 300, "plan": ["premium"] * 600})
    synthetic = fitted.sample(seed_data=seed)
    assert synthetic["currency"].tolist() == seed["currency"].tolist()
    assert (synthetic["plan"] == "premium").all()
    # currency follows country exactly in training; unconditioned, half the rows would be NO
    assert (synthetic["country"][:300] == "NO").mean() > 0.9
    assert synthetic["country"][300:].isin(["IT", "DE"]).mean() > 0.9
    # premium incomes are high in training (80k vs 40k)
    assert synthetic["income"].dropna().median() > 65_000


@pytest.mark.integration
def test_seeded_missing_value_stays_missing(fitted: ARGNGenerator) -> None:
    seed = pd.DataFrame({"income": [np.nan] * 50})
    synthetic = fitted.sample(seed_data=seed)
    assert synthetic["income"].isna().all()


@pytest.mark.integration
def test_rebalancing_hits_share(fitted: ARGNGenerator) -> None:
    synthetic = fitted.sample(2000, rebalance={"plan": {"premium": 0.8}})
    assert abs((synthetic["plan"] == "premium").mean() - 0.8) <= 0.01
    premium = synthetic[synthetic["plan"] == "premium"]
    assert premium["income"].dropna().median() > 65_000


@pytest.mark.integration
def test_imputation_never_fills_in_a_rare_value(fitted: ARGNGenerator, table: pd.DataFrame) -> None:
    # (observed cells unchanged, missing ones filled: tests/test_generator_contract.py)
    data = table.drop(columns=["customer_id"]).head(400).copy()
    data.loc[np.random.default_rng(3).random(len(data)) < 0.2, "country"] = None
    imputed = fitted.impute(data)
    filled = imputed["country"][data["country"].isna()]
    assert filled.notna().all() and set(filled) <= {"NO", "IT", "DE"}


def test_two_threads_train_the_same_weights_twice() -> None:
    # Big enough batches for torch to split work across threads: the weights must still match bit for bit.
    table = _table(6000, seed=2)
    settings = {"max_epochs": 2, "n_threads": 2, "random_state": 3, "batch_size": 2048}
    first, second = (ARGNGenerator(**settings).fit(table).network_.state_dict() for _ in range(2))
    for name, weights in first.items():
        assert torch.equal(weights, second[name]), name


@pytest.mark.integration
def test_low_temperature_concentrates_on_likely_values(fitted: ARGNGenerator) -> None:
    cold = fitted.sample(2000, temperature=0.3)
    assert (cold["country"] == "NO").mean() > 0.6


@pytest.mark.integration
def test_input_sparsity_leaves_heads_fewer_number_inputs(table: pd.DataFrame) -> None:
    def group_norms(sparsity: float) -> tuple[np.ndarray, np.ndarray]:
        settings = {**FAST, "input_sparsity": sparsity, "max_epochs": 8}
        generator = ARGNGenerator(**settings).fit(table)
        network = generator.network_
        n_sub = len(network.cardinalities)
        norms = network.w1.detach().reshape(n_sub, n_sub, -1).norm(dim=2).numpy()
        subs = generator.encoder_.sub_columns
        numeric = np.array([s.role in ("bin", "level") and s.cardinality >= 2 for s in subs])
        return norms[:, numeric], norms[:, ~numeric]

    (free_numbers, free_labels), (sparse_numbers, sparse_labels) = group_norms(0.0), group_norms(0.05)
    assert sparse_numbers.sum() < 0.5 * free_numbers.sum()
    # Whole inputs fade, not all weights a little: the norms spread out relative to their mean.
    assert sparse_numbers.std() / sparse_numbers.mean() > free_numbers.std() / free_numbers.mean()
    # Categorical inputs are not penalized (a rare class must keep conditioning the rest).
    assert sparse_labels.sum() > 0.7 * free_labels.sum()


def test_time_budget_stops_training(table: pd.DataFrame, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="synth_pipeline.generators.argn"):
        generator = ARGNGenerator(max_training_seconds=0.05, max_epochs=1000, random_state=0).fit(table)
    assert generator.training_report_["epochs"] <= 2
    assert "time budget" in generator.training_report_["stopped_because"]
    assert len(generator.sample(10)) == 10
    # such a model depends on the machine's speed, and the user is told how to get one that does not
    assert any("max_training_seconds=0.05" in r.getMessage() and "max_epochs" in r.getMessage() for r in caplog.records)


# -- exact equality between columns -------------------------------------------------------------


def _equal_table(n_rows: int = 1200, seed: int = 3) -> pd.DataFrame:
    """``paid`` equals last month's ``bill`` in about 40% of the rows; ``bill`` is sometimes missing."""
    rng = np.random.default_rng(seed)
    bill = np.round(rng.lognormal(7, 1, n_rows), 2)
    pays_in_full = rng.random(n_rows) < 0.4
    paid = np.where(pays_in_full, bill, np.round(bill * rng.uniform(0.05, 0.9, n_rows), 2))
    bill[rng.random(n_rows) < 0.05] = np.nan
    segment = np.where(pays_in_full, "full", rng.choice(["partial", "minimum"], n_rows))
    return pd.DataFrame({"bill": bill, "segment": segment, "paid": paid})


def test_equal_to_earlier_column_is_found_and_round_trips() -> None:
    table = _equal_table()
    kinds = {"bill": ColumnKind.NUMERIC, "segment": ColumnKind.CATEGORICAL, "paid": ColumnKind.NUMERIC}
    settings = EncoderSettings(rare_threshold=5, n_bins=32, n_levels=8, max_exact_values=16)
    encoder = TableEncoder.fit(table, kinds, settings)
    paid = encoder.encoders[2]
    assert paid.references == ["bill"] and encoder.encoders[0].references == []
    codes = encoder.encode(table)
    same = (table["paid"] == table["bill"]).to_numpy()
    assert np.array_equal(codes[:, encoder.first_sub[2]] == paid.first_equal_code, same)
    decoded = encoder.decode(codes, np.random.default_rng(0))
    assert np.array_equal((decoded["paid"] == decoded["bill"]).to_numpy(), same)
    # Without the reference given, a value is coded by its bin.
    known = np.ones((len(table), 3), dtype=bool)
    known[:, 0] = False
    assert not (encoder.encode(table, known=known)[:, encoder.first_sub[2]] >= paid.first_equal_code).any()


@pytest.mark.integration
def test_equality_is_reproduced_and_conditions_stay_consistent() -> None:
    table = _equal_table()
    model = ARGNGenerator(**FAST).fit(table)
    synthetic = model.sample(2000)
    real_share = float((table["paid"] == table["bill"]).mean())
    synthetic_share = float((synthetic["paid"] == synthetic["bill"]).mean())
    assert abs(synthetic_share - real_share) < 0.08, (synthetic_share, real_share)
    # "equal to bill" is never drawn where bill came out missing
    assert synthetic["paid"].notna().all()
    # Seeding the referencing column alone, and imputing the reference, keep what is given.
    seeds = table[["paid"]].iloc[:200].reset_index(drop=True)
    seeded = model.sample(seed_data=seeds)
    assert np.allclose(seeded["paid"].to_numpy(float), seeds["paid"].to_numpy(float))
    holes = table.iloc[:200].reset_index(drop=True).copy()
    holes.loc[::2, "bill"] = np.nan
    filled = model.impute(holes)
    assert filled["bill"].notna().all()
    assert np.allclose(filled["paid"].to_numpy(float), holes["paid"].to_numpy(float))

