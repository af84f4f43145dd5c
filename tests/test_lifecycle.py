"""The whole Dagster lifecycle, materialized in process into a tmp warehouse."""

import re

import duckdb
import pandas as pd
import pytest
from dagster import DagsterInstance

import synth_pipeline.warehouse as store_module
from assets.definitions import build_definitions, lifecycle_job_name, refresh_job_name
from synth_pipeline.config import parse_config
from synth_pipeline.errors import ConfigError
from synth_pipeline.warehouse import SnapshotStore


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


def run(config, job="churn_lifecycle", instance=None):
    defs = build_definitions(config)
    return defs.resolve_job_def(job).execute_in_process(
        instance=instance or DagsterInstance.ephemeral(), raise_on_error=False
    )


def test_lifecycle_publishes_versions_with_lineage(tmp_path):
    config = make_config(tmp_path, rows=700)
    first = run(config)
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
    with duckdb.connect(config.warehouse, read_only=True) as con:
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
    assert SnapshotStore(config.warehouse).latest_version("churn", passing_only=False) is None


def test_warning_gate_still_publishes(tmp_path):
    config = make_config(tmp_path, gates={"min_accuracy": {"threshold": 0.9999, "blocking": False}})
    assert run(config).success
    assert SnapshotStore(config.warehouse).latest_version("churn") == 1


def test_crash_during_publish_leaves_the_warehouse_unchanged(tmp_path, monkeypatch):
    config = make_config(tmp_path)
    assert run(config).success
    store = SnapshotStore(config.warehouse)
    before = store.read("churn")

    def crash(stage, info):
        if stage == "table_created":
            raise RuntimeError("disk on fire")

    monkeypatch.setattr(store_module, "_publish_hook", crash)
    assert not run(config).success
    assert store.snapshots("churn").version.tolist() == [1]
    pd.testing.assert_frame_equal(store.read("churn"), before)
    with duckdb.connect(config.warehouse, read_only=True) as con:
        tables = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
    assert "churn__v2" not in tables


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
