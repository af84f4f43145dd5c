"""The catalog as a history of attempts: claimed versions, statuses, verdicts, retention; types; read-only query."""

import json

import numpy as np
import pandas as pd
import pytest

from synth_pipeline.errors import ConfigError, StoreError
from synth_pipeline.warehouse import SnapshotStore
from tests.warehouse_backends import has_table, quoted, raw_rows

GATES = [{"name": "min_accuracy", "value": 0.81, "threshold": 0.9, "blocking": True, "passed": False}]


def frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"x": rng.integers(0, 100, n), "city": rng.choice(["Oslo", "Lima"], n)})


def test_claims_give_distinct_versions_and_publish_writes_exactly_the_claimed_one(warehouse_settings):
    store = SnapshotStore(warehouse_settings)
    first = store.claim("churn", run_id="run-a", lineage={"model_id": "m-a", "config_hash": "ca", "seed": 11})
    second = store.claim("churn", run_id="run-b", lineage={"model_id": "m-b", "config_hash": "cb"})
    assert (first, second) == (1, 2) and store.claimed_version("churn", "run-b") == 2
    assert store.snapshots("churn").status.tolist() == ["running", "running"]
    assert store.latest_version("churn", passing_only=False) is None  # a claim is not a snapshot
    info = store.publish("churn", frame(5), {"model_id": "m-b", "config_hash": "cb"}, version=second)
    assert info.version == 2 and store.latest_version("churn") == 2
    store.record_blocked("churn", first, {"gate_results": GATES, "accuracy": 0.81}, "min_accuracy 0.81 < 0.9")
    catalog = store.snapshots("churn").set_index("version")
    assert catalog.status.to_dict() == {1: "blocked", 2: "published"}
    assert (catalog.loc[1, "model_id"], catalog.loc[1, "config_hash"], catalog.loc[1, "seed"]) == ("m-a", "ca", 11)
    assert json.loads(catalog.loc[1, "gate_results"]) == GATES and catalog.loc[1, "error"] == "min_accuracy 0.81 < 0.9"
    assert (catalog.loc[2, "run_id"], catalog.loc[2, "model_id"]) == ("run-b", "m-b")
    assert not has_table(store, "churn__v1") and len(store.read("churn")) == 5
    with pytest.raises(StoreError, match="version 1 of 'churn' is already blocked"):
        store.publish("churn", frame(5), {}, version=1)
    with pytest.raises(StoreError, match="version 7 of 'churn' was never claimed"):
        store.publish("churn", frame(5), {}, version=7)
    with pytest.raises(StoreError, match="version 1 was blocked and has no table; available: 2"):
        store.read("churn", version=1)
    with pytest.raises(StoreError, match="run nope claimed no version"):
        store.claimed_version("churn", "nope")
    assert store.publish("churn", frame(3), {}).version == 3  # publishing without a claim claims the next one


def test_failures_are_recorded_against_the_claim_or_as_new_attempts(warehouse_settings):
    store = SnapshotStore(warehouse_settings)
    assert store.record_failure("churn", run_id="early", step="source", error="InvalidDataError: empty") == 1
    store.claim("churn", run_id="late")
    assert store.record_failure("churn", run_id="late", step="published_snapshot", error="disk full") == 2
    store.claim("churn", run_id="ok")
    store.publish("churn", frame(4), {}, version=3)
    assert store.record_failure("churn", run_id="ok", step="retention", error="x") is None  # stays published
    catalog = store.snapshots("churn")
    assert catalog.status.tolist() == ["failed", "failed", "published"]
    assert catalog.failed_step.tolist()[:2] == ["source", "published_snapshot"] and pd.isna(catalog.failed_step[2])
    assert catalog.error.tolist()[:2] == ["InvalidDataError: empty", "disk full"]
    assert store.snapshots("churn", status="failed").version.tolist() == [1, 2]
    with pytest.raises(ConfigError, match="status must be one of"):
        store.snapshots(status="gone")


