import numpy as np
import pandas as pd
import pytest

from synth_pipeline.columns import ColumnKind
from synth_pipeline.errors import ConfigError, InvalidDataError, NotFittedError
from synth_pipeline.generators.base import Generator
from synth_pipeline.generators.copula import GaussianCopulaGenerator
from synth_pipeline.generators.registry import generator_names, make_generator


@pytest.fixture(scope="module")
def fitted(churn):
    return GaussianCopulaGenerator(random_state=0).fit(churn)


def test_output_has_the_training_kinds_and_values(churn, fitted):
    synthetic = fitted.sample(3000)
    assert list(synthetic.columns) == list(churn.columns) and len(synthetic) == 3000
    assert str(synthetic.tenure_months.dtype) == "Int64"
    assert pd.api.types.is_datetime64_any_dtype(synthetic.signup_date)
    assert (synthetic.signup_date.dt.normalize() == synthetic.signup_date).all()  # dates stay dates
    assert set(synthetic.contract) <= set(churn.contract)
    assert set(synthetic.payment_method.dropna()) <= set(churn.payment_method.dropna())
    assert synthetic.senior_citizen.dtype == "boolean"
    assert synthetic.customer_id.is_unique
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


def test_same_seed_same_rows_and_save_load(tmp_path, churn, fitted):
    first = fitted.sample(500, random_state=11)
    pd.testing.assert_frame_equal(first, fitted.sample(500, random_state=11))
    pd.testing.assert_frame_equal(
        first, GaussianCopulaGenerator(random_state=0).fit(churn).sample(500, random_state=11)
    )
    assert not first.equals(fitted.sample(500, random_state=12))
    fitted.save(tmp_path / "model")
    loaded = Generator.load(tmp_path / "model")
    assert isinstance(loaded, GaussianCopulaGenerator)
    pd.testing.assert_frame_equal(first, loaded.sample(500, random_state=11))


def test_streamed_batches_make_up_the_table(fitted):
    batches = list(fitted.sample_batches(2500, random_state=3, batch_rows=1000))
    assert [len(b) for b in batches] == [1000, 1000, 500]
    table = pd.concat(batches, ignore_index=True)
    assert table.customer_id.is_unique  # ids continue across batches


def test_seed_data_is_kept_and_conditions_the_rest(churn, fitted):
    seeds = pd.DataFrame({"contract": ["Two year"] * 1000 + ["Month-to-month"] * 1000})
    synthetic = fitted.sample(seed_data=seeds, random_state=0)
    assert synthetic.contract.tolist() == seeds.contract.tolist()
    tenure = synthetic.groupby("contract").tenure_months.mean()
    assert tenure["Two year"] > tenure["Month-to-month"] + 10


def test_rebalance_hits_the_share(fitted):
    synthetic = fitted.sample(4000, rebalance={"churn": {"Yes": 0.5}}, random_state=0)
    assert (synthetic.churn == "Yes").mean() == pytest.approx(0.5, abs=0.01)
    with pytest.raises(ConfigError, match="no value.*'Maybe'"):
        fitted.sample(10, rebalance={"churn": {"Maybe": 0.5}})
    with pytest.raises(ConfigError, match="not a categorical"):
        fitted.sample(10, rebalance={"monthly_charges": {"1": 0.5}})


def test_impute_fills_only_missing_cells(churn, fitted):
    holes = churn.copy()
    rng = np.random.default_rng(0)
    for column in ("tenure_months", "contract", "monthly_charges"):
        holes.loc[rng.random(len(holes)) < 0.2, column] = np.nan
    filled = fitted.impute(holes, random_state=0)
    assert filled.index.equals(holes.index) and list(filled.columns) == list(holes.columns)
    for column in ("tenure_months", "contract", "monthly_charges", "payment_method"):
        assert filled[column].notna().all(), column
        observed = holes[column].notna()
        kept, given = filled.loc[observed, column], holes.loc[observed, column]
        if column in ("tenure_months", "monthly_charges"):
            kept, given = kept.astype(float), given.astype(float)
        assert (kept == given).all(), column


def test_errors_are_clear(churn, fitted):
    with pytest.raises(NotFittedError):
        GaussianCopulaGenerator().sample(3)
    with pytest.raises(InvalidDataError, match="'contract'.*never seen.*'Lifetime'"):
        fitted.sample(seed_data=pd.DataFrame({"contract": ["Lifetime"]}))
    with pytest.raises(InvalidDataError, match="'shoe_size'"):
        fitted.sample(seed_data=pd.DataFrame({"shoe_size": [42]}))
    with pytest.raises(ConfigError, match="n_rows"):
        fitted.sample(-1)
    with pytest.raises(ConfigError, match="max_quantiles"):
        GaussianCopulaGenerator(max_quantiles="many").fit(churn)
    with pytest.raises(ConfigError, match="no setting.*'epochs'"):
        make_generator("copula", epochs=3)
    with pytest.raises(ConfigError, match="unknown generator 'gan'"):
        make_generator("gan")
    assert "copula" in generator_names()


def test_small_and_constant_tables():
    table = pd.DataFrame({"k": ["a"] * 8, "n": [3] * 8, "x": [1.0, 2, 3, 4, 5, 6, 7, 8]})
    generator = GaussianCopulaGenerator(random_state=0).fit(table)
    synthetic = generator.sample(50)
    assert (synthetic.k == "a").all() and (synthetic.n == 3).all()
    assert synthetic.x.between(1, 8).all()
    assert generator.schema_.kind("n") is ColumnKind.INTEGER
    assert len(generator.sample(0)) == 0
