"""The Ray engine on a real local cluster (``ray start --head`` on 127.0.0.1, 2 CPUs, one per module):
the published snapshot equals the local engine's row for row; a shard that raises or a worker that dies fails
the run naming the shard, publishes nothing, and a rerun keeps the finished shards."""

import functools

import pandas as pd
import pytest

from synth_pipeline import lifecycle
from synth_pipeline.config import parse_config
from synth_pipeline.errors import ShardFailedError
from synth_pipeline.model_store import ModelStore
from synth_pipeline.sources import ConfiguredSource
from synth_pipeline.warehouse import SnapshotStore
from tests.ray_cluster import start_cluster
from tests.shard_faults import die_at, raise_at

ray = pytest.importorskip("ray", reason="the Ray engine tests need the ray extra (.ci/run installs it)")
shard_engine_ray = pytest.importorskip("synth_pipeline.shard_engine_ray")

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def cluster():
    """A 2-CPU head node; the module's process stays connected to it (through the engine's own connection code)."""
    head = start_cluster(num_cpus=2)
    try:
        engine = {"name": "ray", "address": head.address, "workers": 2, "connect_timeout_seconds": 30}
        with shard_engine_ray.connected(parse_engine(engine)):
            yield engine
    finally:
        head.stop()


def parse_engine(engine):
    return dataset_config("/unused", engine=engine).engine


def dataset_config(root, **settings):
    config = {
        "warehouse": f"{root}/warehouse.duckdb",
        "private_dir": f"{root}/private",
        "datasets": {"churn": {
            "source": {"simulate": {"rows": 800, "seed": 2}},
            "generator": {"name": "argn", "settings": {"max_epochs": 2}},
            "rows": 3000,
            "shard_rows": 600,
            **settings,
        }},
    }
    return parse_config(config).datasets["churn"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """An argn model (torch in every worker: its rows must not depend on the process that draws them)."""
    root = tmp_path_factory.mktemp("ray-model")
    dataset = dataset_config(root)
    models = ModelStore(root / "private" / "models")
    source = lifecycle.ingest(dataset, ConfiguredSource(dataset.source))
    halves = lifecycle.split(dataset, source.table)
    return models, lifecycle.train(dataset, halves.training, source.table, models, source_probe={}).model


def sample_and_publish(dataset, models, model, warehouse, run_id, **options):
    sampled = lifecycle.sample_snapshot(dataset, model, models, warehouse, run_id=run_id, **options)
    warehouse.publish(dataset.name, sampled.snapshot, {"model_id": model.model_id}, version=sampled.version)
    return sampled


def test_the_ray_snapshot_is_the_local_one_row_for_row(cluster, trained, tmp_path):
    models, model = trained
    local, on_ray = dataset_config(tmp_path), dataset_config(tmp_path, engine=cluster)
    local_store, ray_store = SnapshotStore(tmp_path / "local.duckdb"), SnapshotStore(tmp_path / "ray.duckdb")
    by_local = sample_and_publish(local, models, model, local_store, "local-run")
    by_ray = sample_and_publish(on_ray, models, model, ray_store, "ray-run")
    assert (by_local.version, by_ray.version, by_local.seed) == (1, 1, by_ray.seed)
    assert by_ray.snapshot.content_hash == by_local.snapshot.content_hash  # the same Parquet bytes, shard by shard
    published = ray_store.read("churn")
    assert len(published) == 3000 and published["customer_id"].is_unique
    pd.testing.assert_frame_equal(published, local_store.read("churn"))


def test_a_shard_that_raises_on_ray_is_named_nothing_is_published_and_a_rerun_keeps_the_finished_ones(
    cluster, trained, tmp_path
):
    models, model = trained
    dataset, warehouse = dataset_config(tmp_path, engine=cluster), SnapshotStore(tmp_path / "w.duckdb")
    with pytest.raises(ShardFailedError, match=r"shard 4 of 5 failed: ValueError: planted fault in shard 4"):
        lifecycle.sample_snapshot(dataset, model, models, warehouse, run_id="r",
                                  before_shard=functools.partial(raise_at, failing=4))
    assert warehouse.latest_version("churn", passing_only=False) is None
    directory = lifecycle.run_shard_dir(models, "r", "churn")
    kept = {path.name: path.stat().st_mtime_ns for path in directory.glob("*.parquet")}
    # a worker holds two shards (one running, one queued): the one that ran 4 had finished two before it
    assert len(kept) >= 2 and "shard-00004.parquet" not in kept
    sampled = sample_and_publish(dataset, models, model, warehouse, "r")
    assert {p.name: p.stat().st_mtime_ns for p in directory.glob("*.parquet") if p.name in kept} == kept
    assert sampled.version == 1 and warehouse.read("churn").shape[0] == 3000


def test_a_worker_that_dies_fails_the_run_naming_its_shard(cluster, trained, tmp_path):
    models, model = trained
    dataset, warehouse = dataset_config(tmp_path, engine=cluster), SnapshotStore(tmp_path / "w.duckdb")
    with pytest.raises(ShardFailedError, match=r"shard 2 of 5 failed: its Ray worker died") as caught:
        lifecycle.sample_snapshot(dataset, model, models, warehouse, run_id="d",
                                  before_shard=functools.partial(die_at, failing=2))
    assert caught.value.shard == 2 and "\n" not in str(caught.value)
    assert warehouse.latest_version("churn", passing_only=False) is None
    assert not (lifecycle.run_shard_dir(models, "d", "churn") / "shard-00002.parquet").exists()
