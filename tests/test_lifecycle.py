"""The whole Dagster lifecycle, materialized in process into a tmp warehouse."""

import json
import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from dagster import AssetKey, DagsterInstance, materialize

from assets.definitions import build_definitions, lifecycle_job_name, refresh_job_name
from resources import FileSourceResource, WarehouseResource
from synth_pipeline.config import parse_config
from synth_pipeline.errors import ConfigError
from synth_pipeline.warehouse import SnapshotStore

pytestmark = pytest.mark.integration


def make_config(tmp_path, **dataset):
    settings = {
        "source": {"simulate": {"rows": 1000, "seed": 1}},
        "generator": {"name": "copula"},
        "target": "churn",
        **dataset,
    }
    return parse_config(
        {
            "warehouse": str(tmp_path / "warehouse" / "w.duckdb"),
            "private_dir": str(tmp_path / "private"),
            "datasets": {"churn": settings},
        }
    )


def run(config, job="churn_lifecycle", instance=None, resources=None):
    defs = build_definitions(config, resources=resources)
    return defs.resolve_job_def(job).execute_in_process(
        instance=instance or DagsterInstance.ephemeral(), raise_on_error=False
    )


def test_lifecycle_publishes_versions_with_lineage(tmp_path):
    config = make_config(tmp_path, rows=700, shard_rows=300)
    instance = DagsterInstance.ephemeral()
    first = run(config, instance=instance)
    assert first.success
    store = SnapshotStore(config.warehouse)
    snapshot = store.read("churn")
    assert len(snapshot) == 700
    catalog = store.snapshots("churn")
    assert catalog.version.tolist() == [1]
    row = catalog.iloc[0]
    assert row.row_count == 700 and row.generator == "copula" and row.gates_passed
    assert 0.8 < row.accuracy <= 1 and 0 < row.dcr_share < 1
    assert row.config_hash == config.datasets["churn"].config_hash()
    assert row.report_path.endswith(".html") and tmp_path.joinpath(row.report_path).exists()
    # asset metadata tells the story
    materializations = {
        e.asset_key.path[-1]: e.materialization.metadata for e in first.get_asset_materialization_events()
    }
    assert materializations["source"]["rows"].value == 1000
    assert materializations["published_snapshot"]["version"].value == 1
    assert (materializations["synthetic"]["shards"].value, materializations["synthetic"]["rows"].value) == (3, 700)
    messages = [event.user_message for event in instance.all_logs(first.run_id)]
    assert any("churn: shard 2 done (3 of 3 shards; 100 rows" in m for m in messages)  # progress in the run's log
    assert run(config).success
    assert store.snapshots("churn").version.tolist() == [1, 2]
    assert not store.read("churn", version=1).equals(store.read("churn", version=2))  # a new sample each time
    assert len(store.read("churn", version=1)) == 700  # old versions stay readable


def test_refresh_samples_from_the_current_model(tmp_path):
    config = make_config(tmp_path)
    instance = DagsterInstance.ephemeral()
    assert run(config, instance=instance).success
    assert run(config, refresh_job_name("churn"), instance=instance).success
    catalog = SnapshotStore(config.warehouse).snapshots("churn")
    assert catalog.version.tolist() == [1, 2]
    assert catalog.model_id.nunique() == 1


def test_warehouse_holds_synthetic_rows_only(tmp_path):
    config = make_config(tmp_path)
    assert run(config).success
    source = pd.read_parquet(tmp_path / "private" / "tables" / "churn" / "source.parquet")
    with duckdb.connect(str(config.warehouse), read_only=True) as con:
        tables = [r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()]
        assert not {"source", "training", "holdout"} & {t.lower() for t in tables}
        published = con.execute('select * from "churn__v1"').df()
    real_rows = set(map(tuple, source.drop(columns="customer_id").astype(str).to_numpy()))
    fake_rows = set(map(tuple, published.drop(columns="customer_id").astype(str).to_numpy()))
    assert not real_rows & fake_rows
    assert not any(str(path).endswith(".parquet") for path in (tmp_path / "warehouse").rglob("*"))


def test_failing_gate_blocks_publishing(tmp_path):
    config = make_config(tmp_path, gates={"min_accuracy": 0.9999})
    result = run(config)
    assert not result.success
    evaluations = [
        e.asset_check_evaluation_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
    ]
    assert evaluations and not evaluations[0].passed
    assert "min_accuracy" in evaluations[0].description
    store = SnapshotStore(config.warehouse)
    assert store.latest_version("churn", passing_only=False) is None
    blocked = store.snapshots("churn").iloc[0]  # the attempt and its verdict stay in the catalog
    assert (blocked.version, blocked.status, blocked.gates_passed) == (1, "blocked", False)
    gate = next(g for g in json.loads(blocked.gate_results) if g["name"] == "min_accuracy")
    assert gate["threshold"] == 0.9999 and not gate["passed"] and "min_accuracy" in blocked.error
    with duckdb.connect(str(config.warehouse), read_only=True) as con:
        views = {r[0] for r in con.execute("select view_name from duckdb_views() where not internal").fetchall()}
    assert "churn_latest" not in views


def test_warning_gate_still_publishes(tmp_path):
    config = make_config(tmp_path, gates={"min_accuracy": {"threshold": 0.9999, "blocking": False}})
    assert run(config).success
    assert SnapshotStore(config.warehouse).latest_version("churn") == 1


class CrashingWarehouse(WarehouseResource):
    """The real warehouse, with a publish that fails after the data table was created."""

    def store(self) -> SnapshotStore:
        def crash(stage, info):
            if stage == "table_created":
                raise RuntimeError("disk on fire")

        return SnapshotStore(self.path, on_publish_stage=crash)


