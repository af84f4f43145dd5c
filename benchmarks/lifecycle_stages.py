"""Where the time of one lifecycle goes: wall and CPU seconds per step, and per QA section, on the wide table.

Runs ingest -> split -> train -> sample -> assess -> publish through the core (no Dagster: the steps
``synth-pipeline run`` wires) on ``benchmarks/scale.py``'s simulated table of ``--rows`` rows x 32
columns, in a fresh process, and measures each step's wall time and the process's CPU time (user +
system, every thread) while it ran; the QA report's own seconds per section come from its metadata.
CPU seconds are what to compare on a busy machine (the wall time then depends on the other processes);
the load average is printed and stored beside them. Writes ``benchmarks/results/lifecycle_stages.json``
(merged by generator and rows).

    python benchmarks/lifecycle_stages.py                          # copula, 1,470,000 rows
    python benchmarks/lifecycle_stages.py --rows 200000 --generator argn
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
ROOT = Path(__file__).resolve().parents[1]

# One lifecycle through the core, in the child process: prints STAGES=<json>.
_CHILD = """
import json, resource, sys, time
from pathlib import Path
from synth_pipeline import lifecycle
from synth_pipeline.config import DatasetConfig
from synth_pipeline.model_store import ModelStore
from synth_pipeline.sources import ConfiguredSource
from synth_pipeline.warehouse import SnapshotStore
source_path, generator, work = sys.argv[1], sys.argv[2], Path(sys.argv[3])
stages = {}
def timed(name, step, *args, **kwargs):
    wall, cpu = time.perf_counter(), time.process_time()
    result = step(*args, **kwargs)
    stages[name] = {"wall_s": round(time.perf_counter() - wall, 2), "cpu_s": round(time.process_time() - cpu, 2)}
    return result
dataset = DatasetConfig.model_validate({"name": "wide", "source": {"path": source_path}, "seed": 0,
                                        "generator": {"name": generator}})
models, warehouse = ModelStore(work / "models"), SnapshotStore(work / "warehouse.duckdb")
source = timed("ingest", lifecycle.ingest, dataset, ConfiguredSource(dataset.source), work / "run")
halves = timed("split", lifecycle.split, dataset, source.files)
trained = timed("train", lifecycle.train, dataset, halves.training, source.files, models)
sampled = timed("sample", lifecycle.sample_snapshot, dataset, trained.model, models, warehouse)
assessment = timed("assess", lifecycle.assess, dataset, halves.training, halves.holdout, sampled.snapshot,
                   trained.model, models, warehouse, run_id=sampled.run_id)
timed("publish", lifecycle.publish, dataset, assessment, sampled.snapshot, trained.model, warehouse)
metadata = assessment.report.metadata
print("STAGES=" + json.dumps({
    "stages": stages, "qa_sections_wall_s": metadata.seconds_by_section, "qa_rows_used": {
        "training": metadata.rows_used_training, "comparison": metadata.rows_used_comparison,
        "distances": metadata.rows_used_distances},
    "passed": assessment.passed, "accuracy": assessment.report.accuracy.overall,
    "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))
"""


def measure(rows: int, generator: str) -> dict:
    """One lifecycle of ``generator`` on ``rows`` simulated rows, in a fresh process."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from scale import write_source  # the simulated wide table, as scale.py writes it

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        source = work / "wide.parquet"
        write_source(source, rows)
        load = os.getloadavg()
        started = time.perf_counter()
        env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "GX_ANALYTICS_ENABLED": "false", "PYTHONPATH": str(ROOT)}
        done = subprocess.run([sys.executable, "-c", _CHILD, str(source), generator, str(work)], env=env,
                              capture_output=True, text=True, cwd=ROOT)
        seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    line = next(line for line in done.stdout.splitlines() if line.startswith("STAGES="))
    return {"generator": generator, "rows": rows, "columns": 32, "process_seconds": round(seconds, 1),
            **json.loads(line[len("STAGES="):]), "load_average": [load, os.getloadavg()]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_470_000)
    parser.add_argument("--generator", default="copula")
    args = parser.parse_args()
    result = measure(args.rows, args.generator)
    print(f"{'step':10s} {'wall s':>8s} {'cpu s':>8s}")
    for name, stage in result["stages"].items():
        print(f"{name:10s} {stage['wall_s']:>8.1f} {stage['cpu_s']:>8.1f}")
    print("QA sections (wall s):", result["qa_sections_wall_s"])
    print(f"process {result['process_seconds']} s, peak {result['peak_rss_mb']} MB; load average before/after: "
          f"{result['load_average'][0][0]:.1f} / {result['load_average'][1][0]:.1f}")
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "lifecycle_stages.json"
    previous = json.loads(path.read_text()).get("results", []) if path.is_file() else []
    kept = [r for r in previous if (r["generator"], r["rows"]) != (args.generator, args.rows)]
    path.write_text(json.dumps({"results": kept + [result]}, indent=1))


if __name__ == "__main__":
    main()