def test_retention_counts_published_snapshots_and_drops_older_attempts(warehouse_settings):
    store = SnapshotStore(warehouse_settings)
    store.publish("churn", frame(3), {})  # v1
    store.record_failure("churn", run_id="r2", step="source", error="boom")  # v2
    store.publish("churn", frame(3), {})  # v3
    store.claim("churn", run_id="r4")  # v4: still running
    store.claim("churn", run_id="r5")
    store.record_blocked("churn", 5, {"gate_results": GATES}, "blocked")  # v5
    store.publish("churn", frame(3), {})  # v6
    assert store.apply_retention("churn", keep_last=2) == [1]  # v3 and v6 are the last two published
    assert store.snapshots("churn").version.tolist() == [3, 4, 5, 6]  # v2 older than the oldest kept: gone
    assert store.apply_retention("churn", keep_last=1) == [3]
    assert store.snapshots("churn").version.tolist() == [4, 6]  # running claims stay, v5 went with v3
    assert store.publish("churn", frame(3), {}).version == 7  # numbers are never reused


def test_date_only_columns_are_dates_and_catalog_json_is_json(warehouse_settings):
    store = SnapshotStore(warehouse_settings)
    synthetic = pd.DataFrame(
        {
            "joined": pd.to_datetime(["2020-01-01", "2021-06-30", None]),
            "seen": pd.to_datetime(["2020-01-01 10:30", "2021-06-30 00:00", "2022-01-01 00:00"]),
        }
    )
    store.publish("churn", synthetic, {"gate_results": GATES, "qa_summary": {"accuracy": 0.9}})
    types = dict(
        raw_rows(
            store,
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ?",
            ["churn__v1"],
        )
    )
    assert types["joined"].upper() == "DATE" and types["seen"].upper().startswith("TIMESTAMP")
    catalog = dict(
        raw_rows(
            store, "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'snapshots'"
        )
    )
    assert {catalog["gate_results"].upper(), catalog["qa_summary"].upper()} <= {"JSON", "JSONB"}
    back = store.read("churn")
    assert [str(v)[:10] for v in back["joined"][:2]] == ["2020-01-01", "2021-06-30"] and pd.isna(back["joined"][2])
    count = raw_rows(store, f"SELECT count(*) FROM {quoted(store, 'churn_latest')} WHERE joined >= DATE '2021-01-01'")
    assert count[0][0] == 1


@pytest.mark.parametrize(
    ("sql", "rows"),
    [
        ("SELECT version, status FROM snapshots", 1),
        ("select * from churn_latest;", 4),
        ("WITH s AS (SELECT * FROM churn__v1) SELECT count(*) AS n FROM s -- a comment", 1),
    ],
)
def test_query_runs_one_select_read_only(warehouse_settings, sql, rows):
    store = SnapshotStore(warehouse_settings)
    store.publish("churn", frame(4), {})
    if warehouse_settings.postgres is not None:
        sql = sql.replace("snapshots", "synthetic.snapshots").replace("churn_", "synthetic.churn_")
    assert len(store.query(sql)) == rows


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("DROP TABLE snapshots", "got DROP"),
        ("SELECT 1; DELETE FROM snapshots", "got 2"),
        ("INSERT INTO snapshots (dataset) VALUES ('x')", "got INSERT"),
        ("ATTACH 'other.duckdb' AS o", "got ATTACH"),
        ("COPY snapshots TO '/tmp/x.csv'", "got COPY"),
        ("SELEC 1", "not a valid DuckDB query"),
        ("", "one SELECT"),
    ],
)
def test_query_refuses_anything_but_one_select(warehouse_settings, sql, message):
    store = SnapshotStore(warehouse_settings)
    store.publish("churn", frame(4), {})
    with pytest.raises(ConfigError, match=message):
        store.query(sql)
    assert store.snapshots("churn").version.tolist() == [1]


def test_query_cannot_read_other_files(tmp_path):
    store = SnapshotStore(tmp_path / "wh.duckdb")
    store.publish("churn", frame(4), {})
    with pytest.raises(StoreError, match="(?i)file system operations are disabled|permission"):
        store.query("SELECT * FROM read_csv('/etc/passwd')")
