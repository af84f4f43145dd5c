"""argn's fit time against an earlier commit, on this machine, interleaved (issue 19: "fit time no worse than today").

    python benchmarks/fit_time.py [--baseline 491ab5a] [--dataset census] [--repeats 3] [--out F]

The development machines are shared virtual machines whose speed drifts by 10-20% within an hour, so one
timing of each commit compares the hours rather than the code. This script checks the baseline commit out
into a temporary git worktree and fits argn (default settings, ``random_state=0``) on the benchmark split
of ``--dataset`` (``generators.load_split``: ``../shared/data``) alternately with the baseline's code and
this checkout's, ``--repeats`` times each, every fit in a fresh Python process (as ``generators.py`` times
it: the wall time of ``fit``, imports excluded). It prints each timing, the means and the ratio, and writes
``benchmarks/results/fit_time.json``. Both fits must give the same number of epochs for the comparison to
be about speed; the epochs are printed beside each timing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results" / "fit_time.json"

#: run in the child: fit on the split, print seconds and epochs as JSON (``sys.argv``: code root, dataset)
CHILD = """
import json, sys, time
sys.path.insert(0, sys.argv[1] + "/benchmarks")
from generators import load_split
from synth_pipeline.generators.argn import ARGNGenerator
training, _ = load_split(sys.argv[2])
generator = ARGNGenerator(random_state=0)
started = time.perf_counter()
generator.fit(training)
print(json.dumps({"fit_seconds": time.perf_counter() - started, "epochs": generator.training_report_["epochs"]}))
"""


def fit_once(code_root: Path, dataset: str) -> dict[str, float]:
    """One fit with the code under ``code_root``, in a fresh process; its seconds and epochs."""
    env = os.environ | {"PYTHONPATH": str(code_root), "OMP_WAIT_POLICY": "PASSIVE"}
    done = subprocess.run([sys.executable, "-c", CHILD, str(code_root), dataset], cwd=code_root, env=env,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default="491ab5a", help="the earlier commit (default: before issue 19's "
                        "calibration, 491ab5a)")
    parser.add_argument("--dataset", default="census")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout.strip()
    with tempfile.TemporaryDirectory() as tmp:
        baseline_root = Path(tmp) / "baseline"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(baseline_root), args.baseline], cwd=ROOT,
                       check=True)
        # the baseline reads ../shared/data from beside its own checkout
        (Path(tmp) / "shared").symlink_to((ROOT.parent / "shared").resolve())
        try:
            runs: list[dict[str, object]] = []
            for repeat in range(args.repeats):
                for name, root in (("baseline", baseline_root), ("this", ROOT)):
                    timing = fit_once(root, args.dataset)
                    runs.append({"code": name, "repeat": repeat, **timing})
                    print(f"  {name:8s} run {repeat + 1}: {timing['fit_seconds']:7.1f} s, {timing['epochs']} epochs",
                          flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(baseline_root)], cwd=ROOT, check=False)
    means = {name: statistics.mean(float(r["fit_seconds"]) for r in runs if r["code"] == name)
             for name in ("baseline", "this")}
    print(f"\n{args.dataset}: baseline {args.baseline} {means['baseline']:.1f} s, this ({head}) {means['this']:.1f} s "
          f"(ratio {means['this'] / means['baseline']:.3f}; {args.repeats} interleaved fits each)")
    result = {
        "benchmark": "fit_time", "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                    "uptime": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()},
        "dataset": args.dataset, "baseline": args.baseline, "this": head, "runs": runs,
        "mean_seconds": means, "ratio": means["this"] / means["baseline"],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"results written to {args.out}")


if __name__ == "__main__":
    main()
