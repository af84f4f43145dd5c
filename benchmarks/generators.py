"""Benchmark of the generators on real tables: speed, memory, accuracy, privacy, utility (issue 4).

    python benchmarks/generators.py [--datasets census,bank_marketing,creditcard_default]
                                    [--generators argn] [--with-reference] [--with-qa]

Each dataset from ``../shared/data`` (or, for the ``sim_*`` ones, built by
``synth_pipeline.simulate`` with ``random_state=0``: shapes where argn was weakest, issues 15 and
19) is shuffled with ``numpy.random.default_rng(0).permutation`` and split in halves: the first half
trains, the second is the holdout. Every generator runs with default settings (``random_state=0``)
in its own subprocess, which fits, samples as many rows as the holdout has and reports fit time,
sampling rows/s and its peak memory (``ru_maxrss``). The synthetic table is scored with
:func:`synth_pipeline.quality.evaluate` against training and holdout.

``--with-reference`` also runs mostlyai-engine's ``TabularARGN()`` with its defaults on the same
split, in its own environment (``/work/refenv-engine`` or ``$REFERENCE_ENGINE_PYTHON``), and scores it
the same way. ``--with-qa`` scores every synthetic table with mostlyai-qa too (``/work/refenv-qa`` or
``$REFERENCE_QA_PYTHON``), so nobody has to trust our own ruler.

Prints one table per dataset and merges the results into ``benchmarks/results/generators.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = REPO.parent / "shared" / "data"
RESULTS = REPO / "benchmarks" / "results" / "generators.json"
TARGETS = {
    "census": "income", "bank_marketing": "y", "creditcard_default": "has_default",
    "sim_race_splits": "sex", "sim_listings": "room_type",
}
#: tables built by synth_pipeline.simulate in the shapes where argn was weakest (issue 15, issue 19 section 3)
SIMULATED = {"sim_race_splits": "simulate_race_splits", "sim_listings": "simulate_listings"}
REFERENCE_ENGINE_PYTHON = os.environ.get("REFERENCE_ENGINE_PYTHON", "/work/refenv-engine/bin/python")
REFERENCE_QA_PYTHON = os.environ.get("REFERENCE_QA_PYTHON", "/work/refenv-qa/bin/python")
REFERENCE_NAME = "mostlyai-engine TabularARGN"
#: for simulated tables: fresh rows from the simulator itself, what a perfect generator would sample
FRESH_NAME = "fresh draw (true distribution)"


def load_split(dataset: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The benchmark split: shuffled with default_rng(0), first half training, second half holdout."""
    if dataset in SIMULATED:
        data = _simulator(dataset)()
    else:
        path = DATA_DIR / f"{dataset}.csv.gz"
        if not path.is_file():
            raise SystemExit(f"dataset {dataset!r} not found at {path}")
        data = pd.read_csv(path)
    order = np.random.default_rng(0).permutation(len(data))
    half = len(data) // 2
    training = data.iloc[order[:half]].reset_index(drop=True)
    holdout = data.iloc[order[half:]].reset_index(drop=True)
    return training, holdout


def _simulator(dataset: str) -> Any:
    import importlib

    return getattr(importlib.import_module("synth_pipeline.simulate"), SIMULATED[dataset])


