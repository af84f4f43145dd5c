"""The lifecycle steps in the core, called as a notebook would, without Dagster."""

import json
from pathlib import Path

import pandas as pd
import pytest

import synth_pipeline
from synth_pipeline import lifecycle
from synth_pipeline.config import parse_config
from synth_pipeline.errors import InvalidDataError, StoreError
from synth_pipeline.lifecycle import Assessment, ModelRecord, PublishRefusedError
from synth_pipeline.model_store import ModelStore
from synth_pipeline.sources import ConfiguredSource
from synth_pipeline.warehouse import SnapshotStore
from tests.lifecycle_run import run_lifecycle


def dataset_config(tmp_path, **settings):
    config = parse_config(
        {
            "warehouse": str(tmp_path / "warehouse.duckdb"),
            "private_dir": str(tmp_path / "private"),
            "datasets": {
                "churn": {
                    "source": {"simulate": {"rows": 400, "seed": 1}},
                    "generator": {"name": "copula"},
                    "target": "churn",
                    "quality_max_rows": 400,
                    **settings,
                }
            },
        }
    )
    return config.datasets["churn"]


@pytest.fixture(scope="module")
def steps(tmp_path_factory):
    """One pass through every step, into tmp stores."""
    tmp_path = tmp_path_factory.mktemp("lifecycle")
    dataset = dataset_config(tmp_path)
    run = run_lifecycle(tmp_path, dataset)
    return dataset, run.models, run.warehouse, run.source, run.halves, run.trained, run.sampled, run.assessment


def test_each_step_returns_what_the_next_needs(steps):
    dataset, models, warehouse, source, halves, trained, sampled, assessment = steps
    assert len(source.table) == 400 and source.schema.kind("churn").value == "categorical"
    assert source.probe == {"kind": "simulate", "spec": "churn", "rows": 400, "seed": 1}
    assert len(halves.training) + len(halves.holdout) == 400
    assert trained.model.model_id == models.latest_id("churn") and trained.drift is None
    assert trained.model.source_fingerprint == source.fingerprint["content_hash"]
    assert (sampled.version, sampled.snapshot.num_rows) == (1, 400) and sampled.seed == lifecycle.snapshot_seed(0, 1)
    assert assessment.version == sampled.version == warehouse.claimed_version("churn", sampled.run_id)
    assert assessment.report_path == str(warehouse.reports_dir("churn") / "churn-v1.html")
    assert Path(assessment.report_path).is_absolute() and Path(assessment.report_json_path).name == "churn-v1.json"
    assert assessment.synthetic_hash == lifecycle.content_hash(sampled.snapshot) == sampled.snapshot.content_hash
    assert {r.name for r in assessment.gate_results} >= {"min_accuracy_ratio", "max_dcr_share"}
    assert assessment.passed == all(r.passed or not r.blocking for r in assessment.gate_results)


def test_the_report_names_what_was_assessed(steps):
    trained, assessment = steps[5], steps[-1]
    header = assessment.report.header
    assert (header.dataset, header.model_id, header.generator) == ("churn", trained.model.model_id, "copula")
    assert header.generated_at is not None and header.generated_at.endswith("+00:00")
    page = open(assessment.report_path, encoding="utf-8").read()
    assert f"<span>model id</span><b>{trained.model.model_id}</b>" in page
    saved = json.loads(open(assessment.report_json_path, encoding="utf-8").read())
    assert saved["header"]["model_id"] == trained.model.model_id


def test_an_assessment_survives_its_json_record(steps):
    assessment = steps[-1]
    record = json.loads(json.dumps(assessment.to_record(), default=str))
    assert record["passed"] == assessment.passed and record["failed_blocking"] == assessment.failed_blocking
    again = Assessment.from_record(record)
    assert again.synthetic_hash == assessment.synthetic_hash and again.gate_results == assessment.gate_results
    assert again.report.summary() == assessment.report.summary()


def test_publish_refuses_a_table_that_was_not_assessed(steps):
    dataset, models, warehouse, source, halves, trained, sampled, assessment = steps
    changed = sampled.snapshot.to_pandas()
    changed.loc[0, "tenure_months"] = 999
    with pytest.raises(PublishRefusedError, match="not the one its quality report judged"):
        lifecycle.publish(dataset, assessment, changed, trained.model, warehouse)
    other = assessment.model_copy(update={"dataset": "other"})
    with pytest.raises(PublishRefusedError, match="not the one its quality report judged"):
        lifecycle.publish(dataset, other, sampled.snapshot, trained.model, warehouse)
    assert warehouse.latest_version("churn", passing_only=False) is None


def test_publish_refuses_a_failed_verdict(steps):
    dataset, models, warehouse, source, halves, trained, sampled, assessment = steps
    gate = assessment.gate_results[0].model_copy(update={"passed": False, "blocking": True})
    failed = assessment.model_copy(update={"gate_results": [gate, *assessment.gate_results[1:]]})
    assert not failed.passed and failed.failed_blocking == [gate.name]
    with pytest.raises(PublishRefusedError, match=rf"blocking quality gates failed, not publishing: \['{gate.name}'\]"):
        lifecycle.publish(dataset, failed, sampled.snapshot, trained.model, warehouse)
    assert warehouse.latest_version("churn", passing_only=False) is None


