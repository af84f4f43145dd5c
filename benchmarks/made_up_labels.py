"""Made-up labels against frequent stand-ins for argn's drawn rare categories, on one fitted model (issue 15).

    python benchmarks/made_up_labels.py [--jobs sim_listings:0,sim_listings:1,...] [--out FILE]

The usual benchmark split (``benchmarks/generators.py``: ``load_split``). Per table and seed, argn
(``random_state`` = the seed, one thread) is fitted with ``made_up_labels`` off (the default: a drawn rare code
of a text category written as a frequent value drawn uniformly) and on (a made-up label of a frequent label's
shape, see ``argn/encoders/made_up_labels.py``) and samples as many rows as the holdout has, as
``benchmarks/generators.py`` samples (the model's own seed). The labels are made up after training, so both
fits have the same network and draw the same codes (made-up labels draw from the sampling generator, so numbers
later in a row may take other places inside their slices). Each table is
scored with :func:`synth_pipeline.quality.evaluate`: DCR share (worst over subsets and views, and all
columns), overall accuracy (and its holdout ceiling), discriminator AUC. Merges into
``benchmarks/results/made_up_labels.json`` (or ``--out``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from generators import TARGETS, load_split, report_scores  # noqa: E402

from synth_pipeline.generators.argn import ARGNGenerator  # noqa: E402
from synth_pipeline.quality import evaluate  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "made_up_labels.json"
KEPT = ("overall", "univariate", "bivariate", "trivariate", "overall_max", "dcr_share", "dcr_share_all_columns",
        "discriminator_auc", "ims_training")
DEFAULT_JOBS = "sim_listings:0,sim_listings:1,sim_listings:2,sim_race_splits:0,sim_race_splits:1,sim_race_splits:2"


def measure(dataset: str, seed: int) -> dict[str, Any]:
    """Fit with made-up labels off and on; score the samples."""
    training, holdout = load_split(dataset)
    result: dict[str, Any] = {"training_rows": len(training)}
    for made_up in (False, True):
        started = time.perf_counter()
        model = ARGNGenerator(random_state=seed, n_threads=1, made_up_labels=made_up).fit(training)
        result["fit_seconds"] = time.perf_counter() - started
        result["k"] = model._protection_k()
        synthetic = model.sample(len(holdout))
        scores = report_scores(evaluate(training, holdout, synthetic, target=TARGETS[dataset]))
        name = f"made_up_labels={str(made_up).lower()}"
        result[name] = {key: scores[key] for key in KEPT}
        print(f"{dataset} seed {seed} {name}: " + ", ".join(
            f"{k} {v:.4f}" for k, v in result[name].items() if v is not None), flush=True)
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", default=DEFAULT_JOBS, help="comma-separated dataset:seed pairs")
    parser.add_argument("--out", default=str(RESULTS), help="JSON file to merge results into")
    args = parser.parse_args(argv)
    out = Path(args.out)
    results = json.loads(out.read_text()) if out.is_file() else {}
    for job in [j for j in args.jobs.split(",") if j]:
        dataset, seed = job.split(":")
        if dataset not in TARGETS:
            parser.error(f"unknown dataset {dataset!r}")
        row = measure(dataset, int(seed))
        results.setdefault(dataset, {})[seed] = {"measured_at": datetime.now(UTC).isoformat(timespec="seconds"), **row}
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
