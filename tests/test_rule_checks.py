"""The rule_adherence asset check on quality_report: wired per dataset, lists every expectation, blocks publishing."""

import json
from pathlib import Path

import pytest
from dagster import AssetCheckSeverity, DagsterInstance

from assets.definitions import build_definitions
from synth_pipeline.config import parse_config
from synth_pipeline.generators.copula import GaussianCopulaGenerator
from synth_pipeline.generators.registry import GENERATORS
from synth_pipeline.warehouse import SnapshotStore


class RuleBreakingGenerator(GaussianCopulaGenerator):
    """Test-only: a copula whose output breaks one rule after enforcement (a negative monthly charge)."""

    name = "test_rule_breaking"

    def _finish(self, generated, request, offset):
        out = super()._finish(generated, request, offset)
        out.loc[out.index[:5], "monthly_charges"] = -1.0
        return out


@pytest.fixture(autouse=True)
def rule_breaking_generator(monkeypatch):
    """Make the test-only generator known to the registry under its name, for this module's tests only."""
    monkeypatch.setitem(GENERATORS, RuleBreakingGenerator.name, f"{__name__}:RuleBreakingGenerator")


RULES = [
    {"type": "range", "column": "monthly_charges", "min": 0},
    {"type": "inequality", "left": "support_calls", "op": "<=", "right": "tenure_months", "blocking": False},
]


def make_config(tmp_path, generator="copula", rules=RULES, infer_rules=True):
    return parse_config(
        {
            "warehouse": str(tmp_path / "warehouse.duckdb"),
            "private_dir": str(tmp_path / "private"),
            "datasets": {
                "churn": {
                    "source": {"simulate": {"rows": 600, "seed": 1}},
                    "generator": {"name": generator},
                    "target": "churn",
                    "rules": rules,
                    "infer_rules": infer_rules,
                }
            },
        }
    )


def run(config):
    defs = build_definitions(config)
    return defs.resolve_job_def("churn_lifecycle").execute_in_process(
        instance=DagsterInstance.ephemeral(), raise_on_error=False
    )


def check_evaluations(result):
    return {
        e.asset_check_evaluation_data.check_name: e.asset_check_evaluation_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }


def materialized(result):
    return {e.asset_key.path[-1] for e in result.get_asset_materialization_events()}


def test_no_rules_no_check(tmp_path):
    config = make_config(tmp_path, rules=[], infer_rules=False)
    checks = [key.name for key in build_definitions(config).resolve_asset_graph().asset_check_keys]
    assert checks == ["quality_gates"]


@pytest.mark.integration
def test_compliant_model_publishes_and_the_check_lists_every_expectation(tmp_path):
    # the source breaks the (non-blocking) ordering rule, so the model must enforce it to pass cleanly
    config = make_config(tmp_path)
    result = run(config)
    assert result.success
    assert "published_snapshot" in materialized(result)
    evaluation = check_evaluations(result)["rule_adherence"]
    assert evaluation.passed
    metadata = evaluation.metadata
    results = metadata["results"].value
    assert len(results) == metadata["rules"].value > len(RULES)  # declared + inferred
    assert {r["rule"] for r in results} >= {"monthly_charges >= 0", "support_calls <= tenure_months"}
    assert all(r["success_share"] == 1.0 and r["expectation"] for r in results)
    assert "expect_column_values_to_be_between" in metadata["expectations"].value
    # the quality report asset carries the verdict, and the QA report its rule-adherence section
    record = json.loads((tmp_path / "private" / "tables" / "churn" / "quality_report.json").read_text())
    assert record["passed"] and record["failed_blocking"] == []
    assert [r["rule"] for r in record["rule_results"]] == [r["rule"] for r in results]
    report = json.loads(Path(record["report_json_path"]).read_text())
    adherence = report["rule_adherence"]
    assert len(adherence["synthetic"]) == len(results)
    assert all(entry["success_share"] == 1.0 for entry in adherence["synthetic"])
    assert any(entry["success_share"] < 1.0 for entry in adherence["training"])  # the source broke a rule
    # the synthetic asset reports what enforcement did
    synthetic_events = [e for e in result.get_asset_materialization_events() if e.asset_key.path[-1] == "synthetic"]
    enforcement = synthetic_events[0].materialization.metadata["rule_enforcement"].value
    assert enforcement["rows"] == 600 and enforcement["rows_redrawn"] + enforcement["rows_repaired"] > 0


@pytest.mark.integration
def test_a_violated_blocking_rule_stops_publishing(tmp_path):
    config = make_config(tmp_path, generator="test_rule_breaking")
    result = run(config)
    evaluation = check_evaluations(result)["rule_adherence"]
    assert not evaluation.passed
    assert evaluation.severity == AssetCheckSeverity.ERROR
    assert "monthly_charges >= 0" in evaluation.description
    by_rule = {r["rule"]: r for r in evaluation.metadata["results"].value}
    assert by_rule["monthly_charges >= 0"]["violations"] == 5
    checked = by_rule["monthly_charges >= 0"]["rows_checked"]
    assert 500 < checked <= 600  # missing charges are not checked
    assert by_rule["monthly_charges >= 0"]["success_share"] == pytest.approx(1 - 5 / checked)
    assert "published_snapshot" not in materialized(result)
    assert SnapshotStore(config.warehouse).latest_version("churn") is None
    # the verdict itself fails, so publishing would be refused even without the check
    record = json.loads((tmp_path / "private" / "tables" / "churn" / "quality_report.json").read_text())
    assert not record["passed"] and "monthly_charges >= 0" in record["failed_blocking"]


@pytest.mark.integration
def test_a_violated_warning_rule_warns_and_publishes(tmp_path):
    rules = [{**RULES[0], "blocking": False}]
    config = make_config(tmp_path, generator="test_rule_breaking", rules=rules, infer_rules=False)
    result = run(config)
    evaluation = check_evaluations(result)["rule_adherence"]
    assert not evaluation.passed and evaluation.severity == AssetCheckSeverity.WARN
    assert "published_snapshot" in materialized(result)
    assert len(SnapshotStore(config.warehouse).read("churn")) == 600
    (warned,) = evaluation.metadata["results"].value
    assert (warned["rule"], warned["blocking"], warned["violations"]) == ("monthly_charges >= 0", False, 5)
    assert "monthly_charges >= 0 (5 rows, warning)" in evaluation.description
