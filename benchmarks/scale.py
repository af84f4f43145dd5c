"""End-to-end scale: the whole lifecycle on a wide simulated table, like MOSTLY AI's 1.47M x 32 reference.

Simulates a table of ``--rows`` rows x 32 columns (numbers, integers, categories
with up to 500 labels, booleans, dates, missing values) in chunks written straight
to Parquet (so generating 10M rows is bounded too), and runs ``synth-pipeline run``
on it (ingest -> split -> train -> sample -> QA gates -> publish) in a fresh process
per generator, measuring wall time and peak memory (max RSS of the child), argn's
training time, the rows the model learned from (``max_training_rows``) and the QA
accuracy against the holdout ceiling. Prints a table and writes
``benchmarks/results/scale.json`` (results merged by generator, rows and cap).

    python benchmarks/scale.py                      # 1,470,000 rows, copula and argn
    python benchmarks/scale.py --rows 10000000 --generators copula
    python benchmarks/scale.py --rows 200000 --generators argn --max-training-rows 50000,100000
    python benchmarks/scale.py --all                # the issue's whole table (see below)

``--all`` runs, one after another: the 1.47M-row table end to end with copula and with argn (argn with its
default settings; ``--argn-seconds`` adds a wall-clock limit to its cell budget), a 10M-row table end to end with
copula, and ``benchmarks/scale_sampling.py`` (sampling and publishing ``--sampling-rows`` rows, default
10,000,000, in shards of the default 250,000 rows, with engines local, ray x1 and ray x2); it prints the issue's
table with each target and writes ``benchmarks/results/scale_all.json``. ``--parts`` runs some of them
(``copula_small``, ``argn_small``, ``copula_large``, ``sampling``) and keeps the others' figures from the last
``scale_all.json``. ``--scale 0.1`` runs the same at a tenth of the rows (a check that it works).

    python benchmarks/scale.py --all --parts copula_small,argn_small,copula_large   # about 18 min idle
    python benchmarks/scale.py --all --parts sampling                               # about 16 min idle
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's package, as the CLI runs it
from synth_pipeline.simulate import simulate  # noqa: E402

CHUNK_ROWS = 250_000

RESULTS = Path(__file__).resolve().parent / "results"
# Runs a command and reports its peak memory: one fresh process per measurement.
_PEAK = (
    "import resource, subprocess, sys; code = subprocess.call(sys.argv[1:]); "
    "print(f'MAXRSS_KB={resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}', file=sys.stderr); sys.exit(code)"
)


def wide_spec() -> dict:
    columns: dict[str, dict] = {}
    for i in range(10):
        columns[f"amount_{i}"] = {
            "kind": "numeric",
            "distribution": "lognormal",
            "mean": 3 + i / 5,
            "std": 0.8,
            "decimals": 2,
        }
    for i in range(6):
        columns[f"count_{i}"] = {
            "kind": "numeric",
            "distribution": "gamma",
            "mean": 2 + 3 * i,
            "shape": 1.5,
            "integer": True,
        }
    sizes = [2, 3, 5, 8, 12, 20, 40, 80, 200, 500]
    for i, size in enumerate(sizes):
        shares = {f"c{i}_{k}": float(1 / (k + 1)) for k in range(size)}
        columns[f"category_{i}"] = {"kind": "categorical", "shares": shares}
    for i in range(3):
        columns[f"flag_{i}"] = {"kind": "boolean", "p_true": 0.1 + 0.3 * i}
    for i in range(3):
        columns[f"date_{i}"] = {"kind": "datetime", "start": "2015-01-01", "end": "2025-12-31"}
    names = list(columns)
    rng = np.random.default_rng(0)
    correlations = []
    for _ in range(40):
        a, b = rng.choice(len(names), 2, replace=False)
        correlations.append({"a": names[a], "b": names[b], "rho": float(rng.uniform(-0.6, 0.6))})
    missing = {"amount_1": 0.05, "category_3": 0.02, "count_2": 0.1}
    return {"columns": columns, "correlations": correlations, "missing": missing}


def write_source(path: Path, rows: int) -> None:
    """The simulated wide table, ``CHUNK_ROWS`` at a time (chunk i drawn with seed i), straight to Parquet."""
    writer = None
    try:
        for index, start in enumerate(range(0, rows, CHUNK_ROWS)):
            chunk = simulate(wide_spec(), min(CHUNK_ROWS, rows - start), random_state=index)
            table = pa.Table.from_pandas(chunk, preserve_index=False)
            writer = writer or pq.ParquetWriter(path, table.schema)
            writer.write_table(table.cast(writer.schema))
    finally:
        if writer is not None:
            writer.close()


def run_one(generator: str, source: Path, workdir: Path, cap: int | None, first_steps: bool = False,
            settings: dict | None = None) -> dict:
    run_dir = workdir / f"{generator}-{cap}-{source.stem}"
    run_dir.mkdir()
    dataset = {"source": {"path": str(source)}, "generator": {"name": generator, "settings": settings or {}},
               "seed": 0, "max_training_rows": cap}
    config = {
        "warehouse": str(run_dir / "warehouse.duckdb"),
        "private_dir": str(run_dir / "private"),
        "datasets": {"wide": dataset},
    }
    config_path = run_dir / "config.yaml"
    config_path.write_text(yaml.safe_dump(config))
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "GX_ANALYTICS_ENABLED": "false", "DAGSTER_HOME": str(run_dir)}
    started = time.perf_counter()
    command = [sys.executable, "-c", _PEAK, sys.executable, "-m", "assets.cli", "run", str(config_path)]
    if first_steps:
        command = [sys.executable, "-c", _PEAK, sys.executable, "-c", _FIRST_STEPS, str(config_path)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
    seconds = time.perf_counter() - started
    peak_lines = [line for line in done.stderr.splitlines() if line.startswith("MAXRSS_KB=")]
    peak_mb = int(peak_lines[-1].split("=")[1]) / 1024 if peak_lines else None
    if done.returncode != 0:
        print(done.stdout[-3000:], done.stderr[-3000:], file=sys.stderr)
    # argn fits a copula beside its network (rare conditioned rows): the generator's own line, not the first one
    fit = re.search(rf"\b{generator}: fitted in ([0-9.]+) s", done.stderr)
    steps = next((json.loads(line[6:]) for line in done.stdout.splitlines() if line.startswith("STEPS=")), None)
    trained = re.search(r"training stopped after (\d+) epochs \((.*?)\); best validation loss [0-9.]+ at epoch "
                        r"\d+, ([0-9.]+) s", done.stderr)
    training = {"training_seconds": float(trained.group(3)), "epochs": int(trained.group(1)),
                "stopped_because": trained.group(2)} if trained else {}
    if first_steps:
        return {"generator": generator, "max_training_rows": cap, "ok": done.returncode == 0,
                "part": "ingest-split-train", "wall_seconds": round(seconds, 1),
                "peak_rss_mb": round(peak_mb) if peak_mb else None, **(steps or {})}
    return {
        "generator": generator,
        "max_training_rows": cap,
        "ok": done.returncode == 0,
        "end_to_end_seconds": round(seconds, 1),
        "peak_rss_mb": round(peak_mb) if peak_mb else None,
        "fit_seconds": float(fit.group(1)) if fit else None,
        **training,
        **report_numbers(run_dir / "reports" / "wide"),
        "step_seconds": step_seconds(run_dir) if done.returncode == 0 else None,
        "output": done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "",
    }


def step_seconds(dagster_home: Path) -> dict[str, float]:
    """Wall seconds per lifecycle step (and in all: the run, without the process start) from the run's event log."""
    from dagster import DagsterInstance

    with DagsterInstance.from_config(str(dagster_home)) as instance:
        run = instance.get_runs(limit=1)[0]
        steps = {s.step_key.split("__", 1)[-1]: round(s.end_time - s.start_time, 1)
                 for s in instance.get_run_step_stats(run.run_id) if s.end_time and s.start_time}
        stats = instance.get_run_stats(run.run_id)
        return {**steps, "run": round(stats.end_time - stats.start_time, 1)} if stats.end_time else steps