def test_publish_writes_the_assessed_table_into_its_claimed_version(tmp_path, steps):
    dataset, models, warehouse, source, halves, trained, sampled, assessment = steps
    assert assessment.passed  # the default gates, on the simulated table
    published = lifecycle.publish(dataset, assessment, sampled.snapshot, trained.model, warehouse)
    assert published.info.version == sampled.version == 1 and published.removed_versions == []
    row = warehouse.snapshots("churn").iloc[0]
    assert (row.status, row.run_id, row.seed) == ("published", sampled.run_id, sampled.seed)
    assert (row.model_id, row.source_fingerprint) == (trained.model.model_id, trained.model.source_fingerprint)
    assert row.report_path == assessment.report_path and Path(row.report_path).is_file()
    assert json.loads(row.gate_results)[0]["name"] == assessment.gate_results[0].name
    read_back = warehouse.read("churn")
    pd.testing.assert_frame_equal(read_back, sampled.snapshot.to_pandas(), check_dtype=False)
    with pytest.raises(StoreError, match="version 1 of 'churn' is already published"):
        lifecycle.publish(dataset, assessment, sampled.snapshot, trained.model, warehouse)  # a version is written once


def test_a_blocked_verdict_is_recorded_with_its_gates(tmp_path, steps):
    dataset, models, _, source, halves, trained, _, _ = steps
    strict = dataset_config(tmp_path, gates={"min_accuracy": 0.9999})
    warehouse = SnapshotStore(tmp_path / "w.duckdb")
    sampled = lifecycle.sample_snapshot(strict, trained.model, models, warehouse, run_id="run-1")
    assert warehouse.snapshots("churn").status.tolist() == ["running"]
    assessment = lifecycle.assess(
        strict, halves.training, halves.holdout, sampled.snapshot, trained.model, models, warehouse, run_id="run-1"
    )
    assert not assessment.passed
    row = warehouse.snapshots("churn").iloc[0]
    assert (row.status, row.version, row.run_id, row.gates_passed) == ("blocked", 1, "run-1", False)
    gate = next(g for g in json.loads(row.gate_results) if g["name"] == "min_accuracy")
    assert gate["threshold"] == 0.9999 and not gate["passed"] and gate["value"] < 0.9999
    assert "min_accuracy" in row.error and pd.isna(row.table_name)
    assert warehouse.latest_version("churn", passing_only=False) is None


def test_a_failure_is_recorded_against_the_claim_or_as_a_new_attempt(tmp_path, steps):
    dataset, models, _, source, halves, trained, _, _ = steps
    warehouse = SnapshotStore(tmp_path / "w.duckdb")
    secret = RuntimeError("cannot reach postgresql://app:hunter2@db:5432/x")
    assert lifecycle.record_failure(dataset, warehouse, run_id="early", step="source", error=secret) == 1
    sampled = lifecycle.sample_snapshot(dataset, trained.model, models, warehouse, run_id="late")
    boom = ValueError("disk on fire")
    assert lifecycle.record_failure(dataset, warehouse, run_id="late", step="quality_report", error=boom) == 2
    catalog = warehouse.snapshots("churn")
    assert catalog[["version", "status", "failed_step"]].values.tolist() == [
        [1, "failed", "source"],
        [2, "failed", "quality_report"],
    ]
    errors = ["RuntimeError: cannot reach postgresql://app@db:5432/x", "ValueError: disk on fire"]
    assert catalog.error.tolist() == errors
    assert "hunter2" not in catalog.to_string() and sampled.version == 2


def test_retraining_measures_drift_against_the_previous_model(tmp_path):
    dataset = dataset_config(tmp_path)
    models = ModelStore(tmp_path / "models")
    source = lifecycle.ingest(dataset, ConfiguredSource(dataset.source))
    first = lifecycle.train(dataset, source.table, source.table, models, source_probe=source.probe)
    moved = source.table.assign(monthly_charges=source.table.monthly_charges * 3)
    second = lifecycle.train(dataset, source.table, moved, models, source_probe=source.probe)
    assert second.previous_model_id == first.model.model_id
    assert second.drift is not None and second.drift.max_psi_column == "monthly_charges"
    assert models.info("churn", second.model.model_id).metadata["source_probe"] == source.probe


def test_a_model_record_names_the_rules_the_model_honours(tmp_path):
    rules = [{"type": "range", "column": "monthly_charges", "min": 0}]
    dataset = dataset_config(tmp_path, rules=rules)
    record = ModelRecord(model_id="m", generator="copula", source_rows=3, source_fingerprint="f")
    assert [r.describe() for r in record.rule_set(dataset)] == ["monthly_charges >= 0"]
    assert ModelRecord(**{**record.model_dump(), "rules": []}).rule_set(dataset) is None


def test_every_public_name_of_the_package_resolves():
    for name in synth_pipeline.__all__:
        assert getattr(synth_pipeline, name) is not None, name


def test_an_empty_source_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "header_only.csv"
    path.write_text("a,b,c\n")
    dataset = dataset_config(tmp_path, source={"path": str(path)}, target=None)
    with pytest.raises(InvalidDataError, match=r"source of 'churn' \(file .*header_only\.csv\) is empty"):
        lifecycle.ingest(dataset, ConfiguredSource(dataset.source))
