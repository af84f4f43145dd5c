"""End-to-end scale: the whole lifecycle on a wide simulated table, like MOSTLY AI's 1.47M x 32 reference.

Simulates a table of ``--rows`` rows x 32 columns (numbers, integers, categories
with up to 500 labels, booleans, dates, missing values), writes it as Parquet,
and runs ``synth-pipeline run`` on it (ingest -> split -> train -> sample ->
QA gates -> publish) in a fresh process per generator, measuring wall time and
peak memory (max RSS of the child). Prints a table and writes
``benchmarks/results/scale.json``.

    python benchmarks/scale.py                      # 1,470,000 rows, copula and argn
    python benchmarks/scale.py --rows 200000 --generators copula
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

from synth_pipeline.simulate import simulate

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


def run_one(generator: str, source: Path, workdir: Path) -> dict:
    config = {
        "warehouse": str(workdir / "warehouse.duckdb"),
        "private_dir": str(workdir / "private"),
        "datasets": {"wide": {"source": {"path": str(source)}, "generator": {"name": generator}, "seed": 0}},
    }
    config_path = workdir / f"{generator}.yaml"
    config_path.write_text(yaml.safe_dump(config))
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "GX_ANALYTICS_ENABLED": "false"}
    started = time.perf_counter()
    command = [sys.executable, "-c", _PEAK, sys.executable, "-m", "assets.cli", "run", str(config_path)]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    peak_lines = [line for line in done.stderr.splitlines() if line.startswith("MAXRSS_KB=")]
    peak_mb = int(peak_lines[-1].split("=")[1]) / 1024 if peak_lines else None
    if done.returncode != 0:
        print(done.stdout[-3000:], done.stderr[-3000:], file=sys.stderr)
    log = done.stderr
    return {
        "generator": generator,
        "ok": done.returncode == 0,
        "end_to_end_seconds": round(seconds, 1),
        "peak_rss_mb": round(peak_mb) if peak_mb else None,
        "output": done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "",
        "fit_line": next((line for line in log.splitlines() if "fitted in" in line), ""),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_470_000)
    parser.add_argument("--generators", default="copula,argn")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        started = time.perf_counter()
        table = simulate(wide_spec(), args.rows, random_state=0)
        source = workdir / "wide.parquet"
        table.to_parquet(source, index=False)
        print(f"simulated {len(table):,} rows x {table.shape[1]} columns in {time.perf_counter() - started:.0f} s")
        del table
        results = []
        for generator in args.generators.split(","):
            result = run_one(generator, source, workdir)
            results.append(result)
            print(
                f"{generator:8s} ok={result['ok']} end-to-end {result['end_to_end_seconds']:8.1f} s  "
                f"peak {result['peak_rss_mb']} MB  {result['fit_line']}"
            )
    print()
    print(f"{'generator':10s} {'rows':>10s} {'cols':>5s} {'end-to-end s':>13s} {'peak MB':>8s}")
    for r in results:
        print(
            f"{r['generator']:10s} {args.rows:>10,d} {32:>5d} {r['end_to_end_seconds']:>13.1f} {r['peak_rss_mb']!s:>8s}"
        )
    # merge by (generator, rows), so generators can be measured in separate runs
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "scale.json"
    previous = json.loads(path.read_text()).get("results", []) if path.is_file() else []
    measured = {(r["generator"], args.rows) for r in results}
    kept = [r for r in previous if (r.get("generator"), r.get("rows")) not in measured]
    merged = kept + [{**r, "rows": args.rows, "columns": 32} for r in results]
    machine = f"{platform.machine()}, {os.cpu_count()} cores"
    path.write_text(json.dumps({"machine": machine, "results": merged}, indent=2))


if __name__ == "__main__":
    main()
