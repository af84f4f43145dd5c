"""Drift sensors and schedules: real CSV sources, real saved models, Dagster's sensor contexts."""

import json
import os

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from assets import sensors as sensors_module
from assets.schedules import build_schedules
from assets.sensors import SchemaChangeError, build_drift_sensor, check_source, parse_cursor
from synth_pipeline.config import parse_config
from synth_pipeline.drift import DRIFT_PROFILE_KEY, SOURCE_FINGERPRINT_KEY, DriftProfile, fingerprint_table
from synth_pipeline.errors import ConfigError
from synth_pipeline.generators.registry import make_generator
from synth_pipeline.model_store import ModelStore
from synth_pipeline.schema import infer_schema
from synth_pipeline.sources import read_source


def customers(n: int, seed: int, *, income_mean: float = 50_000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.integers(18, 90, n),
            "income": rng.normal(income_mean, 10_000, n).round(2),
            "city": rng.choice(["Oslo", "Rome", "Lima"], n, p=[0.5, 0.3, 0.2]),
            "churned": rng.random(n) < 0.3,
        }
    )


def dataset_config(tmp_path, source_path, **settings):
    config = parse_config(
        {
            "warehouse": str(tmp_path / "warehouse.duckdb"),
            "private_dir": str(tmp_path / "private"),
            "datasets": {
                "churn": {
                    "source": {"path": str(source_path)},
                    "generator": {"name": "copula"},
                    "drift": {"threshold": 0.2, "poll_seconds": 30},
                    **settings,
                }
            },
        }
    )
    return config.datasets["churn"]


def train(dataset_cfg, models: ModelStore) -> str:
    """What the pipeline's model asset stores: the model, the source fingerprint and the drift profile."""
    source = read_source(dataset_cfg.source)
    schema = infer_schema(source, {k: v.value for k, v in dataset_cfg.columns.items()})
    training = source.sample(frac=0.5, random_state=0)
    generator = make_generator("copula", random_state=0).fit(training, schema=schema)
    metadata = {
        SOURCE_FINGERPRINT_KEY: fingerprint_table(source),
        DRIFT_PROFILE_KEY: DriftProfile.from_table(training, schema).to_dict(),
        "config_hash": dataset_cfg.config_hash(),
    }
    return models.save(dataset_cfg.name, generator, metadata).model_id


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
    sensor = build_drift_sensor(cfg, retrain_job, model_store=models)
    return cfg, models, model_id, sensor, source_path


def tick(sensor, cursor=None):
    return sensor.evaluate_tick(dg.build_sensor_context(cursor=cursor, sensor_name=sensor.name))


