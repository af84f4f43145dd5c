"""How long the README's demo takes: `synth-pipeline run examples/demo.yaml`, as a user runs it, twice.

Runs the command exactly as the quick start says, in a fresh empty directory
(so the first run trains, samples, checks and publishes version 1 and the
second run version 2), each in a fresh process, and measures its wall time,
including the interpreter start and the imports a user waits for. Also records
the CPU time of the child and the machine's load, because on a shared machine
wall time is what the load makes it. Prints one line per run and writes
``benchmarks/results/demo_time.json``.

    python benchmarks/demo_time.py            # two runs
    python benchmarks/demo_time.py --runs 3
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

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo where there is one)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def run_once(workdir: Path) -> dict:
    """One `synth-pipeline run examples/demo.yaml` in ``workdir``: wall and CPU seconds, exit status, its output."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_WAIT_POLICY": "PASSIVE", "GX_ANALYTICS_ENABLED": "false"}
    env.pop("DAGSTER_HOME", None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = os.getloadavg()[0]
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "assets.cli", "run", str(REPO / "examples" / "demo.yaml")],
        cwd=workdir, env=env, capture_output=True, text=True,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "wall_seconds": round(wall, 1),
        "cpu_seconds": round(cpu, 1),
        "load_before": round(load, 2),
        "exit_status": done.returncode,
        "summary": done.stdout.strip().splitlines(),
        "error": done.stderr.strip().splitlines()[-3:] if done.returncode else [],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2, help="runs in the same directory (versions 1, 2, ...)")
    args = parser.parse_args()
    machine = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    runs = []
    with tempfile.TemporaryDirectory(prefix="demo_time_") as tmp:
        for number in range(1, args.runs + 1):
            result = run_once(Path(tmp))
            runs.append(result)
            first = result["summary"][0] if result["summary"] else "; ".join(result["error"])
            print(
                f"run {number}: {result['wall_seconds']:.1f} s wall, {result['cpu_seconds']:.1f} s CPU "
                f"(load {result['load_before']:.1f} on {machine['cores']} cores), exit {result['exit_status']}: {first}"
            )
    walls = [r["wall_seconds"] for r in runs]
    print(f"demo lifecycle: {min(walls):.1f}-{max(walls):.1f} s wall on {machine['cores']} cores ({machine['cpu']})")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = {"command": "synth-pipeline run examples/demo.yaml", "machine": machine, "runs": runs,
           "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    (RESULTS / "demo_time.json").write_text(json.dumps(out, indent=2) + "\n")
    return 0 if all(r["exit_status"] == 0 for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
