"""Properties of synth_pipeline.quality that a broken implementation would fail."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from synth_pipeline.columns import ColumnKind
from synth_pipeline.errors import ConfigError, InvalidDataError
from synth_pipeline.profile import OTHER_LABEL
from synth_pipeline.quality import (
    Gates,
    GateSpec,
    QualityReport,
    blocking_failures,
    check_gates,
    evaluate,
    render_html,
)
from synth_pipeline.quality.accuracy import sample_triples
from synth_pipeline.schema import infer_schema

FAST = {"accuracy", "distances", "attacks"}


def make_table(n: int, seed: int) -> pd.DataFrame:
    """Correlated mixed-type rows: numbers, integers, labels, a boolean, a date, some missing values."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y = 2.0 * x + rng.normal(scale=0.5, size=n)
    level = np.where(x > 0.7, "high", np.where(x < -0.7, "low", "mid"))
    city = rng.choice(["Oslo", "Rome", "Lima", "Pune", "Kyiv"], size=n, p=[0.4, 0.25, 0.15, 0.1, 0.1])
    count = rng.poisson(np.exp(0.5 * x + 1.0))
    churn = rng.random(n) < 1 / (1 + np.exp(-(1.5 * x + (city == "Oslo"))))
    day = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, size=n), unit="D")
    table = pd.DataFrame(
        {"x": x, "y": y, "level": level, "city": city, "count": count, "churn": churn, "day": day}
    )
    table.loc[rng.random(n) < 0.05, "y"] = np.nan
    return table


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return {"training": make_table(1200, 1), "holdout": make_table(1200, 2), "fresh": make_table(1200, 3)}


@pytest.fixture(scope="module")
def full_report(tables) -> QualityReport:
    """Every section, with a target: a fresh real sample judged against training and holdout."""
    return evaluate(tables["training"], tables["holdout"], tables["fresh"], target="churn")


def test_copy_of_training_is_perfectly_accurate_and_not_private(tables):
    training, holdout = tables["training"], tables["holdout"]
    report = evaluate(training, holdout, training.copy(), metrics=FAST)
    assert report.accuracy.overall == pytest.approx(1.0)
    assert report.accuracy.univariate == pytest.approx(1.0)
    assert report.accuracy.trivariate == pytest.approx(1.0)
    assert report.accuracy.overall_max < 0.99  # a real fresh sample does not reach 1
    assert report.distances.ims_training == 1.0
    assert report.distances.dcr_share > 0.97
    assert report.distances.dcr_training == pytest.approx(0.0)
    assert report.similarity is None and report.utility is None


def test_fresh_real_sample_scores_like_the_holdout(tables):
    report = evaluate(tables["training"], tables["holdout"], tables["fresh"], metrics=FAST)
    assert abs(report.distances.dcr_share - 0.5) < 0.05
    assert abs(report.distances.dcr_share_all_columns - 0.5) < 0.05
    assert report.accuracy.overall == pytest.approx(report.accuracy.overall_max, abs=0.02)
    assert report.accuracy.bivariate == pytest.approx(report.accuracy.bivariate_max, abs=0.02)
    assert report.distances.ims_training == 0.0
    assert report.distances.dcr_training == pytest.approx(report.distances.dcr_holdout_training, rel=0.15)


def test_synthetic_equal_to_holdout_is_closer_to_holdout(tables):
    report = evaluate(tables["training"], tables["holdout"], tables["holdout"], metrics=FAST)
    assert report.accuracy.overall == pytest.approx(report.accuracy.overall_max)
    assert report.distances.dcr_share_all_columns < 0.05
    assert report.distances.ims_holdout == 1.0


def test_shuffled_columns_keep_marginals_but_lose_pairs(tables):
    training = tables["training"]
    rng = np.random.default_rng(7)
    shuffled = pd.DataFrame({c: training[c].to_numpy()[rng.permutation(len(training))] for c in training.columns})
    report = evaluate(training, tables["holdout"], shuffled, metrics={"accuracy"})
    accuracy = report.accuracy
    assert accuracy.univariate == pytest.approx(1.0)
    assert accuracy.bivariate < accuracy.bivariate_max - 0.05
    assert accuracy.trivariate < accuracy.trivariate_max - 0.08
    weakest = accuracy.pairs[0]
    assert set(weakest.columns) in ({"x", "y"}, {"x", "level"}, {"y", "level"})


def test_shifted_numeric_column_loses_univariate_accuracy(tables):
    training = tables["training"]
    shifted = training.copy()
    shifted["x"] = shifted["x"] + 1.5
    report = evaluate(training, tables["holdout"], shifted, metrics={"accuracy"})
    by_column = {c.name: c for c in report.columns}
    assert by_column["x"].accuracy < 0.6
    assert by_column["y"].accuracy == pytest.approx(1.0)
    assert report.accuracy.univariate < 1.0