def write_later(path, frame):
    """Rewrite the source, making sure its mtime moves even on coarse clocks."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    frame.to_csv(path, index=False)
    if path.stat().st_mtime_ns == before:
        os.utime(path, ns=(before + 1_000_000, before + 1_000_000))


def test_unchanged_source_skips_and_the_cursor_makes_the_next_tick_cheap(setup, monkeypatch):
    cfg, models, model_id, sensor, source_path = setup
    assert sensor.name == "churn_drift_sensor" and sensor.minimum_interval_seconds == 30
    first = tick(sensor)
    assert first.run_requests == []
    assert "identical to the one model" in first.skip_message and "max PSI 0.000" in first.skip_message
    cursor = parse_cursor(first.cursor)
    assert cursor["model_id"] == model_id and cursor["probe"]["size"] == source_path.stat().st_size

    def no_full_read(source):
        raise AssertionError("the source was read although the probe did not change")

    monkeypatch.setattr(sensors_module, "read_source", no_full_read)
    second = tick(sensor, first.cursor)
    assert second.run_requests == [] and "source unchanged since" in second.skip_message
    assert "max PSI 0.000" in second.skip_message


def test_touched_but_identical_file_skips_without_statistics(setup, monkeypatch):
    cfg, models, model_id, sensor, source_path = setup
    first = tick(sensor)
    stat = source_path.stat()
    os.utime(source_path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))

    def no_profile(*args, **kwargs):
        raise AssertionError("drift was measured although the content is unchanged")

    monkeypatch.setattr(sensors_module, "measure_drift", no_profile)
    second = tick(sensor, first.cursor)
    assert second.run_requests == [] and "identical" in second.skip_message


def test_appended_rows_from_the_same_distribution_skip_with_the_drift_figure(setup):
    cfg, models, model_id, sensor, source_path = setup
    first = tick(sensor)
    write_later(source_path, pd.concat([customers(3000, seed=0), customers(1000, seed=1)], ignore_index=True))
    result = tick(sensor, first.cursor)
    assert result.run_requests == []
    assert "drift below the threshold 0.2: max PSI 0.0" in result.skip_message
    assert "4,000 rows now" in result.skip_message
    cursor = parse_cursor(result.cursor)
    assert 0 < cursor["max_psi"] < 0.05 and cursor["row_count"] == 4000
    again = tick(sensor, result.cursor)  # the figure is repeated on cheap ticks
    assert again.run_requests == [] and f"max PSI {cursor['max_psi']:.3f}" in again.skip_message


def test_replaced_distribution_requests_a_retraining_run(setup):
    cfg, models, model_id, sensor, source_path = setup
    first = tick(sensor)
    write_later(source_path, customers(3000, seed=2, income_mean=75_000))
    result = tick(sensor, first.cursor)
    assert len(result.run_requests) == 1
    request = result.run_requests[0]
    assert request.tags["synth_pipeline/trigger"] == "drift"
    assert request.tags["synth_pipeline/max_psi_column"] == "income"
    assert float(request.tags["synth_pipeline/max_psi"]) > 1.0
    assert request.tags["synth_pipeline/previous_model_id"] == model_id
    assert request.run_key.startswith("churn:") and request.run_key.endswith(model_id)
    waiting = tick(sensor, result.cursor)  # the run has not produced a model yet
    assert waiting.run_requests == [] and "retraining was requested" in waiting.skip_message
    # once the retrained model exists, the same source is quiet again
    new_model = train(cfg, models)
    after = tick(sensor, result.cursor)
    assert after.run_requests == [] and new_model in after.skip_message


def test_absorbable_schema_change_requests_a_run_and_says_what_changed(setup):
    cfg, models, model_id, sensor, source_path = setup
    first = tick(sensor)
    write_later(source_path, customers(3000, seed=0).drop(columns=["churned"]).assign(segment="retail"))
    result = tick(sensor, first.cursor)
    assert len(result.run_requests) == 1
    assert result.run_requests[0].tags["synth_pipeline/trigger"] == "schema"
    decision = check_source(cfg, models, parse_cursor(first.cursor))
    assert decision.run and "added 'segment'; removed 'churned'" in decision.message


def test_schema_change_the_config_cannot_absorb_fails_loudly(tmp_path):
    source_path = tmp_path / "churn.csv"
    customers(2000, seed=0).to_csv(source_path, index=False)
    cfg = dataset_config(tmp_path, source_path, columns={"age": "integer"}, target="churned")
    models = ModelStore(tmp_path / "models")
    train(cfg, models)
    broken = customers(2000, seed=0)
    broken["age"] = broken["age"].astype(str)
    broken.loc[:20, "age"] = "unknown"
    write_later(source_path, broken)
    with pytest.raises(SchemaChangeError, match=r"(?s)retyped 'age'.*columns\.age forces kind 'integer'"):
        check_source(cfg, models, None)
    write_later(source_path, customers(2000, seed=0).drop(columns=["churned"]))
    with pytest.raises(SchemaChangeError, match=r"(?s)removed 'churned'.*churn\.target: column 'churned' is not in"):
        check_source(cfg, models, None)
    sensor = build_drift_sensor(cfg, retrain_job, model_store=models)
    with pytest.raises(Exception, match="cannot absorb"):
        tick(sensor)


def test_no_model_yet_requests_the_first_training(tmp_path):
    source_path = tmp_path / "churn.csv"
    customers(500, seed=0).to_csv(source_path, index=False)
    cfg = dataset_config(tmp_path, source_path)
    sensor = build_drift_sensor(cfg, retrain_job, model_store=ModelStore(tmp_path / "models"))
    result = tick(sensor)
    assert [r.tags["synth_pipeline/trigger"] for r in result.run_requests] == ["no_model"]


def test_sensor_reads_the_model_store_from_its_resource(setup):
    from resources import PrivateStoreResource

    cfg, models, model_id, _, source_path = setup
    sensor = build_drift_sensor(cfg, retrain_job)
    context = dg.build_sensor_context(
        resources={"private": PrivateStoreResource(root=str(models.root.parent))}, sensor_name=sensor.name
    )
    result = sensor.evaluate_tick(context)
    assert result.run_requests == [] and model_id in result.skip_message


def test_unreadable_cursor_starts_afresh(setup):
    cfg, models, model_id, sensor, source_path = setup
    assert parse_cursor("not json") is None and parse_cursor(json.dumps({"format": 99})) is None
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
def test_monitored_refresh_loop_through_dagster(tmp_path):
    """Lifecycle -> sensor skips -> refresh keeps the model -> drift retrains -> retention keeps the passing one."""
    from assets.definitions import build_definitions, lifecycle_job_name, refresh_job_name
    from synth_pipeline.simulate import simulate_churn
    from synth_pipeline.warehouse import SnapshotStore

    source_path = tmp_path / "churn.csv"
    original = simulate_churn(1200, random_state=0)
    original.to_csv(source_path, index=False)
    config = parse_config(
        {
            "warehouse": str(tmp_path / "warehouse.duckdb"),
            "private_dir": str(tmp_path / "private"),
            "datasets": {
                "churn": {
                    "source": {"path": str(source_path)},
                    "generator": {"name": "copula"},
                    "target": "churn",
                    "gates": {"min_accuracy_ratio": 0.5, "max_dcr_share": 0.9},
                    "drift": {"threshold": 0.2},
                    "schedules": {"refresh": "0 6 * * *"},
                    "retention": {"keep_last": 2},
                }
            },
        }
    )
    defs = build_definitions(config)
    instance = dg.DagsterInstance.ephemeral()
    warehouse = SnapshotStore(config.warehouse)
    models = ModelStore(tmp_path / "private" / "models")
    sensor = defs.resolve_sensor_def("churn_drift_sensor")
    assert defs.resolve_schedule_def("churn_refresh_schedule").job_name == refresh_job_name("churn")
    resources = {"private": defs.resources["private"]}

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
