"""Value protection on census: what the per-model k costs in accuracy, and that nothing rare gets out.

    python benchmarks/value_protection.py [--generators copula] [--seeds 0,1,2,3,4]

The usual split (``default_rng(0).permutation``, first half training). For each generator and seed:
the model's k (:func:`synth_pipeline.protection.protection_k`), overall accuracy against the ceiling
(``evaluate(..., metrics={"accuracy"})``), and the leaks value protection rules out: synthetic labels
fewer than k training rows hold, numbers beyond the protected bounds (the k-th smallest and largest
training value), and the real minimum or maximum of every number column among the synthetic values.
Merges its runs into ``benchmarks/results/value_protection.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from synth_pipeline.columns import ColumnKind  # noqa: E402
from synth_pipeline.generators.registry import make_generator  # noqa: E402
from synth_pipeline.protection import protected_bounds, protection_k  # noqa: E402
from synth_pipeline.quality import evaluate  # noqa: E402
from synth_pipeline.schema import infer_schema  # noqa: E402

CENSUS = ROOT.parent / "shared" / "data" / "census.csv.gz"
RESULTS = ROOT / "benchmarks" / "results" / "value_protection.json"


def leaks(training: pd.DataFrame, synthetic: pd.DataFrame, k: int) -> dict[str, int]:
    """Counts of what value protection rules out (all should be 0)."""
    schema = infer_schema(training)
    rare_labels = beyond = extremes = 0
    for column in training.columns:
        kind = schema.kind(column).value
        if kind == "categorical":
            counts = training[column].value_counts()
            rare_labels += int(synthetic[column].isin(counts.index[counts < k]).sum())
        elif kind in ("integer", "numeric"):
            x = np.sort(training[column].dropna().to_numpy(dtype=float))
            low, high = protected_bounds(x, k)
            y = synthetic[column].dropna().to_numpy(dtype=float)
            beyond += int(((y < low - 1e-9) | (y > high + 1e-9)).sum())
            unique_extremes = [v for v in (x[0], x[-1]) if (x == v).sum() < k]
            extremes += int(np.isin(y, unique_extremes).sum())
    return {"rare_labels": rare_labels, "beyond_bounds": beyond, "rare_extremes": extremes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generators", default="copula")
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--out", default=str(RESULTS), help="JSON file to merge the runs into")
    args = parser.parse_args()
    census = pd.read_csv(CENSUS)
    order = np.random.default_rng(0).permutation(len(census))
    half = len(census) // 2
    training = census.iloc[order[:half]].reset_index(drop=True)
    holdout = census.iloc[order[half:]].reset_index(drop=True)
    categorical = infer_schema(training).names_of(ColumnKind.CATEGORICAL)
    counts = {c: training[c].value_counts() for c in categorical}
    rows = []
    print(f"{'generator':10s} {'seed':>4s} {'k':>3s} {'overall':>8s} {'ceiling':>8s} {'rare labels':>11s} "
          f"{'beyond':>7s} {'extremes':>8s} {'seconds':>8s}")
    for name in args.generators.split(","):
        for seed in (int(s) for s in args.seeds.split(",")):
            started = time.perf_counter()
            synthetic = make_generator(name, random_state=seed).fit(training).sample(len(holdout))
            seconds = time.perf_counter() - started
            k = protection_k(seed)
            accuracy = evaluate(training, holdout, synthetic, metrics={"accuracy"}, random_state=0).accuracy
            row = {"generator": name, "seed": seed, "k": k, "overall": accuracy.overall,
                   "overall_max": accuracy.overall_max, **leaks(training, synthetic, k), "seconds": seconds}
            rows.append(row)
            print(f"{name:10s} {seed:4d} {k:3d} {row['overall']:8.5f} {row['overall_max']:8.5f} "
                  f"{row['rare_labels']:11d} {row['beyond_bounds']:7d} {row['rare_extremes']:8d} {seconds:8.1f}")
    labels_5_to_9 = {c: int(((v >= 5) & (v < 10)).sum()) for c, v in counts.items()}
    print(f"census training labels held by 5-9 rows (the ones a k above 5 pools): {labels_5_to_9}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    out = Path(args.out)
    previous = json.loads(out.read_text())["runs"] if out.is_file() else []
    done = {(r["generator"], r["seed"]) for r in rows}
    rows = [r for r in previous if (r["generator"], r["seed"]) not in done] + rows
    out.write_text(json.dumps({"data": "census 50/50 split (default_rng(0) permutation)", "runs": rows,
                                   "labels_held_by_5_to_9_rows": labels_5_to_9,
                                   "load_average_1min": os.getloadavg()[0], "cpu_count": os.cpu_count()},
                                  indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
