"""Sampling + publishing at scale: rows/s and peak memory, engine ``local`` vs ``ray`` with 1 and 2 workers.

Trains argn once on ``--train-rows`` rows of the wide simulated table of ``benchmarks/scale.py`` (32 columns;
sampling speed depends on the model's columns, not on how many rows it saw), then, in a fresh process per
engine, samples ``--rows`` rows as shards of the default size into a private directory and publishes them
into a new DuckDB warehouse in one transaction (``CREATE TABLE ... AS SELECT * FROM read_parquet([...])``).
Measured per engine: sampling and publishing seconds and rows/s, sampling rows per CPU-second (the driver's CPU
time, plus the Ray workers'; a figure that holds on a shared machine), the driver's peak memory (max RSS of the
process, publishing included) and the largest Ray worker's, and the snapshot's content hash (the same for
every engine: the shards are the same bytes). Ray runs on a private local instance with as many CPUs as
workers. Prints a table and writes ``benchmarks/results/scale_sampling.json``, with the machine's load
(``os.getloadavg``) before and after, since shared cores cap what 2 workers can gain.

    python benchmarks/scale_sampling.py                          # 10,000,000 rows: local, ray x1, ray x2
    python benchmarks/scale_sampling.py --rows 500000 --engines local ray2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from scale import wide_spec  # noqa: E402  (the same 32-column table as the end-to-end benchmark)

from synth_pipeline.engine_config import DEFAULT_SHARD_ROWS, LocalEngine, RayEngine  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
ENGINES = {"local": LocalEngine(), "ray1": RayEngine(name="ray", workers=1), "ray2": RayEngine(name="ray", workers=2)}


def train(workdir: Path, rows: int, seconds: float) -> tuple[str, str]:
    """argn on ``rows`` simulated rows, saved in a model store under ``workdir``: (store root, model id)."""
    from synth_pipeline.generators.registry import make_generator
    from synth_pipeline.model_store import ModelStore
    from synth_pipeline.simulate import simulate

    table = simulate(wide_spec(), rows, random_state=0)
    # 2 threads for the local engine (the benchmark's 2 cores); Ray workers use one per reserved CPU
    generator = make_generator("argn", random_state=0, max_training_seconds=seconds, show_progress=False, n_threads=2)
    store = ModelStore(workdir / "models")
    return str(store.root), store.save("wide", generator.fit(table)).model_id


def measure(store_root: str, model_id: str, engine_name: str, rows: int, shard_rows: int, workdir: Path) -> dict:
    """One engine, in this (fresh) process: sample ``rows`` rows as shards, publish them, report."""
    from synth_pipeline.model_store import ModelStore
    from synth_pipeline.shard_engines import make_engine, run_shards
    from synth_pipeline.shard_sampling import DEFAULT_CHUNK_ROWS
    from synth_pipeline.shards import ShardStore, plan_shards
    from synth_pipeline.warehouse import SnapshotStore

    engine = ENGINES[engine_name]
    models = ModelStore(store_root)
    info = models.info("wide", model_id)
    plan = plan_shards(model_id, 12345, rows, shard_rows, chunk_rows=min(DEFAULT_CHUNK_ROWS, shard_rows))
    runner = make_engine(engine, load_generator=lambda: models.load("wide", model_id)[0], model_dir=info.path)
    result: dict = {"engine": engine_name, "rows": rows, "shards": len(plan.shards)}
    started, cpu_started = time.perf_counter(), time.process_time()
    if isinstance(engine, RayEngine):
        from synth_pipeline.shard_engine_ray import connected

        context = connected(engine)
        context.__enter__()
        result["engine_start_seconds"] = round(time.perf_counter() - started, 2)
    snapshot = run_shards(plan, ShardStore(workdir / f"shards-{engine_name}", plan), runner, dataset="wide",
                          show_progress=False)
    sampled, cpu = time.perf_counter(), time.process_time() - cpu_started
    if isinstance(engine, RayEngine):
        result["largest_worker_peak_mb"] = round(max(runner.worker_peak_bytes) / 2**20)
        result["driver_cpu_seconds"] = round(cpu, 1)
        cpu += sum(getattr(runner, "worker_cpu_seconds", []))  # workers: model loading included
        context.__exit__(None, None, None)
    info = SnapshotStore(workdir / f"warehouse-{engine_name}.duckdb").publish("wide", snapshot, {"model_id": model_id})
    published = time.perf_counter()
    assert info.row_count == rows
    result.update(
        sample_seconds=round(sampled - started, 2),
        sample_rows_per_second=round(rows / (sampled - started)),
        sample_cpu_seconds=round(cpu, 1),
        sample_rows_per_cpu_second=round(rows / cpu),
        publish_seconds=round(published - sampled, 2),
        publish_rows_per_second=round(rows / (published - sampled)),
        total_rows_per_second=round(rows / (published - started)),
        driver_peak_mb=round(peak_rss_kb() / 1024),
        shard_mb=round(sum(p.stat().st_size for p in snapshot.paths) / 2**20),
        content_hash=snapshot.content_hash,
    )
    return result


def peak_rss_kb() -> int:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss it starts afresh at exec, not at the
    parent's peak)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child(engine: str, args: argparse.Namespace, store_root: str, model_id: str, workdir: Path) -> dict:
    command = [sys.executable, __file__, "--child", engine, "--rows", str(args.rows), "--store", store_root,
               "--model-id", model_id, "--workdir", str(workdir), "--shard-rows", str(args.shard_rows)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_WAIT_POLICY": "PASSIVE", "RAY_AUTH_MODE": "disabled"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{engine} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--shard-rows", type=int, default=DEFAULT_SHARD_ROWS)
    parser.add_argument("--train-rows", type=int, default=100_000)
    parser.add_argument("--train-seconds", type=float, default=120.0)
    parser.add_argument("--engines", nargs="+", default=list(ENGINES), choices=list(ENGINES))
    parser.add_argument("--child", choices=list(ENGINES), help=argparse.SUPPRESS)
    parser.add_argument("--store", help=argparse.SUPPRESS)
    parser.add_argument("--model-id", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        measured = measure(args.store, args.model_id, args.child, args.rows, args.shard_rows, Path(args.workdir))
        print(json.dumps(measured))
        return
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="scale-sampling-") as tmp:
        workdir = Path(tmp)
        started = time.perf_counter()
        store_root, model_id = train(workdir, args.train_rows, args.train_seconds)
        train_seconds = time.perf_counter() - started
        results = [child(engine, args, store_root, model_id, workdir) for engine in args.engines]
    rates = {r["engine"]: r["sample_rows_per_second"] for r in results}
    scaling = round(rates["ray2"] / rates["ray1"], 2) if {"ray1", "ray2"} <= set(rates) else None
    report = {
        "rows": args.rows,
        "columns": 32,
        "shard_rows": args.shard_rows,
        "train_rows": args.train_rows,
        "train_seconds": round(train_seconds, 1),
        "results": results,
        "ray2_over_ray1_sampling": scaling,
        "same_snapshot_on_every_engine": len({r["content_hash"] for r in results}) == 1,
        "train_settings": {"generator": "argn", "max_training_seconds": args.train_seconds, "n_threads": 2},
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "cpu_count": os.cpu_count(),
        "machine": platform.platform(),
    }
    print(f"{args.rows:,} rows x 32 columns, shards of {args.shard_rows:,}; load before {load_before}")
    print(f"{'engine':8} {'sample s':>9} {'rows/s':>9} {'rows/cpu-s':>10} {'publish s':>10} {'rows/s':>10} "
          f"{'driver MB':>10} {'worker MB':>10}")
    for r in results:
        worker = r.get("largest_worker_peak_mb", "-")
        print(f"{r['engine']:8} {r['sample_seconds']:9.1f} {r['sample_rows_per_second']:9,} "
              f"{r['sample_rows_per_cpu_second']:10,} {r['publish_seconds']:10.1f} {r['publish_rows_per_second']:10,} "
              f"{r['driver_peak_mb']:10,} {worker:>10}")
    print(f"ray 2 workers / 1 worker sampling rate: {scaling}; same snapshot everywhere: "
          f"{report['same_snapshot_on_every_engine']}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "scale_sampling.json").write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
