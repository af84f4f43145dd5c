"""Two processes running the real lifecycle of one dataset at the same time: distinct versions, own lineage each."""

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from synth_pipeline.lifecycle import snapshot_seed
from synth_pipeline.warehouse import SnapshotStore

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[1]

RUNNER = textwrap.dedent(
    """
    import json, os, sys, time
    from dagster import DagsterInstance
    from assets.definitions import build_definitions, lifecycle_job_name
    from synth_pipeline.config import parse_config

    warehouse, private, seed, go = sys.argv[1:5]
    config = parse_config({
        "warehouse": warehouse,
        "private_dir": private,
        "datasets": {"churn": {
            "source": {"simulate": {"rows": 400, "seed": 1}},
            "generator": {"name": "copula"},
            "seed": int(seed),
            "quality_max_rows": 400,
            "gates": {"max_dcr_share": 0.8},  # 400 rows: the verdict is not what this test is about
        }},
    })
    job = build_definitions(config).resolve_job_def(lifecycle_job_name("churn"))
    while not os.path.exists(go):
        time.sleep(0.01)
    result = job.execute_in_process(instance=DagsterInstance.ephemeral(), raise_on_error=False)
    metadata = {e.asset_key.path[-1]: e.materialization.metadata for e in result.get_asset_materialization_events()}
    print(json.dumps({
        "success": result.success,
        "version": metadata["published_snapshot"]["version"].value,
        "claimed": metadata["synthetic"]["version"].value,
        "model_id": metadata["generator_model"]["model_id"].value,
        "config_hash": config.datasets["churn"].config_hash(),
        "run_id": result.run_id,
    }))
    """
)


def run_two_at_once(tmp_path: Path, seeds: tuple[int, int]) -> list[dict]:
    script, go = tmp_path / "runner.py", tmp_path / "go"
    script.write_text(RUNNER)
    warehouse, private = tmp_path / "w.duckdb", tmp_path / "private"
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_WAIT_POLICY": "PASSIVE", "GX_ANALYTICS_ENABLED": "false"}
    runners = [
        subprocess.Popen(
            [sys.executable, str(script), str(warehouse), str(private), str(seed), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=REPO,
        )
        for seed in seeds
    ]
    time.sleep(1)
    go.touch()
    outcomes = []
    try:
        for runner in runners:
            out, err = runner.communicate(timeout=300)
            assert runner.returncode == 0, err[-3000:]
            outcomes.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for runner in runners:
            if runner.poll() is None:
                runner.kill()
                runner.wait()
    return outcomes


def check_each_run_published_its_own_version(tmp_path: Path, outcomes: list[dict], seeds: tuple[int, int]) -> None:
    assert all(o["success"] for o in outcomes)
    assert sorted(o["version"] for o in outcomes) == [1, 2]
    assert all(o["version"] == o["claimed"] for o in outcomes)  # what is printed is what was written
    store = SnapshotStore(tmp_path / "w.duckdb")
    catalog = store.snapshots("churn").set_index("version")
    assert catalog.status.tolist() == ["published", "published"]
    for outcome, seed in zip(outcomes, seeds, strict=True):
        row = catalog.loc[outcome["version"]]
        assert (row.model_id, row.config_hash) == (outcome["model_id"], outcome["config_hash"])
        assert row.run_id == outcome["run_id"]
        assert row.seed == snapshot_seed(seed, outcome["version"])
        assert Path(row.report_path).name == f"churn-v{outcome['version']}.html" and Path(row.report_path).is_file()
    assert not store.read("churn", version=1).equals(store.read("churn", version=2))
    assert len({o["model_id"] for o in outcomes}) == 2


def test_two_runs_with_different_seeds_at_once_publish_two_versions(tmp_path):
    seeds = (1, 2)
    outcomes = run_two_at_once(tmp_path, seeds)
    check_each_run_published_its_own_version(tmp_path, outcomes, seeds)
    assert len({o["config_hash"] for o in outcomes}) == 2


def test_two_runs_of_the_same_config_at_once_publish_two_different_versions(tmp_path):
    seeds = (5, 5)
    outcomes = run_two_at_once(tmp_path, seeds)
    check_each_run_published_its_own_version(tmp_path, outcomes, seeds)
    runs = sorted(p.name for p in (tmp_path / "private" / "runs").iterdir())
    assert runs == sorted(o["run_id"] for o in outcomes)  # every intermediate lives under its own run
