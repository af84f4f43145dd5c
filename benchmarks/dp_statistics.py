"""DP statistics on census: what learning every statistic with differential privacy costs in accuracy.

    python benchmarks/dp_statistics.py [--epsilons 1,3,10] [--generators argn,copula] [--seed 0] [--no-baseline]

The usual split (``default_rng(0).permutation``, first half training, second half holdout). For each
total budget ``epsilon`` (``delta`` = 1e-5):

* **argn, DP statistics only**: the statistics' share of the budget (what
  :func:`synth_pipeline.generators.privacy_budget.split_budget` gives them with SGD) pays for
  every statistic learned outside SGD (:mod:`synth_pipeline.dp_statistics`), and the network trains
  *without* DP-SGD, so the row isolates the cost of the DP statistics. This is a measurement, not a
  mode a user can configure: ``privacy`` on argn always trains with DP-SGD too;
* **copula**: ``privacy`` as a user sets it (the copula learns only statistics: all of the budget).

Both against the same generator without privacy (``epsilon`` = inf). Overall accuracy is
``evaluate(..., metrics={"accuracy"})`` against its ceiling (holdout vs training). Merges its runs
into ``benchmarks/results/dp_statistics.json``; states the machine's load, which slows the fits.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from synth_pipeline.generators.argn import ARGNGenerator  # noqa: E402
from synth_pipeline.generators.copula import GaussianCopulaGenerator  # noqa: E402
from synth_pipeline.generators.privacy_budget import PrivacySettings  # noqa: E402
from synth_pipeline.quality import evaluate  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "census.csv.gz"
RESULTS = ROOT / "benchmarks" / "results" / "dp_statistics.json"
DELTA = 1e-5


class StatisticsOnlyARGN(ARGNGenerator):
    """argn whose statistics are DP under ``statistics_privacy`` while its SGD is not (measurement only)."""

    statistics_privacy: PrivacySettings | None = None

    def _statistics_privacy(self) -> PrivacySettings | None:
        return self.statistics_privacy


def load_split() -> tuple[pd.DataFrame, pd.DataFrame]:
    data = pd.read_csv(DATA)
    order = np.random.default_rng(0).permutation(len(data))
    half = len(data) // 2
    return data.iloc[order[:half]].reset_index(drop=True), data.iloc[order[half:]].reset_index(drop=True)


def run(name: str, epsilon: float, seed: int, training: pd.DataFrame, holdout: pd.DataFrame) -> dict[str, Any]:
    privacy = None if np.isinf(epsilon) else PrivacySettings(epsilon=epsilon, delta=DELTA)
    if name == "argn":
        generator = StatisticsOnlyARGN(random_state=seed, show_progress=False)
        generator.statistics_privacy = privacy
        if privacy is None:
            generator = ARGNGenerator(random_state=seed, show_progress=False)
    else:
        generator = GaussianCopulaGenerator(random_state=seed, privacy=privacy)
    started = time.monotonic()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        generator.fit(training)
        fit_seconds = time.monotonic() - started
        synthetic = generator.sample(len(holdout), random_state=seed)
        accuracy = evaluate(training, holdout, synthetic, metrics={"accuracy"}).accuracy
    spent = getattr(generator, "private_statistics_", None)
    return {
        "generator": name, "epsilon": None if np.isinf(epsilon) else epsilon, "seed": seed,
        "statistics_epsilon": spent["epsilon"] if spent else 0.0,
        "statistics_delta": spent["delta"] if spent else 0.0,
        "overall": accuracy.overall, "univariate": accuracy.univariate, "bivariate": accuracy.bivariate,
        "trivariate": accuracy.trivariate, "overall_max": accuracy.overall_max,
        "columns_not_learned": [c.name for c in generator.schema_.columns if c.kind.value == "id"],
        "fit_seconds": fit_seconds, "load_average": os.getloadavg()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epsilons", default="1,3,10")
    parser.add_argument("--generators", default="copula,argn")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-baseline", action="store_true", help="skip the runs without privacy (kept from before)")
    args = parser.parse_args()
    training, holdout = load_split()
    epsilons = [] if args.no_baseline else [float("inf")]
    epsilons += [float(e) for e in args.epsilons.split(",")]
    rows = []
    for name in args.generators.split(","):
        for epsilon in epsilons:
            row = run(name, epsilon, args.seed, training, holdout)
            rows.append(row)
            print(f"{name:7s} eps={epsilon:>4g}  statistics eps={row['statistics_epsilon']:.3f}  "
                  f"overall={row['overall']:.4f} (uni {row['univariate']:.4f} bi {row['bivariate']:.4f} "
                  f"tri {row['trivariate']:.4f}; ceiling {row['overall_max']:.4f})  "
                  f"not learned {row['columns_not_learned']}  fit {row['fit_seconds']:.0f} s  "
                  f"load {row['load_average']:.1f}", flush=True)
    previous = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {"runs": []}
    keep = [r for r in previous["runs"] if (r["generator"], r["epsilon"], r["seed"]) not in
            {(r["generator"], r["epsilon"], r["seed"]) for r in rows}]
    RESULTS.write_text(json.dumps({"dataset": "census", "delta": DELTA, "measured_at": datetime.now(UTC).isoformat(),
                                   "runs": keep + rows}, indent=2, default=float) + "\n")
    print(f"written {RESULTS}")


if __name__ == "__main__":
    main()