@pytest.mark.integration
def test_all_sections_with_a_target(full_report):
    report = full_report
    u = report.utility
    assert u.task == "classification"
    assert 0.6 < u.trtr_auc <= 1.0 and 0.6 < u.tstr_auc <= 1.0
    assert abs(u.tstr_auc - u.trtr_auc) < 0.05
    s = report.similarity
    assert 0.4 < s.discriminator_auc_training_synthetic < 0.6
    assert 0.4 < s.discriminator_auc_training_holdout < 0.6
    assert set(s.ks_statistic) == {"x", "y", "count", "day"}
    assert set(s.chi2_statistic) == {"level", "city", "churn"}
    assert set(report.diversity.entropy) == {"level", "city", "churn"}
    assert report.diversity.distinct_rows_synthetic == 1.0
    summary = report.summary()
    assert {"accuracy_overall", "accuracy_ratio", "dcr_share", "tstr_auc", "trtr_auc"} <= set(summary)
    assert all(isinstance(v, float) for v in summary.values())


@pytest.mark.integration
def test_discriminator_spots_a_broken_generator(tables):
    training = tables["training"]
    broken = training.copy()
    broken["y"] = broken["x"] * -2.0
    report = evaluate(training, tables["holdout"], broken, metrics={"similarity"})
    assert report.similarity.discriminator_auc_training_synthetic > 0.9
    assert report.similarity.correlation_difference > report.similarity.correlation_difference_holdout
    assert report.accuracy is None  # computed internally for the association matrix, not reported


def test_numeric_target_reports_regression_scores(tables):
    report = evaluate(tables["training"], tables["holdout"], tables["fresh"], target="y", metrics={"utility"})
    assert report.utility.task == "regression"
    assert report.utility.trtr_r2 > 0.7 and report.utility.tstr_r2 > 0.7
    assert report.utility.tstr_rmse > 0


@pytest.mark.integration
def test_deterministic_given_random_state(tables):
    first = evaluate(tables["training"], tables["holdout"], tables["fresh"], random_state=5, max_rows=800)
    second = evaluate(tables["training"], tables["holdout"], tables["fresh"], random_state=5, max_rows=800)
    a, b = first.to_dict(), second.to_dict()
    for d in (a, b):
        d["metadata"].pop("seconds")
        d["metadata"].pop("seconds_by_section")
    assert a == b
    assert first.metadata.rows_used_training == 800


@pytest.mark.integration
def test_json_round_trip(full_report, tmp_path):
    report = full_report
    again = QualityReport.from_json(report.to_json())
    assert again == report
    path = report.save_json(tmp_path / "report.json")
    assert QualityReport.from_json(path.read_text()) == report
    assert QualityReport.load_json(path) == report
    assert "plots" not in report.to_dict(plots=False)
    # every metric documents itself
    assert QualityReport.model_json_schema()["$defs"]["Distances"]["properties"]["dcr_share"]["description"]


def test_id_columns_are_left_out(tables):
    training = tables["training"].assign(customer=[f"c{i}" for i in range(len(tables["training"]))])
    holdout = tables["holdout"].assign(customer=[f"h{i}" for i in range(len(tables["holdout"]))])
    synthetic = training.copy()
    report = evaluate(training, holdout, synthetic, metrics=FAST)
    assert report.metadata.excluded_columns == ["customer"]
    assert "customer" not in report.metadata.columns
    assert all("customer" not in p.columns for p in report.accuracy.pairs)


def test_columns_in_another_order_are_fine(tables):
    training = tables["training"]
    reordered = training[list(reversed(training.columns))]
    report = evaluate(training, tables["holdout"], reordered, metrics={"accuracy"})
    assert report.accuracy.overall == pytest.approx(1.0)


def test_input_validation(tables):
    training, holdout = tables["training"], tables["holdout"]
    with pytest.raises(InvalidDataError, match="empty"):
        evaluate(training, holdout, training.iloc[:0])
    with pytest.raises(InvalidDataError, match="'city'"):
        evaluate(training, holdout, training.drop(columns=["city"]))
    with pytest.raises(InvalidDataError, match="extra column.*'bonus'"):
        evaluate(training, holdout.assign(bonus=1), training)
    with pytest.raises(ConfigError, match="target 'nope'"):
        evaluate(training, holdout, training, target="nope")
    with pytest.raises(ConfigError, match="unknown metric"):
        evaluate(training, holdout, training, metrics={"acuracy"})
    with pytest.raises(ConfigError, match="needs a target"):
        evaluate(training, holdout, training, metrics={"utility"})
    with pytest.raises(InvalidDataError, match="synthetic"):
        evaluate(training, holdout, training.assign(x="not a number"))


