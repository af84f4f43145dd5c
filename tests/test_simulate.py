import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from synth_pipeline.simulate import TableSpec, simulate, simulate_churn


def test_churn_table_follows_its_spec():
    table = simulate_churn(20_000, random_state=1)
    assert table.customer_id.is_unique
    shares = table.contract.value_counts(normalize=True)
    assert abs(shares["Month-to-month"] - 0.55) < 0.02
    # declared correlations show up: longer tenure with longer contracts, fewer churners among them
    tenure = table.groupby("contract").tenure_months.mean()
    assert tenure["Month-to-month"] < tenure["One year"] < tenure["Two year"]
    churn_rate = table.groupby("contract").churn.apply(lambda s: (s == "Yes").mean())
    assert churn_rate["Month-to-month"] > 2 * churn_rate["Two year"]
    assert abs(table.monthly_charges.isna().mean() - 0.02) < 0.005
    assert table.monthly_charges.dropna().between(18.25, 118.75).all()
    assert pd.api.types.is_datetime64_any_dtype(table.signup_date)


def test_same_seed_same_table():
    pd.testing.assert_frame_equal(simulate_churn(300, random_state=5), simulate_churn(300, random_state=5))
    assert not simulate_churn(300, random_state=5).equals(simulate_churn(300, random_state=6))


def test_custom_spec_with_correlation_and_label():
    spec = {
        "columns": {
            "x": {"kind": "numeric"},
            "y": {"kind": "numeric"},
            "g": {"kind": "categorical", "shares": {"a": 1, "b": 3}},
        },
        "correlations": [{"a": "x", "b": "y", "rho": 0.8}],
        "label": {"name": "label", "intercept": 0, "coefficients": {"x": 3.0}},
    }
    table = simulate(spec, 5000, random_state=0)
    assert np.corrcoef(table.x, table.y)[0, 1] == pytest.approx(0.8, abs=0.03)
    assert table.groupby("label").x.mean()["Yes"] > table.groupby("label").x.mean()["No"] + 1
    assert (table.g == "b").mean() == pytest.approx(0.75, abs=0.02)


def test_spec_errors_name_the_problem():
    with pytest.raises(ValidationError, match="unknown column 'z'"):
        TableSpec.model_validate(
            {"columns": {"x": {"kind": "numeric"}}, "correlations": [{"a": "x", "b": "z", "rho": 0.1}]}
        )