# The ingest -> split -> train half of the lifecycle through the core (no sampling, QA or publishing): what a
# larger-than-memory source costs before the snapshot is drawn.
_FIRST_STEPS = """
import json, sys, time
from pathlib import Path
import yaml
from synth_pipeline import lifecycle
from synth_pipeline.config import load_config
from synth_pipeline.model_store import ModelStore
from synth_pipeline.sources import ConfiguredSource
config = load_config(sys.argv[1]); dataset = config.datasets["wide"]; run_dir = Path(config.private_dir) / "run"
seconds = {}
started = time.perf_counter(); source = lifecycle.ingest(dataset, ConfiguredSource(dataset.source), run_dir)
seconds["ingest"] = time.perf_counter() - started
started = time.perf_counter(); halves = lifecycle.split(dataset, source.files)
seconds["split"] = time.perf_counter() - started
started = time.perf_counter()
trained = lifecycle.train(dataset, halves.training, source.files, ModelStore(Path(config.private_dir) / "models"))
seconds["train"] = time.perf_counter() - started
print("STEPS=" + json.dumps({"seconds": {k: round(v, 1) for k, v in seconds.items()},
      "fit_seconds": round(trained.generator.fit_seconds_, 1), "training_rows_seen": trained.model.training_rows_seen}))
"""


