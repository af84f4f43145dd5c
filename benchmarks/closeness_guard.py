"""Does the sampling-time closeness guard lower argn's DCR share without costing accuracy? (issue 15)

    python benchmarks/closeness_guard.py [--jobs sim_listings:0,sim_listings:1,...] [--models DIR]

The usual benchmark split (``benchmarks/generators.py``). Per table and seed, default argn
(``random_state`` = the seed) is fitted once (or loaded from ``--models``, where fitted models are kept, so a
re-run only samples); the guard is fitted on it from the training rows. The model then samples as many rows
as the holdout has once per ``--shares`` value of ``closeness_guard`` (``set_params``; 0 is off; same seed),
and every table is scored with :func:`synth_pipeline.quality.evaluate`: DCR share (worst over subsets and
views, and all columns), overall accuracy against the holdout's ceiling, discriminator AUC, and the CPU
seconds of sampling (the guard's search included). A saved model without a guard gets one fitted here, from
its own generator (``default_rng([seed, 2])``): the same procedure as in ``fit``, other random draws.
With ``--tails``, also the share of rows whose closeness ratio falls below fresh rows' 5% / 10% quantile, per
column subset and on any subset, for the unguarded synthetic rows and for the holdout rows (fresh rows, so what
the guard would redraw of a perfect generator's): if the model's rows were too close in the guard's sense, the
first would exceed the second. Merges into ``benchmarks/results/closeness_guard.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from generators import TARGETS, load_split, report_scores  # noqa: E402

from synth_pipeline.columns import ColumnKind  # noqa: E402
from synth_pipeline.generators.argn import ARGNGenerator  # noqa: E402
from synth_pipeline.generators.base import Generator  # noqa: E402
from synth_pipeline.generators.closeness_guard import fit_guard  # noqa: E402
from synth_pipeline.quality import evaluate  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "closeness_guard.json"
DEFAULT_JOBS = ("sim_listings:0,sim_listings:1,sim_listings:2,sim_race_splits:0,sim_race_splits:1,"
                "sim_race_splits:2,creditcard_default:0,census:0")
KEPT = ("dcr_share", "dcr_share_all_columns", "overall", "overall_max", "discriminator_auc")


def fitted(dataset: str, seed: int, training: Any, models: Path | None) -> ARGNGenerator:
    """Default argn on ``training``; kept in (and loaded from) ``models`` when given.

    A model saved before it had a guard gets one fitted now, as ``fit`` fits it (last, from the training rows).
    """
    path = models / f"{dataset}_{seed}" / "model" if models else None
    if path is not None and path.exists():
        model = Generator.load(path)
    else:
        model = ARGNGenerator(random_state=seed).fit(training)
        if path is not None:
            model.save(path)
    if model.closeness_guard_ is None and len(training) <= 50_000:
        schema = model.schema_
        kinds = {c: schema.kind(c) for c in model.model_columns if schema.kind(c) is not ColumnKind.TEXT}
        rows = training[list(kinds)].reset_index(drop=True)
        rows = rows if model.enforcer_ is None else model.enforcer_.to_model(rows)
        model.closeness_guard_ = fit_guard(rows, kinds, np.random.default_rng([seed, 2]))
    return model


def tail_shares(model: ARGNGenerator, holdout: Any, seed: int) -> dict[str, Any]:
    """Per share 0.05 / 0.1: the rows below fresh rows' quantile, per subset and on any, unguarded and holdout."""
    guard = model.closeness_guard_
    model.set_params(closeness_guard=0.0)
    ratios = {"synthetic": guard.ratios(model.sample(len(holdout), random_state=seed)[guard.columns]),
              "holdout": guard.ratios(holdout[guard.columns])}
    out: dict[str, Any] = {}
    for share in (0.05, 0.1):
        thresholds = np.array([np.interp(share, np.linspace(0.0, 1.0, len(f)), f) for f in guard.fresh])[:, None]
        out[f"{share:g}"] = {name: {"per_subset": np.round((r < thresholds).mean(axis=1), 4).tolist(),
                                    "any": round(float((r < thresholds).any(axis=0).mean()), 4)}
                             for name, r in ratios.items()}
        print(f"  below fresh rows' {share:g} quantile: " + "; ".join(
            f"{name} {v['per_subset']} (any {v['any']})" for name, v in out[f"{share:g}"].items()), flush=True)
    return out


def measure(dataset: str, seed: int, models: Path | None, shares: list[float], tails: bool) -> dict[str, Any]:
    training, holdout = load_split(dataset)
    model = fitted(dataset, seed, training, models)
    result: dict[str, Any] = {"training_rows": len(training), "guard": model.closeness_guard_ is not None}
    if tails and model.closeness_guard_ is not None:
        result["tail_shares"] = tail_shares(model, holdout, seed)
    for share in shares:
        name = f"closeness_guard={share:g}"
        model.set_params(closeness_guard=share)
        started = time.process_time()
        synthetic = model.sample(len(holdout), random_state=seed)
        sample_cpu = time.process_time() - started
        scores = report_scores(evaluate(training, holdout, synthetic, target=TARGETS[dataset]))
        result[name] = {**{k: scores[k] for k in KEPT}, "sample_cpu_seconds": sample_cpu}
        print(f"{dataset} seed {seed} {name}: " + ", ".join(
            f"{k} {v:.4f}" for k, v in result[name].items() if v is not None), flush=True)
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", default=DEFAULT_JOBS, help="comma-separated dataset:seed pairs")
    parser.add_argument("--models", default=None, help="directory to keep fitted models in (and reuse)")
    parser.add_argument("--shares", default="0,0.1", help="closeness_guard settings to sample with (0: off)")
    parser.add_argument("--tails", action="store_true", help="also the closeness-ratio tail shares (see above)")
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args(argv)
    out = Path(args.out)
    results = json.loads(out.read_text()) if out.is_file() else {}
    for job in args.jobs.split(","):
        dataset, seed = job.split(":")
        shares = [float(x) for x in args.shares.split(",") if x]
        entry = measure(dataset, int(seed), Path(args.models) if args.models else None, shares, args.tails)
        entry["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        key = f"{dataset} seed {seed}"
        results[key] = {**results.get(key, {}), **entry}  # a --shares "" --tails run keeps the scores
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
