"""What `synth-pipeline run` prints: a short verdict, one block for a blocking gate, one line for a mistake.

Runs the real Dagster job in process (copula, a small simulated table), as a user would from a shell.
"""

from pathlib import Path

import pytest
import yaml

from assets.cli import main

REPO = Path(__file__).resolve().parents[1]
NOISE = ("Traceback", "Stack Trace", "dagster", "DagsterAssetCheckFailedError", "alembic", "temporary directory",
         "Not executing", "STEP_FAILURE", "RUN_FAILURE")


def _config(workdir: Path, **changes) -> str:
    config = yaml.safe_load((REPO / "examples" / "demo.yaml").read_text())
    churn = config["datasets"]["churn"]
    churn["source"]["simulate"]["rows"] = 600
    churn["generator"] = {"name": "copula"}
    churn.pop("rules", None)  # the rules check has its own test; this keeps the run short
    churn["gates"]["max_dcr_share"] = 0.75  # a small table: the copula's margin is small
    for key, value in changes.items():
        churn[key] = value
    path = workdir / "demo.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _assert_quiet(text: str) -> None:
    for noise in NOISE:
        assert noise not in text, noise


@pytest.mark.integration
def test_success_prints_a_summary_with_the_version_this_run_wrote(workdir, capsys):
    config = _config(workdir)
    for version in (1, 2):
        assert main(["-q", "run", config]) == 0
        captured = capsys.readouterr()
        lines = captured.out.splitlines()
        assert lines[0] == (
            f"churn: published version {version} to .synth/warehouse.duckdb "
            f"(table churn__v{version}, view churn_latest)"
        )
        assert lines[1].startswith("  rows 600; overall accuracy 0.") and "(holdout ceiling 0." in lines[1]
        assert "DCR share 0." in lines[1]
        assert lines[2] == (
            "  gates passed: min_accuracy_ratio, max_dcr_share, max_ims_training, max_mia_auc, "
            "max_attribute_inference_gain"
        )
        assert lines[-1].startswith("  report: ") and lines[-1].endswith(".html")
        report = lines[-1].removeprefix("  report: ")
        assert (Path(report) if Path(report).is_absolute() else workdir / report).is_file()
        assert captured.err == ""  # -q: nothing else


@pytest.mark.integration
def test_without_quiet_logs_are_short_lines_and_no_dagster_dump(workdir, capsys):
    assert main(["run", _config(workdir)]) == 0
    err = capsys.readouterr().err
    _assert_quiet(err)
    assert "churn/split: churn: 300 training rows, 300 holdout rows" in err
    assert all(len(line) < 200 for line in err.splitlines())


@pytest.mark.integration
@pytest.mark.parametrize("quiet", [["-q"], []])
def test_a_blocking_gate_prints_one_block_and_exits_1(workdir, capsys, quiet):
    # no synthetic table is perfectly accurate, so min_accuracy 1.0 always fails (thresholds out of a gate's
    # meaningful range are refused when the config loads, so a gate cannot be made to fail by one)
    config = _config(workdir, gates={"min_accuracy_ratio": 0.5, "max_dcr_share": 0.99, "min_accuracy": 1.0})
    assert main([*quiet, "run", config]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    _assert_quiet(captured.err)
    block = captured.err.splitlines()
    if not quiet:  # the run's log lines come first, then the block
        block = block[block.index("churn: NOT published: 1 blocking gate(s) failed") :]
    assert block[0] == "churn: NOT published: 1 blocking gate(s) failed"
    assert block[1].startswith("  min_accuracy = 0.") and block[1].endswith(", required >= 1")
    assert block[2].startswith("  report: ") and block[2].endswith(".html")
    assert len(block) == 3
    assert captured.err.count("min_accuracy =") == 1  # no repeated lines


def test_a_config_or_data_error_is_one_line_and_exit_2(workdir, capsys):
    assert main(["run", _config(workdir, target="chrun")]) == 2
    captured = capsys.readouterr()
    _assert_quiet(captured.err)
    errors = [line for line in captured.err.splitlines() if "error" in line]
    assert errors == [
        "error: churn: datasets.churn.target: column 'chrun' is not in the source (did you mean 'churn'?); "
        "its columns are: customer_id, gender, senior_citizen, partner, tenure_months, contract, internet_service, "
        "payment_method, monthly_charges, support_calls, signup_date, churn"
    ]
    assert not (workdir / ".synth" / "warehouse.duckdb").exists() or "churn__v1" not in captured.out


def test_the_demo_declares_rules_so_its_graph_has_the_rules_check():
    from assets.definitions import build_definitions
    from synth_pipeline.config import load_config

    config = load_config(REPO / "examples" / "demo.yaml")
    assert len(config.datasets["churn"].rules) >= 3
    defs = build_definitions(config)
    checks = {key.name for key in defs.resolve_asset_graph().asset_check_keys}
    assert {"quality_gates", "rule_adherence"} <= checks


def test_the_summary_lists_columns_not_learned():
    from assets.run_output import _published_lines

    report = {
        "accuracy_overall": 0.95,
        "accuracy_overall_max": 0.96,
        "dcr_share": 0.51,
        "max_dcr_share": {"value": 0.51, "threshold": 0.6, "blocking": True, "passed": True},
        "max_ims_training": {"value": 0.02, "threshold": 0.01, "blocking": False, "passed": False},
        "columns_not_learned": [
            {"column": "customer_id", "kind": "id", "reason": "unique text codes"},
            {"column": "notes", "kind": "text", "reason": "free text"},
        ],
        "report": "/abs/report.html",
    }
    lines = _published_lines("churn", "w.duckdb", {"version": 3, "table": "churn__v3", "rows": 10}, report, [])
    assert lines == [
        "churn: published version 3 to w.duckdb (table churn__v3, view churn_latest)",
        "  rows 10; overall accuracy 0.950 (holdout ceiling 0.960); DCR share 0.510 (0.5 is ideal)",
        "  gates passed: max_dcr_share",
        "  warning: max_ims_training = 0.0200, required <= 0.01",
        "  columns not learned (regenerated): customer_id (unique text codes), notes (free text)",
        "  report: /abs/report.html",
    ]
