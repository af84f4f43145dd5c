"""`dagster dev -w workspace.yaml` serves the code location with a sensor and schedules per dataset, and shows the
materializations (with their metadata) and check results of a `synth-pipeline run` made before into the same
DAGSTER_HOME.

Slow (a real webserver and daemon, ~15-30 s): runs only with SYNTH_SLOW_TESTS=1.
The server is bound to 127.0.0.1 on a free port, asked over HTTP (/server_info,
then GraphQL on /graphql), and stopped by its PID. Started through
``env --default-signal=INT`` because a `dagster dev` that inherits an ignored
SIGINT also ignores SIGTERM (see ../shared/FIELD-NOTES.md).
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.integration,
    pytest.mark.skipif(os.environ.get("SYNTH_SLOW_TESTS") != "1", reason="slow: set SYNTH_SLOW_TESTS=1"),
]

QUERY = """
{ repositoriesOrError { ... on RepositoryConnection { nodes {
    name
    sensors { name minIntervalSeconds }
    schedules { name cronSchedule executionTimezone }
} } } }
"""


MATERIALIZATIONS = """
{ assetOrError(assetKey: {path: ["churn", "published_snapshot"]}) { ... on Asset {
    assetMaterializations(limit: 5) { runId metadataEntries {
        label
        ... on IntMetadataEntry { intValue }
        ... on TextMetadataEntry { text }
        ... on PathMetadataEntry { path }
        ... on TableSchemaMetadataEntry { schema { columns { name type } } }
    } }
} } }
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str, data: bytes | None = None) -> dict:
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def test_dagster_dev_lists_sensors_and_schedules_per_dataset(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    config = tmp_path / "two.yaml"
    config.write_text(
        f"warehouse: {tmp_path / 'warehouse.duckdb'}\n"
        f"private_dir: {tmp_path / 'private'}\n"
        "datasets:\n"
        "  churn:\n"
        "    source: {simulate: {rows: 500}}\n"
        "    generator: {name: copula}\n"
        "    gates: {max_dcr_share: 0.75}\n"
        "    schedules: {refresh: '0 6 * * *', retrain: '0 3 * * 0', timezone: Europe/Oslo}\n"
        "  churn_b:\n"
        "    source: {simulate: {rows: 300, seed: 1}}\n"
        "    generator: {name: copula}\n"
        "    drift: {poll_seconds: 120}\n"
        "    schedules: {refresh: '30 5 * * *'}\n"
    )
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "SYNTH_PIPELINE_CONFIG": str(config),
        "GX_ANALYTICS_ENABLED": "false",
        "OMP_WAIT_POLICY": "PASSIVE",
        "PYTHONPATH": str(REPO),
    }
    # as in the README: a run first, then the UI over the same DAGSTER_HOME shows it
    run = subprocess.run(
        [sys.executable, "-m", "assets.cli", "-q", "run", str(config), "--dataset", "churn"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    port = free_port()
    dagster = Path(sys.executable).with_name("dagster")
    command = ["env", "--default-signal=INT", str(dagster), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1"]
    log = (tmp_path / "dagster_dev.log").open("w")
    server = subprocess.Popen(
        [*command, "-p", str(port)], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    try:
        nodes = None
        while time.monotonic() - started < 120:
            assert server.poll() is None, (tmp_path / "dagster_dev.log").read_text()[-3000:]
            try:
                get(f"{base}/server_info")
                answer = get(f"{base}/graphql", json.dumps({"query": QUERY}).encode())
                nodes = answer["data"]["repositoriesOrError"].get("nodes")
                if nodes:
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError, KeyError):
                pass
            time.sleep(1)
        ready = time.monotonic() - started
        assert nodes, "dagster dev did not serve the code location within 120 s"
        sensors = {s["name"]: s["minIntervalSeconds"] for node in nodes for s in node["sensors"]}
        schedules = {
            s["name"]: (s["cronSchedule"], s["executionTimezone"]) for node in nodes for s in node["schedules"]
        }
        assert sensors == {"churn_drift_sensor": 60, "churn_b_drift_sensor": 120}
        assert schedules == {
            "churn_refresh_schedule": ("0 6 * * *", "Europe/Oslo"),
            "churn_retrain_schedule": ("0 3 * * 0", "Europe/Oslo"),
            "churn_b_refresh_schedule": ("30 5 * * *", "UTC"),
        }
        answer = get(f"{base}/graphql", json.dumps({"query": MATERIALIZATIONS}).encode())
        materializations = answer["data"]["assetOrError"]["assetMaterializations"]
        assert len(materializations) == 1, answer
        entries = {e["label"]: e for e in materializations[0]["metadataEntries"]}
        assert entries["dagster/row_count"]["intValue"] == 500 and entries["version"]["intValue"] == 1
        assert entries["verdict"]["text"].startswith("passed: accuracy")
        assert Path(entries["report"]["path"]).is_absolute()
        assert {c["name"] for c in entries["dagster/column_schema"]["schema"]["columns"]} >= {"customer_id", "churn"}
        print(f"\ndagster dev answered with the code location and the run's materializations after {ready:.1f} s")
    finally:
        stop = time.monotonic()
        server.send_signal(signal.SIGTERM)  # by PID
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)  # our own session only
            server.wait(timeout=10)
            pytest.fail("dagster dev ignored SIGTERM for 30 s")
        finally:
            log.close()
        print(f"dagster dev stopped {time.monotonic() - stop:.1f} s after SIGTERM")
    with pytest.raises(urllib.error.URLError):
        get(f"{base}/server_info")
    # its children (webserver, daemon, code server) went too: the session it led is empty
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            os.killpg(server.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.5)
    else:
        pytest.fail("processes of the dagster dev session outlived it")
