"""Drift sensors and schedules: the Dagster wiring around the core's drift decision (tests/test_drift_decision.py)."""

import dagster as dg
import pandas as pd
import pytest
from test_drift_decision import customers, dataset_config, pipeline_config, train, write_later

from assets.schedules import build_schedules
from assets.sensors import build_drift_sensor
from resources import FileSourceResource, PrivateStoreResource
from synth_pipeline.drift_decision import parse_cursor
from synth_pipeline.errors import ConfigError
from synth_pipeline.model_store import ModelStore


@dg.op
def _retrain_op() -> None:
    pass


@dg.job
def retrain_job() -> None:
    _retrain_op()


@dg.job
def refresh_job() -> None:
    _retrain_op()


@pytest.fixture
def setup(tmp_path):
    source_path = tmp_path / "churn.csv"
    customers(3000, seed=0).to_csv(source_path, index=False)
    cfg = dataset_config(tmp_path, source_path)
    models = ModelStore(tmp_path / "private" / "models")
    model_id = train(cfg, models)
    sensor = build_drift_sensor(
        cfg, retrain_job, model_store=models, source=FileSourceResource(path=str(source_path)).reader()
    )
    return cfg, models, model_id, sensor, source_path


def tick(sensor, cursor=None):
    return sensor.evaluate_tick(dg.build_sensor_context(cursor=cursor, sensor_name=sensor.name))


def test_a_quiet_source_skips_and_the_cursor_is_kept(setup):
    cfg, models, model_id, sensor, source_path = setup
    assert sensor.name == "churn_drift_sensor" and sensor.minimum_interval_seconds == 30
    first = tick(sensor)
    assert first.run_requests == [] and "identical to the one model" in first.skip_message
    assert parse_cursor(first.cursor)["model_id"] == model_id
    second = tick(sensor, first.cursor)
    assert second.run_requests == [] and "source unchanged since" in second.skip_message


def test_a_retraining_decision_becomes_a_run_request_with_its_tags(setup):
    cfg, models, model_id, sensor, source_path = setup
    first = tick(sensor)
    write_later(source_path, customers(3000, seed=2, income_mean=75_000))
    result = tick(sensor, first.cursor)
    assert len(result.run_requests) == 1
    request = result.run_requests[0]
    assert request.tags["synth_pipeline/trigger"] == "drift" and request.run_key.endswith(model_id)
    assert parse_cursor(result.cursor)["run_key"] == request.run_key


def test_a_schema_change_the_config_cannot_absorb_fails_the_tick(tmp_path):
    source_path = tmp_path / "churn.csv"
    customers(2000, seed=0).to_csv(source_path, index=False)
    cfg = dataset_config(tmp_path, source_path, target="churned")
    models = ModelStore(tmp_path / "models")
    train(cfg, models)
    write_later(source_path, customers(2000, seed=0).drop(columns=["churned"]))
    sensor = build_drift_sensor(
        cfg, retrain_job, model_store=models, source=FileSourceResource(path=str(source_path)).reader()
    )
    with pytest.raises(Exception, match="cannot absorb"):
        tick(sensor)


def test_sensor_reads_the_model_store_and_the_source_from_its_resources(setup, tmp_path):
    cfg, models, model_id, _, source_path = setup
    sensor = build_drift_sensor(cfg, retrain_job)
    assert sensor.required_resource_keys == {"private", "churn_source"}
    moved = tmp_path / "moved.csv"
    customers(3000, seed=2, income_mean=75_000).to_csv(moved, index=False)
    resources = {"private": PrivateStoreResource(root=str(models.root.parent))}
    quiet = sensor.evaluate_tick(
        dg.build_sensor_context(
            resources={**resources, "churn_source": FileSourceResource(path=str(source_path))}, sensor_name=sensor.name
        )
    )
    assert quiet.run_requests == [] and model_id in quiet.skip_message
    drifted = sensor.evaluate_tick(
        dg.build_sensor_context(
            resources={**resources, "churn_source": FileSourceResource(path=str(moved))}, sensor_name=sensor.name
        )
    )
    assert len(drifted.run_requests) == 1


def test_unreadable_cursor_starts_afresh(setup):
    cfg, models, model_id, sensor, source_path = setup
    assert tick(sensor, "not json").run_requests == []