def report_numbers(reports: Path) -> dict:
    """Rows the model saw and accuracy vs the holdout ceiling, from the QA report's JSON."""
    found = sorted(reports.glob("wide-v*.json"))
    if not found:
        return {"training_rows_seen": None, "accuracy": None, "accuracy_ceiling": None, "accuracy_gap_pp": None}
    report = json.loads(found[-1].read_text())
    accuracy = report.get("accuracy") or {}
    overall, ceiling = accuracy.get("overall"), accuracy.get("overall_max")
    return {
        "training_rows_seen": (report.get("header") or {}).get("training_rows_seen"),
        "accuracy": overall,
        "accuracy_ceiling": ceiling,
        "accuracy_gap_pp": round(100 * (ceiling - overall), 2) if overall is not None and ceiling else None,
        "qa_seconds_by_section": (report.get("metadata") or {}).get("seconds_by_section"),
    }


def print_table(results: list[dict], rows: int) -> None:
    print(f"{'generator':10s} {'rows':>11s} {'cap':>9s} {'seen':>9s} {'end-to-end s':>13s} {'fit s':>7s} "
          f"{'peak MB':>8s} {'accuracy':>9s} {'ceiling':>8s} {'gap pp':>7s}")
    for r in results:
        print(
            f"{r['generator']:10s} {rows:>11,d} {r['max_training_rows']!s:>9s} {r['training_rows_seen']!s:>9s} "
            f"{r['end_to_end_seconds']:>13.1f} {r['fit_seconds']!s:>7s} {r['peak_rss_mb']!s:>8s} "
            f"{r['accuracy']!s:>9.7s} {r['accuracy_ceiling']!s:>8.6s} {r['accuracy_gap_pp']!s:>7s}"
        )


def _cap(text: str) -> int | None:
    return None if text in ("none", "null", "all") else int(text)


PARTS = ("copula_small", "argn_small", "copula_large", "sampling")


