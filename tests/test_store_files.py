"""The DuckDB warehouse file: read-only places, who holds the lock, older catalogs, the ``warehouse:`` setting."""

import os
import shutil
import tempfile
import time
from pathlib import Path

import duckdb
import pytest

from synth_pipeline.config import parse_config
from synth_pipeline.errors import ConfigError, StoreError
from synth_pipeline.warehouse import SnapshotStore
from synth_pipeline.warehouse_config import WarehouseConfig
from tests.test_store import read_json_line, start_worker, table

NOBODY = 65534


def as_unprivileged(action) -> str:
    """``action()``'s StoreError message and seconds, in a forked child that cannot write what root owns."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        try:
            if os.geteuid() == 0:
                os.setgid(NOBODY)
                os.setuid(NOBODY)
            started = time.perf_counter()
            try:
                action()
                message = "no error"
            except StoreError as error:
                message = f"{time.perf_counter() - started:.1f}|{error}"
            os.write(write_end, message.encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        message = pipe.read()
    os.waitpid(pid, 0)
    return message


@pytest.fixture
def shared_dir():
    """A directory outside pytest's private tmp tree, so an unprivileged child can reach it."""
    path = Path(tempfile.mkdtemp(prefix="synth-ro-"))
    path.chmod(0o755)
    yield path
    path.chmod(0o755)
    shutil.rmtree(path, ignore_errors=True)


def test_a_read_only_warehouse_directory_is_reported_as_such_at_once(shared_dir):
    warehouse = shared_dir / "wh.duckdb"
    store = SnapshotStore(warehouse, lock_timeout_seconds=30)
    store.publish("churn", table(3), {})
    warehouse.chmod(0o666)  # the file is writable, its directory (the .wal file's) is not
    shared_dir.chmod(0o555)
    message = as_unprivileged(lambda: store.publish("churn", table(3), {}))
    seconds, _, text = message.partition("|")
    assert "is not writable (read-only file or directory" in text and "locked" not in text, message
    assert float(seconds) < 5  # not the 30 s lock wait
    new = as_unprivileged(lambda: SnapshotStore(shared_dir / "sub" / "new.duckdb").publish("churn", table(3), {}))
    assert "is not writable" in new, new
    assert len(store.read("churn")) == 3  # reading a read-only place still works


def test_the_lock_timeout_message_names_the_holder(tmp_path):
    path = tmp_path / "wh.duckdb"
    SnapshotStore(path).publish("churn", table(3), {})
    settings = WarehouseConfig(path=str(path)).model_dump_json(by_alias=True)
    holder = start_worker(tmp_path, settings, "holder", "1", "30", "-", "60", "table_created")
    read_json_line(holder, "stage")
    try:
        with pytest.raises(StoreError, match=rf"held by PID {holder.pid} \(.*python.*\).*snapshots query"):
            SnapshotStore(path, lock_timeout_seconds=0.3).publish("churn", table(3), {})
    finally:
        holder.kill()
        holder.wait()