def test_schedules_follow_the_config(tmp_path):
    source_path = tmp_path / "churn.csv"
    customers(100, seed=0).to_csv(source_path, index=False)
    none = dataset_config(tmp_path, source_path)
    assert build_schedules(none, refresh_job, retrain_job) == []
    both = dataset_config(
        tmp_path, source_path, schedules={"refresh": "0 6 * * *", "retrain": "0 3 * * 0", "timezone": "Europe/Oslo"}
    )
    refresh, retrain = build_schedules(both, refresh_job, retrain_job)
    assert (refresh.name, refresh.cron_schedule, refresh.job_name) == (
        "churn_refresh_schedule",
        "0 6 * * *",
        "refresh_job",
    )
    assert (retrain.name, retrain.cron_schedule, retrain.job_name) == (
        "churn_retrain_schedule",
        "0 3 * * 0",
        "retrain_job",
    )
    assert refresh.execution_timezone == "Europe/Oslo"
    bad_zone = dataset_config(tmp_path, source_path, schedules={"refresh": "0 6 * * *", "timezone": "Mars/Olympus"})
    with pytest.raises(ConfigError, match="unknown time zone 'Mars/Olympus'"):
        build_schedules(bad_zone, refresh_job)


# -- the whole loop, through the Definitions the code location serves -----------------------
@pytest.mark.integration
def test_monitored_refresh_loop_through_dagster(tmp_path):
    """Lifecycle -> sensor skips -> refresh keeps the model -> drift retrains -> retention keeps the passing one."""
    from assets.definitions import build_definitions, lifecycle_job_name, refresh_job_name
    from synth_pipeline.simulate import simulate_churn
    from synth_pipeline.warehouse import SnapshotStore

    source_path = tmp_path / "churn.csv"
    original = simulate_churn(1200, random_state=0)
    original.to_csv(source_path, index=False)
    config = pipeline_config(
        tmp_path,
        source_path,
        target="churn",
        gates={"min_accuracy_ratio": 0.5, "max_dcr_share": 0.9},
        schedules={"refresh": "0 6 * * *"},
        retention={"keep_last": 2},
    )
    defs = build_definitions(config)
    instance = dg.DagsterInstance.ephemeral()
    warehouse = SnapshotStore(config.warehouse)
    models = ModelStore(tmp_path / "private" / "models")
    sensor = defs.resolve_sensor_def("churn_drift_sensor")
    assert defs.resolve_schedule_def("churn_refresh_schedule").job_name == refresh_job_name("churn")
    resources = {key: defs.resources[key] for key in ("private", "churn_source")}

    def tick_(cursor):
        return sensor.evaluate_tick(dg.build_sensor_context(cursor=cursor, resources=resources, instance=instance))

    assert defs.resolve_job_def(lifecycle_job_name("churn")).execute_in_process(instance=instance).success
    first_model = models.latest_id("churn")
    assert warehouse.snapshots("churn")["model_id"].tolist() == [first_model]

    quiet = tick_(None)
    assert quiet.run_requests == [] and "identical" in quiet.skip_message

    # appended rows from the same distribution: skip, stating the drift
    write_later(source_path, pd.concat([original, simulate_churn(400, random_state=1)], ignore_index=True))
    appended = tick_(quiet.cursor)
    assert appended.run_requests == [] and "drift below the threshold" in appended.skip_message

    # the refresh job samples a new version from the current model, without retraining
    assert defs.resolve_job_def(refresh_job_name("churn")).execute_in_process(instance=instance).success
    catalog = warehouse.snapshots("churn")
    assert catalog["version"].tolist() == [1, 2] and catalog["model_id"].tolist() == [first_model, first_model]
    assert models.latest_id("churn") == first_model

    # a replaced column distribution: RunRequest; running it retrains and publishes version 3
    replaced = original.copy()
    numeric = next(c for c in replaced.columns if pd.api.types.is_float_dtype(replaced[c]))
    replaced[numeric] = replaced[numeric] * 3 + replaced[numeric].std() * 5
    write_later(source_path, replaced)
    drifted = tick_(appended.cursor)
    assert len(drifted.run_requests) == 1, drifted.skip_message
    assert drifted.run_requests[0].tags["synth_pipeline/max_psi_column"] == numeric
    assert defs.resolve_job_def(lifecycle_job_name("churn")).execute_in_process(instance=instance).success
    second_model = models.latest_id("churn")
    assert second_model != first_model
    event = instance.get_latest_materialization_event(dg.AssetKey(["churn", "generator_model"]))
    metadata = event.asset_materialization.metadata
    assert metadata["model_id"].value == second_model and metadata["previous_model_id"].value == first_model
    assert metadata["drift_max_psi"].value > 0.2
    assert metadata["drift_vs_previous_model"].value["max_psi_column"] == numeric

    # retention (keep_last 2) dropped version 1; the newest passing snapshot is the retrained one
    catalog = warehouse.snapshots("churn")
    assert catalog["version"].tolist() == [2, 3]
    assert catalog["model_id"].tolist() == [first_model, second_model]
    assert warehouse.latest_version("churn") == 3
    after = tick_(drifted.cursor)
    assert after.run_requests == [] and second_model in after.skip_message
