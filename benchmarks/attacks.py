"""The QA report's attacks on the default argn, with and without 20% planted training copies (issue 15).

    python benchmarks/attacks.py [--datasets census,bank_marketing,creditcard_default] [--synthetic-dir DIR]

Each dataset is split as in ``benchmarks/generators.py`` (``default_rng(0)`` permutation, halves); the default
argn (``random_state=0``) is trained on the first half and samples as many rows as the holdout has (or its
table is read from ``DIR/<dataset>_argn.parquet`` when given, e.g. kept from an earlier run); then the same table
with 20% of its rows replaced by training rows. Both are scored with :func:`synth_pipeline.quality.evaluate`
(attacks and distances; all sections for the argn table, to time them) and the default gates. Targets: MIA AUC
<= 0.53 for argn on census and creditcard_default; the 20%-copy tables fail ``max_mia_auc``.
Prints a table and merges the results into ``benchmarks/results/attacks.json``.
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
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from generators import TARGETS, load_split  # noqa: E402

from synth_pipeline.generators.registry import make_generator  # noqa: E402
from synth_pipeline.quality import check_gates, evaluate  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "attacks.json"


def with_copies(synthetic: pd.DataFrame, training: pd.DataFrame, share: float = 0.2) -> pd.DataFrame:
    rows = np.random.default_rng(1).choice(len(synthetic), size=int(share * len(synthetic)), replace=False)
    leaky = synthetic.copy()
    leaky.iloc[rows] = training.iloc[rows].to_numpy()
    return leaky.astype(synthetic.dtypes.to_dict())


def measure(training: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame, target: str, full: bool) -> dict:
    started = time.perf_counter()
    report = evaluate(training, holdout, synthetic, target=target, random_state=0,
                      metrics=None if full else {"attacks", "distances"})
    a, r = report.attacks, report.attacks.reidentification
    return {
        "mia_auc": a.mia_auc, "mia_tpr_at_1pct_fpr": a.mia_tpr_at_1pct_fpr, "mia_auc_null_sd": a.mia_auc_null_sd,
        "mia_rows": a.mia_rows, "attribute_inference": [x.model_dump() for x in a.attribute_inference],
        "singling_out_risk": r.singling_out_risk, "linkability_risk": r.linkability_risk,
        "dcr_share": report.distances.dcr_share,
        "gates": {g.name: {"value": g.value, "passed": g.passed, "blocking": g.blocking} for g in check_gates(report)},
        "seconds_by_section": report.metadata.seconds_by_section, "seconds": time.perf_counter() - started,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(TARGETS))
    parser.add_argument("--synthetic-dir", default=None, help="read <dataset>_argn.parquet from here")
    args = parser.parse_args()
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    for dataset in args.datasets.split(","):
        training, holdout = load_split(dataset)
        kept = Path(args.synthetic_dir) / f"{dataset}_argn.parquet" if args.synthetic_dir else None
        if kept is not None and kept.is_file():
            synthetic = pd.read_parquet(kept)
        else:
            synthetic = make_generator("argn", random_state=0).fit(training).sample(len(holdout))
        rows = {"argn": measure(training, holdout, synthetic, TARGETS[dataset], full=True),
                "argn_20pct_training_copies": measure(training, holdout, with_copies(synthetic, training),
                                                      TARGETS[dataset], full=False)}
        for name, row in rows.items():
            gains = ", ".join(f"{x['column']} {x['gain']:+.3f}" for x in row["attribute_inference"])
            failed = [g for g, v in row["gates"].items() if not v["passed"]]
            print(f"{dataset:20s} {name:28s} MIA AUC {row['mia_auc']:.3f} (±{row['mia_auc_null_sd']:.3f}) "
                  f"TPR@1%FPR {row['mia_tpr_at_1pct_fpr']:.3f}  gain {gains}  singling out "
                  f"{row['singling_out_risk']:+.3f}  linkability {row['linkability_risk']:+.3f}  "
                  f"attacks {row['seconds_by_section'].get('attacks', float('nan')):.1f} s  "
                  f"failed: {', '.join(failed) or '-'}", flush=True)
        results[dataset] = {**rows, "load_average_1min": os.getloadavg()[0], "cpu_count": os.cpu_count()}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, default=float) + "\n")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}; wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
