"""The PostgreSQL warehouse: clear errors for an unreachable server, no password anywhere, a whole lifecycle into it."""

import json
import socket

import pytest
from dagster import DagsterInstance

from assets.definitions import build_definitions, lifecycle_job_name
from synth_pipeline.config import parse_config
from synth_pipeline.errors import StoreError
from synth_pipeline.secrets import dsn_parts
from synth_pipeline.warehouse import SnapshotStore
from synth_pipeline.warehouse_config import WarehouseConfig
from tests.warehouse_backends import raw_rows


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_unreachable_server_or_bad_password_is_one_clear_error(postgres_server):
    port = closed_port()
    unreachable = f"postgresql://synth:hunter2secret@127.0.0.1:{port}/nowhere"
    store = SnapshotStore(WarehouseConfig(postgres={"dsn": unreachable, "connect_timeout_seconds": 2}))
    with pytest.raises(StoreError, match=rf"cannot connect to the PostgreSQL warehouse at 127\.0\.0\.1:{port}/nowhere"):
        store.snapshots()
    wrong = postgres_server.dsn().replace(postgres_server.password, "not-the-password")
    with pytest.raises(StoreError) as refused:
        SnapshotStore(WarehouseConfig(postgres={"dsn": wrong})).snapshots()
    message = str(refused.value)
    assert f"127.0.0.1:{postgres_server.port}" in message and "password authentication failed" in message
    assert "not-the-password" not in message and "hunter2secret" not in repr(store)
    assert refused.value.__cause__ is None and refused.value.__suppress_context__  # no chained traceback


@pytest.mark.integration
def test_a_lifecycle_publishes_into_postgres_and_the_password_appears_nowhere(tmp_path, postgres_dsn, monkeypatch):
    password = dsn_parts(postgres_dsn)["password"]
    monkeypatch.setenv("TEST_PG_WAREHOUSE_DSN", postgres_dsn)
    config = parse_config(
        {
            "warehouse": {"postgres": {"dsn": "${TEST_PG_WAREHOUSE_DSN}", "schema": "synthetic"}},
            "private_dir": str(tmp_path / "private"),
            "datasets": {
                "churn": {
                    "source": {"simulate": {"rows": 600, "seed": 1}},
                    "generator": {"name": "copula"},
                    "quality_max_rows": 600,
                    "gates": {"max_dcr_share": 0.8},
                }
            },
        }
    )
    defs = build_definitions(config)
    instance = DagsterInstance.ephemeral()
    job = defs.resolve_job_def(lifecycle_job_name("churn"))
    results = [job.execute_in_process(instance=instance, raise_on_error=False) for _ in range(2)]
    assert all(result.success for result in results)
    store = SnapshotStore(config.warehouse)
    catalog = store.snapshots("churn")
    assert catalog.status.tolist() == ["published", "published"] and catalog.version.tolist() == [1, 2]
    assert len(store.read("churn")) == 600
    assert raw_rows(store, 'SELECT count(*) FROM "synthetic"."churn_latest"') == [(600,)]
    assert store.query("select count(*) as n from churn__v1").n.tolist() == [600]
    # the resource holds the variable's name, not the DSN; nothing Dagster stored holds the password
    assert defs.resources["warehouse"].postgres_dsn_env == "TEST_PG_WAREHOUSE_DSN"
    events = [str(event) for result in results for event in result.all_events]
    stored = json.dumps(events) + catalog.to_json(date_format="iso") + repr(defs.resources)
    assert "published_snapshot" in stored
    assert password and password not in stored
    assert "schema synthetic" in str(config.warehouse) and password not in str(config.warehouse)