def test_crash_during_publish_leaves_the_warehouse_unchanged(tmp_path):
    config = make_config(tmp_path)
    assert run(config).success
    store = SnapshotStore(config.warehouse)
    before = store.read("churn")
    assert not run(config, resources={"warehouse": CrashingWarehouse(path=str(config.warehouse))}).success
    assert store.snapshots("churn", status="published").version.tolist() == [1]
    failed = store.snapshots("churn").iloc[-1]  # the attempt is recorded by the failure hook
    assert (failed.version, failed.status, failed.failed_step) == (2, "failed", "published_snapshot")
    assert failed.error == "RuntimeError: disk on fire" and pd.isna(failed.table_name)
    pd.testing.assert_frame_equal(store.read("churn"), before)
    with duckdb.connect(str(config.warehouse), read_only=True) as con:
        tables = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
    assert "churn__v2" not in tables


def publish_alone(config):
    """Materialize only published_snapshot, over whatever its inputs hold in the private store."""
    defs = build_definitions(config)
    return materialize(
        list(defs.assets),
        selection=[AssetKey(["churn", "published_snapshot"])],
        resources=defs.resources,
        instance=DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def test_publishing_refuses_a_table_its_quality_report_did_not_judge(tmp_path):
    """published_snapshot alone, over a synthetic table changed after its quality report: nothing is published."""
    config = make_config(tmp_path)
    assert run(config).success
    tables = tmp_path / "private" / "tables" / "churn"
    record = json.loads((tables / "synthetic.json").read_text())  # the synthetic asset: its Parquet shards
    shard = Path(record["directory"]) / record["shards"][0]["file"]
    synthetic = pd.read_parquet(shard)
    synthetic.loc[0, "monthly_charges"] = 1e6  # one cell changed: not the table the report judged
    synthetic.to_parquet(shard, index=False)
    result = publish_alone(config)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "not the one its quality report judged" in failure.event_specific_data.error.message
    assert "shard 0" in failure.event_specific_data.error.message
    assert SnapshotStore(config.warehouse).snapshots("churn").version.tolist() == [1]

    # a report that judged this very table but did not pass is refused too
    report = json.loads((tables / "quality_report.json").read_text())
    report["synthetic_hash"] = record["content_hash"]
    report["gate_results"][0].update(passed=False, blocking=True)
    (tables / "quality_report.json").write_text(json.dumps(report))
    result = publish_alone(config)
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    gate = report["gate_results"][0]["name"]
    assert f"blocking quality gates failed, not publishing: ['{gate}']" in failure.event_specific_data.error.message
    assert SnapshotStore(config.warehouse).snapshots("churn").version.tolist() == [1]


def test_the_source_asset_reads_through_its_resource(tmp_path, churn):
    path = tmp_path / "elsewhere.csv"
    churn.head(500).to_csv(path, index=False)
    config = make_config(tmp_path)
    result = run(config, resources={"churn_source": FileSourceResource(path=str(path))})
    assert result.success
    assert len(pd.read_parquet(tmp_path / "private" / "tables" / "churn" / "source.parquet")) == 500


def test_the_quality_report_judges_with_the_models_schema(tmp_path):
    """A config's kind override reaches QA: support_calls forced categorical is scored as a category."""
    config = make_config(tmp_path, columns={"support_calls": "categorical"})
    assert run(config).success
    report = json.loads((tmp_path / "private" / "tables" / "churn" / "quality_report.json").read_text())["report"]
    kinds = {column["name"]: column["kind"] for column in report["columns"]}
    assert kinds["support_calls"] == "categorical"
    assert kinds["tenure_months"] != "categorical"


def test_bad_input_fails_the_source_step_with_a_clear_error(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("a,b\n")
    all_null = tmp_path / "all_null.csv"
    pd.DataFrame({"a": [1, 2, 3], "b": [None, None, None]}).to_csv(all_null, index=False)
    cases = [
        ({"source": {"path": str(tmp_path / "missing.csv")}, "target": None}, "does not exist"),
        ({"source": {"path": str(empty)}, "target": None}, "is empty"),
        ({"source": {"path": str(all_null)}, "target": None}, "'b' .*entirely missing"),
        ({"columns": {"shoe_size": "integer"}}, r"columns\.shoe_size: column 'shoe_size' is not in the source"),
    ]
    for settings, message in cases:
        result = run(make_config(tmp_path, **settings))
        assert not result.success
        failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
        assert failure.step_key == "churn__source"
        recorded = SnapshotStore(tmp_path / "warehouse" / "w.duckdb").snapshots("churn").iloc[-1]
        assert (recorded.status, recorded.failed_step) == ("failed", "source") and re.search(message, recorded.error)
        error = failure.event_specific_data.error
        text = error.cause.message if error.cause is not None else error.message
        assert re.search(message, text), text


def test_multi_dataset_config_gives_one_group_each(tmp_path):
    config = parse_config(
        {
            "warehouse": str(tmp_path / "w.duckdb"),
            "private_dir": str(tmp_path / "p"),
            "datasets": {
                name: {"source": {"simulate": {"rows": 300}}, "generator": {"name": "copula"}} for name in ("a", "b")
            },
        }
    )
    defs = build_definitions(config)
    groups = {key.path[0] for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert groups == {"a", "b"}
    assert {job for job in (lifecycle_job_name("a"), refresh_job_name("b"))} <= {j.name for j in defs.jobs}
    with pytest.raises(ConfigError):
        make_config(tmp_path, holdout={"fraction": 0})
