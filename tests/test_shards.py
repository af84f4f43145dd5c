"""Shards: a pure function of (model, snapshot seed, number); failures name the shard and keep the finished ones;
a snapshot publishes from its files in one transaction (both backends) and is judged on a reproducible subsample."""

import json
import socket
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synth_pipeline import lifecycle
from synth_pipeline.config import load_config, parse_config
from synth_pipeline.engine_config import LocalEngine
from synth_pipeline.errors import ConfigError, EngineError, ShardFailedError
from synth_pipeline.generators.registry import make_generator
from synth_pipeline.model_store import ModelStore
from synth_pipeline.shard_engines import LocalShardEngine, make_engine, run_shards
from synth_pipeline.shard_sampling import render_shard
from synth_pipeline.shards import ShardStore, SnapshotShards, plan_shards, shard_seed
from synth_pipeline.simulate import simulate_churn
from synth_pipeline.sources import ConfiguredSource
from synth_pipeline.warehouse import SnapshotStore
from tests.lifecycle_run import run_lifecycle
from tests.warehouse_backends import raw_rows


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A copula on the churn table, saved: (store, info)."""
    models = ModelStore(tmp_path_factory.mktemp("models"))
    generator = make_generator("copula", random_state=0).fit(simulate_churn(1500, random_state=3))
    return models, models.save("churn", generator)


def sample(model, directory, *, n_rows=2300, shard_rows=600, seed=11, before_shard=None):
    models, info = model
    plan = plan_shards(info.model_id, seed, n_rows, shard_rows, chunk_rows=250)
    engine = LocalShardEngine(lambda: models.load("churn", info.model_id)[0], before_shard=before_shard)
    return run_shards(plan, ShardStore(directory, plan), engine, dataset="churn", show_progress=False)


def test_a_plan_cuts_rows_into_fixed_shards_with_their_own_seeds():
    plan = plan_shards("m", 7, 2300, 600, chunk_rows=250)
    assert [(s.index, s.offset, s.rows) for s in plan.shards] == [(0, 0, 600), (1, 600, 600), (2, 1200, 600),
                                                                  (3, 1800, 500)]
    assert len({s.seed for s in plan.shards}) == 4 and plan.shards[2].seed == shard_seed(7, 2) != shard_seed(8, 2)
    assert [s.rows for s in plan_shards("m", 7, 0, 600, chunk_rows=250).shards] == [0]
    with pytest.raises(Exception, match="shard_rows must be an integer of at least 1"):
        plan_shards("m", 7, 10, 0, chunk_rows=5)


def test_a_shard_is_the_same_bytes_alone_as_inside_a_whole_run(model, tmp_path):
    snapshot = sample(model, tmp_path / "whole")
    models, info = model
    plan = plan_shards(info.model_id, 11, 2300, 600, chunk_rows=250)
    alone = render_shard(models.load("churn", info.model_id)[0], plan.shards[2], chunk_rows=250)
    assert alone.sha256 == snapshot.shards[2]["sha256"]
    assert (tmp_path / "whole" / snapshot.shards[2]["file"]).read_bytes() == alone.data
    rows = snapshot.to_pandas()
    assert len(rows) == snapshot.num_rows == 2300 and rows["customer_id"].is_unique  # ids continue across shards
    assert sample(model, tmp_path / "again").content_hash == snapshot.content_hash
    assert sample(model, tmp_path / "other", seed=12).content_hash != snapshot.content_hash


def test_a_failed_shard_is_named_and_a_rerun_samples_only_the_missing_ones(model, tmp_path):
    reference = sample(model, tmp_path / "reference")
    ran = []

    def fail_at_two(index):
        ran.append(index)
        if index == 2:
            raise RuntimeError("disk on fire")

    with pytest.raises(ShardFailedError, match=r"shard 2 of 4 failed: RuntimeError: disk on fire") as caught:
        sample(model, tmp_path / "run", before_shard=fail_at_two)
    assert caught.value.shard == 2 and "\n" not in str(caught.value)
    assert sorted(p.name for p in (tmp_path / "run").glob("*.parquet")) == ["shard-00000.parquet",
                                                                          "shard-00001.parquet"]
    (tmp_path / "run" / "shard-00001.parquet").write_bytes(b"damaged")  # a damaged shard is not trusted
    ran.clear()
    rerun = sample(model, tmp_path / "run", before_shard=ran.append)
    assert ran == [1, 2, 3] and rerun.content_hash == reference.content_hash


def test_a_snapshot_record_round_trips_and_its_subsample_is_reproducible(model, tmp_path):
    snapshot = sample(model, tmp_path / "s")
    again = SnapshotShards.from_record(json.loads(json.dumps(snapshot.to_record())))
    assert again.content_hash == snapshot.content_hash and again.paths == snapshot.paths
    first, second = snapshot.subsample(500, random_state=4), snapshot.subsample(500, random_state=4)
    pd.testing.assert_frame_equal(first, second)
    whole = snapshot.to_pandas()
    assert len(first) == 500 and first["customer_id"].isin(whole["customer_id"]).all()
    assert first["customer_id"].is_monotonic_increasing  # read in snapshot order
    assert len(snapshot.subsample(10_000, random_state=4)) == 2300
    assert snapshot.date_columns == ["signup_date"]


def test_a_snapshot_publishes_from_its_shards_row_for_row(model, tmp_path, warehouse_settings):
    snapshot = sample(model, tmp_path / "s")
    store = SnapshotStore(warehouse_settings)
    info = store.publish("churn", snapshot, {"model_id": "m"})
    assert info.row_count == 2300
    published = store.read("churn")
    expected = snapshot.to_pandas()
    published["signup_date"] = pd.to_datetime(published["signup_date"])  # a DATE column (below), read back
    assert list(published["customer_id"]) == list(expected["customer_id"])  # shard order, then row order
    pd.testing.assert_frame_equal(published, expected, check_dtype=False)
    kinds = raw_rows(store, "SELECT data_type FROM information_schema.columns WHERE column_name = 'signup_date'")
    assert {kind[0].upper() for kind in kinds} == {"DATE"}


def test_a_changed_shard_is_refused_and_nothing_is_published(model, tmp_path):
    snapshot = sample(model, tmp_path / "s")
    frame = pd.read_parquet(snapshot.paths[1])
    frame.loc[0, "monthly_charges"] = 1e6
    frame.to_parquet(snapshot.paths[1], index=False)
    store = SnapshotStore(tmp_path / "w.duckdb")
    with pytest.raises(Exception, match="shard 1 of the snapshot changed since it was sampled"):
        store.publish("churn", snapshot, {})
    assert store.latest_version("churn", passing_only=False) is None


def churn_dataset(tmp_path, **settings):
    config = {
        "warehouse": str(tmp_path / "warehouse.duckdb"),
        "private_dir": str(tmp_path / "private"),
        "datasets": {"churn": {"source": {"simulate": {"rows": 600, "seed": 1}}, "generator": {"name": "copula"},
                               "shard_rows": 120, **settings}},
    }
    return parse_config(config).datasets["churn"]


def test_a_rerun_of_a_failed_run_goes_on_with_its_version_and_finished_shards(tmp_path):
    dataset = churn_dataset(tmp_path)
    models, warehouse = ModelStore(tmp_path / "private" / "models"), SnapshotStore(tmp_path / "warehouse.duckdb")
    source = lifecycle.ingest(dataset, ConfiguredSource(dataset.source))
    halves = lifecycle.split(dataset, source.table)
    model = lifecycle.train(dataset, halves.training, source.table, models, source_probe={}).model

    def boom(index):
        if index == 3:
            raise ValueError("worker lost")

    with pytest.raises(ShardFailedError, match="shard 3 of 5 failed") as caught:
        lifecycle.sample_snapshot(dataset, model, models, warehouse, run_id="r2", before_shard=boom)
    assert lifecycle.record_failure(dataset, warehouse, run_id="r2", step="synthetic", error=caught.value) == 1
    assert warehouse.latest_version("churn", passing_only=False) is None  # nothing published
    ran = []
    sampled = lifecycle.sample_snapshot(dataset, model, models, warehouse, run_id="r2", before_shard=ran.append)
    assert (sampled.version, ran) == (1, [3, 4])
    assert sampled.seed == lifecycle.snapshot_seed(dataset.seed, 1)
    assert sampled.snapshot.directory.endswith("runs/r2/churn/synthetic_shards")
    assert warehouse.snapshots("churn").status.tolist() == ["running"]
    other = lifecycle.sample_snapshot(dataset, model, models, warehouse, run_id="r3")  # another run: a new version
    assert other.version == 2 and other.snapshot.content_hash != sampled.snapshot.content_hash


@pytest.mark.integration  # a whole QA report
def test_the_report_says_qa_judged_a_subsample(tmp_path):
    dataset = churn_dataset(tmp_path, rows=3000, quality_max_rows=500)
    run = run_lifecycle(tmp_path, dataset)
    header, metadata = run.assessment.report.header, run.assessment.report.metadata
    assert (header.snapshot_rows, metadata.rows_synthetic) == (3000, 500)
    page = open(run.assessment.report_path, encoding="utf-8").read()
    assert "500 of 3,000 snapshot rows" in page
    assert run.assessment.synthetic_hash == run.sampled.snapshot.content_hash
    assert len(run.sampled.snapshot.shards) == 25


def test_the_engine_setting_is_validated_at_load_and_is_not_part_of_the_config_hash(tmp_path):
    local = churn_dataset(tmp_path)
    ray = churn_dataset(tmp_path, engine={"name": "ray", "address": "ray://head:10001", "workers": 4})
    assert isinstance(local.engine, LocalEngine) and ray.engine.workers == 4
    assert local.config_hash() == ray.config_hash() == churn_dataset(tmp_path, engine="ray").config_hash()
    assert churn_dataset(tmp_path, shard_rows=121).config_hash() != local.config_hash()
    with pytest.raises(ConfigError, match=r"datasets.churn.engine: Input tag 'dask'.*'local', 'ray'"):
        churn_dataset(tmp_path, engine={"name": "dask"})
    with pytest.raises(ConfigError, match=r"datasets.churn.engine.ray.workers: Input should be greater than or"):
        churn_dataset(tmp_path, engine={"name": "ray", "workers": 0})
    assert np.isclose(ray.engine.cpus_per_worker, 1.0)


def ray_engine(model, directory, engine):
    models, info = model
    plan = plan_shards(info.model_id, 1, 100, 50, chunk_rows=50)
    dataset = parse_config({"datasets": {"churn": {"source": {"simulate": {}}, "engine": engine}}}).datasets["churn"]
    runner = make_engine(dataset.engine, load_generator=lambda: models.load("churn")[0], model_dir=info.path)
    return lambda: run_shards(plan, ShardStore(directory, plan), runner, dataset="churn", show_progress=False)


def test_an_unreachable_ray_address_is_one_clear_error_naming_it(model, tmp_path):
    pytest.importorskip("ray", reason="the ray extra is not installed (.ci/run installs it)")
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    run = ray_engine(model, tmp_path, {"name": "ray", "address": f"127.0.0.1:{port}", "connect_timeout_seconds": 2})
    with pytest.raises(EngineError, match=rf"^cannot reach the Ray cluster at 127.0.0.1:{port} \(engine.address\)"):
        run()
    bad = ray_engine(model, tmp_path, {"name": "ray", "address": "head-without-port"})
    with pytest.raises(EngineError, match="engine.address 'head-without-port' is not a Ray address"):
        bad()
    assert not list(tmp_path.glob("*.parquet"))


def test_engine_ray_without_ray_installed_says_what_to_install(model, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails, as without the extra
    run = ray_engine(model, tmp_path, "ray")
    with pytest.raises(EngineError) as caught:
        run()
    assert str(caught.value) == "engine: ray needs Ray: pip install 'synth-pipeline[ray]'"


def test_the_ray_example_config_loads():
    dataset = load_config(Path(__file__).resolve().parent.parent / "examples" / "ray.yaml").datasets["churn_large"]
    assert dataset.engine.name == "ray" and dataset.engine.workers == 2 and dataset.rows // dataset.shard_rows == 8


def test_a_publish_from_shards_interrupted_inside_its_transaction_leaves_nothing(model, tmp_path, warehouse_settings):
    snapshot = sample(model, tmp_path / "s")

    def crash(stage, info):
        if stage == "catalog_written":
            raise KeyboardInterrupt  # as a kill would, after the table and the catalog row were written

    store = SnapshotStore(warehouse_settings, on_publish_stage=crash)
    with pytest.raises(KeyboardInterrupt):
        store.publish("churn", snapshot, {"model_id": "m"})
    assert SnapshotStore(warehouse_settings).snapshots("churn").empty
    assert not raw_rows(store, "SELECT table_name FROM information_schema.tables WHERE table_name = 'churn__v1'")
