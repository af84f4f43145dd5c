"""The training profile: bins fixed once on training, shared by drift and the quality report."""

import numpy as np
import pandas as pd
import pytest

from synth_pipeline.columns import ColumnKind
from synth_pipeline.drift import measure_drift
from synth_pipeline.errors import StoreError
from synth_pipeline.profile import (
    MISSING_LABEL,
    OTHER_LABEL,
    TrainingProfile,
    column_values,
    fingerprint_table,
    fit_bins,
)
from synth_pipeline.schema import ColumnSpec, Schema
from tests.test_drift import customers


@pytest.fixture(scope="module")
def fitted() -> tuple[pd.DataFrame, TrainingProfile]:
    training = customers(2000, seed=0)
    return training, TrainingProfile.from_table(training)


def test_profile_bins_are_fixed_on_training(fitted):
    training, profile = fitted
    assert profile.n_rows == 2000 and profile.names == training.columns.tolist()
    age = profile.column("age")
    assert age.kind is ColumnKind.INTEGER and age.n_regular == 10 and len(age.edges) == 11  # 10 quantile bins
    # protected edges: the outer ones lie just outside the real range, never on its minimum or maximum
    assert age.edges[0] == training["age"].min() - 1 and age.edges[-1] == training["age"].max() + 1
    assert len(age.frequencies) == 13 and age.frequencies[-1] == 0  # + below, above, missing; no missing ages
    assert age.frequencies[10:12] == [0.0, 0.0]  # nothing in training lies outside the training range
    assert sum(age.frequencies) == pytest.approx(1)
    assert max(age.frequencies[:-1]) < 0.13  # quantile bins hold about a tenth each
    assert profile.column("income").frequencies[-1] == pytest.approx(training["income"].isna().mean())
    children = profile.column("children")
    assert children.edges == [0.0, 1.0, 2.0, 3.0] and children.n_regular == 4  # few values: one bin each
    assert children.labels == ["0", "1", "2", "3", "< 0", "> 3", MISSING_LABEL]
    city = profile.column("city")
    assert city.categories == ["Oslo", "Rome", "Lima"] and len(city.frequencies) == 5  # + other + missing
    customer_id = profile.column("customer_id")
    assert customer_id.kind is ColumnKind.ID and customer_id.frequencies == [] and not customer_id.binned
    joined = profile.column("joined")
    assert joined.kind is ColumnKind.DATETIME and joined.n_regular == 10
    seconds = column_values(training["joined"], ColumnKind.DATETIME)  # seconds since 1970
    dates, counts = np.unique(seconds, return_counts=True)
    assert not set(joined.edges) & {seconds.min(), seconds.max(), *dates[counts < 5]}  # no real extreme, no rare date
    assert joined.labels[0].startswith("[2020-01-0")  # whole days
    assert profile.fingerprint == fingerprint_table(training)


def test_top_labels_keep_the_most_frequent_seen_often_enough():
    labels = [f"c{i:02d}" for i in range(12) for _ in range(30 - i)] + ["rare"] * 4
    profile = TrainingProfile.from_table(pd.DataFrame({"code": labels}))
    code = profile.column("code")
    assert code.categories == [f"c{i:02d}" for i in range(10)]  # the top 10
    assert code.labels == [*code.categories, OTHER_LABEL, MISSING_LABEL]
    other = (20 + 19 + 4) / len(labels)  # c10, c11 and the rare label
    assert code.frequencies[10] == pytest.approx(other) and code.frequencies[11] == 0


def test_dict_and_json_round_trip_give_the_same_measurement(fitted):
    profile = fitted[1]
    restored = TrainingProfile.from_json(profile.to_json())
    assert restored == profile
    assert TrainingProfile.from_dict(profile.to_dict()) == profile
    current = customers(800, seed=5, income_mean=60_000)
    assert measure_drift(restored, current) == measure_drift(profile, current)


def _old_table(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "id": [f"r{seed}_{i}" for i in range(n)],
        "age": rng.integers(18, 60, n) + int(shift * 10),
        "amount": rng.normal(100 + shift * 30, 20, n).round(1),
        "city": rng.choice(["Oslo", "Rome", "Lima"], n),
        "joined": pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 400 + int(shift * 200), n), unit="D"),
    })


# DriftProfile.from_table(_old_table(200, 0), n_bins=4).to_dict() as version 0.x stored it in model metadata.
OLD_DRIFT_PROFILE = {
    "columns": [
        {"name": "id", "kind": "id", "dtype_family": "text", "edges": None, "categories": None, "frequencies": []},
        {"name": "age", "kind": "integer", "dtype_family": "number", "edges": [30.0, 40.5, 51.0], "categories": None,
         "frequencies": [0.24, 0.26, 0.24, 0.26, 0.0]},
        {"name": "amount", "kind": "numeric", "dtype_family": "number", "edges": [84.2, 97.0, 112.325],
         "categories": None, "frequencies": [0.25, 0.245, 0.255, 0.25, 0.0]},
        {"name": "city", "kind": "categorical", "dtype_family": "text", "edges": None,
         "categories": ["Lima", "Oslo", "Rome"], "frequencies": [0.345, 0.34, 0.315, 0.0, 0.0]},
        {"name": "joined", "kind": "datetime", "dtype_family": "datetime",
         "edges": [1.6195032e18, 1.6279488e18, 1.634796e18], "categories": None,
         "frequencies": [0.25, 0.245, 0.255, 0.25, 0.0]},
    ],
    "n_rows": 200,
    "fingerprint": {"content_hash": "abc", "row_count": 200},
    "n_bins": 4,
    "top_k": 20,
    "created_at": "2026-11-01T00:00:00+00:00",
}
# measure_drift(that profile, _old_table(300, 1, shift=1.0)).psi_by_column() with version 0.x
OLD_PSI = {"amount": 1.995670022424009, "age": 0.4998014932952326, "joined": 0.41980401721818755,
           "city": 0.005113969074262012}


