"""Value protection: no real rare value or extreme gets out through reports, rule texts, samples or ids.

The planted cases are the ones issue 18 found (a random 10-digit integer column whose decile edges
were real values, a ``97`` seen once as a bin label, a rule text with the real minimum and maximum,
a category seen once that the copula reproduced, sequential ids equal to the real ones).
"""

import json
import re

import numpy as np
import pandas as pd
import pytest

from synth_pipeline.columns import ColumnKind
from synth_pipeline.constraints import infer_rules
from synth_pipeline.generators.argn import ARGNGenerator
from synth_pipeline.generators.copula import GaussianCopulaGenerator
from synth_pipeline.generators.ids import id_format, make_ids
from synth_pipeline.protection import K_SPREAD, MIN_COUNT, protected_bounds, protection_k
from synth_pipeline.quality import evaluate, render_html

RARE = ["Zanzibar", "Quetzaltenango", "Quetzaltenango", "Ouagadougou", "Ouagadougou", "Ouagadougou", "Reykjavik",
        "Reykjavik", "Reykjavik", "Reykjavik"]  # seen 1, 2, 3 and 4 times


def planted(n: int = 500, seed: int = 0) -> pd.DataFrame:
    """Random 10-digit integers, a small count column with one 97, rare cities, numbers with unique extremes."""
    rng = np.random.default_rng(seed)
    small = rng.integers(1, 6, n)
    small[7] = 97
    city = rng.choice(["Oslo", "Rome", "Lima", "Kyiv"], n).astype(object)
    city[: len(RARE)] = RARE
    amount = rng.normal(100, 15, n).round(2)
    amount[3], amount[4] = -512.37, 1234.56  # unique extremes
    return pd.DataFrame({
        "big": rng.integers(10**9, 10**10, n),
        "small": small,
        "city": city,
        "amount": amount,
        "visits": np.r_[rng.integers(20, 60, n - 2), [0, 400]],  # integers with unique extremes
        "joined": pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 900, n), unit="D"),
    })


@pytest.fixture(scope="module")
def report_text(tmp_path_factory) -> tuple[pd.DataFrame, pd.DataFrame, str, str, dict]:
    training, holdout = planted(500, seed=0), planted(500, seed=1)
    synthetic = GaussianCopulaGenerator(random_state=0).fit(training).sample(500)
    rules = infer_rules(training)
    report = evaluate(training, holdout, synthetic, rules=rules, random_state=0)
    html = render_html(report, tmp_path_factory.mktemp("qa") / "q.html").read_text()
    return training, holdout, html, report.to_json(), report.to_dict()


def test_report_prints_no_value_of_a_random_ten_digit_column(report_text):
    training, holdout, html, text, _ = report_text
    assert training.dtypes["big"].kind == "i"
    real = {str(v) for v in np.r_[training["big"], holdout["big"]]}
    assert not [v for v in real if v in html], "a real 10-digit value is in the HTML report"
    assert not [v for v in real if v in text], "a real 10-digit value is in the JSON report"


def test_report_labels_show_no_rare_value_and_no_extreme(report_text):
    training, _, html, text, data = report_text
    labels = [label for plot in data["plots"]["univariate"] for label in plot["labels"]]
    labels += [label for plot in data["plots"]["bivariate"] for label in plot["row_labels"] + plot["column_labels"]]
    small = [plot["labels"] for plot in data["plots"]["univariate"] if plot["column"] == "small"][0]
    assert not any("97" in label for label in small) and "> 5" in small  # the 97 counts as "above"
    for city in set(RARE):
        assert city not in html and city not in text  # cities seen 1-4 times: only "(other)"
    for column in ("amount", "visits", "small", "big"):
        values, counts = np.unique(training[column].to_numpy(dtype=float), return_counts=True)
        forbidden = set(values[counts < MIN_COUNT])  # rare values, the unique extremes among them
        if column != "small":  # small has one bin per value 5+ rows hold (its minimum 1 among them)
            forbidden |= {values[0], values[-1]}
        shown = {float(number) for label in labels_of(data, column) for number in NUMBER.findall(label)}
        assert shown and not shown & forbidden, column
    first, last = training["joined"].min(), training["joined"].max()
    assert not any(d.strftime("%Y-%m-%d") in label for label in labels for d in (first, last))


NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def labels_of(data: dict, column: str) -> list[str]:
    """Every bin label of ``column`` in the report's univariate and bivariate plots."""
    labels = [label for plot in data["plots"]["univariate"] if plot["column"] == column for label in plot["labels"]]
    for plot in data["plots"]["bivariate"]:
        labels += plot["row_labels"] if plot["columns"][0] == column else []
        labels += plot["column_labels"] if plot["columns"][1] == column else []
    return labels


def test_rule_texts_hold_no_real_minimum_or_maximum(report_text):
    training, _, html, text, data = report_text
    rules = infer_rules(training)
    described = " ".join(rule.describe() for rule in rules)
    # rounded outward to one significant digit of the range (-512.37..1234.56, 0..400, 10-digit integers)
    assert "amount in [-1000.0, 2000.0]" in described and "visits in [-100, 500]" in described
    assert "big in [1000000000, 10000000000]" in described
    assert "joined in [2020-01-01, 2024-01-01]" in described  # the real first day 2021-01-01 is a year start
    for rule in rules:
        if rule.type == "range":
            real = training[rule.column].agg(["min", "max"]).tolist()
            assert not {str(rule.min), str(rule.max)} & {str(v) for v in real}, rule.describe()
            if training.dtypes[rule.column].kind in "if":
                real_numbers = np.sort(training[rule.column].to_numpy(dtype=float))
                assert float(rule.min) < real_numbers[0] and float(rule.max) > real_numbers[-1]
    assert "-512.37" not in text and "1234.56" not in text and "-512.37" not in html
    assert all(entry["violations"] == 0 for entry in data["rule_adherence"]["training"])  # still true on training
    for city in set(RARE):
        assert city not in described


@pytest.mark.parametrize("seed", range(6))
def test_copula_never_samples_a_rare_category_or_an_extreme(seed):
    training = planted(500, seed=seed)
    synthetic = GaussianCopulaGenerator(random_state=seed).fit(training).sample(3000)
    assert not set(synthetic["city"]) & set(RARE)
    assert set(synthetic["city"].dropna()) == {"Oslo", "Rome", "Lima", "Kyiv"}
    assert 97 not in set(synthetic["small"])
    for column in ("amount", "visits", "big"):
        low, high = protected_bounds(np.sort(training[column].to_numpy(dtype=float)), MIN_COUNT)
        assert synthetic[column].min() >= low and synthetic[column].max() <= high, column


def test_copula_conditions_on_a_rare_value_it_never_samples():
    training = planted(500)
    generator = GaussianCopulaGenerator(random_state=0).fit(training)
    seeded = generator.sample(seed_data=pd.DataFrame({"city": ["Zanzibar", "Oslo"]}))
    assert seeded["city"].tolist() == ["Zanzibar", "Oslo"]  # the caller's own value comes back, nothing else
    assert seeded["amount"].notna().all()


def test_argn_never_samples_a_rare_category_or_an_extreme():
    training = planted(500, seed=3)
    synthetic = ARGNGenerator(max_epochs=6, patience=2, random_state=3).fit(training).sample(3000)
    assert not set(synthetic["city"]) & set(RARE) and "_RARE_" not in set(synthetic["city"])
    assert 97 not in set(synthetic["small"])
    for column in ("amount", "visits", "big"):
        x = np.sort(training[column].to_numpy(dtype=float))
        assert x[0] not in set(synthetic[column]) and x[-1] not in set(synthetic[column])
        low, high = protected_bounds(x, MIN_COUNT)
        assert synthetic[column].min() >= low - 0.01 and synthetic[column].max() <= high + 0.01, column


