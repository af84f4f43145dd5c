"""Benchmark of differential privacy in argn: accuracy, privacy and time against ε (issue 15).

    python benchmarks/privacy.py [--datasets census,creditcard_default] [--epsilons 1,3,10,inf]
                                 [--delta 1e-5] [--rows N] [--settings '{"max_epochs": 5}'] [--out FILE]

Each dataset from ``../shared/data`` is split as in ``benchmarks/generators.py`` (shuffled with
``default_rng(0)``, first half trains, second half is the holdout). For every ε, argn is fitted with
``privacy: {epsilon, delta}`` (``inf``: no privacy, the default model) and ``random_state=0``, samples
as many rows as the holdout and is scored by :func:`synth_pipeline.quality.evaluate`: overall accuracy
(uni/bi/tri) against the holdout's ceiling, DCR share, TSTR AUC, the membership-inference AUC and the
attribute-inference gain where the QA report has them, the fit time and its ratio to the non-private
fit. The ε and δ the model reports as spent are printed beside the budget.

``--keep DIR`` saves every synthetic table; ``--rescore --keep DIR`` scores them again (the fit
figures stay). ``--seed N`` fits with ``random_state=N`` (the split stays); runs with N != 0 are kept under
``other_seeds`` beside the seed-0 table. ``--rows`` trains on the first N training rows (exploration on a
loaded machine); the holdout stays whole. Prints one table per dataset and merges
the results into ``benchmarks/results/privacy.json`` (runs of an ε not measured again are kept, each with its
``measured_at``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(1, str(Path(__file__).resolve().parent))
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from generators import TARGETS, load_split, report_scores  # noqa: E402  (benchmarks/generators.py, this directory)

RESULTS = REPO / "benchmarks" / "results" / "privacy.json"
DATASETS = ("census", "creditcard_default")
#: issue 15's targets on census (δ = 1e-5): overall accuracy at ε = 3 and ε = 1, DP fit time vs non-DP
TARGET_OVERALL = {3.0: 0.955, 1.0: 0.93}
MAX_TIME_RATIO = 4.0
#: MOSTLY AI's published anchor (TabularARGN on adult): accuracy 0.94 at ε ≈ 2.39, 0.98 without DP
ANCHOR = "MOSTLY AI TabularARGN on adult: overall accuracy 0.94 at ε ≈ 2.39 (δ = 1e-5), 0.98 without DP"


def run_one(
    dataset: str, epsilon: float, delta: float, rows: int | None, settings: dict[str, Any], keep: Path | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Fit, sample and score argn at one ε on one dataset (the synthetic table saved under ``keep``)."""
    from synth_pipeline.generators.argn import ARGNGenerator
    from synth_pipeline.quality import evaluate

    training, holdout = load_split(dataset)
    if rows:
        training = training.iloc[:rows].reset_index(drop=True)
    privacy = None if math.isinf(epsilon) else {"epsilon": epsilon, "delta": delta}
    model = ARGNGenerator(random_state=seed, privacy=privacy, **settings)
    started = time.perf_counter()
    model.fit(training)
    fit_seconds = time.perf_counter() - started
    synthetic = model.sample(len(holdout))
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        synthetic.to_parquet(keep / f"{dataset}-{_key(epsilon)}.parquet", index=False)
    report = evaluate(training, holdout, synthetic, target=TARGETS[dataset])
    row = report_scores(report)
    spent = model.privacy_ or {}
    row.update(
        {
            "epsilon_budget": epsilon if privacy else None,
            "delta_budget": delta if privacy else None,
            "epsilon_spent": spent.get("epsilon"),
            "delta_spent": spent.get("delta"),
            "noise_multiplier": spent.get("noise_multiplier"),
            "sampling_rate": spent.get("sampling_rate"),
            "steps": spent.get("steps"),
            "accountant": spent.get("accountant"),
            "fit_seconds": fit_seconds,
            "epochs": model.training_report_.get("epochs"),
            "stopped_because": model.training_report_.get("stopped_because"),
            "n_training": len(training),
        }
    )
    return row


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def print_table(dataset: str, result: dict[str, Any]) -> None:
    """One line per ε."""
    header = ["ε", "spent ε", "σ", "overall", "uni", "bi", "tri", "ceiling", "dcr_share", "MIA AUC", "AI gain",
              "TSTR AUC", "fit s", "× non-DP"]
    lines = []
    for key, row in result["runs"].items():
        lines.append([
            key, _fmt(row["epsilon_spent"]), _fmt(row["noise_multiplier"], 2), _fmt(row["overall"]),
            _fmt(row["univariate"]), _fmt(row["bivariate"]), _fmt(row["trivariate"]), _fmt(row["overall_max"]),
            _fmt(row["dcr_share"]), _fmt(row["mia_auc"]), _fmt(row["attribute_inference_gain"]),
            _fmt(row["tstr_auc"]), _fmt(row["fit_seconds"], 1), _fmt(row.get("time_ratio"), 2),
        ])
    widths = [max(len(str(r[i])) for r in [header, *lines]) for i in range(len(header))]
    print(f"\n{dataset}: {result['n_training']:,} training rows, δ = {result['delta']:g}")
    for r in [header, *lines]:
        print("  " + "  ".join(str(v).rjust(w) for v, w in zip(r, widths, strict=True)))
    for check, ok in result.get("targets", {}).items():
        print(f"  target {check}: {'met' if ok else 'NOT met'}")


