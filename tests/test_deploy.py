"""examples/deploy: its dagster.yaml gives a working instance with PostgreSQL storage (on the test server), a run
records there, and its workspace and pipeline config load."""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from assets.definitions import build_definitions
from synth_pipeline.config import load_config
from synth_pipeline.secrets import dsn_parts
from tests.dagster_process import REPO, dagster_command, dagster_env

DEPLOY = REPO / "examples" / "deploy"


def test_the_deploy_pipeline_config_builds_its_sensor_and_schedules(monkeypatch):
    monkeypatch.setenv("PG_DSN", "postgresql://reader:secret@db.internal:5432/sales")
    config = load_config(DEPLOY / "pipeline.yaml")
    source = config.datasets["customers"].source
    assert source.postgres.table == "public.customers" and "secret" not in source.describe()
    defs = build_definitions(config)
    assert defs.resolve_sensor_def("customers_drift_sensor").default_status.value == "STOPPED"
    assert defs.resolve_schedule_def("customers_refresh_schedule").cron_schedule == "0 6 * * *"


@pytest.mark.integration
def test_the_deploy_instance_stores_runs_in_postgresql(postgres_server, postgres_dsn, tmp_path, monkeypatch):
    pytest.importorskip("dagster_postgres", reason='dagster-postgres is the [deploy] extra: pip install -e ".[deploy]"')
    import dagster as dg
    import psycopg

    from assets.cli import main

    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(DEPLOY / "dagster.yaml", home / "dagster.yaml")
    parts = dsn_parts(postgres_dsn)
    storage = {"DAGSTER_PG_HOST": parts["host"], "DAGSTER_PG_PORT": parts["port"], "DAGSTER_PG_DB": parts["dbname"],
               "DAGSTER_PG_USER": parts["user"], "DAGSTER_PG_PASSWORD": parts["password"]}
    for name, value in {**storage, "DAGSTER_HOME": str(home)}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "demo.yaml").write_text(yaml.safe_dump({"datasets": {"churn": {
        "source": {"simulate": {"rows": 600}}, "generator": {"name": "copula"}, "gates": {"max_dcr_share": 0.75},
    }}}))
    assert main(["-q", "run", "demo.yaml"]) == 0
    instance = dg.DagsterInstance.get()
    assert type(instance.run_storage).__name__ == "PostgresRunStorage"
    assert instance.fetch_materializations(dg.AssetKey(["churn", "published_snapshot"]), limit=1).records
    with psycopg.connect(postgres_dsn) as connection:
        stored = connection.execute("select count(*) from event_logs where asset_key like '%published_snapshot%'")
        assert stored.fetchone()[0] >= 1  # the event log lives in PostgreSQL, not in $DAGSTER_HOME
    assert not list(home.rglob("*.db"))

    # the workspace resolves the repo from its own directory and loads the code location against this instance
    env = dagster_env(home, tmp_path / "demo.yaml", **storage)
    validated = subprocess.run(
        dagster_command("dagster", "definitions", "validate", "-w", str(DEPLOY / "workspace.yaml")),
        cwd=Path("/"), env=env, capture_output=True, text=True, timeout=180,
    )
    assert validated.returncode == 0, validated.stdout + validated.stderr