def test_k_is_drawn_per_model_from_the_seed():
    ks = [protection_k(seed) for seed in range(200)]
    assert ks == [protection_k(seed) for seed in range(200)]  # same seed, same k
    assert set(ks) == set(range(MIN_COUNT, MIN_COUNT + K_SPREAD))  # every k in [5, 10) occurs
    assert protection_k(3, base=20) - 20 == protection_k(3) - MIN_COUNT


def test_a_category_below_the_models_k_is_never_sampled():
    # seen k - 1 times: pooled; seen k times: kept (the threshold is the model's own k)
    for seed in range(4):
        k = protection_k(seed)
        labels = ["a"] * 300 + ["b"] * 200 + ["edge"] * (k - 1) + ["kept"] * k
        training = pd.DataFrame({"c": labels, "x": np.arange(len(labels)) % 7})
        sampled = set(GaussianCopulaGenerator(random_state=seed).fit(training).sample(20_000)["c"])
        assert "edge" not in sampled and "kept" in sampled


def test_regenerated_ids_never_equal_real_ones():
    training = pd.DataFrame({
        "customer": [f"C{i:06d}" for i in range(1, 501)],
        "number": np.arange(1, 501),
        "x": np.random.default_rng(0).normal(size=500),
    })
    generator = GaussianCopulaGenerator(random_state=0, column_kinds={"number": "id"}).fit(training)
    batches = list(generator.sample_batches(1200, batch_rows=500))
    sampled = pd.concat(batches, ignore_index=True)
    assert not set(sampled["customer"]) & set(training["customer"])
    assert sampled["customer"].str.fullmatch(r"C\d{6}").all() and sampled["customer"].is_unique  # same shape
    numbers = sampled["number"].astype(str)
    assert numbers.str.fullmatch(r"[1-9]\d*").all() and sampled["number"].is_unique  # whole numbers, no padding
    assert not set(numbers.astype(int)) & set(training["number"])


def test_integer_ids_stay_integers_and_count_above_the_largest():
    fmt = id_format(pd.Series([3, 17, 24_421], dtype="Int64"))
    assert fmt == {"type": "number", "start": 100_000}
    ids = make_ids(fmt, 0, 3)
    assert ids.dtype == "Int64" and ids.tolist() == [100_001, 100_002, 100_003]
    huge = id_format(pd.Series([9_000_000_000_000_000_000 // 2], dtype="Int64"))
    assert make_ids(huge, 0, 2).tolist() == [-1, -2]  # no room above in int64: below zero
    assert make_ids({"type": "string", "prefix": "C", "width": 6}, 0, 2).tolist() == ["C000001", "C000002"]  # old


def test_report_bins_are_deterministic_and_json_stable():
    from synth_pipeline.profile import fit_bins

    values = planted(500)["big"].to_numpy(dtype=float)
    first = fit_bins("big", ColumnKind.INTEGER, values)
    assert first == fit_bins("big", ColumnKind.INTEGER, values)
    assert json.loads(first.model_dump_json())["edges"] == first.edges


def test_a_column_of_only_rare_labels_is_regenerated_not_sampled():
    labels = [f"shop {i}" for i in range(125) for _ in range(4)]  # every label 4 times: all below any k
    training = pd.DataFrame({"shop": labels, "x": np.arange(500) % 9})
    generator = GaussianCopulaGenerator(random_state=0).fit(training)
    assert generator.schema_.kind("shop") is ColumnKind.ID and "every value is rare" in generator.schema_["shop"].reason
    assert not set(generator.sample(1000)["shop"]) & set(labels)


def test_the_id_format_survives_save_and_load(tmp_path):
    training = pd.DataFrame({"customer": [f"C{i:06d}" for i in range(1, 301)], "x": np.arange(300) % 11})
    generator = GaussianCopulaGenerator(random_state=0).fit(training)
    loaded = GaussianCopulaGenerator.load(generator.save(tmp_path / "m"))
    assert loaded.id_columns_ == generator.id_columns_ == {"customer": {"type": "string", "prefix": "C", "width": 6,
                                                                         "start": 1000}}
    assert loaded.sample(5)["customer"].tolist() == generator.sample(5)["customer"].tolist()
