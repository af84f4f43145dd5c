import numpy as np
import pandas as pd
import pytest

from synth_pipeline.columns import ColumnKind
from synth_pipeline.errors import ConfigError
from synth_pipeline.generators.copula import GaussianCopulaGenerator
from synth_pipeline.generators.registry import generator_names


@pytest.fixture(scope="module")
def fitted(churn):
    return GaussianCopulaGenerator(random_state=0).fit(churn)


def test_missing_rates_and_numbers_beyond_training_values(churn, fitted):
    # (kinds, columns and ids: tests/test_generator_contract.py)
    synthetic = fitted.sample(3000)
    # missing values come back at about their training rate
    assert synthetic.monthly_charges.isna().mean() == pytest.approx(churn.monthly_charges.isna().mean(), abs=0.015)
    # numbers are not limited to training values
    assert not set(synthetic.monthly_charges.dropna()) <= set(churn.monthly_charges.dropna())


def test_reproduces_dependence_between_mixed_columns(churn, fitted):
    synthetic = fitted.sample(20_000)
    real = churn.groupby("contract").tenure_months.mean()
    fake = synthetic.groupby("contract").tenure_months.mean()
    assert fake["Two year"] - fake["Month-to-month"] > 0.6 * (real["Two year"] - real["Month-to-month"])
    real_rate = (churn.churn == "Yes").groupby(churn.contract).mean()
    fake_rate = (synthetic.churn == "Yes").groupby(synthetic.contract).mean()
    assert fake_rate["Month-to-month"] > fake_rate["Two year"] + 0.5 * (
        real_rate["Month-to-month"] - real_rate["Two year"]
    )
    # a random-order copula would not find this; learned category order does
    assert abs(np.corrcoef(synthetic.tenure_months.astype(float), synthetic.signup_date.astype("int64"))[0, 1]) > 0.7


def test_point_masses_are_kept():
    rng = np.random.default_rng(0)
    gain = np.where(rng.random(4000) < 0.9, 0, rng.lognormal(8, 1, 4000)).round()
    table = pd.DataFrame({"gain": gain, "x": rng.normal(size=4000)})
    synthetic = GaussianCopulaGenerator(random_state=1).fit(table).sample(4000)
    assert (synthetic.gain == 0).mean() == pytest.approx(0.9, abs=0.02)


def test_seed_data_conditions_the_rest(fitted):
    seeds = pd.DataFrame({"contract": ["Two year"] * 1000 + ["Month-to-month"] * 1000})
    synthetic = fitted.sample(seed_data=seeds, random_state=0)
    tenure = synthetic.groupby("contract").tenure_months.mean()
    assert tenure["Two year"] > tenure["Month-to-month"] + 10


def test_settings_are_validated(churn):
    with pytest.raises(ConfigError, match="max_quantiles must be an integer"):
        GaussianCopulaGenerator(max_quantiles="many").fit(churn)
    with pytest.raises(ConfigError, match="max_quantiles must be greater than or equal to 10"):
        GaussianCopulaGenerator(max_quantiles=3).fit(churn)
    assert "copula" in generator_names()


def test_small_and_constant_tables():
    table = pd.DataFrame({"k": ["a"] * 8, "n": [3] * 8, "x": [1.0, 2, 3, 4, 5, 6, 7, 8]})
    generator = GaussianCopulaGenerator(random_state=0).fit(table)
    synthetic = generator.sample(50)
    assert (synthetic.k == "a").all() and (synthetic.n == 3).all()
    assert synthetic.x.between(1, 8).all()
    assert generator.schema_.kind("n") is ColumnKind.INTEGER
    assert len(generator.sample(0)) == 0


def test_the_model_does_not_depend_on_lapacks_sign_choices(churn, fitted, monkeypatch):
    # Eigen and singular vectors have no preferred sign; the build of LAPACK picks one. A fit and
    # its samples must come out the same either way (they once differed between CPUs).
    svd, eigh = np.linalg.svd, np.linalg.eigh

    def flipped_svd(*args, **kwargs):
        u, s, vt = svd(*args, **kwargs)
        return -u, s, -vt

    def flipped_eigh(*args, **kwargs):
        values, vectors = eigh(*args, **kwargs)
        return values, -vectors

    monkeypatch.setattr(np.linalg, "svd", flipped_svd)
    monkeypatch.setattr(np.linalg, "eigh", flipped_eigh)
    again = GaussianCopulaGenerator(random_state=0).fit(churn)
    assert [m.values for m in again.marginals_] == [m.values for m in fitted.marginals_]
    np.testing.assert_allclose(again.correlation_, fitted.correlation_, atol=1e-12)
    pd.testing.assert_frame_equal(again.sample(500, random_state=4), fitted.sample(500, random_state=4))


def test_a_rare_value_gets_no_made_up_dependence():
    # The correction for what a value interval hides must not blow up noise: a 2% class
    # independent of a number stays (nearly) independent of it.
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"rare": np.where(rng.random(1200) < 0.02, "y", "n"), "x": rng.normal(size=1200)})
    for seed in range(3):
        correlation = GaussianCopulaGenerator(random_state=seed).fit(table).correlation_
        assert abs(correlation[0, 1]) < 0.12, (seed, correlation[0, 1])