def fresh_draw(dataset: str, n_rows: int, synthetic_path: Path) -> dict[str, Any]:
    """Rows of the simulated table that neither half holds (same seed, hence the same world, more rows).

    Scored like a generator's table, they show where a perfect generator lands on this split: the
    ceiling and a DCR share of 0.5 are single draws, and small tables move both by a point or more.
    """
    simulator = _simulator(dataset)
    n_table = len(simulator(random_state=0))
    rows = simulator(n_rows=20 * n_table, random_state=0).iloc[10 * n_table : 10 * n_table + n_rows]
    started = time.perf_counter()
    rows.reset_index(drop=True).to_parquet(synthetic_path, index=False)
    return {"fit_seconds": 0.0, "sample_rows_per_second": n_rows / (time.perf_counter() - started),
            "peak_memory_mb": float("nan"), "epochs": None, "stopped_because": None}


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def run_worker(
    generator: str, training_path: Path, n_rows: int, synthetic_path: Path, variant: str = "{}"
) -> dict[str, Any]:
    """Fit and sample one of our generators in a fresh process (so its peak memory is its own).

    ``variant`` is a JSON object of settings for the generator (``random_state`` included; default 0)."""
    command = [sys.executable, __file__, "--worker", generator, str(training_path), str(n_rows), str(synthetic_path),
               variant]
    done = subprocess.run(command, capture_output=True, text=True, env=_env(), check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{generator} worker failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def worker(generator: str, training_path: str, n_rows: int, synthetic_path: str, variant: str = "{}") -> None:
    """The subprocess side of :func:`run_worker`: prints one JSON line."""
    import resource

    from synth_pipeline.generators.registry import make_generator

    training = pd.read_parquet(training_path)
    model = make_generator(generator, **{"random_state": 0, **json.loads(variant)})
    started = time.perf_counter()
    model.fit(training)
    fit_seconds = time.perf_counter() - started
    started = time.perf_counter()
    synthetic = model.sample(n_rows)
    sample_seconds = time.perf_counter() - started
    synthetic.to_parquet(synthetic_path, index=False)
    report = getattr(model, "training_report_", {})
    print(
        json.dumps(
            {
                "fit_seconds": fit_seconds,
                "sample_rows_per_second": n_rows / sample_seconds,
                "peak_memory_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "epochs": report.get("epochs"),
                "stopped_because": report.get("stopped_because"),
            }
        )
    )


def _last_line(done: subprocess.CompletedProcess) -> str:
    lines = done.stderr.strip().splitlines()
    return lines[-1] if lines else f"exit status {done.returncode}"


def run_reference(training_path: Path, n_rows: int, synthetic_path: Path) -> dict[str, Any] | None:
    if not Path(REFERENCE_ENGINE_PYTHON).exists():
        print(f"  (reference skipped: no {REFERENCE_ENGINE_PYTHON})")
        return None
    script = REPO / "benchmarks" / "reference_engine.py"
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    done = subprocess.run(
        [REFERENCE_ENGINE_PYTHON, str(script), str(training_path), str(n_rows), str(synthetic_path)],
        capture_output=True, text=True, env=env, check=False,
    )
    if done.returncode != 0:
        print(f"  (reference failed: {_last_line(done)})")
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_qa(training_path: Path, holdout_path: Path, synthetic_path: Path, workdir: Path) -> dict[str, Any] | None:
    if not Path(REFERENCE_QA_PYTHON).exists():
        return None
    script = REPO / "benchmarks" / "reference_qa.py"
    done = subprocess.run(
        [REFERENCE_QA_PYTHON, str(script), str(training_path), str(holdout_path), str(synthetic_path),
         str(workdir / f"qa-{synthetic_path.stem}.html")],
        capture_output=True, text=True, env=dict(os.environ, OMP_WAIT_POLICY="PASSIVE"), check=False,
    )
    if done.returncode != 0:
        print(f"  (mostlyai-qa failed: {_last_line(done)})")
        return None
    metrics = json.loads(done.stdout.strip().splitlines()[-1])
    accuracy = metrics.get("accuracy") or {}
    distances = metrics.get("distances") or {}
    similarity = metrics.get("similarity") or {}
    return {
        "overall": accuracy.get("overall"),
        "univariate": accuracy.get("univariate"),
        "bivariate": accuracy.get("bivariate"),
        "trivariate": accuracy.get("trivariate"),
        "overall_max": accuracy.get("overall_max"),
        "dcr_share": distances.get("dcr_share"),
        "ims_training": distances.get("ims_training"),
        "discriminator_auc": similarity.get("discriminator_auc_training_synthetic"),
    }


def score(training: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame, target: str) -> dict[str, Any]:
    """Our quality module's numbers for one synthetic table."""
    try:
        from synth_pipeline.quality import evaluate
    except ImportError:  # the quality package may not re-export it yet
        from synth_pipeline.quality.evaluate import evaluate

    return report_scores(evaluate(training, holdout, synthetic, target=target))


def report_scores(report: Any) -> dict[str, Any]:
    """The numbers the benchmarks keep of one QA report (``synth_pipeline.quality`` ``QualityReport``)."""
    accuracy, distances, similarity, utility = report.accuracy, report.distances, report.similarity, report.utility
    return {
        "overall": accuracy.overall,
        "univariate": accuracy.univariate,
        "bivariate": accuracy.bivariate,
        "trivariate": accuracy.trivariate,
        "overall_max": accuracy.overall_max,
        "univariate_max": accuracy.univariate_max,
        "bivariate_max": accuracy.bivariate_max,
        "trivariate_max": accuracy.trivariate_max,
        "dcr_share": distances.dcr_share,
        "dcr_share_all_columns": distances.dcr_share_all_columns,
        "ims_training": distances.ims_training,
        "ims_holdout_training": distances.ims_holdout_training,
        "discriminator_auc": similarity.discriminator_auc_training_synthetic if similarity else None,
        "discriminator_auc_holdout": similarity.discriminator_auc_training_holdout if similarity else None,
        "tstr_auc": utility.tstr_auc if utility else None,
        "trtr_auc": utility.trtr_auc if utility else None,
        "mia_auc": report.attacks.mia_auc if report.attacks else None,
        "attribute_inference_gain": report.attacks.attribute_inference_gain if report.attacks else None,
    }


def check_targets(dataset: str, row: dict[str, Any]) -> dict[str, bool]:
    """Issue 4's targets for our generator on this dataset, raised by issues 15 and 19."""
    checks = {"dcr_share <= 0.52": row["dcr_share"] <= 0.52}
    if dataset == "census":
        checks["overall >= 0.979"] = row["overall"] >= 0.979
        checks["discriminator AUC <= 0.53"] = row["discriminator_auc"] is not None and row["discriminator_auc"] <= 0.53
        checks["ims_training <= holdout's"] = row["ims_training"] <= row["ims_holdout_training"]
        if row["tstr_auc"] is not None and row["trtr_auc"] is not None:
            checks["TSTR AUC >= TRTR - 0.01"] = row["tstr_auc"] >= row["trtr_auc"] - 0.01
        checks["trains <= 120 s"] = row["fit_seconds"] <= 120
        checks["samples >= 20,000 rows/s"] = row["sample_rows_per_second"] >= 20_000
        checks["peak memory <= 1 GB"] = row["peak_memory_mb"] <= 1024
    elif dataset == "creditcard_default":
        checks["overall within 0.3 pp of ceiling"] = row["overall"] >= row["overall_max"] - 0.003
        checks["discriminator AUC <= 0.60"] = row["discriminator_auc"] is not None and row["discriminator_auc"] <= 0.60
    else:
        checks["overall within 1 pp of ceiling"] = row["overall"] >= row["overall_max"] - 0.01
    return checks


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def print_table(dataset: str, result: dict[str, Any]) -> None:
    header = ["generator", "train s", "rows/s", "peak MB", "overall", "uni", "bi", "tri", "dcr_share",
              "disc AUC", "TSTR AUC", "TRTR AUC", "qa overall", "qa dcr"]
    rows = []
    for name, row in result["generators"].items():
        qa = row.get("mostlyai_qa") or {}
        rows.append([
            name, _fmt(row["fit_seconds"], 1), f"{row['sample_rows_per_second']:,.0f}", _fmt(row["peak_memory_mb"], 0),
            _fmt(row["overall"]), _fmt(row["univariate"]), _fmt(row["bivariate"]), _fmt(row["trivariate"]),
            _fmt(row["dcr_share"]), _fmt(row["discriminator_auc"]), _fmt(row["tstr_auc"]), _fmt(row["trtr_auc"]),
            _fmt(qa.get("overall")), _fmt(qa.get("dcr_share")),
        ])
    ceiling = result["ceiling"]
    qa_ceiling = result.get("ceiling_mostlyai_qa") or {}
    rows.append([
        "holdout (ceiling)", "", "", "", _fmt(ceiling["overall"]), _fmt(ceiling["univariate"]),
        _fmt(ceiling["bivariate"]), _fmt(ceiling["trivariate"]), "0.500", _fmt(ceiling["discriminator_auc"]),
        "", "", _fmt(qa_ceiling.get("overall_max")), "",
    ])
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    print(
        f"\n{dataset}: {result['n_training']:,} training rows, {result['n_holdout']:,} holdout rows, "
        f"target {result['target']!r}"
    )
    for r in [header, *rows]:
        cells = [str(v).rjust(w) if i else str(v).ljust(w) for i, (v, w) in enumerate(zip(r, widths, strict=True))]
        print("  " + "  ".join(cells))
    for name, row in result["generators"].items():
        if row.get("targets"):
            failed = [k for k, ok in row["targets"].items() if not ok]
            print(f"  {name} targets: {'all met' if not failed else 'NOT met: ' + '; '.join(failed)}")


def variant_label(name: str, variant: dict[str, Any]) -> str:
    """The results key of a generator run with non-default settings, e.g. ``argn {"random_state": 1}``."""
    return f"{name} {json.dumps(variant, sort_keys=True)}" if variant else name


def benchmark(
    dataset: str, generators: list[str], with_reference: bool, with_qa: bool, variant: dict[str, Any] | None = None,
    keep: Path | None = None,
) -> dict[str, Any]:
    training, holdout = load_split(dataset)
    target = TARGETS[dataset]
    result: dict[str, Any] = {
        "target": target, "n_training": len(training), "n_holdout": len(holdout), "generators": {},
    }
    with tempfile.TemporaryDirectory(prefix="synth-bench-") as tmp:
        workdir = Path(tmp)
        training_path, holdout_path = workdir / "training.parquet", workdir / "holdout.parquet"
        training.to_parquet(training_path, index=False)
        holdout.to_parquet(holdout_path, index=False)
        runs: list[tuple[str, dict[str, Any], Path]] = []
        for generator in generators:
            name = variant_label(generator, variant or {})
            synthetic_path = workdir / f"synthetic-{generator}.parquet"
            print(f"  {dataset}: fitting and sampling {name} ...", flush=True)
            measured = run_worker(generator, training_path, len(holdout), synthetic_path, json.dumps(variant or {}))
            runs.append((name, measured, synthetic_path))
        # once per split: with the default model, or one that differs from it only in its thread count
        if dataset in SIMULATED and not set(variant or {}) - {"n_threads"}:
            synthetic_path = workdir / "synthetic-fresh.parquet"
            runs.append((FRESH_NAME, fresh_draw(dataset, len(holdout), synthetic_path), synthetic_path))
        if with_reference:
            synthetic_path = workdir / "synthetic-reference.parquet"
            print(f"  {dataset}: fitting and sampling {REFERENCE_NAME} ...", flush=True)
            measured = run_reference(training_path, len(holdout), synthetic_path)
            if measured is not None:
                runs.append((REFERENCE_NAME, measured, synthetic_path))
        for name, measured, synthetic_path in runs:
            print(f"  {dataset}: scoring {name} ...", flush=True)
            synthetic = pd.read_parquet(synthetic_path)
            if keep is not None:  # e.g. for benchmarks/creditcard_discriminator.py
                keep.mkdir(parents=True, exist_ok=True)
                shutil.copy(synthetic_path, keep / (re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{dataset} {name}") + ".parquet"))
            row = {**measured, **score(training, holdout, synthetic, target)}
            if with_qa:
                row["mostlyai_qa"] = run_qa(training_path, holdout_path, synthetic_path, workdir)
            if name not in (REFERENCE_NAME, FRESH_NAME):
                row["targets"] = check_targets(dataset, row)
            result["generators"][name] = row
        if with_qa:
            qa_holdout = run_qa(training_path, holdout_path, holdout_path, workdir)
            result["ceiling_mostlyai_qa"] = qa_holdout
    first = next(iter(result["generators"].values()))
    result["ceiling"] = {
        "overall": first["overall_max"], "univariate": first["univariate_max"],
        "bivariate": first["bivariate_max"], "trivariate": first["trivariate_max"],
        "discriminator_auc": first["discriminator_auc_holdout"], "ims_training": first["ims_holdout_training"],
    }
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default=",".join(TARGETS), help="comma-separated: " + ", ".join(TARGETS))
    parser.add_argument("--generators", default="argn", help="comma-separated registry names (default: argn)")
    parser.add_argument("--with-reference", action="store_true", help="also run mostlyai-engine's TabularARGN")
    parser.add_argument("--with-qa", action="store_true", help="also score with mostlyai-qa")
    parser.add_argument("--out", default=str(RESULTS), help="JSON file to merge results into")
    parser.add_argument("--keep", type=Path, default=None, help="folder to keep the synthetic tables in (Parquet)")
    parser.add_argument(
        "--settings", default="{}",
        help='JSON settings for our generators, e.g. \'{"random_state": 1}\' (results keyed "argn {...}")',
    )
    parser.add_argument(
        "--worker", nargs=5, metavar=("GENERATOR", "TRAINING", "N_ROWS", "SYNTHETIC", "VARIANT"),
        help=argparse.SUPPRESS,
    )
    args = parser.parse_args(argv)
    if args.worker:
        name, training_path, n_rows, synthetic_path, variant = args.worker
        worker(name, training_path, int(n_rows), synthetic_path, variant)
        return
    datasets = [d.strip() for d in args.datasets.split(",") if d.strip()]
    unknown = [d for d in datasets if d not in TARGETS]
    if unknown:
        parser.error(f"unknown dataset(s) {', '.join(unknown)}; choose from {', '.join(TARGETS)}")
    generators = [g.strip() for g in args.generators.split(",") if g.strip()]
    out = Path(args.out)
    results = json.loads(out.read_text()) if out.is_file() else {}
    results.setdefault("datasets", {})
    for dataset in datasets:
        started = time.perf_counter()
        result = benchmark(dataset, generators, args.with_reference, args.with_qa, json.loads(args.settings),
                           keep=args.keep)
        result["benchmark_seconds"] = time.perf_counter() - started
        result["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        for entry in result["generators"].values():
            entry.setdefault("measured_at", result["measured_at"])
        # Generators not run this time keep their earlier rows (each row says when it was measured).
        earlier = results["datasets"].get(dataset, {}).get("generators", {})
        result["generators"] = {**{k: v for k, v in earlier.items() if k not in result["generators"]},
                                **result["generators"]}
        results["datasets"][dataset] = result
        print_table(dataset, result)
        results["machine"] = {
            "cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()
        }
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=1, default=float))
    print(f"\nresults written to {out}")


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    main()
