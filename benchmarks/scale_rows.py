"""Accuracy versus training rows: where more rows stop buying argn accuracy on the wide simulated table.

Simulates ``--rows`` rows of the 32-column table of ``benchmarks/scale.py``, splits them in halves (training,
holdout) as the lifecycle does, and for each cap in ``--caps`` fits argn on a stratified-free, seeded sample of
that many training rows (the ``max_training_rows`` sample) under the same time budget ``--train-seconds`` (the cell
budget ``max_cells_seen`` is lifted, so that only time limits training and more rows mean fewer epochs), samples
``--sample-rows`` rows and measures the QA step's accuracy against the holdout ceiling (100,000-row subsamples,
as the lifecycle's QA). Per cap: fit seconds, epochs, stop reason, accuracy, ceiling and gap in points. Prints a
table and writes ``benchmarks/results/scale_rows.json``. The default ``max_training_rows`` is chosen from it
(README, "Scale").

    python benchmarks/scale_rows.py                                   # 1,470,000 rows, caps 50k..735k, 240 s each
    python benchmarks/scale_rows.py --rows 400000 --caps 25000,50000,100000 --train-seconds 120
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from scale import wide_spec  # noqa: E402  (the table of the end-to-end benchmark)

RESULTS = ROOT / "benchmarks" / "results"


def measure(training, holdout, cap: int, seconds: float, sample_rows: int) -> dict:  # noqa: ANN001
    """Fit argn on ``cap`` training rows, sample, and score against the holdout ceiling."""
    from synth_pipeline.generators.registry import make_generator
    from synth_pipeline.quality.evaluate import evaluate
    from synth_pipeline.split import capped_positions

    positions = capped_positions(len(training), cap, None, random_state=0)
    learned = training if positions is None else training.iloc[positions].reset_index(drop=True)
    generator = make_generator(  # the same time for every cap: the cell budget is lifted, time alone stops it
        "argn", random_state=0, max_training_seconds=seconds, max_cells_seen=10**15, show_progress=False
    )
    started = time.perf_counter()
    generator.fit(learned)
    fit_seconds = time.perf_counter() - started
    started = time.perf_counter()
    synthetic = generator.sample(sample_rows, random_state=1)
    sample_seconds = time.perf_counter() - started
    accuracy = evaluate(training, holdout, synthetic, metrics={"accuracy"}, max_rows=100_000).accuracy
    report = generator.training_report_
    return {
        "cap": cap, "rows_seen": len(learned), "fit_seconds": round(fit_seconds, 1), "epochs": report["epochs"],
        "best_epoch": report["best_epoch"], "stopped_because": report["stopped_because"],
        "sample_rows_per_second": round(sample_rows / sample_seconds), "accuracy": round(accuracy.overall, 4),
        "ceiling": round(accuracy.overall_max, 4), "gap_pp": round(100 * (accuracy.overall_max - accuracy.overall), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_470_000)
    parser.add_argument("--caps", default="50000,100000,200000,400000,735000")
    parser.add_argument("--train-seconds", type=float, default=240.0)
    parser.add_argument("--sample-rows", type=int, default=100_000)
    args = parser.parse_args()
    from synth_pipeline.simulate import simulate
    from synth_pipeline.split import split_holdout

    load = os.getloadavg()
    source = simulate(wide_spec(), args.rows, random_state=0)
    training, holdout = split_holdout(source, fraction=0.5, random_state=0)
    del source
    results = []
    for cap in (int(c) for c in args.caps.split(",")):
        results.append(measure(training, holdout, cap, args.train_seconds, args.sample_rows))
        print(json.dumps(results[-1]), flush=True)
    print(f"\n{'cap':>9s} {'seen':>9s} {'fit s':>7s} {'epochs':>6s} {'accuracy':>9s} {'ceiling':>8s} {'gap pp':>7s}")
    for r in results:
        print(f"{r['cap']:>9,d} {r['rows_seen']:>9,d} {r['fit_seconds']:>7.1f} {r['epochs']:>6d} "
              f"{r['accuracy']:>9.4f} {r['ceiling']:>8.4f} {r['gap_pp']:>7.2f}")
    load_after = os.getloadavg()
    print(f"load average before {load[0]:.1f}, after {load_after[0]:.1f}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "scale_rows.json").write_text(json.dumps({
        "machine": f"{platform.machine()}, {os.cpu_count()} cores", "rows": args.rows,
        "train_seconds": args.train_seconds, "load_average": [load, load_after], "results": results,
    }, indent=2))


if __name__ == "__main__":
    main()
