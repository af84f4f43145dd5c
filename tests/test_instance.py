"""`synth-pipeline run` records into a persistent Dagster instance, and the published snapshot tells its verdict."""

from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from dagster import AssetCheckKey, AssetKey, DagsterInstance

from assets.cli import main
from assets.definitions import build_definitions
from assets.freshness import FRESHNESS_GRACE, schedule_interval, snapshot_freshness_policy
from assets.instance import DEFAULT_DAGSTER_HOME, dagster_home, ensure_dagster_home, persistent_instance
from synth_pipeline.config import parse_config

PUBLISHED = AssetKey(["churn", "published_snapshot"])


def demo_config(directory: Path, **dataset) -> Path:
    """A small copula config like the demo (simulated churn table), in ``directory``."""
    config = {
        "warehouse": ".synth/warehouse.duckdb",
        "private_dir": ".synth/private",
        "datasets": {
            "churn": {
                "source": {"simulate": {"rows": 600, "seed": 0}},
                "generator": {"name": "copula"},
                "schedules": {"refresh": "0 6 * * *"},
                "gates": {"max_dcr_share": 0.75},  # 600 rows: the DCR share is noisier than on the demo's 5000
                **dataset,
            }
        },
    }
    path = directory / "demo.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_the_default_home_is_under_dot_synth_and_gets_a_telemetry_off_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    assert dagster_home() == (tmp_path / DEFAULT_DAGSTER_HOME).resolve()
    home = ensure_dagster_home()
    settings = yaml.safe_load((home / "dagster.yaml").read_text())
    assert settings["telemetry"] == {"enabled": False} and settings["freshness"] == {"enabled": True}
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")  # a user's own config is kept
    ensure_dagster_home()
    assert "freshness" not in (home / "dagster.yaml").read_text()
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "elsewhere"))
    assert dagster_home() == tmp_path / "elsewhere"


@pytest.mark.integration
def test_run_records_materializations_and_the_verdict_in_the_persistent_instance(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    config = demo_config(tmp_path)
    assert main(["-q", "run", str(config)]) == 0
    assert main(["-q", "run", str(config)]) == 0
    instance = DagsterInstance.from_config(str(tmp_path / DEFAULT_DAGSTER_HOME))
    assert instance.get_runs_count() == 2
    records = instance.fetch_materializations(PUBLISHED, limit=10).records
    assert len(records) == 2  # history kept, newest first
    metadata = {k: v.value for k, v in records[0].asset_materialization.metadata.items()}
    assert metadata["version"] == 2 and metadata["rows"] == 600 and metadata["dagster/row_count"] == 600
    columns = {c.name: c for c in metadata["dagster/column_schema"].columns}
    assert set(columns) >= {"customer_id", "tenure_months", "signup_date"}
    assert columns["tenure_months"].description.startswith("integer")
    assert metadata["verdict"].startswith("passed: accuracy ") and "ceiling" in metadata["verdict"]
    assert 0 < metadata["accuracy_overall"] <= 1 and 0 < metadata["accuracy_overall_max"] <= 1
    assert 0 <= metadata["dcr_share"] <= 1 and metadata["model_id"]
    gates = metadata["gates"]
    assert gates and all({"value", "threshold", "passed"} <= set(g) for g in gates.values())
    assert Path(metadata["report"]).is_absolute() and Path(metadata["report"]).is_file()
    assert Path(metadata["warehouse"]) == (tmp_path / ".synth" / "warehouse.duckdb").resolve()
    report_records = instance.fetch_materializations(AssetKey(["churn", "quality_report"]), limit=10).records
    assert len(report_records) == 2
    gate_check = AssetCheckKey(AssetKey(["churn", "quality_report"]), "quality_gates")
    latest = instance.event_log_storage.get_latest_asset_check_execution_by_key([gate_check])[gate_check]
    assert latest.status.value == "SUCCEEDED" and latest.run_id == records[0].run_id


def test_the_published_snapshot_declares_freshness_from_its_schedule():
    daily = parse_config(yaml.safe_load(demo_config_text(refresh="0 6 * * *"))).datasets["churn"]
    policy = snapshot_freshness_policy(daily)
    assert policy.fail_window.to_timedelta() == timedelta(days=1) + FRESHNESS_GRACE
    assert policy.warn_window.to_timedelta() == timedelta(days=1)
    weekdays = parse_config(
        yaml.safe_load(demo_config_text(refresh="0 6 * * 1-5", retrain="0 3 * * 0"))
    ).datasets["churn"]
    assert snapshot_freshness_policy(weekdays).warn_window.to_timedelta() == timedelta(days=3)
    assert schedule_interval("0 6 * * *", "Europe/Oslo") == timedelta(hours=25)  # the DST change counts
    unscheduled = parse_config(yaml.safe_load(demo_config_text())).datasets["churn"]
    assert snapshot_freshness_policy(unscheduled) is None
    defs = build_definitions(parse_config(yaml.safe_load(demo_config_text(refresh="*/30 * * * *"))))
    specs = {spec.key: spec for spec in defs.resolve_all_asset_specs()}
    assert specs[PUBLISHED].freshness_policy.warn_window.to_timedelta() == timedelta(minutes=30)
    assert specs[AssetKey(["churn", "synthetic"])].freshness_policy is None


def demo_config_text(**schedules) -> str:
    return yaml.safe_dump(
        {"datasets": {"churn": {"source": {"simulate": {"rows": 100}}, "generator": {"name": "copula"},
                                "schedules": schedules}}}
    )


def _open_instance(home: str) -> int:
    return persistent_instance(Path(home)).get_runs_count()


def test_runs_started_at_once_in_a_fresh_home_share_one_working_instance(tmp_path):
    # Without the lock, three processes creating a fresh home's SQLite storages together broke it
    # (alembic: more than one head) in 5 of 6 trials, and every later run there failed.
    import multiprocessing

    homes = [str(tmp_path / f"home{i}") for i in range(2)]
    # close + join, not the context manager's terminate(): a worker started where SIGTERM is ignored (Dagster
    # copies an ignored SIGINT to SIGTERM in this process) would never end, and terminate() would wait forever.
    pool = multiprocessing.get_context("spawn").Pool(3)
    try:
        counts = [pool.map(_open_instance, [home] * 3) for home in homes]
    finally:
        pool.close()
        pool.join()
    assert counts == [[0, 0, 0], [0, 0, 0]]
    for home in homes:
        assert persistent_instance(Path(home)).get_runs_count() == 0
