"""A PostgreSQL source through the whole lifecycle, with its DSN only in ``$PG_DSN``: published to the DuckDB
warehouse and to a PostgreSQL warehouse, the password nowhere (catalog, event log, logs, QA reports, the private
area), and drift on the PostgreSQL table makes the drift sensor ask for a retraining run."""

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import psycopg
import pytest
import yaml

from assets.definitions import build_definitions
from synth_pipeline.config import load_config
from synth_pipeline.simulate import simulate_churn
from synth_pipeline.warehouse import SnapshotStore
from tests.postgres_server import load_table

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[1]


def write_config(directory: Path) -> Path:
    config = {
        "warehouse": str(directory / "warehouse.duckdb"),
        "private_dir": str(directory / "private"),
        "datasets": {"churn": {
            "source": {"postgres": {"dsn": "${PG_DSN}", "table": "public.customers"}},
            "generator": {"name": "copula"},
            "gates": {"max_dcr_share": 0.75},
            "drift": {"threshold": 0.2, "poll_seconds": 30},
        }},
    }
    path = directory / "pipeline.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def files_containing(root: Path, secret: str) -> list[str]:
    return [str(p) for p in root.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]


def test_a_postgres_source_runs_the_lifecycle_without_leaking_its_password(
    postgres_server, postgres_dsn, tmp_path, monkeypatch
):
    load_table(postgres_dsn, "public.customers", simulate_churn(800, random_state=4))
    config = write_config(tmp_path)
    env = {**os.environ, "PG_DSN": postgres_dsn, "DAGSTER_HOME": str(tmp_path / "dagster_home"),
           "PYTHONPATH": str(REPO), "GX_ANALYTICS_ENABLED": "false", "OMP_WAIT_POLICY": "PASSIVE"}
    run = subprocess.run([sys.executable, "-m", "assets.cli", "run", str(config)], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "churn: published version 1" in run.stdout
    password = postgres_server.password
    assert password not in run.stdout + run.stderr  # the logs

    store = SnapshotStore(str(tmp_path / "warehouse.duckdb"))
    assert len(store.read("churn")) == 800
    catalog = store.snapshots("churn").to_json(orient="records", date_format="iso", default_handler=str)
    assert password not in catalog and "127.0.0.1" not in catalog  # the catalog holds no source address at all

    instance = dg.DagsterInstance.from_config(str(tmp_path / "dagster_home"))
    records = instance.fetch_materializations(dg.AssetKey(["churn", "source"]), limit=1).records
    probe = records[0].asset_materialization.metadata["probe"].value
    database = postgres_dsn.rsplit("/", 1)[1]
    assert probe["at"] == f"127.0.0.1:{postgres_server.port}/{database}"  # the address is shown, not the secret
    events = instance.all_logs(records[0].run_id)
    assert events and password not in json.dumps([str(e) for e in events])  # the event log: metadata, messages
    reports = list((tmp_path).rglob("*.html")) + list((tmp_path).rglob("*.json"))
    assert any(p.suffix == ".html" for p in reports)
    # every file the run wrote: the warehouse, the event log's SQLite files, the QA reports (HTML and JSON), the
    # private area's tables, models and their metadata
    assert files_containing(tmp_path, password) == []

    # drift on the PostgreSQL table: the drift sensor (with the config's own resources) asks for a retraining run
    monkeypatch.setenv("PG_DSN", postgres_dsn)
    defs = build_definitions(load_config(config))
    sensor = defs.resolve_sensor_def("churn_drift_sensor")
    resources = {"private": defs.resources["private"], "churn_source": defs.resources["churn_source"]}
    assert resources["churn_source"].dsn == dg.EnvVar("PG_DSN")  # the UI's resource page shows the name only

    def tick(cursor=None):
        with dg.build_sensor_context(cursor=cursor, resources=resources, sensor_name=sensor.name) as context:
            return sensor.evaluate_tick(context)

    quiet = tick()
    assert quiet.run_requests == [] and "identical to the one model" in quiet.skip_message
    assert tick(quiet.cursor).skip_message.startswith("churn: source unchanged since")  # the statistics probe
    with psycopg.connect(postgres_dsn) as connection:
        connection.execute("update customers set monthly_charges = monthly_charges * 3 + 200")
    moved = tick(quiet.cursor)
    assert len(moved.run_requests) == 1, (moved.skip_message, moved.cursor)
    assert moved.run_requests[0].tags["synth_pipeline/trigger"] == "drift"
    assert password not in (moved.cursor or "")


def test_a_postgres_source_publishes_into_a_postgres_warehouse(postgres_server, postgres_dsn, tmp_path):
    """Both ends in PostgreSQL (two databases of the test server), each DSN only in its environment variable."""
    load_table(postgres_dsn, "public.customers", simulate_churn(800, random_state=5))
    warehouse_dsn = postgres_server.create_database()
    config = write_config(tmp_path)
    settings = yaml.safe_load(config.read_text())
    settings["warehouse"] = {"postgres": {"dsn": "${PG_WAREHOUSE_DSN}", "schema": "synthetic"}}
    settings["private_dir"] = str(tmp_path / "private")
    config.write_text(yaml.safe_dump(settings))
    env = {**os.environ, "PG_DSN": postgres_dsn, "PG_WAREHOUSE_DSN": warehouse_dsn,
           "DAGSTER_HOME": str(tmp_path / "dagster_home"), "PYTHONPATH": str(REPO),
           "GX_ANALYTICS_ENABLED": "false", "OMP_WAIT_POLICY": "PASSIVE"}
    run = subprocess.run([sys.executable, "-m", "assets.cli", "run", str(config)], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    password = postgres_server.password
    assert password not in run.stdout + run.stderr
    with psycopg.connect(warehouse_dsn) as connection:
        assert connection.execute("select count(*) from synthetic.churn_latest").fetchone()[0] == 800
        catalog = connection.execute("select row_to_json(s)::text from synthetic.snapshots s").fetchall()
    assert catalog and all(password not in row[0] for row in catalog)
    assert files_containing(tmp_path, password) == []
    instance = dg.DagsterInstance.from_config(str(tmp_path / "dagster_home"))
    published = instance.fetch_materializations(dg.AssetKey(["churn", "published_snapshot"]), limit=1).records
    shown = published[0].asset_materialization.metadata["warehouse"].value
    assert password not in shown and "127.0.0.1" in shown
