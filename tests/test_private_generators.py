"""Generators under ``privacy``: the copula's DP marginals and correlation, and what privacy refuses."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from synth_pipeline.errors import ConfigError, InvalidDataError
from synth_pipeline.generators.argn import ARGNGenerator
from synth_pipeline.generators.base import Generator
from synth_pipeline.generators.copula import GaussianCopulaGenerator
from synth_pipeline.generators.privacy_budget import PrivacySettings, split_budget
from synth_pipeline.generators.registry import check_generator_settings
from synth_pipeline.quality import evaluate
from synth_pipeline.simulate import simulate_churn


@pytest.fixture(scope="module")
def split() -> tuple[pd.DataFrame, pd.DataFrame]:
    table = simulate_churn(6000, random_state=1)
    table.loc[0, ["contract", "monthly_charges"]] = ["unique-contract", 10_000.0]
    return table.iloc[:3000].reset_index(drop=True), table.iloc[3000:].reset_index(drop=True)


def test_the_private_copula_spends_the_whole_budget_and_never_draws_a_unique_value(split, tmp_path) -> None:
    training, _ = split
    for seed in range(5):
        generator = GaussianCopulaGenerator(random_state=seed, privacy={"epsilon": 2.0, "delta": 1e-6}).fit(training)
        contract = next(m for m in generator.marginals_ if m.name == "contract")
        assert "unique-contract" not in contract.values and "unique-contract" not in generator.frequencies_["contract"]
        sample = generator.sample(3000)
        assert "unique-contract" not in set(sample["contract"]) and sample["monthly_charges"].max() < 1000
    spent = generator.private_statistics_
    # every column and the correlation are paid for; the order of a two-valued column is never made, so its
    # share is not spent: the books hold what was spent, at most the budget
    charged = set(spent["columns"])
    assert charged >= {*generator.model_columns, "<correlation of the columns>", "<order of contract>"}
    assert "<order of gender>" not in charged
    assert 1.8 < spent["epsilon"] < 2.0 and spent["delta"] <= 1e-6
    # the kept schema counts nothing: no inferred reason ("3 distinct labels"), "has missing" from the noisy count
    for column in generator.schema_.columns:
        if column.kind.value != "id":
            assert "withheld under privacy" in column.reason
            marginal = next(m for m in generator.marginals_ if m.name == column.name)
            assert column.has_missing == (marginal.missing_share > 0)
    loaded = Generator.load(generator.save(tmp_path / "model"))
    assert loaded.private_statistics_["epsilon"] == pytest.approx(spent["epsilon"])
    assert loaded.sample(50, random_state=3).equals(generator.sample(50, random_state=3))


def test_the_private_copula_keeps_most_of_the_accuracy_at_a_moderate_budget(split) -> None:
    training, holdout = split
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = GaussianCopulaGenerator(random_state=0).fit(training).sample(3000)
        private = GaussianCopulaGenerator(random_state=0, privacy={"epsilon": 3.0}).fit(training).sample(3000)
        noisy = GaussianCopulaGenerator(random_state=0, privacy={"epsilon": 0.3}).fit(training).sample(3000)
    accuracy = {
        name: evaluate(training, holdout, table, metrics=["accuracy"]).accuracy.overall
        for name, table in (("plain", plain), ("private", private), ("noisy", noisy))
    }
    # DP costs accuracy, more at a smaller budget, but a moderate one keeps most of it
    assert accuracy["noisy"] < accuracy["private"] <= accuracy["plain"] + 0.01
    assert accuracy["private"] > accuracy["plain"] - 0.05


def test_a_budget_too_small_for_a_number_column_is_one_clear_error(split) -> None:
    training, _ = split
    with warnings.catch_warnings(), pytest.raises(InvalidDataError, match="column '.*': too few rows .* privacy"):
        warnings.simplefilter("ignore")
        GaussianCopulaGenerator(random_state=0, privacy={"epsilon": 0.01}).fit(training)


def test_same_seed_same_private_model(split) -> None:
    training, _ = split
    first, second = (GaussianCopulaGenerator(random_state=4, privacy={"epsilon": 1.0}).fit(training) for _ in range(2))
    assert np.array_equal(first.correlation_, second.correlation_)


@pytest.mark.parametrize(("settings", "named"), [
    ({"infer_rules": True}, "infer_rules"),
    ({"rules": [{"type": "inequality", "left": "support_calls", "op": "<=", "right": "tenure_months"}]}, "rules"),
])
def test_rules_are_refused_under_privacy_naming_the_setting(settings, named) -> None:
    with pytest.raises(ConfigError, match=f"{named} cannot be combined with privacy"):
        check_generator_settings("copula", {"privacy": {"epsilon": 3.0}, **settings})
    check_generator_settings("copula", settings)  # without privacy they stay allowed


class _StatisticsOnlyARGN(ARGNGenerator):
    """argn with DP statistics and plain SGD: tests the statistics' path without paying for DP-SGD."""

    def _statistics_privacy(self) -> PrivacySettings:
        return PrivacySettings(epsilon=20.0, delta=1e-6)


def test_argn_learns_its_statistics_through_the_dp_statistics(split, tmp_path) -> None:
    training, _ = split
    training = training.iloc[:1500].assign(code=[f"K{i % 300}" for i in range(1500)])  # every value in few rows
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        generator = _StatisticsOnlyARGN(max_epochs=1, random_state=0, hidden_size=16).fit(training)
    spent = generator.private_statistics_
    share = split_budget(PrivacySettings(epsilon=20.0, delta=1e-6), len(training), trains_with_sgd=True)
    assert spent["epsilon"] == pytest.approx(share.statistics_epsilon) and spent["epsilon"] < 20.0
    assert spent["delta"] == pytest.approx(share.statistics_delta) and spent["delta"] <= 1e-6
    assert generator.schema_.kind("code").value == "id"  # no value passed the noise: regenerated, listed
    contract = next(e for e in generator.encoder_.encoders if e.name == "contract")
    assert "unique-contract" not in contract.categories and "unique-contract" not in generator.frequencies_["contract"]
    assert sum(generator.frequencies_["contract"].values()) == pytest.approx(1.0)
    sample = generator.sample(1500)
    assert "unique-contract" not in set(sample["contract"]) and sample["monthly_charges"].max() < 1000
    loaded = Generator.load(generator.save(tmp_path / "model"))
    assert loaded.private_statistics_["epsilon"] == pytest.approx(spent["epsilon"])