def test_rule_adherence_hook(tables):
    class Positive:
        def adherence(self, df: pd.DataFrame) -> list[dict]:
            share = float((df["count"] >= 0).mean())
            return [{"rule": "count >= 0", "adherence": share}]

    report = evaluate(tables["training"], tables["holdout"], tables["fresh"], rules=[Positive()], metrics={"accuracy"})
    assert report.rule_adherence.synthetic == [{"rule": "count >= 0", "adherence": 1.0}]
    assert report.rule_adherence.training == [{"rule": "count >= 0", "adherence": 1.0}]
    assert evaluate(tables["training"], tables["holdout"], tables["fresh"], metrics={"accuracy"}).rule_adherence is None


def test_gates_pass_and_fail(tables):
    training, holdout = tables["training"], tables["holdout"]
    leaked = evaluate(training, holdout, training.copy(), metrics=FAST)
    results = {r.name: r for r in check_gates(leaked, Gates(max_ims_training={"threshold": 0.01, "blocking": False}))}
    assert results["min_accuracy_ratio"].passed
    assert not results["max_dcr_share"].passed and results["max_dcr_share"].blocking
    assert not results["max_ims_training"].passed and results["max_ims_training"].severity == "warn"
    assert [r.name for r in blocking_failures(list(results.values()))] == ["max_dcr_share", "max_mia_auc"]

    fresh = evaluate(training, holdout, tables["fresh"], metrics=FAST)
    assert blocking_failures(check_gates(fresh, Gates())) == []
    strict = Gates(min_accuracy=0.999)
    assert [r.name for r in blocking_failures(check_gates(fresh, strict))] == ["min_accuracy"]

    only_accuracy = evaluate(training, holdout, tables["fresh"], metrics={"accuracy"})
    result = {r.name: r for r in check_gates(only_accuracy, Gates(max_discriminator_auc=0.6))}
    assert not result["max_dcr_share"].passed and "not computed" in result["max_dcr_share"].message
    assert not result["max_discriminator_auc"].passed and result["max_discriminator_auc"].value is None


def test_gate_config_is_strict_and_convenient():
    gates = Gates.model_validate({"max_dcr_share": 0.55, "max_ims_training": {"threshold": 0.0, "blocking": False}})
    assert gates.max_dcr_share == GateSpec(threshold=0.55, blocking=True)
    assert gates.min_accuracy_ratio == GateSpec(threshold=0.9)
    assert set(gates.active()) == {"min_accuracy_ratio", "max_dcr_share", "max_ims_training", "max_mia_auc",
                                   "max_attribute_inference_gain"}
    with pytest.raises(ValidationError, match="max_dcr_shar"):
        Gates.model_validate({"max_dcr_shar": 0.5})
    with pytest.raises(ValidationError):
        Gates(max_dcr_share={"threshold": float("nan")})
    assert set(Gates(min_accuracy_ratio=None, max_dcr_share=None).active()) == {
        "max_ims_training", "max_mia_auc", "max_attribute_inference_gain"}
    assert Gates(min_accuracy_ratio=None, max_dcr_share=None, max_ims_training=None, max_mia_auc=None,
                 max_attribute_inference_gain=None).active() == {}


@pytest.mark.integration
def test_html_escapes_data_and_is_self_contained(tables, tmp_path):
    evil = "<script>alert(1)</script>"
    training = tables["training"].copy()
    synthetic = tables["fresh"].copy()
    for table in (training, synthetic):
        table.loc[table.index[:300], "city"] = evil
    training = training.rename(columns={"level": "<b onmouseover=alert(2)>level"})
    synthetic = synthetic.rename(columns={"level": "<b onmouseover=alert(2)>level"})
    holdout = tables["holdout"].rename(columns={"level": "<b onmouseover=alert(2)>level"})
    report = evaluate(training, holdout, synthetic, target="churn")
    assert any(evil in p.labels for p in report.plots.univariate)  # the label is really in the report
    path = render_html(report, tmp_path / "report.html")
    page = path.read_text(encoding="utf-8")
    assert evil not in page
    assert "alert(1)" in page  # present, but only in escaped form
    assert "<b onmouseover" not in page
    assert "<script" not in page and "<!--" not in page  # no script block a label could end or open
    assert "<svg" in page and " src=" not in page  # charts are inline SVG: opens offline
    assert "&lt;b onmouseover=alert(2)&gt;level" in page  # the column name is shown, as text
    assert "max_dcr_share" in page and "PASS" in page


def test_triples_are_sampled_when_many():
    rng = np.random.default_rng(0)
    triples = sample_triples(20, rng)
    assert len(triples) == 1000 and len(set(triples)) == 1000
    assert all(a < b < c for a, b, c in triples)
    assert len(sample_triples(6, rng)) == 20