def test_a_catalog_of_the_first_layout_is_migrated_without_losing_a_snapshot(tmp_path):
    path = tmp_path / "wh.duckdb"
    with duckdb.connect(str(path)) as con:  # what synth_pipeline 0.1 wrote
        con.execute("CREATE TABLE _warehouse_meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
        con.execute(f"INSERT INTO _warehouse_meta VALUES ('duckdb_version', '{duckdb.__version__}')")
        con.execute(
            "CREATE TABLE snapshots (dataset VARCHAR NOT NULL, version INTEGER NOT NULL, created_at TIMESTAMP NOT NULL,"
            " row_count BIGINT NOT NULL, table_name VARCHAR NOT NULL, model_id VARCHAR, gates_passed BOOLEAN NOT NULL,"
            " gate_results VARCHAR, PRIMARY KEY (dataset, version))"
        )
        con.execute("CREATE TABLE churn__v1 AS SELECT 1 AS x UNION ALL SELECT 2")
        con.execute("INSERT INTO snapshots VALUES ('churn', 1, now(), 2, 'churn__v1', 'm1', true, '[]')")
        con.execute("CREATE VIEW churn_latest AS SELECT * FROM churn__v1")
    store = SnapshotStore(path)
    row = store.snapshots("churn").iloc[0]  # a reader migrates it
    assert (row.version, row.status, row.model_id, row.row_count) == (1, "published", "m1", 2)
    assert store.read("churn")["x"].tolist() == [1, 2]
    assert store.publish("churn", table(3), {}).version == 2
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("SELECT typeof(gate_results) FROM snapshots LIMIT 1").fetchall() == [("JSON",)]


def test_the_warehouse_setting_takes_a_path_or_a_mapping(tmp_path):
    base = {"datasets": {"churn": {"source": {"simulate": {}}}}}
    assert parse_config(base).warehouse == ".synth/warehouse.duckdb"
    config = parse_config({**base, "warehouse": {"path": str(tmp_path / "w.duckdb"), "lock_timeout_seconds": 2}})
    assert config.warehouse == str(tmp_path / "w.duckdb") and Path(config.warehouse).name == "w.duckdb"
    assert SnapshotStore(config.warehouse).lock_timeout_seconds == 2
    for bad, message in (
        ({"lock_timeout_seconds": -1}, "lock_timeout_seconds"),
        ({"lock_timeout_seconds": "soon"}, "lock_timeout_seconds"),
        ({"path": "a.duckdb", "postgres": {"dsn": "postgresql://x"}}, "either path"),
        ({"pth": "a.duckdb"}, "unknown setting"),
        ({"postgres": {"dsn": "postgresql://u:pw@h/db", "schema": "bad-name"}}, "schema"),
    ):
        with pytest.raises(ConfigError, match=message):
            parse_config({**base, "warehouse": bad})
    with pytest.raises(ConfigError, match="non-negative"):
        SnapshotStore(tmp_path / "w.duckdb", lock_timeout_seconds=-2)


def test_a_postgres_warehouse_setting_never_shows_its_password(monkeypatch):
    monkeypatch.setenv("PG_DSN", "postgresql://app:hunter2@db.internal:5433/sales")
    datasets = {"c": {"source": {"simulate": {}}}}
    config = parse_config({"warehouse": {"postgres": {"dsn": "${PG_DSN}"}}, "datasets": datasets})
    postgres = config.warehouse.postgres
    assert (postgres.dsn_env, postgres.db_schema) == ("PG_DSN", "synthetic")
    for text in (str(config.warehouse), repr(postgres), repr(config.warehouse)):
        assert "hunter2" not in text and "db.internal:5433" in text
    assert os.fspath(WarehouseConfig(path="x.duckdb")) == "x.duckdb"
    with pytest.raises(TypeError, match="not a file"):
        os.fspath(config.warehouse)


@pytest.mark.parametrize("age_seconds", [0, 60])
def test_a_file_that_is_not_a_warehouse_is_reported_not_waited_on_as_a_lock(tmp_path, age_seconds):
    # A brand-new invalid file may be one another process is still initialising (concurrent first
    # publishes): it is retried for a few seconds; an older one is reported at once. Either way the
    # error says what the file is, never "locked", and the bytes are left as they were.
    path = tmp_path / "warehouse.duckdb"
    path.write_bytes(b"this is not a duckdb file" * 1000)
    stamp = time.time() - age_seconds
    os.utime(path, (stamp, stamp))
    started = time.perf_counter()
    with pytest.raises(StoreError, match="cannot open the warehouse") as error:
        SnapshotStore(path).publish("churn", table(), {"model_id": "m"})
    assert "lock" not in str(error.value)
    assert time.perf_counter() - started < (1 if age_seconds else 10)
    assert path.read_bytes() == b"this is not a duckdb file" * 1000
