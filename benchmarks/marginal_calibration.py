"""What argn's marginal calibration (``calibrate_marginals``) does, on one trained network each (issue 19).

    python benchmarks/marginal_calibration.py [--datasets creditcard_default,census,bank_marketing]
                                              [--seed 0] [--spread 3] [--out F]

For each table (the split of ``benchmarks/generators.py``): argn is fitted with default settings except
``calibrate_marginals: false``, and samples as many rows as the holdout has; then the same network is
calibrated (``marginal_calibration.calibrate_to_training``, as a default fit does after training) and
samples again with the same seed. Both tables are scored by ``generators.score`` (accuracy, DCR share,
discriminator, TSTR, ...), beside the holdout's own accuracy (the ceiling), with each column's univariate
accuracy. ``--spread N``: the overall accuracy again for calibration seeds 0..N-1 x sample seeds 0..1 (and the
uncalibrated network for sample seeds 0..N-1), how much the calibration's own sampling moves it. Prints a table
and writes ``benchmarks/results/marginal_calibration.json``.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import subprocess
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pandas as pd  # noqa: E402
import torch  # noqa: E402
from generators import TARGETS, load_split, score  # noqa: E402

from synth_pipeline.generators.argn import ARGNGenerator  # noqa: E402
from synth_pipeline.generators.argn.marginal_calibration import calibrate_to_training  # noqa: E402
from synth_pipeline.quality import evaluate  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "marginal_calibration.json"
KEPT = ("overall", "univariate", "bivariate", "trivariate", "overall_max", "dcr_share", "dcr_share_all_columns",
        "discriminator_auc", "tstr_auc", "trtr_auc", "mia_auc")


def measure(dataset: str, seed: int, spread: int) -> dict[str, Any]:
    training, holdout = load_split(dataset)
    started = time.perf_counter()
    model = ARGNGenerator(random_state=seed, calibrate_marginals=False, show_progress=False).fit(training)
    fit_seconds = time.perf_counter() - started
    rows: dict[str, Any] = {"fit_seconds": round(fit_seconds, 1), "epochs": model.training_report_["epochs"]}
    trained, codes = copy.deepcopy(model.network_.state_dict()), model.encoder_.encode(training)
    rows["spread_not_calibrated"] = [_overall(model, training, holdout, s) for s in range(spread)]
    rows["spread_calibrated"] = []
    for calibration_seed in range(spread):
        model.network_.load_state_dict(trained)
        calibrate_to_training(model.network_, model.encoder_, codes, torch.Generator().manual_seed(calibration_seed))
        rows["spread_calibrated"].append([_overall(model, training, holdout, s) for s in range(2)])
    model.network_.load_state_dict(trained)
    for name in ("not calibrated", "calibrated"):
        if name == "calibrated":
            started = time.perf_counter()
            calibrate_to_training(model.network_, model.encoder_, codes, torch.Generator().manual_seed(seed))
            rows["calibration_seconds"] = round(time.perf_counter() - started, 1)
        synthetic = model.sample(len(holdout), random_state=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scores = score(training, holdout, synthetic, TARGETS[dataset])
        rows[name] = {k: scores.get(k) for k in KEPT}
    return rows


def _overall(model: ARGNGenerator, training: pd.DataFrame, holdout: pd.DataFrame, seed: int) -> float:
    synthetic = model.sample(len(holdout), random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return round(evaluate(training, holdout, synthetic, random_state=0, metrics={"accuracy"}).accuracy.overall, 5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default="creditcard_default,census,bank_marketing")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--spread", type=int, default=3, help="calibration seeds for the spread (0: none)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    results = {dataset: measure(dataset, args.seed, args.spread) for dataset in args.datasets.split(",")}
    table = []
    for dataset, rows in results.items():
        for name in ("not calibrated", "calibrated"):
            r = rows[name]
            table.append({"dataset": dataset, "argn": name, "overall": f"{r['overall']:.4f}",
                          "uni / bi / tri": f"{r['univariate']:.3f} / {r['bivariate']:.3f} / {r['trivariate']:.3f}",
                          "ceiling": f"{r['overall_max']:.4f}", "dcr_share": f"{r['dcr_share']:.3f}",
                          "disc AUC": f"{r['discriminator_auc']:.3f}", "TSTR": f"{r['tstr_auc']:.3f}"})
    print(pd.DataFrame(table).to_string(index=False))
    for dataset, rows in results.items():
        print(f"{dataset}: overall, not calibrated (sample seeds) {rows['spread_not_calibrated']}; calibrated "
              f"(calibration seed x sample seeds) {rows['spread_calibrated']}")
    uptime = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    document = {"benchmark": "marginal_calibration", "when": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "uptime": uptime},
                "seed": args.seed, "results": results}
    args.out.write_text(json.dumps(document, indent=1, default=str) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
