"""Membership and attribute inference in the QA report, and their gates (issue 15)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synth_pipeline.errors import ConfigError
from synth_pipeline.quality import check_gates, evaluate
from synth_pipeline.quality.attacks import membership_scores
from synth_pipeline.quality.gates import NOISE_SDS, Gates
from synth_pipeline.simulate import simulate_churn

ATTACKS = {"attacks"}


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    data = simulate_churn(6000, random_state=11)
    parts = [data.iloc[k * 2000 : (k + 1) * 2000].reset_index(drop=True) for k in range(3)]
    return dict(zip(("training", "holdout", "fresh"), parts, strict=True))


def _with_copies(tables: dict[str, pd.DataFrame], share: float) -> pd.DataFrame:
    fresh, training = tables["fresh"], tables["training"]
    rows = np.random.default_rng(1).choice(len(fresh), size=int(share * len(fresh)), replace=False)
    leaky = fresh.copy()
    leaky.iloc[rows] = training.iloc[rows].to_numpy()
    return leaky.astype(fresh.dtypes.to_dict())


def _risk_sd(rate: float, control: float, n_attacks: int = 500) -> float:
    """Sampling noise of Anonymeter's risk from two rates of ``n_attacks`` attacks each."""
    return float(np.sqrt(rate * (1 - rate) / n_attacks + control * (1 - control) / n_attacks) / (1 - control))


@pytest.fixture(scope="module")
def fresh_attacks(tables):
    return evaluate(tables["training"], tables["holdout"], tables["fresh"], target="churn", metrics=ATTACKS)


def test_a_fresh_real_sample_reads_no_leak(fresh_attacks):
    a = fresh_attacks.attacks
    assert a.mia_rows == 2000 and a.mia_reference_rows == 2000
    assert abs(a.mia_auc - 0.5) < 3 * a.mia_auc_null_sd
    assert a.mia_tpr_at_1pct_fpr < 0.04
    [churn] = a.attribute_inference
    assert churn.column == "churn" and a.sensitive_columns_rule == "the target column"
    assert abs(churn.gain) < 3 * churn.gain_null_sd
    r = a.reidentification
    assert r.singling_out_predicates > 100 and abs(r.singling_out_risk) < 0.05 and abs(r.linkability_risk) < 0.02
    assert r.singling_out_multivariate_predicates > 100 and r.singling_out_multivariate_columns == 3
    assert abs(r.singling_out_multivariate_risk) < 4 * _risk_sd(r.singling_out_multivariate_rate_training,
                                                                r.singling_out_multivariate_rate_holdout)
    attack_gates = ("max_mia_auc", "max_attribute_inference_gain")
    assert all(r.passed for r in check_gates(fresh_attacks) if r.name in attack_gates)


def test_twenty_percent_copies_are_caught_by_the_membership_attack(tables, fresh_attacks):
    report = evaluate(tables["training"], tables["holdout"], _with_copies(tables, 0.2), target="churn",
                      metrics=ATTACKS)
    a = report.attacks
    assert a.mia_auc > 0.57 and a.mia_auc > 0.5 + 5 * a.mia_auc_null_sd
    assert a.mia_tpr_at_1pct_fpr > 0.15  # the copied rows are exposed with confidence
    assert a.attribute_inference_gain > fresh_attacks.attacks.attribute_inference_gain
    r = a.reidentification  # a copied row singles itself out and links its own halves
    assert r.singling_out_risk > 0.05 and r.linkability_risk > 0.1
    result = {r.name: r for r in check_gates(report)}["max_mia_auc"]
    assert not result.passed and result.blocking
    # Multivariate singling out (500 attacks, Anonymeter's default) reads 0.07-0.10 at 20% copies (evaluation
    # seeds 0 and 1), about 2 sd of its own noise; at 40% copies 0.22, far beyond it.
    r = evaluate(tables["training"], tables["holdout"], _with_copies(tables, 0.4), target="churn",
                 metrics=ATTACKS).attacks.reidentification
    assert r.singling_out_multivariate_risk > 2 * _risk_sd(r.singling_out_multivariate_rate_training,
                                                           r.singling_out_multivariate_rate_holdout)
    assert r.singling_out_multivariate_risk > fresh_attacks.attacks.reidentification.singling_out_multivariate_risk
    assert r.singling_out_multivariate_rate_training > r.singling_out_multivariate_rate_holdout


def test_a_perfect_copy_leaks_every_attribute(tables):
    report = evaluate(tables["training"], tables["holdout"], tables["training"], metrics=ATTACKS,
                      sensitive_columns=["contract", "tenure_months"])
    a = report.attacks
    assert a.mia_auc > 0.97 and a.mia_tpr_at_1pct_fpr > 0.9
    assert [x.column for x in a.attribute_inference] == ["contract", "tenure_months"]
    assert all(x.success_training == 1.0 and x.gain > 0.2 for x in a.attribute_inference)
    assert {r.name: r.severity for r in check_gates(report)}["max_attribute_inference_gain"] == "warn"


