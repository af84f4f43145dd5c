"""The snapshot warehouse and the model store, on real DuckDB files and real processes."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from synth_pipeline import warehouse as warehouse_module
from synth_pipeline.errors import ConfigError, InvalidDataError, StoreError
from synth_pipeline.model_store import ModelStore
from synth_pipeline.warehouse import SnapshotStore
from tests.warehouse_backends import has_table, quoted, raw_rows

REPO = Path(__file__).resolve().parents[1]


def table(n: int = 20, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.integers(18, 90, n),
            "income": rng.normal(50_000, 10_000, n).round(2),
            "city": rng.choice(["Oslo", "Rome", "Lima"], n),
            "active": rng.random(n) < 0.5,
            "joined": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1000, n), unit="D"),
        }
    )


def catalog_rows(store: SnapshotStore) -> list[tuple]:
    sql = f"SELECT dataset, version, row_count, table_name FROM {quoted(store, 'snapshots')} ORDER BY 1, 2"
    return [tuple(r) for r in raw_rows(store, sql)]


def set_created_at(store: SnapshotStore, dataset: str, version: int, when: datetime) -> None:
    raw_rows(
        store,
        f"UPDATE {quoted(store, 'snapshots')} SET created_at = ? WHERE dataset = ? AND version = ?",
        [when, dataset, version],
        write=True,
    )


# -- publish and read ------------------------------------------------------------------
def test_publish_versions_lineage_and_latest_view(warehouse_settings):
    store = SnapshotStore(warehouse_settings)
    first = table(20, seed=1)
    info1 = store.publish(
        "churn",
        first,
        {
            "source_fingerprint": {"content_hash": "abc123", "row_count": 20},
            "generator": "copula",
            "model_id": "churn-1",
            "config_hash": "cfg",
            "accuracy": 0.93,
            "dcr_share": 0.51,
            "gate_results": [{"gate": "max_dcr_share", "passed": True, "value": 0.51}],
            "qa_summary": {"accuracy": 0.93},
            "report_path": "reports/churn.html",
        },
    )
    info2 = store.publish("churn", table(7, seed=2), {"model_id": "churn-1"})
    assert (info1.version, info2.version) == (1, 2)
    assert (info1.table_name, info1.row_count) == ("churn__v1", 20)

    catalog = store.snapshots("churn")
    assert catalog["version"].tolist() == [1, 2]
    assert catalog["row_count"].tolist() == [20, 7]
    row = catalog.iloc[0]
    assert row["source_fingerprint"] == "abc123"
    assert (row["generator"], row["model_id"], row["config_hash"]) == ("copula", "churn-1", "cfg")
    assert json.loads(row["gate_results"])[0]["gate"] == "max_dcr_share"
    assert json.loads(row["qa_summary"]) == {"accuracy": 0.93}
    assert row["duckdb_version"] == (duckdb.__version__ if warehouse_settings.path else None)
    assert bool(row["gates_passed"])

    back = store.read("churn", version=1)
    assert back.columns.tolist() == first.columns.tolist()
    assert back["age"].tolist() == first["age"].tolist()
    assert back["city"].tolist() == first["city"].tolist()
    assert back["active"].tolist() == first["active"].tolist()
    assert (pd.to_datetime(back["joined"]) == first["joined"]).all()
    assert len(store.read("churn")) == 7  # latest passing
    assert raw_rows(store, f"SELECT count(*) FROM {quoted(store, 'churn_latest')}") == [(7,)]


def test_failing_snapshot_is_kept_but_not_latest(warehouse_settings):
    store = SnapshotStore(warehouse_settings)
    store.publish("churn", table(5), {})
    store.publish("churn", table(9), {"gates_passed": False})
    assert store.latest_version("churn") == 1
    assert store.latest_version("churn", passing_only=False) == 2
    assert len(store.read("churn")) == 5
    assert len(store.read("churn", version=2)) == 9  # explicit versions are readable
    assert raw_rows(store, f"SELECT count(*) FROM {quoted(store, 'churn_latest')}") == [(5,)]


def test_read_as_of(warehouse_settings):
    store = SnapshotStore(warehouse_settings)
    for n in (3, 4, 5):
        store.publish("churn", table(n), {})
    set_created_at(store, "churn", 1, datetime(2026, 1, 1))
    set_created_at(store, "churn", 2, datetime(2026, 2, 1))
    set_created_at(store, "churn", 3, datetime(2026, 3, 1))
    assert len(store.read("churn", as_of="2026-02-15")) == 4
    assert len(store.read("churn", as_of="2026-02-01T00:00:00")) == 4  # "at or before"
    assert len(store.read("churn", as_of=pd.Timestamp("2026-03-01 00:30", tz="Europe/Oslo"))) == 4  # 23:30 UTC
    assert len(store.read("churn", as_of=pd.Timestamp("2026-03-01 01:00", tz="Europe/Oslo"))) == 5  # 00:00 UTC
    assert len(store.read("churn", as_of=datetime(2030, 1, 1))) == 5
    with pytest.raises(StoreError, match="at or before"):
        store.read("churn", as_of="2025-12-31")
    with pytest.raises(ConfigError, match="either version or as_of"):
        store.read("churn", version=1, as_of="2026-02-15")
    with pytest.raises(ConfigError, match="as_of"):
        store.read("churn", as_of="not a date")


def test_unknown_dataset_and_version_and_missing_warehouse(warehouse_settings):
    store = SnapshotStore(warehouse_settings)
    assert store.snapshots().empty and store.latest_version("churn") is None
    with pytest.raises(StoreError, match="no warehouse"):
        store.read("churn")
    assert not store.backend.exists()  # readers never create the warehouse
    store.publish("churn", table(3), {})
    with pytest.raises(StoreError, match="no snapshot of dataset 'other'.*churn"):
        store.read("other")
    with pytest.raises(StoreError, match="no version 5; available: 1"):
        store.read("churn", version=5)


@pytest.mark.parametrize("bad", ["x; DROP TABLE snapshots", 'a"b', "1abc", "", "a" * 64, "../etc", 5])
def test_malicious_dataset_names_are_refused_and_harmless(warehouse_settings, tmp_path, bad):
    store = SnapshotStore(warehouse_settings)
    store.publish("churn", table(3), {})
    before = catalog_rows(store)
    for call in (
        lambda: store.publish(bad, table(3), {}),
        lambda: store.read(bad),
        lambda: store.snapshots(bad),
        lambda: store.apply_retention(bad, keep_last=1),
        lambda: store.export(bad, tmp_path / "out.csv"),
    ):
        with pytest.raises(ConfigError, match="invalid dataset name"):
            call()
    assert catalog_rows(store) == before
    assert has_table(store, "snapshots")


def test_dataset_names_differing_in_case_are_refused(warehouse_settings):
    store = SnapshotStore(warehouse_settings)
    store.publish("churn", table(3), {})
    with pytest.raises(StoreError, match="letter case"):
        store.publish("Churn", table(3), {})
    assert [r[:2] for r in catalog_rows(store)] == [("churn", 1)]


def test_bad_input_and_lineage_are_refused_before_writing(warehouse_settings):
    store = SnapshotStore(warehouse_settings)
    with pytest.raises(ConfigError, match="unknown lineage key.*'modelid'"):
        store.publish("churn", table(3), {"modelid": "x"})
    with pytest.raises(InvalidDataError, match="DataFrame"):
        store.publish("churn", [1, 2, 3], {})
    with pytest.raises(InvalidDataError, match="no columns"):
        store.publish("churn", pd.DataFrame(), {})
    with pytest.raises(ConfigError, match="gates_passed"):
        store.publish("churn", table(3), {"gates_passed": "yes"})
    assert not store.backend.exists()


def test_exception_during_publish_leaves_warehouse_unchanged(warehouse_settings):
    SnapshotStore(warehouse_settings).publish("churn", table(3), {})

    for stage in ("table_created", "catalog_written"):

        def explode(current, info, stage=stage):
            if current == stage:
                raise RuntimeError(f"injected failure at {stage}")

        store = SnapshotStore(warehouse_settings, on_publish_stage=explode)
        with pytest.raises(RuntimeError, match="injected"):
            store.publish("churn", table(4), {})
        assert catalog_rows(store) == [("churn", 1, 3, "churn__v1")]
        assert not has_table(store, "churn__v2")
    assert SnapshotStore(warehouse_settings).publish("churn", table(4), {}).version == 2


# -- retention ------------------------------------------------------------------------
def test_retention_keep_last_never_drops_latest_passing(warehouse_settings):
    store = SnapshotStore(warehouse_settings)
    for version in range(1, 6):
        store.publish("churn", table(version), {"gates_passed": version <= 3})
    store.publish("other", table(2), {})
    removed = store.apply_retention("churn", keep_last=1)
    assert removed == [1, 2, 4]  # v5 is the last, v3 the latest passing
    assert store.snapshots("churn")["version"].tolist() == [3, 5]
    assert not any(has_table(store, f"churn__v{v}") for v in (1, 2, 4))
    assert len(store.read("churn")) == 3  # the view still points at v3
    with pytest.raises(StoreError, match="no version 1"):
        store.read("churn", version=1)
    assert store.snapshots("other")["version"].tolist() == [1]  # other datasets untouched
    assert store.apply_retention("churn", keep_last=1) == []
    assert store.publish("churn", table(2), {}).version == 6  # numbers are never reused


def test_retention_keep_days_and_union(warehouse_settings):
    store = SnapshotStore(warehouse_settings)
    for _ in range(4):
        store.publish("churn", table(3), {})
    now = datetime.now(UTC).replace(tzinfo=None)
    for version, age_days in ((1, 40), (2, 20), (3, 10), (4, 1)):
        set_created_at(store, "churn", version, now - timedelta(days=age_days))
    assert store.apply_retention("churn", keep_days=15, keep_last=3) == [1]  # v2 kept by keep_last
    assert store.apply_retention("churn", keep_days=15) == [2]
    assert store.apply_retention("churn", keep_days=0.5) == [3]  # v4 is the latest passing
    assert store.snapshots("churn")["version"].tolist() == [4]
    with pytest.raises(ConfigError, match="keep_last and/or keep_days"):
        store.apply_retention("churn")
    with pytest.raises(ConfigError, match="keep_last"):
        store.apply_retention("churn", keep_last=0)


def test_retention_is_atomic(warehouse_settings, monkeypatch):
    store = SnapshotStore(warehouse_settings)
    for _ in range(3):
        store.publish("churn", table(3), {})
    before = catalog_rows(store)

    def fail(con, dataset):
        raise RuntimeError("injected failure while updating the view")

    monkeypatch.setattr(warehouse_module, "refresh_latest_view", fail)
    with pytest.raises(RuntimeError, match="injected"):
        store.apply_retention("churn", keep_last=1)
    assert catalog_rows(store) == before
    assert all(has_table(store, f"churn__v{v}") for v in (1, 2, 3))


# -- export and storage version ---------------------------------------------------------
def test_export_parquet_and_csv(warehouse_settings, tmp_path):
    store = SnapshotStore(warehouse_settings)
    store.publish("churn", table(6, seed=1), {})
    store.publish("churn", table(4, seed=2), {})
    parquet = store.export("churn", tmp_path / "out" / "churn.parquet", version=1)
    assert pd.read_parquet(parquet)["age"].tolist() == table(6, seed=1)["age"].tolist()
    csv = store.export("churn", tmp_path / "it's.csv")
    assert len(pd.read_csv(csv)) == 4
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temp files left
    with pytest.raises(ConfigError, match=r"\.parquet"):
        store.export("churn", tmp_path / "churn.xlsx")


def test_warehouse_from_another_duckdb_version_is_refused(tmp_path):
    store = SnapshotStore(tmp_path / "wh.duckdb")
    store.publish("churn", table(3), {})
    with duckdb.connect(str(store.path)) as con:
        con.execute("UPDATE _warehouse_meta SET value = '1.5.6' WHERE key = 'duckdb_version'")
    for call in (lambda: store.read("churn"), lambda: store.publish("churn", table(3), {}), store.snapshots):
        with pytest.raises(StoreError, match=r"written by duckdb 1\.5\.6.*migrate"):
            call()


def test_foreign_duckdb_file_is_refused(tmp_path):
    path = tmp_path / "someone_elses.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE customers AS SELECT 1 AS id")
    with pytest.raises(StoreError, match="not a synth_pipeline warehouse"):
        SnapshotStore(path).publish("churn", table(3), {})


# -- processes -------------------------------------------------------------------------
WORKER = textwrap.dedent(
    """
    import sys, time, json
    import numpy as np, pandas as pd
    from synth_pipeline.warehouse import SnapshotStore, WarehouseConfig

    settings, name, n_publishes, hold, go_file, timeout, hold_stage = sys.argv[1:8]
    def hook(stage, info):
        if stage == hold_stage:
            print(json.dumps({"stage": stage, "version": info["version"]}), flush=True)
            time.sleep(float(hold))
    settings = WarehouseConfig.model_validate_json(settings)
    store = SnapshotStore(settings, lock_timeout_seconds=float(timeout), on_publish_stage=hook)
    print(json.dumps({"ready": name}), flush=True)
    while go_file != "-" and not __import__("os").path.exists(go_file):
        time.sleep(0.01)
    for i in range(int(n_publishes)):
        started = time.perf_counter()
        frame = pd.DataFrame({"worker": [name] * 50, "i": np.arange(50) + i})
        info = store.publish("churn", frame, {"model_id": name})
        print(json.dumps({"done": info.version, "seconds": time.perf_counter() - started}), flush=True)
    """
)


def start_worker(tmp_path: Path, *args: str) -> subprocess.Popen:
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_WAIT_POLICY": "PASSIVE"}
    return subprocess.Popen(
        [sys.executable, str(script), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )


def read_json_line(process: subprocess.Popen, key: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise AssertionError(f"worker ended early: {process.stderr.read()}")
        message = json.loads(line)
        if key in message:
            return message
    raise AssertionError(f"no {key!r} from the worker within {timeout} s")


@pytest.mark.integration
def test_two_processes_publishing_concurrently_get_distinct_versions(warehouse_settings, tmp_path):
    path = warehouse_settings.model_dump_json(by_alias=True)
    go = tmp_path / "go"
    workers = [
        start_worker(tmp_path, path, name, "3", "0.2", str(go), "60", "table_created") for name in ("a", "b")
    ]
    for worker in workers:
        read_json_line(worker, "ready")
    started = time.perf_counter()
    go.touch()
    outputs = [worker.communicate(timeout=120) for worker in workers]
    wall = time.perf_counter() - started
    for worker, (_, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err
    done = [json.loads(line) for out, _ in outputs for line in out.splitlines() if '"done"' in line]
    versions = sorted(d["done"] for d in done)
    assert versions == [1, 2, 3, 4, 5, 6]
    store = SnapshotStore(warehouse_settings)
    catalog = store.snapshots("churn")
    assert catalog["version"].tolist() == [1, 2, 3, 4, 5, 6]
    for row in catalog.itertuples():
        data = store.read("churn", version=row.version)
        assert len(data) == row.row_count == 50
        assert set(data["worker"]) == {row.model_id}  # each catalog row describes its own table
    slowest = max(d["seconds"] for d in done)
    print(f"\n6 publishes by 2 processes (0.2 s held in each transaction): wall {wall:.2f} s, slowest {slowest:.2f} s")


def test_threads_of_one_process_publishing_and_reading_get_distinct_versions(warehouse_settings):
    import threading

    store = SnapshotStore(warehouse_settings, lock_timeout_seconds=30)
    errors = []

    def publish_and_read(worker: int) -> None:
        try:
            for _ in range(3):
                store.publish("churn", pd.DataFrame({"worker": [worker] * 10}), {"model_id": str(worker)})
                store.read("churn")
                store.snapshots()
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(repr(error))

    threads = [threading.Thread(target=publish_and_read, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    catalog = store.snapshots("churn")
    assert catalog["version"].tolist() == list(range(1, 13))
    for row in catalog.itertuples():
        assert set(store.read("churn", version=row.version)["worker"]) == {int(row.model_id)}


def test_lock_timeout_gives_a_clear_error(warehouse_settings, tmp_path):
    SnapshotStore(warehouse_settings).publish("churn", table(3), {})
    settings = warehouse_settings.model_dump_json(by_alias=True)
    holder = start_worker(tmp_path, settings, "holder", "1", "30", "-", "60", "table_created")
    read_json_line(holder, "stage")  # the holder is inside its publish transaction now
    try:
        store = SnapshotStore(warehouse_settings, lock_timeout_seconds=0.5)
        started = time.perf_counter()
        where = r"wh\.duckdb" if warehouse_settings.path else r"127\.0\.0\.1:\d+/\w+ \(schema synthetic\)"
        with pytest.raises(StoreError, match=rf"{where}.*locked by another process for 0\.5 s"):
            store.publish("churn", table(3), {})
        assert 0.5 <= time.perf_counter() - started < 5
        if warehouse_settings.path:
            with pytest.raises(StoreError, match="locked"):
                store.read("churn")  # DuckDB: readers wait for the writer too
        else:
            assert len(store.read("churn")) == 3  # PostgreSQL: readers never wait for a publish
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.parametrize("stage", ["table_created", "catalog_written"])
def test_sigkill_during_publish_leaves_previous_snapshot_and_no_partial_version(warehouse_settings, tmp_path, stage):
    store = SnapshotStore(warehouse_settings)
    store.publish("churn", table(5), {"model_id": "first"})
    settings = warehouse_settings.model_dump_json(by_alias=True)
    worker = start_worker(tmp_path, settings, "victim", "1", "30", "-", "60", stage)
    message = read_json_line(worker, "stage")
    assert message["version"] == 2  # killed while version 2 is half written
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(timeout=30)
    assert worker.returncode == -signal.SIGKILL

    assert store.snapshots("churn")["version"].tolist() == [1]
    assert len(store.read("churn")) == 5
    assert not has_table(store, "churn__v2")
    info = store.publish("churn", table(6), {})
    assert info.version == 2 and len(store.read("churn")) == 6


# -- model store -----------------------------------------------------------------------
def fitted_copula(seed: int = 0):
    from synth_pipeline.generators.registry import make_generator

    return make_generator("copula", random_state=seed).fit(table(200, seed=seed))


def test_model_store_save_load_latest(tmp_path):
    models = ModelStore(tmp_path / "models")
    assert models.latest_id("churn") is None and models.list("churn") == []
    first = models.save("churn", fitted_copula(0), {"config_hash": "c1", "fingerprint": {"content_hash": "f1"}})
    second = models.save("churn", fitted_copula(1), {"config_hash": "c2"})
    assert first.model_id.startswith("churn-") and first.model_id != second.model_id
    assert first.path == tmp_path / "models" / "churn" / first.model_id
    assert models.latest_id("churn") == second.model_id
    assert [m.model_id for m in models.list("churn")] == [first.model_id, second.model_id]

    generator, metadata = models.load("churn", first.model_id)
    assert metadata["config_hash"] == "c1" and metadata["generator"] == "copula"
    assert metadata["model_id"] == first.model_id and "created_at" in metadata
    assert generator.sample(10, random_state=3).equals(fitted_copula(0).sample(10, random_state=3))
    _, latest_metadata = models.load("churn")
    assert latest_metadata["model_id"] == second.model_id
    with pytest.raises(StoreError, match="no model 'nope'"):
        models.load("churn", "nope")
    with pytest.raises(StoreError, match="no trained model"):
        models.load("other")
    with pytest.raises(ConfigError, match="invalid dataset name"):
        models.save("../escape", fitted_copula(0), {})


def test_model_store_crash_leaves_no_half_model(tmp_path):
    models = ModelStore(tmp_path / "models")
    generator = fitted_copula(0)

    class Exploding:
        name = "copula"

        def save(self, path):
            generator.save(path)
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        models.save("churn", Exploding(), {})
    assert models.list("churn") == []
    assert list((tmp_path / "models" / "churn").iterdir()) == []
    with pytest.raises(ConfigError, match="JSON"):
        models.save("churn", generator, {"bad": object()})
    assert models.list("churn") == []