def measured_on() -> dict:
    """Where and when a part ran: commit, UTC time, load average, machine (each part keeps its own)."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parents[1]).stdout.strip()
    return {"commit": commit or None, "finished_utc": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "load_average": [round(x, 2) for x in os.getloadavg()], "machine": f"{os.cpu_count()} cores, "
            f"{platform.machine()}, {platform.processor() or platform.platform()}"}


def run_all(args: argparse.Namespace) -> None:
    """The issue's table: 1.47M rows with both generators, 10M rows with copula, sampling on three engines.

    ``--parts`` runs some of them; the others keep their figures from the last ``scale_all.json``.
    """
    from synth_pipeline.config import DEFAULT_MAX_TRAINING_ROWS

    parts = set(args.parts.split(","))
    load, started = os.getloadavg(), time.perf_counter()
    small, large = round(1_470_000 * args.scale), round(10_000_000 * args.scale)
    path = RESULTS / "scale_all.json"
    previous = json.loads(path.read_text()) if path.is_file() and parts != set(PARTS) else {}
    previous.pop("measured_on", None)  # one hand-written stamp for all parts went stale: each part has its own
    results: dict = {**previous, "scale": args.scale, "parts": sorted(parts), "load_average_before": load}
    argn_settings = {} if args.argn_seconds is None else {"max_training_seconds": args.argn_seconds}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        source = workdir / "wide.parquet"
        if parts & {"copula_small", "argn_small"}:
            write_source(source, small)
        for generator, settings in (("copula", {}), ("argn", argn_settings)):
            if f"{generator}_small" in parts:
                results[f"{generator}_{small}"] = run_one(generator, source, workdir, DEFAULT_MAX_TRAINING_ROWS,
                                                          settings=settings)
                results[f"{generator}_{small}"].update(settings=settings, measured_on=measured_on())
                print(json.dumps(results[f"{generator}_{small}"]), flush=True)
        source.unlink(missing_ok=True)
        if "copula_large" in parts:
            source = workdir / "wide10m.parquet"
            write_source(source, large)
            results[f"copula_{large}"] = run_one("copula", source, workdir, DEFAULT_MAX_TRAINING_ROWS)
            results[f"copula_{large}"]["measured_on"] = measured_on()
            print(json.dumps(results[f"copula_{large}"]), flush=True)
            source.unlink()
    if "sampling" in parts:
        results["sampling"] = run_sampling(args)
        if results["sampling"] is not None:
            results["sampling"]["measured_on"] = measured_on()
    results.update(total_seconds=round(time.perf_counter() - started), load_average_after=os.getloadavg())
    print_targets(results, small, large)
    path.write_text(json.dumps(results, indent=1, default=str))


def run_sampling(args: argparse.Namespace) -> dict | None:
    """``scale_sampling.py`` on ``--sampling-rows`` rows (shards of the default size), engines local, ray x1, x2."""
    rows = round(args.sampling_rows * args.scale)
    command = [sys.executable, str(Path(__file__).with_name("scale_sampling.py")), "--rows", str(rows),
               "--train-rows", str(round(100_000 * args.scale)),
               "--train-seconds", str(round(60 * max(args.scale, 0.25)))]
    if rows < 2_000_000:  # small runs (--scale): at least 8 shards, so 2 workers have something to share
        command += ["--shard-rows", str(max(10_000, rows // 8))]
    done = subprocess.run(command, capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
    print(done.stdout[-3000:], done.stderr[-2000:] if done.returncode else "")
    return json.loads((RESULTS / "scale_sampling.json").read_text()) if done.returncode == 0 else None


def print_targets(results: dict, small: int, large: int) -> None:
    """The issue's table, each figure beside its target."""
    def row(what: str, value: object, target: str) -> None:
        print(f"{what:58s} {value!s:>14s}   target {target}")

    print(f"\n== issue 14 scale table (total {results['total_seconds']} s; load before "
          f"{results['load_average_before'][0]:.1f}, after {results['load_average_after'][0]:.1f})")
    for key, target_s, target_mb in ((f"copula_{small}", "90 s", None), (f"argn_{small}", "480 s", "2048 MB"),
                                     (f"copula_{large}", None, "3072 MB")):
        r = results.get(key)
        if r is None:
            continue
        row(f"{key}: end to end s (ok={r['ok']})", r["end_to_end_seconds"], target_s or "-")
        row(f"{key}: peak MB", r["peak_rss_mb"], target_mb or "-")
        row(f"{key}: fit s / rows seen", f"{r['fit_seconds']} / {r['training_rows_seen']}", "-")
        if r.get("epochs") is not None:
            row(f"{key}: training s / epochs", f"{r['training_seconds']} / {r['epochs']}", r["stopped_because"][:40])
        row(f"{key}: accuracy / ceiling / gap pp", f"{r['accuracy']!s:.6} / {r['accuracy_ceiling']!s:.6} / "
            f"{r['accuracy_gap_pp']}", "gap <= 1.5 pp" if key.startswith("argn") else "-")
        if r.get("step_seconds"):
            print(f"  {key} seconds per step: " + ", ".join(f"{k} {v}" for k, v in r["step_seconds"].items()))
    sampling = results.get("sampling")
    if sampling:
        for r in sampling["results"]:
            row(f"sampling {sampling['rows']:,} rows, {r['engine']}: rows/s (publish rows/s)",
                f"{r['sample_rows_per_second']:,} ({r['publish_rows_per_second']:,})", "-")
            row(f"sampling {r['engine']}: driver / largest worker MB",
                f"{r['driver_peak_mb']} / {r.get('largest_worker_peak_mb', '-')}", "-")
        row("ray 2 workers / 1 worker sampling rate", sampling["ray2_over_ray1_sampling"], ">= 1.7")
        row("same snapshot on every engine", sampling["same_snapshot_on_every_engine"], "True")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_470_000)
    parser.add_argument("--generators", default="copula,argn")
    parser.add_argument("--max-training-rows", default="default", help="comma-separated caps ('none': all rows)")
    parser.add_argument("--first-steps", action="store_true", help="only ingest, split and train (through the core)")
    parser.add_argument("--all", action="store_true", help="the issue's whole table (see the module notes)")
    parser.add_argument("--scale", type=float, default=1.0, help="with --all: a share of every row count")
    parser.add_argument("--argn-seconds", type=float, default=None,
                        help="with --all: a wall-clock limit of argn's training (default: none, its cell budget)")
    parser.add_argument("--sampling-rows", type=int, default=10_000_000, help="with --all: rows per sampling engine")
    parser.add_argument("--parts", default=",".join(PARTS), help=f"with --all: some of {', '.join(PARTS)}")
    args = parser.parse_args()
    if args.all:
        run_all(args)
        return
    from synth_pipeline.config import DEFAULT_MAX_TRAINING_ROWS

    caps = [DEFAULT_MAX_TRAINING_ROWS] if args.max_training_rows == "default" else [
        _cap(c) for c in args.max_training_rows.split(",")
    ]
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        started = time.perf_counter()
        source = workdir / "wide.parquet"
        write_source(source, args.rows)
        print(f"simulated {args.rows:,} rows x 32 columns in {time.perf_counter() - started:.0f} s "
              f"({source.stat().st_size / 2**20:.0f} MB of Parquet)")
        results = []
        for generator in args.generators.split(","):
            for cap in caps:
                result = run_one(generator, source, workdir, cap, args.first_steps)
                results.append(result)
                print(json.dumps(result))
    print()
    if not args.first_steps:
        print_table(results, args.rows)
    load_after = os.getloadavg()
    print(f"load average (1/5/15 min) before: {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}, "
          f"after: {load_after[0]:.1f}/{load_after[1]:.1f}/{load_after[2]:.1f}")
    # merge by (generator, rows, cap), so runs can be measured separately
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "scale.json"
    previous = json.loads(path.read_text()).get("results", []) if path.is_file() else []
    key = lambda r: (r.get("generator"), r.get("rows"), r.get("max_training_rows"), r.get("part"))  # noqa: E731
    merged_new = [{**r, "rows": args.rows, "columns": 32, "load_average": [load, load_after]} for r in results]
    kept = [r for r in previous if key(r) not in {key(m) for m in merged_new}]
    machine = f"{platform.machine()}, {os.cpu_count()} cores"
    path.write_text(json.dumps({"machine": machine, "results": kept + merged_new}, indent=2))


if __name__ == "__main__":
    main()