def test_a_drift_profile_stored_by_an_older_version_loads_and_scores_as_before():
    profile = TrainingProfile.from_dict(OLD_DRIFT_PROFILE)
    assert profile.n_rows == 200 and profile.names == ["id", "age", "amount", "city", "joined"]
    assert profile.column("city").categories == ["Lima", "Oslo", "Rome"]
    assert profile.column("joined").edges[1] == pytest.approx(1.6195032e9)  # nanoseconds then, seconds now
    assert TrainingProfile.from_dict(profile.to_dict()) == profile  # re-stored in the current format
    psi = measure_drift(profile, _old_table(300, 1, shift=1.0)).psi_by_column()
    assert list(psi) == list(OLD_PSI)
    for name, value in OLD_PSI.items():
        assert psi[name] == pytest.approx(value, rel=1e-3)  # old PSI also floored bins empty on both sides
    assert measure_drift(profile, _old_table(200, 0)).max_psi == pytest.approx(0, abs=1e-12)


def test_an_unreadable_profile_says_to_retrain():
    with pytest.raises(StoreError, match="retrain"):
        TrainingProfile.from_dict({"columns": [{"name": "a"}], "n_rows": 1})


def test_fingerprint_changes_with_content_and_order(fitted):
    training = fitted[0]
    base = fingerprint_table(training)
    assert base == fingerprint_table(training.copy())
    assert base["row_count"] == 2000
    assert [c["name"] for c in base["columns"]] == training.columns.tolist()
    edited = training.copy()
    edited.loc[5, "age"] += 1
    assert fingerprint_table(edited)["content_hash"] != base["content_hash"]
    assert fingerprint_table(training.iloc[::-1])["content_hash"] != base["content_hash"]
    assert fingerprint_table(training.iloc[:-1])["content_hash"] != base["content_hash"]
    assert fingerprint_table(training.astype({"age": "float64"}))["content_hash"] != base["content_hash"]
    empty = fingerprint_table(training.iloc[:0])
    assert empty["row_count"] == 0 and empty["content_hash"] != base["content_hash"]


def test_binning_rules():
    values = column_values(pd.Series(np.arange(100, dtype=float)), ColumnKind.NUMERIC)
    bins = fit_bins("v", ColumnKind.NUMERIC, values)
    assert bins.n_regular == 10
    # every value is held by one row: the outer edges are the 5th smallest and largest, moved off them
    assert bins.edges[0] == 3.9 and bins.edges[-1] == 95.1 and not set(bins.edges) & set(values)
    codes = bins.codes(np.array([-5.0, 0.0, 10.0, 50.0, 95.0, 99.0, 150.0, np.nan]))
    assert list(codes) == [10, 10, 0, 5, 9, 11, 11, 12]  # below, below, first, middle, last (closed), above, missing
    few = fit_bins("k", ColumnKind.INTEGER, np.array([1.0, 2.0, 2.0, 3.0] + [2.0] * 5 + [3.0] * 5))
    assert few.labels[:3] == ["2", "3", "< 2"]  # one bin per value held by 5 rows; the single 1 is "below"
    labels = np.array([f"c{i}" for i in range(12) for _ in range(20 - i)] + ["rare"] * 2, dtype=object)
    cats = fit_bins("c", ColumnKind.CATEGORICAL, labels)
    assert cats.labels[:10] == [f"c{i}" for i in range(10)] and cats.labels[10:] == [OTHER_LABEL, MISSING_LABEL]
    assert list(cats.codes(np.array(["c0", "c11", "unseen", None], dtype=object))) == [0, 10, 10, 11]
    tied = fit_bins("t", ColumnKind.INTEGER, np.r_[np.zeros(900), np.arange(1, 101)].astype(float))
    assert tied.n_regular >= 8  # a column of mostly zeros still gets its tail binned


def test_the_schema_decides_how_a_column_is_binned():
    codes = pd.DataFrame({"code": np.tile(np.arange(1, 21), 10)})  # whole numbers 1..20
    as_numbers = TrainingProfile.from_table(codes, Schema([ColumnSpec("code", ColumnKind.INTEGER)]))
    as_labels = TrainingProfile.from_table(codes, Schema([ColumnSpec("code", ColumnKind.CATEGORICAL)]))
    assert as_numbers.column("code").edges is not None and as_numbers.column("code").n_regular == 10
    assert as_labels.column("code").categories == sorted(str(i) for i in range(1, 21))[:10]  # ties: by label
