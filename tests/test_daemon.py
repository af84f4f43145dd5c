"""The real ``dagster-daemon`` runs the drift sensor: after a first ``synth-pipeline run`` (version 1), a changed
source is retrained by a run the sensor launches and published as version 2, and the sensor's cursor survives a
daemon restart (no retraining on an unchanged source).

A temporary DAGSTER_HOME (SQLite storage), a workspace over a temporary config (a CSV source, the copula,
a 2-second poll), the sensor turned on with ``dagster sensor start`` (sensors start stopped), the daemon started
and stopped by PID. Every wait is bounded.
"""

import subprocess
import time

import pytest
import yaml
from dagster import DagsterInstance, DagsterRunStatus
from dagster._core.scheduler.instigation import InstigatorType
from test_drift_decision import customers, write_later

from assets.cli import main
from synth_pipeline.drift_decision import parse_cursor
from synth_pipeline.warehouse import SnapshotStore
from tests.dagster_process import REPO, dagster_command, dagster_env, start, stop, wait_for

pytestmark = pytest.mark.integration
SENSOR = "churn_drift_sensor"


@pytest.fixture
def deployment(tmp_path):
    source = tmp_path / "customers.csv"
    customers(1500, seed=0).to_csv(source, index=False)
    config = tmp_path / "pipeline.yaml"
    config.write_text(yaml.safe_dump({
        "warehouse": str(tmp_path / "warehouse.duckdb"),
        "private_dir": str(tmp_path / "private"),
        "datasets": {"churn": {
            "source": {"path": str(source)},
            "generator": {"name": "copula"},
            "gates": {"max_dcr_share": 0.75},
            "drift": {"threshold": 0.2, "poll_seconds": 2},
        }},
    }))
    home = tmp_path / "dagster_home"
    home.mkdir()
    # runs a sensor requests are launched at once (the default queue adds a dequeue loop)
    (home / "dagster.yaml").write_text(
        "telemetry:\n  enabled: false\nrun_coordinator:\n  module: dagster.core.run_coordinator\n"
        "  class: DefaultRunCoordinator\n"
    )
    workspace = tmp_path / "workspace.yaml"
    workspace.write_text(yaml.safe_dump(
        {"load_from": [{"python_module": {"module_name": "assets.location", "working_directory": str(REPO)}}]}
    ))
    return {"source": source, "config": config, "home": home, "workspace": workspace, "tmp": tmp_path}


def runs(instance: DagsterInstance) -> list:
    return instance.get_runs()


def finished(instance: DagsterInstance, count: int):
    """The runs, once ``count`` of them exist and all have ended (else None)."""
    found = instance.get_runs()
    done = [r for r in found if r.is_finished]
    return found if len(found) >= count and len(done) == len(found) else None


def sensor_state(instance: DagsterInstance):
    states = instance.all_instigator_state(instigator_type=InstigatorType.SENSOR)
    return next(s for s in states if s.name == SENSOR)


def test_the_daemon_retrains_on_a_changed_source_and_keeps_its_cursor_across_a_restart(deployment, monkeypatch):
    d = deployment
    env = dagster_env(d["home"], d["config"])
    log = d["tmp"] / "daemon.log"
    started = time.monotonic()
    # version 1 by hand, as before a deployment: `synth-pipeline run` into the same instance
    monkeypatch.setenv("DAGSTER_HOME", str(d["home"]))
    assert main(["-q", "run", str(d["config"])]) == 0
    print(f"\nversion 1 published by `run` after {time.monotonic() - started:.1f} s")
    subprocess.run(
        dagster_command("dagster", "sensor", "start", "-w", str(d["workspace"]), SENSOR),
        cwd=REPO, env=env, check=True, capture_output=True, timeout=120,
    )
    print(f"sensor started after {time.monotonic() - started:.1f} s")
    daemon = start(dagster_command("dagster-daemon", "run", "-w", str(d["workspace"])), env, log)
    instance = DagsterInstance.from_config(str(d["home"]))
    try:
        # the first tick finds the source identical to the one the model was trained on
        state = wait_for(lambda: sensor_state(instance).instigator_data.cursor and sensor_state(instance), 90,
                         "the sensor's first tick", daemon, log)
        first = instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=1)[0]
        assert "identical to the one model" in (first.skip_reason or ""), first
        print(f"first tick skipped after {time.monotonic() - started:.1f} s")
        write_later(d["source"], customers(1500, seed=1, income_mean=80_000))  # income drifts far
        second = wait_for(lambda: finished(instance, 2), 120, "the drift run", daemon, log)
        assert second[0].status == DagsterRunStatus.SUCCESS, log.read_text()[-3000:]
        assert second[0].tags["synth_pipeline/trigger"] == "drift"
        cursor = wait_for(
            lambda: (c := parse_cursor(sensor_state(instance).instigator_data.cursor))
            and c.get("model_id") and "run_key" not in c and c,
            60, "a tick that sees the new model", daemon, log,
        )
        print(f"drift run published and seen after {time.monotonic() - started:.1f} s")
    finally:
        stop(daemon)
    assert SnapshotStore(str(d["tmp"] / "warehouse.duckdb")).latest_version("churn") == 2
    ticks_before = len(instance.get_ticks(sensor_state(instance).instigator_origin_id,
                                          sensor_state(instance).selector_id, limit=1000))
    daemon = start(dagster_command("dagster-daemon", "run", "-w", str(d["workspace"])), env, log)
    try:
        state = sensor_state(instance)
        wait_for(
            lambda: len(instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=1000))
            >= ticks_before + 3,
            90, "two ticks after the restart", daemon, log,
        )
    finally:
        stop(daemon)
    ticks = [t for t in instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=5)
             if t.status.value != "STARTED"][:2]  # the daemon may have been stopped mid-tick
    assert len(ticks) == 2 and all(t.status.value == "SKIPPED" for t in ticks), [t.status for t in ticks]
    assert all("source unchanged since" in (t.skip_reason or "") for t in ticks)
    assert len(instance.get_runs()) == 2  # the restarted daemon did not retrain
    assert parse_cursor(sensor_state(instance).instigator_data.cursor)["model_id"] == cursor["model_id"]
    print(f"daemon test: {time.monotonic() - started:.1f} s in all")
