"""Drift measurement against a training profile, on small generated tables."""

import numpy as np
import pandas as pd
import pytest

from synth_pipeline.columns import ColumnKind
from synth_pipeline.drift import measure_drift, population_stability_index
from synth_pipeline.errors import InvalidDataError
from synth_pipeline.profile import TrainingProfile
from synth_pipeline.schema import infer_schema


def customers(n: int, seed: int, *, income_mean: float = 50_000, city_p=(0.5, 0.3, 0.2)) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    income = rng.normal(income_mean, 10_000, n).round(2)
    income[rng.random(n) < 0.05] = np.nan
    return pd.DataFrame(
        {
            "customer_id": [f"C{i:06d}" for i in range(seed * 100_000, seed * 100_000 + n)],
            "age": rng.integers(18, 90, n),
            "income": income,
            "city": rng.choice(["Oslo", "Rome", "Lima"], n, p=list(city_p)),
            "active": rng.random(n) < 0.4,
            "children": rng.integers(0, 4, n),
            "joined": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1000, n), unit="D"),
        }
    )


@pytest.fixture(scope="module")
def training() -> pd.DataFrame:
    return customers(2000, seed=0)


@pytest.fixture(scope="module")
def profile(training) -> TrainingProfile:
    return TrainingProfile.from_table(training)


def test_unchanged_table_has_no_drift(profile, training):
    report = measure_drift(profile, training)
    assert report.max_psi == pytest.approx(0, abs=1e-12)
    assert all(c.tvd == pytest.approx(0, abs=1e-12) for c in report.columns if c.tvd is not None)
    assert not report.schema_changes.changed and not report.needs_retraining(0.1)
    assert "schema unchanged" in report.summary
    id_column = next(c for c in report.columns if c.name == "customer_id")
    assert id_column.psi is None and "not measured" in id_column.note


def test_appended_rows_from_the_same_distribution_drift_little(profile, training):
    current = pd.concat([training, customers(1000, seed=1)], ignore_index=True)
    report = measure_drift(profile, current)
    assert 0 < report.max_psi < 0.02
    assert not report.drifted(0.1) and not report.needs_retraining(0.1)
    assert report.n_rows_current == 3000 and "3,000 rows now vs 2,000 in training" in report.summary


def test_a_replaced_distribution_drifts_a_lot(profile):
    current = customers(2000, seed=2, income_mean=70_000, city_p=(0.1, 0.2, 0.7))
    report = measure_drift(profile, current)
    psi = report.psi_by_column()
    assert psi["income"] > 1.0 and psi["city"] > 0.5
    assert psi["age"] < 0.05  # untouched columns stay quiet
    assert report.max_psi_column == "income" and report.drifted(0.2)
    assert report.over(0.2) == ["income", "city"]
    assert report.summary.startswith(f"max PSI {psi['income']:.3f} (income)")


def test_new_categories_and_missing_values_count_as_drift(profile, training):
    current = training.copy()
    current.loc[: len(current) // 2, "city"] = "Paris"  # a label never seen in training -> "other" bin
    current.loc[: len(current) // 2, "age"] = np.nan
    psi = measure_drift(profile, current).psi_by_column()
    assert psi["city"] > 1.0 and psi["age"] > 1.0


def test_schema_changes_are_reported(profile, training):
    current = training.drop(columns=["children"]).assign(segment="retail")
    current["age"] = current["age"].astype(str)
    current.loc[:10, "age"] = "unknown"  # no longer an integer column
    report = measure_drift(profile, current)
    changes = report.schema_changes
    assert changes.added == ["segment"] and changes.removed == ["children"]
    assert [(r.name, r.expected, r.found) for r in changes.retyped] == [("age", ColumnKind.INTEGER, "categorical")]
    assert "non-numbers" in changes.retyped[0].detail
    assert report.needs_retraining(10.0) and not report.drifted(10.0)
    assert "added 'segment'; removed 'children'; retyped 'age' (integer -> categorical)" in report.summary
    assert {c.name: c.note for c in report.columns}["age"] == "retyped"


def test_a_categorical_now_read_as_numbers_is_retyped():
    training = pd.DataFrame({"grade": np.random.default_rng(0).choice(["A", "B", "C"], 300)})
    profile = TrainingProfile.from_table(training)
    current = pd.DataFrame({"grade": np.random.default_rng(1).integers(1, 4, 300)})
    assert [r.name for r in measure_drift(profile, current).schema_changes.retyped] == ["grade"]


def test_numbers_written_as_text_still_fit():
    training = pd.DataFrame({"amount": np.random.default_rng(0).normal(size=500)})
    profile = TrainingProfile.from_table(training, infer_schema(training))
    current = training.astype(str)
    report = measure_drift(profile, current)
    assert not report.schema_changes.changed and report.max_psi < 1e-9


def test_empty_current_table_is_an_error(profile, training):
    with pytest.raises(InvalidDataError, match="empty"):
        measure_drift(profile, training.iloc[:0])


def test_psi_properties():
    assert population_stability_index([0.5, 0.5], [0.5, 0.5]) == 0
    assert population_stability_index([0.5, 0.5], [0.6, 0.4]) == pytest.approx(0.1 * np.log(1.2) + 0.1 * np.log(1.25))
    assert np.isfinite(population_stability_index([1.0, 0.0], [0.0, 1.0]))


def test_report_as_metadata(profile):
    report = measure_drift(profile, customers(1000, seed=3, income_mean=65_000))
    metadata = report.as_metadata()
    assert metadata["max_psi_column"] == "income" and metadata["max_psi"] == pytest.approx(report.max_psi, abs=1e-6)
    assert list(metadata["psi_by_column"])[0] == "income" and "customer_id" not in metadata["psi_by_column"]
    assert metadata["schema_changes"] == "schema unchanged" and metadata["rows_current"] == 1000