def test_partial_copies_raise_dcr_share_and_trip_the_gate(tables):
    training, fresh = tables["training"], tables["fresh"]
    leaky = fresh.copy()
    leaky.iloc[:360] = training.iloc[:360].to_numpy()  # 30% of the rows are training rows
    leaky = leaky.astype(fresh.dtypes.to_dict())
    report = evaluate(training, tables["holdout"], leaky, metrics={"distances", "attacks"})
    assert report.distances.ims_training == pytest.approx(0.3)
    assert 0.6 < report.distances.dcr_share < 0.72
    failed = blocking_failures(check_gates(report, Gates(min_accuracy_ratio=None)))
    assert [r.name for r in failed] == ["max_dcr_share", "max_ims_training", "max_mia_auc"]


def test_a_leak_confined_to_few_columns_shows_in_the_worst_subset(tables):
    training, fresh = tables["training"], tables["fresh"]
    leaky = fresh.copy()
    leaky[["x", "day"]] = training[["x", "day"]].to_numpy()  # two columns copied row by row
    leaky = leaky.astype(fresh.dtypes.to_dict())
    report = evaluate(training, tables["holdout"], leaky, metrics={"accuracy", "distances"})
    d = report.distances
    assert len(d.dcr_share_subsets) == 14  # all columns, 3 correlated and 3 random groups, in two views
    worst = max(d.dcr_share_subsets, key=lambda s: s.dcr_share)
    assert d.dcr_share == worst.dcr_share
    assert d.dcr_share > d.dcr_share_all_columns + 0.05
    assert {"x", "day"} & set(worst.columns)


def test_nearest_neighbour_search_is_exact():
    from synth_pipeline.quality.privacy import closest_distances, dcr_share

    rng = np.random.default_rng(3)
    reference = np.hstack([rng.random((700, 3)), np.eye(4)[rng.integers(0, 4, 700)] / np.sqrt(2)])
    query = np.hstack([rng.random((300, 3)), np.eye(4)[rng.integers(0, 4, 300)] / np.sqrt(2)])
    query[:50] = reference[:50]  # exact duplicates
    query[50:60, :3] = reference[60:70, :3] + 1e-7  # near duplicates
    exact = np.sqrt(((query[:, None, :] - reference[None, :, :]) ** 2).sum(axis=2))
    exact.sort(axis=1)
    closest, second = closest_distances(query, reference, second=True)
    np.testing.assert_allclose(closest, exact[:, 0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(second, exact[:, 1], rtol=0, atol=1e-12)
    assert (closest[:50] == 0).all()
    assert dcr_share(np.zeros(4), np.zeros(4)) == 0.5  # ties split evenly
    assert dcr_share(np.array([0.0, 1.0]), np.array([1.0, 0.0])) == 0.5


def test_binary_integer_target_is_a_classification():
    from synth_pipeline.quality import evaluate

    rng = np.random.default_rng(0)
    x = rng.normal(size=2000)
    label = (x + 0.5 * rng.normal(size=2000) > 0).astype(int)
    table = pd.DataFrame({"x": x, "z": rng.normal(size=2000), "label": label})
    report = evaluate(table.iloc[:700], table.iloc[700:1400], table.iloc[1400:], target="label", metrics={"utility"})
    assert report.utility.task == "classification"
    assert report.utility.trtr_auc > 0.8 and report.utility.tstr_auc > 0.8


@pytest.mark.integration
def test_the_given_schema_decides_every_metric_not_inference(tables):
    """A column the config forces to another kind is binned and measured as that kind (issue 13's QA bug)."""
    rng = np.random.default_rng(11)
    training, holdout, fresh = (
        t.assign(segment=rng.integers(1, 16, len(t))) for t in (tables["training"], tables["holdout"], tables["fresh"])
    )
    inferred = infer_schema(training, what="training")
    assert inferred.kind("segment") is ColumnKind.INTEGER  # whole numbers: inference says integer
    forced = infer_schema(training, {"segment": "categorical"}, what="training")  # a config's `columns:` override
    sections = {"accuracy", "similarity", "diversity"}  # the ones that measure a column by its kind
    by_default = evaluate(training, holdout, fresh, metrics=sections)
    report = evaluate(training, holdout, fresh, metrics=sections, schema=forced)

    def plot(r: QualityReport):
        return next(p for p in r.plots.univariate if p.column == "segment")

    assert {c.name: c.kind for c in report.columns}["segment"] == "categorical"
    assert OTHER_LABEL in plot(report).labels and len(plot(report).labels) == 11  # top 10 labels + other
    assert "segment" in report.similarity.chi2_statistic and "segment" not in report.similarity.ks_statistic
    assert "segment" in report.diversity.entropy
    assert {c.name: c.kind for c in by_default.columns}["segment"] == "integer"
    assert OTHER_LABEL not in plot(by_default).labels and "segment" in by_default.similarity.ks_statistic
    assert "segment" not in by_default.diversity.entropy