def test_sensitive_columns_without_a_target_follow_the_stated_rule(tables):
    training = tables["training"]
    a = evaluate(training, tables["holdout"], tables["fresh"], metrics=ATTACKS).attacks
    labels = [c for c in training.columns if c != "customer_id" and not pd.api.types.is_numeric_dtype(training[c])
              and not pd.api.types.is_datetime64_any_dtype(training[c]) or training[c].dtype == bool]
    rarest_mode = sorted(labels, key=lambda c: training[c].value_counts(normalize=True).iloc[0])[:3]
    assert set(a.sensitive_columns) == set(rarest_mode) and "label columns" in a.sensitive_columns_rule
    with pytest.raises(ConfigError, match="'contrat'.*did you mean 'contract'"):
        evaluate(tables["training"], tables["holdout"], tables["fresh"], metrics=ATTACKS, sensitive_columns=["contrat"])


def test_members_and_non_members_face_reference_sets_of_one_size():
    # on pure noise with a synthetic table independent of both, the scores of members and non-members have
    # the same distribution: no bias from the non-members being part of the reference themselves
    rng = np.random.default_rng(3)
    aucs = []
    for _ in range(20):
        members, holdout, synthetic = (rng.random((150, 2)) for _ in range(3))
        inside, outside = membership_scores(members, holdout, synthetic, 150, rng)
        aucs.append(np.mean(inside[:, None] > outside[None, :]) + 0.5 * np.mean(inside[:, None] == outside[None, :]))
    assert abs(np.mean(aucs) - 0.5) < 0.015


def test_noise_of_a_small_table_does_not_block(tables):
    small = {name: t.iloc[:200] for name, t in tables.items()}
    report = evaluate(small["training"], small["holdout"], small["fresh"], target="churn", metrics=ATTACKS)
    a = report.attacks
    assert a.mia_auc_null_sd == pytest.approx(np.sqrt(401 / (12 * 200 * 200)))
    result = {r.name: r for r in check_gates(report, Gates(max_mia_auc=0.5001))}["max_mia_auc"]
    assert result.passed == (a.mia_auc <= 0.5 + NOISE_SDS * a.mia_auc_null_sd)
    assert "sampling noise" in result.message


def test_attack_gates_are_range_checked_at_load():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="max_mia_auc"):
        Gates(max_mia_auc=0.45)  # below 0.5 it always fails
    with pytest.raises(ValidationError, match="max_attribute_inference_gain"):
        Gates(max_attribute_inference_gain=1.0)  # a gain cannot exceed 1: it could never fail
    assert Gates(max_mia_auc={"threshold": 0.6, "blocking": False}).max_mia_auc.blocking is False


def test_sensitive_columns_are_checked_when_the_config_loads():
    from pydantic import ValidationError

    from synth_pipeline.config import DatasetConfig

    base = {"name": "churn", "source": {"path": "churn.csv"}}
    with pytest.raises(ValidationError, match="each sensitive column once"):
        DatasetConfig.model_validate({**base, "sensitive_columns": ["contract", "contract"]})
    dataset = DatasetConfig.model_validate({**base, "sensitive_columns": ["contrat"]})
    with pytest.raises(ConfigError, match=r"sensitive_columns\[1\]: column 'contrat' .*did you mean 'contract'"):
        dataset.check_columns(["contract", "tenure_months"])
    # the QA report's columns do not shape the model: the same config hash with or without them
    assert dataset.config_hash() == DatasetConfig.model_validate(base).config_hash()


def test_a_member_whose_closest_reference_row_is_dropped_faces_the_runner_up():
    holdout = np.array([[0.0, 0.0], [3.0, 4.0]])
    members = np.array([[0.0, 0.0], [0.0, 0.0], [3.0, 4.0], [3.0, 4.0]] * 4)
    synthetic = np.array([[1.0, 0.0]])
    dropped = np.random.default_rng(5).random(len(members)) < 1.0 / len(holdout)
    assert dropped.any() and not dropped.all()  # the seed exercises both cases
    inside, _ = membership_scores(members, holdout, synthetic, len(members), np.random.default_rng(5))
    to_synthetic = np.linalg.norm(members - synthetic[0], axis=1)
    reference = np.where(dropped, 5.0, 0.0)  # the other holdout row is at distance 5
    assert np.allclose(inside, np.log(reference + 1e-6) - np.log(to_synthetic + 1e-6))
