"""A model's privacy record through the lifecycle: model record, QA header, gate max_epsilon, snapshot catalog."""

import json

import pytest

from synth_pipeline import lifecycle
from synth_pipeline.config import parse_config
from synth_pipeline.quality import Gates, check_gates, evaluate
from synth_pipeline.quality.report import ReportHeader
from synth_pipeline.simulate import simulate_churn
from synth_pipeline.warehouse import SnapshotStore
from tests.lifecycle_run import run_lifecycle

OFF = {"min_accuracy_ratio": None, "max_dcr_share": None, "max_ims_training": None}


def dataset_config(tmp_path, generator, gates, rows=400):
    config = parse_config(
        {
            "warehouse": str(tmp_path / "warehouse.duckdb"),
            "private_dir": str(tmp_path / "private"),
            "datasets": {
                "churn": {
                    "source": {"simulate": {"rows": rows, "seed": 1}},
                    "generator": generator,
                    "target": "churn",
                    "quality_max_rows": 400,
                    "gates": {**OFF, **gates},
                }
            },
        }
    )
    return config.datasets["churn"]


@pytest.fixture(scope="module")
def report():
    table = simulate_churn(160, random_state=3)
    return evaluate(table.iloc[:80], table.iloc[80:], table.iloc[80:], metrics={"accuracy"})


def _gate(report, header, threshold=3.0, blocking=True):
    judged = report.model_copy(update={"header": header})
    gates = Gates(**OFF, max_epsilon={"threshold": threshold, "blocking": blocking})
    return {r.name: r for r in check_gates(judged, gates)}["max_epsilon"]


def test_max_epsilon_passes_within_and_blocks_above(report):
    assert _gate(report, ReportHeader(model_id="m", epsilon=2.9, delta=1e-5)).passed
    above = _gate(report, ReportHeader(model_id="m", epsilon=3.5, delta=1e-5))
    assert not above.passed and above.blocking and above.value == 3.5 and "FAILED" in above.message
    no_dp = _gate(report, ReportHeader(model_id="m"))
    assert not no_dp.passed and "without differential privacy" in no_dp.message
    assert "warning" in _gate(report, ReportHeader(model_id="m"), blocking=False).message
    assert "not computed" in _gate(report, ReportHeader()).message


@pytest.mark.parametrize("threshold", [0, -1.0])
def test_max_epsilon_refuses_a_threshold_nothing_can_pass(threshold):
    with pytest.raises(ValueError, match="meaningful range"):
        Gates(max_epsilon=threshold)


@pytest.mark.integration
def test_the_spent_epsilon_reaches_the_header_the_gate_and_the_catalog(tmp_path):
    generator = {"name": "argn", "settings": {"max_epochs": 2, "privacy": {"epsilon": 6.0, "delta": 1e-5}}}
    dataset = dataset_config(tmp_path, generator, {"max_epsilon": 6.0}, rows=1200)  # DP statistics need rows
    run = run_lifecycle(tmp_path, dataset)
    privacy = run.trained.model.privacy
    assert privacy["epsilon"] <= 6.0 and privacy["statistics_private"] and privacy["accountant"] == "prv"
    assert privacy["noise_multiplier"] > 0 and privacy["statistics_epsilon"] > 0
    assert run.models.info("churn", run.trained.model.model_id).metadata["privacy"] == privacy
    assert run.assessment.report.header.epsilon == privacy["epsilon"]
    gate = {r.name: r for r in run.assessment.gate_results}["max_epsilon"]
    assert gate.passed and gate.value == pytest.approx(privacy["epsilon"])
    assert "differential privacy" in open(run.assessment.report_path, encoding="utf-8").read()
    lifecycle.publish(dataset, run.assessment, run.sampled.snapshot, run.trained.model, run.warehouse)
    row = run.warehouse.snapshots("churn").iloc[0]
    assert row.status == "published" and json.loads(row.qa_summary)["privacy"] == privacy

    strict = dataset_config(tmp_path, generator, {"max_epsilon": 0.5}, rows=1200)
    warehouse = SnapshotStore(tmp_path / "strict.duckdb")
    sampled = lifecycle.sample_snapshot(strict, run.trained.model, run.models, warehouse, run_id="strict")
    blocked = lifecycle.assess(
        strict, run.halves.training, run.halves.holdout, sampled.snapshot, run.trained.model, run.models, warehouse,
        run_id="strict",
    )
    assert blocked.failed_blocking == ["max_epsilon"]
    row = warehouse.snapshots("churn").iloc[0]
    assert row.status == "blocked" and "max_epsilon" in row.error
    assert json.loads(row.qa_summary)["privacy"]["epsilon"] == pytest.approx(privacy["epsilon"])


@pytest.mark.integration
def test_a_model_without_privacy_fails_max_epsilon(tmp_path):
    dataset = dataset_config(tmp_path, {"name": "copula"}, {"max_epsilon": 10.0})
    run = run_lifecycle(tmp_path, dataset)
    assert run.trained.model.privacy is None and run.assessment.failed_blocking == ["max_epsilon"]
    assert run.warehouse.snapshots("churn").iloc[0].status == "blocked"


@pytest.mark.integration
def test_fit_prints_what_the_model_spent(tmp_path, monkeypatch, capsys):
    from assets.cli import main

    monkeypatch.chdir(tmp_path)
    simulate_churn(800, random_state=4).to_csv("churn.csv", index=False)
    privacy = json.dumps({"epsilon": 6.0, "delta": 1e-5})
    command = ["-q", "fit", "--data", "churn.csv", "--model-dir", "m", "--setting", "max_epochs=2"]
    assert main([*command, "--setting", f"privacy={privacy}"]) == 0
    out = capsys.readouterr().out
    assert "differential privacy: ε = " in out and "spent of 6" in out and "prv accountant" in out
    assert main([*command, "--setting", 'privacy={"epsilon": 0}']) == 2
    assert "privacy.epsilon" in capsys.readouterr().err
