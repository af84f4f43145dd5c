"""How small may a training table be? The measurement behind ``min_training_rows`` (issue 18, §1).

    python benchmarks/small_tables.py [--sizes 1,2,5,10,20,50,100,200,500] [--reps 20] [--generator-seeds 1]
                                      [--datasets census,bank_marketing,creditcard_default,churn]

Two questions, on the tables of ``../shared/data`` (``churn`` is simulated, so it always runs):

1. *When do the default gates mean something?* For each training size n, ``--reps`` times: 3n distinct real
   rows drawn at random (seeded) become training (n), holdout (n) and, as "synthetic", n further real rows,
   i.e. what a perfect generator would produce. Scored with :func:`synth_pipeline.quality.evaluate` and the
   default :class:`~synth_pipeline.quality.gates.Gates`: how often would a perfect generator be blocked, and
   how far does ``dcr_share`` stray from 0.5 (95th percentile)?
2. *When do the default generators stop producing copies?* For each n, argn and copula with default settings
   are trained on n real rows (2n drawn, split in halves) and sample n rows: the share of synthetic rows
   identical to a training row beyond the holdout's own rate (``max_ims_training``'s metric), the DCR share,
   and the verdict of the default gates.

Prints two tables per dataset and merges them into ``benchmarks/results/small_tables.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from synth_pipeline.generators.registry import make_generator  # noqa: E402
from synth_pipeline.quality import check_gates, evaluate  # noqa: E402
from synth_pipeline.quality.gates import Gates, blocking_failures  # noqa: E402
from synth_pipeline.schema import infer_schema  # noqa: E402
from synth_pipeline.simulate import simulate_churn  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = REPO.parent / "shared" / "data"
RESULTS = REPO / "benchmarks" / "results" / "small_tables.json"
METRICS = {"accuracy", "distances", "attacks"}


def load(dataset: str) -> pd.DataFrame | None:
    if dataset == "churn":
        return simulate_churn(10_000, random_state=0)
    path = DATA_DIR / f"{dataset}.csv.gz"
    return pd.read_csv(path) if path.is_file() else None


def scored(training: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame, schema: Any) -> dict[str, Any]:
    """The privacy numbers and the default gates' verdict of one synthetic table."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = evaluate(training, holdout, synthetic, schema=schema, metrics=METRICS, random_state=0)
    d = report.distances
    results = check_gates(report, Gates())
    return {
        "dcr_share": d.dcr_share,
        "ims_training": d.ims_training,
        "ims_holdout_training": d.ims_holdout_training,
        "ims_excess": d.ims_training - d.ims_holdout_training,
        "accuracy_ratio": _ratio(report),
        "blocked_by": [r.name for r in blocking_failures(results)],
    }


def _ratio(report: Any) -> float | None:
    return report.accuracy.overall / report.accuracy.overall_max if report.accuracy.overall_max else None


def perfect_generator(data: pd.DataFrame, schema: Any, n: int, reps: int) -> dict[str, Any]:
    """Question 1: fresh real rows scored as if they were synthetic."""
    rows = []
    for rep in range(reps):
        order = np.random.default_rng(1000 + rep).permutation(len(data))[: 3 * n]
        parts = [data.iloc[order[k * n : (k + 1) * n]].reset_index(drop=True) for k in range(3)]
        rows.append(scored(*parts, schema))
    dcr = np.array([r["dcr_share"] for r in rows])
    excess = np.array([r["ims_excess"] for r in rows])
    blocked = [r["blocked_by"] for r in rows]
    return {
        "n_training": n,
        "reps": reps,
        "dcr_share_p95": float(np.quantile(dcr, 0.95)),
        "dcr_share_max": float(dcr.max()),
        "ims_excess_p95": float(np.quantile(excess, 0.95)),
        "ims_excess_max": float(excess.max()),
        "ims_holdout_training_mean": float(np.mean([r["ims_holdout_training"] for r in rows])),
        "blocked_share": float(np.mean([bool(b) for b in blocked])),
        "blocked_by": {g: int(sum(g in b for b in blocked)) for g in Gates().active()},
    }


def default_generator(data: pd.DataFrame, schema: Any, n: int, generator: str, seed: int) -> dict[str, Any]:
    """Question 2: a default generator trained on n real rows."""
    order = np.random.default_rng(2000 + seed).permutation(len(data))[: 2 * n]
    training = data.iloc[order[:n]].reset_index(drop=True)
    holdout = data.iloc[order[n:]].reset_index(drop=True)
    started = time.perf_counter()
    model = make_generator(generator, random_state=seed, column_kinds={c.name: c.kind.value for c in schema.columns})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        synthetic = model.fit(training).sample(n)
    return {"n_training": n, "generator": generator, "seed": seed, "seconds": time.perf_counter() - started,
            **scored(training, holdout, synthetic, schema)}


def _print_perfect(dataset: str, rows: list[dict[str, Any]]) -> None:
    print(f"\n{dataset}: fresh real rows scored as synthetic (a perfect generator)")
    print("  n_train  blocked  dcr p95  dcr max  excess p95  natural dup.  blocked by")
    for r in rows:
        by = ", ".join(f"{g} {k}" for g, k in r["blocked_by"].items() if k)
        print(f"  {r['n_training']:>7}  {r['blocked_share']:>7.0%}  {r['dcr_share_p95']:.3f}    "
              f"{r['dcr_share_max']:.3f}    {r['ims_excess_p95']:+.4f}     {r['ims_holdout_training_mean']:.4f}"
              f"        {by}")


def _print_generators(dataset: str, rows: list[dict[str, Any]]) -> None:
    print(f"\n{dataset}: default generators")
    print("  n_train  generator  ims_train  natural  excess   dcr    blocked by")
    for r in rows:
        print(f"  {r['n_training']:>7}  {r['generator']:<9}  {r['ims_training']:.4f}     "
              f"{r['ims_holdout_training']:.4f}   {r['ims_excess']:+.4f}  {r['dcr_share']:.3f}  "
              f"{', '.join(r['blocked_by']) or '-'}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="census,bank_marketing,creditcard_default,churn")
    parser.add_argument("--sizes", default="1,2,5,10,20,50,100,200,500")
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--generators", default="argn,copula")
    parser.add_argument("--generator-seeds", type=int, default=1)
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    out = Path(args.out)
    results: dict[str, Any] = json.loads(out.read_text()) if out.is_file() else {}
    results.setdefault("datasets", {})
    results["gates"] = {k: v.model_dump() for k, v in Gates().active().items()}
    for dataset in args.datasets.split(","):
        data = load(dataset)
        if data is None:
            print(f"({dataset} skipped: not in {DATA_DIR})")
            continue
        schema = infer_schema(data, what=dataset)
        perfect = [perfect_generator(data, schema, n, args.reps) for n in sizes]
        _print_perfect(dataset, perfect)
        generated = [default_generator(data, schema, n, g, seed) for n in sizes
                     for g in args.generators.split(",") for seed in range(args.generator_seeds)]
        _print_generators(dataset, generated)
        results["datasets"][dataset] = {
            "sizes": sizes, "reps": args.reps, "perfect_generator": perfect, "default_generators": generated,
            "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        out.write_text(json.dumps(results, indent=1, default=float))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