def check_targets(dataset: str, result: dict[str, Any]) -> dict[str, bool]:
    """Issue 15's targets that this run measures."""
    checks: dict[str, bool] = {}
    runs = result["runs"]
    if dataset == "census":
        for epsilon, target in TARGET_OVERALL.items():
            row = runs.get(_key(epsilon))
            if row is not None:
                checks[f"ε={epsilon:g}: overall >= {target}"] = row["overall"] >= target
    for key, row in runs.items():
        if row.get("time_ratio") is not None:
            checks[f"ε={key}: fit <= {MAX_TIME_RATIO:g}x non-DP"] = row["time_ratio"] <= MAX_TIME_RATIO
        if row["epsilon_spent"] is not None:
            checks[f"ε={key}: spent <= budget"] = row["epsilon_spent"] <= row["epsilon_budget"]
    return checks


def _key(epsilon: float) -> str:
    return "inf" if math.isinf(epsilon) else f"{epsilon:g}"


def rescore(dataset: str, result: dict[str, Any], keep: Path) -> None:
    """Score the saved synthetic tables again (e.g. once the QA report has the attacks); fit figures stay."""
    from synth_pipeline.quality import evaluate

    training, holdout = load_split(dataset)
    if result.get("rows_limit"):
        training = training.iloc[: result["rows_limit"]].reset_index(drop=True)
    for key, row in result["runs"].items():
        synthetic = pd.read_parquet(keep / f"{dataset}-{key}.parquet")
        row.update(report_scores(evaluate(training, holdout, synthetic, target=TARGETS[dataset])))
    result["targets"] = check_targets(dataset, result)
    result["rescored_at"] = datetime.now(UTC).isoformat(timespec="seconds")


def benchmark(
    dataset: str, epsilons: list[float], delta: float, rows: int | None, settings: dict, keep: Path | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Every ε on one dataset; the non-private run (ε = inf) first when asked for, for the time ratios."""
    result: dict[str, Any] = {"delta": delta, "runs": {}, "settings": settings, "rows_limit": rows, "seed": seed}
    for epsilon in sorted(epsilons, key=lambda e: -e):
        print(f"  {dataset}: ε = {_key(epsilon)} ...", flush=True)
        result["runs"][_key(epsilon)] = run_one(dataset, epsilon, delta, rows, settings, keep, seed)
    plain = result["runs"].get("inf")
    for key, row in result["runs"].items():
        row["time_ratio"] = row["fit_seconds"] / plain["fit_seconds"] if plain and key != "inf" else None
    result["n_training"] = next(iter(result["runs"].values()))["n_training"]
    result["targets"] = check_targets(dataset, result)
    return result


def keep_other_runs(dataset: str, before: dict[str, Any] | None, result: dict[str, Any]) -> dict[str, Any]:
    """``result``, with the runs of the ε it did not measure kept from ``before`` (every run says when it ran).

    A kept run's time ratio stays only while no new non-private run replaces the one it was taken against.
    """
    for row in result["runs"].values():
        row.setdefault("measured_at", result["measured_at"])
    if not before:
        return result
    kept = {key: row for key, row in before.get("runs", {}).items() if key not in result["runs"]}
    for row in kept.values():
        row.setdefault("measured_at", before.get("measured_at"))
        if "inf" in result["runs"]:
            row["time_ratio"] = None
    result["runs"] = {**kept, **result["runs"]}
    result["targets"] = check_targets(dataset, result)
    return result


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return "?"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--epsilons", default="1,3,10,inf", help="comma-separated; inf: no privacy")
    parser.add_argument("--delta", type=float, default=1e-5)
    parser.add_argument("--rows", type=int, default=None, help="train on the first N training rows only")
    parser.add_argument("--settings", default="{}", help="extra argn settings as JSON (exploration)")
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument("--keep", default=None, help="directory to save the synthetic tables in")
    parser.add_argument("--rescore", action="store_true", help="re-score the tables saved under --keep")
    parser.add_argument("--seed", type=int, default=0,
                        help="the model's random_state; seeds other than 0 are written under 'other_seeds'")
    args = parser.parse_args(argv)
    keep = Path(args.keep) if args.keep else None
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    epsilons = [float(e) for e in args.epsilons.split(",")]
    settings = json.loads(args.settings)
    out = Path(args.out)
    measured: dict[str, Any] = {}
    datasets = [d.strip() for d in args.datasets.split(",") if d.strip()]
    if args.rescore:
        if keep is None:
            parser.error("--rescore needs --keep")
        results = json.loads(out.read_text())
        for dataset in datasets:
            rescore(dataset, results["datasets"][dataset], keep)
            print_table(dataset, results["datasets"][dataset])
        out.write_text(json.dumps(results, indent=1, default=float))
        return
    for dataset in datasets:
        load_before = _uptime()
        started = time.perf_counter()
        result = benchmark(dataset, epsilons, args.delta, args.rows, settings, keep, args.seed)
        result.update(
            benchmark_seconds=time.perf_counter() - started,
            measured_at=datetime.now(UTC).isoformat(timespec="seconds"),
            uptime_before=load_before,
            uptime_after=_uptime(),
        )
        measured[dataset] = result
        print_table(dataset, result)
        print(f"  load: before {load_before}; after {result['uptime_after']}")
    # read just before writing: runs of other datasets (another process) keep their rows
    results = json.loads(out.read_text()) if out.is_file() else {}
    for dataset, result in measured.items():
        if args.seed == 0:
            books, key = results.setdefault("datasets", {}), dataset
        else:
            books, key = results.setdefault("other_seeds", {}).setdefault(dataset, {}), str(args.seed)
        books[key] = keep_other_runs(dataset, books.get(key), result)
    results["anchor"] = ANCHOR
    results["machine"] = {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1, default=float))
    print(f"\n{ANCHOR}\nresults written to {out}")


if __name__ == "__main__":
    main()
