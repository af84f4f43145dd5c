"""The generator contract, run over every registered generator: what a user can rely on whichever they pick.

Quality of the learned distribution is each generator's own business (tests/test_argn.py,
tests/test_copula.py); here: kinds and columns, seeded sampling, rebalancing,
imputation, save/load, reproducibility, clear errors, and settings checked
without building the generator.
"""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from synth_pipeline.config import parse_config
from synth_pipeline.errors import ConfigError, InvalidDataError, NotFittedError
from synth_pipeline.generators.base import Generator
from synth_pipeline.generators.registry import (
    check_generator_settings,
    generator_class,
    generator_names,
    make_generator,
    settings_model,
)

# few epochs: the contract does not depend on how well argn learned
FAST = {"argn": {"max_epochs": 3, "n_threads": 1}, "copula": {}}
LABELS = ["gender", "partner", "contract", "internet_service", "payment_method", "churn"]


def build(name: str, **settings) -> Generator:
    return make_generator(name, **{**FAST.get(name, {}), **settings})


@pytest.fixture(scope="module", params=generator_names())
def name(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def fitted(name, churn) -> Generator:
    return build(name, random_state=0).fit(churn)


def test_every_generator_has_fast_settings_here():
    assert set(FAST) == set(generator_names())


# -- settings --------------------------------------------------------------------------------------
def test_settings_model_is_the_constructor(name):
    klass = generator_class(name)
    model = settings_model(name)
    assert klass.settings_model is model
    generator = klass()
    defaults = {setting: field.default for setting, field in model.model_fields.items()}
    assert generator.get_params() == defaults  # stored as given (scikit-learn: clone checks it)
    assert list(inspect.signature(klass).parameters) == list(model.model_fields)
    with pytest.raises(TypeError, match="no setting.*'epochs'"):
        klass(epochs=3)
    with pytest.raises(ConfigError, match=rf"generator '{name}' has no setting.*'epochs'"):
        make_generator(name, epochs=3)


def test_bad_settings_are_refused_naming_the_setting(name, churn):
    for setting, value in [("random_state", "seven"), ("infer_rules", 1)]:
        with pytest.raises(ConfigError, match=setting):
            check_generator_settings(name, {setting: value})
    generator = build(name, random_state=0)
    generator.random_state = 2.5
    with pytest.raises(ConfigError, match="random_state must be an integer"):
        generator.fit(churn)


def test_config_with_argn_settings_loads_without_torch():
    """Checking a config names a bad argn setting, and never imports torch (the settings model is torch-free)."""
    script = textwrap.dedent(
        """
        import json, sys
        from synth_pipeline.config import parse_config
        from synth_pipeline.errors import ConfigError

        def config(settings):
            dataset = {"source": {"simulate": {"rows": 100}}, "generator": {"name": "argn", "settings": settings}}
            return {"datasets": {"churn": dataset}}

        parse_config(config({"max_epochs": 3, "device": "cpu", "batch_size": 64}))
        try:
            parse_config(config({"max_epochs": 0}))
            refused = ""
        except ConfigError as error:
            refused = str(error)
        print(json.dumps({"torch": "torch" in sys.modules, "refused": refused}))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["torch"] is False
    assert "datasets.churn.generator" in result["refused"]
    assert "max_epochs must be greater than or equal to 1, got 0" in result["refused"]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"max_epochs": 0}, "max_epochs must be greater than or equal to 1, got 0"),
        ({"n_bins": 2.5}, "n_bins must be an integer, got 2.5"),
        ({"device": "tpu"}, "device must be 'auto', 'cpu' or 'cuda'"),
        ({"show_progress": "yes"}, "show_progress must be true or false"),
        ({"epochs": 3}, "no setting.*'epochs'"),
    ],
)
def test_argn_settings_are_checked_at_config_load(settings, message):
    dataset = {"source": {"simulate": {"rows": 100}}, "generator": {"name": "argn", "settings": settings}}
    with pytest.raises(ConfigError, match=message):
        parse_config({"datasets": {"churn": dataset}})


# -- output ----------------------------------------------------------------------------------------
def test_output_has_the_training_columns_kinds_and_values(name, fitted, churn):
    synthetic = fitted.sample(600)
    assert list(synthetic.columns) == list(churn.columns) and len(synthetic) == 600
    assert str(synthetic.tenure_months.dtype) == "Int64" and str(synthetic.support_calls.dtype) == "Int64"
    assert pd.api.types.is_datetime64_any_dtype(synthetic.signup_date)
    assert (synthetic.signup_date.dt.normalize() == synthetic.signup_date).all()  # dates stay dates
    assert str(synthetic.senior_citizen.dtype) == "boolean"
    assert synthetic.monthly_charges.dtype == np.float64
    for column in LABELS:
        assert set(synthetic[column].dropna()) <= set(churn[column].dropna()), column
    assert synthetic.customer_id.is_unique
    assert len(fitted.sample(0)) == 0 and list(fitted.sample(0).columns) == list(churn.columns)
    assert fitted.n_training_rows_ == len(churn) and len(fitted.sample()) == len(churn)
    assert fitted.name == name and fitted.fit_seconds_ > 0


def test_streamed_batches_make_up_the_table(fitted):
    batches = list(fitted.sample_batches(1100, random_state=3, batch_rows=500))
    assert [len(b) for b in batches] == [500, 500, 100]
    table = pd.concat(batches, ignore_index=True)
    assert table.customer_id.is_unique  # ids continue across batches


def test_seed_data_is_kept(fitted):
    seeds = pd.DataFrame({"contract": ["Two year"] * 150 + ["Month-to-month"] * 150, "tenure_months": [12] * 300})
    synthetic = fitted.sample(seed_data=seeds, random_state=0)
    assert len(synthetic) == 300
    assert synthetic.contract.tolist() == seeds.contract.tolist()
    assert (synthetic.tenure_months == 12).all()
    with pytest.raises(ConfigError, match="one row is generated per seed row"):
        fitted.sample(10, seed_data=seeds)
    with pytest.raises(ConfigError, match="either seed_data or rebalance"):
        fitted.sample(seed_data=seeds, rebalance={"churn": {"Yes": 0.5}})


def test_rebalance_hits_the_share(fitted):
    synthetic = fitted.sample(1000, rebalance={"churn": {"Yes": 0.5}}, random_state=0)
    assert (synthetic.churn == "Yes").mean() == pytest.approx(0.5, abs=0.01)
    with pytest.raises(ConfigError, match="no value.*'Maybe'"):
        fitted.sample(10, rebalance={"churn": {"Maybe": 0.5}})
    with pytest.raises(ConfigError, match="not a categorical"):
        fitted.sample(10, rebalance={"monthly_charges": {"1": 0.5}})
    with pytest.raises(ConfigError, match="add up to"):
        fitted.sample(10, rebalance={"churn": {"Yes": 0.7, "No": 0.6}})


def test_impute_fills_only_missing_cells(fitted, churn):
    holes = churn.head(300).astype({"senior_citizen": "boolean"})
    rng = np.random.default_rng(0)
    for column in ("tenure_months", "contract", "monthly_charges", "signup_date", "senior_citizen"):
        holes.loc[rng.random(len(holes)) < 0.2, column] = None
    holes.index = holes.index + 1000  # the result keeps the caller's index
    filled = fitted.impute(holes, random_state=0)
    assert filled.index.equals(holes.index) and list(filled.columns) == list(holes.columns)
    for column in ("tenure_months", "contract", "monthly_charges", "payment_method", "signup_date", "senior_citizen"):
        assert filled[column].notna().all(), column
        observed = holes[column].notna()
        kept, given = filled.loc[observed, column], holes.loc[observed, column]
        if column in ("tenure_months", "monthly_charges"):
            kept, given = kept.astype(float), given.astype(float)
        assert (kept.astype(str) == given.astype(str)).all(), column
    complete = churn.head(20).dropna()
    pd.testing.assert_frame_equal(fitted.impute(complete), complete)


def test_impute_columns_fills_only_the_named_columns(fitted, churn):
    holes = churn.head(300).copy()
    rng = np.random.default_rng(1)
    for column in ("tenure_months", "contract", "monthly_charges"):
        holes.loc[rng.random(len(holes)) < 0.25, column] = None
    filled = fitted.impute(holes, columns=["contract"], random_state=0)
    assert filled["contract"].notna().all()
    for column in ("tenure_months", "monthly_charges"):
        # the other missing cells stay missing, the observed ones unchanged
        assert filled[column].isna().equals(holes[column].isna()), column
        observed = holes[column].notna()
        assert (filled.loc[observed, column].astype(float) == holes.loc[observed, column].astype(float)).all()
    both = fitted.impute(holes, columns=["contract", "tenure_months"], random_state=0)
    assert both[["contract", "tenure_months"]].notna().all().all()
    assert both["monthly_charges"].isna().sum() == holes["monthly_charges"].isna().sum() > 0
    misspelled = r"'contrct' is not in the data to impute \(did you mean 'contract'\?\); .*can fill are: gender"
    with pytest.raises(ConfigError, match=misspelled):
        fitted.impute(holes, columns=["contrct"])
    with pytest.raises(ConfigError, match="'customer_id' is an id or not modelled"):
        fitted.impute(holes, columns=["customer_id"])


# -- scikit-learn conventions -------------------------------------------------------------------------
def test_clone_get_set_params_and_repr(name, churn):
    from sklearn.base import clone

    generator = build(name, random_state=7, column_kinds={"support_calls": "integer"})
    copy = clone(generator)
    assert type(copy) is type(generator) and copy is not generator
    assert copy.get_params(deep=True) == generator.get_params(deep=False) == generator.get_params()
    assert not hasattr(copy, "schema_")  # an unfitted copy with the same settings
    text = repr(generator)
    assert text.startswith(f"{type(generator).__name__}(") and "random_state=7" in text
    assert "column_kinds={'support_calls': 'integer'}" in text
    assert "infer_rules" not in text and "show_progress" not in text  # defaults are left out
    assert repr(type(generator)()) == f"{type(generator).__name__}()"
    assert generator.set_params(random_state=8) is generator and generator.random_state == 8
    with pytest.raises(ConfigError, match="no setting.*'random_sate'.*its settings are: random_state"):
        generator.set_params(random_sate=1)
    fitted_clone = clone(build(name, random_state=0).fit(churn.head(200)))
    assert not hasattr(fitted_clone, "schema_")


# -- persistence and reproducibility ------------------------------------------------------------------
def test_save_load_gives_the_same_rows(name, fitted, tmp_path):
    fitted.save(tmp_path / "model")
    assert {p.name for p in (tmp_path / "model").iterdir()} == {"generator.json", "arrays.npz", "checksums.json"}
    loaded = Generator.load(tmp_path / "model")
    assert type(loaded) is type(fitted) and loaded.get_params() == fitted.get_params()
    assert loaded.schema_ == fitted.schema_ and loaded.n_training_rows_ == fitted.n_training_rows_
    pd.testing.assert_frame_equal(loaded.sample(300, random_state=11), fitted.sample(300, random_state=11))
    seeds = pd.DataFrame({"contract": ["One year", "Two year"] * 20})
    pd.testing.assert_frame_equal(
        loaded.sample(seed_data=seeds, random_state=2), fitted.sample(seed_data=seeds, random_state=2)
    )
    with pytest.raises(InvalidDataError, match="no saved generator"):
        Generator.load(tmp_path / "nothing")


def test_same_seed_same_rows_other_seed_other_rows(name, fitted, churn):
    first = fitted.sample(300, random_state=11)
    pd.testing.assert_frame_equal(first, fitted.sample(300, random_state=11))
    pd.testing.assert_frame_equal(first, build(name, random_state=0).fit(churn).sample(300, random_state=11))
    assert not first.equals(fitted.sample(300, random_state=12))
    assert not first.equals(build(name, random_state=1).fit(churn).sample(300, random_state=11))


# -- errors ------------------------------------------------------------------------------------------
def test_errors_are_clear(name, fitted):
    with pytest.raises(NotFittedError):
        build(name).sample(3)
    with pytest.raises(InvalidDataError, match="'contract'.*never seen.*'Lifetime'"):
        fitted.sample(seed_data=pd.DataFrame({"contract": ["Lifetime"]}))
    with pytest.raises(InvalidDataError, match="'contract'.*never seen.*'Lifetime'"):
        fitted.impute(pd.DataFrame({"contract": ["Lifetime"], "tenure_months": [None]}))
    with pytest.raises(InvalidDataError, match="seed_data has column.*'shoe_size'"):
        fitted.sample(seed_data=pd.DataFrame({"shoe_size": [42]}))
    with pytest.raises(InvalidDataError, match="impute has column.*'shoe_size'"):
        fitted.impute(pd.DataFrame({"shoe_size": [42]}))
    with pytest.raises(ConfigError, match="n_rows"):
        fitted.sample(-1)
    with pytest.raises(ConfigError, match="temperature"):
        fitted.sample(5, temperature=0)
    with pytest.raises(ConfigError, match=f"unknown generator 'gan'.*{name}"):
        make_generator("gan")
