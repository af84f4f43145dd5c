"""Rebalancing study (issue 19 §1): can generated minority rows rescue a model trained on 0.1% positives?

    python benchmarks/rebalancing.py [--seeds 3] [--cases protocol,hard] [--methods ...]

The published protocol (MOSTLY AI's rebalancing tutorial, "upsampling a 0.1% minority"), on census'
training half (the benchmark split: ``default_rng(0)`` permutation, first half; the second half is
the holdout):

* ``create_imbalance(df, target, ratio)``: keep the majority, keep ``n_min = int(n_majority /
  (1 - ratio) * ratio)`` minority rows sampled with ``random_state=1``, shuffle (``random_state=1``);
  with ``ratio = 0.001`` the minority is 0.1% of the resulting table: 18 ``>50K`` rows beside
  18,631 ``<=50K`` rows (case ``protocol``);
* a second, harder case keeps 0.1% *of the minority* (6 rows, case ``hard``);
* LightGBM with 200 trees (otherwise its defaults) trained on each training table and scored on the
  holdout: AUC-ROC and AUC-PR; seeds 0, 1, 2 vary the generator and LightGBM;
* training tables: the imbalanced table itself (no oversampling); imblearn ``RandomOverSampler`` and
  ``SMOTENC`` to 50:50; the imbalanced table plus generated minority rows up to 50:50 from a generator
  trained on the imbalanced table only (``sample(n, rebalance={"income": {">50K": 1.0}})``): argn with its
  defaults (a class seen fewer than ``rare_copula_count`` = 50 times is drawn from the copula argn fits
  beside its network; ``--argn '{"rare_copula_count": 0, "rare_value_weight": 20}'`` measures argn's own
  rare-class conditioning, and ``--guidance 0,2.5`` then adds rows sampled from the same models with
  other ``rare_value_guidance``) and, with ``--methods ...,copula``, the Gaussian copula.

Why the old benchmark's "imbalanced" baseline scored 0.327, below chance: with 6 positives LightGBM's
Newton leaf values ``-G / H`` (``reg_lambda`` 0 by default) diverge as the Hessians of the negatives
go to zero: raw scores reach about -13,000, 30% of the holdout rows get a probability of exactly 0
(ties), and the regions around the six positives, pushed alternately far up and far down, end lowest,
so holdout rows that resemble the positives score below the rest. The learner is degenerate on that
table, not the data: the same table with ``reg_lambda=1`` scores 0.74. This script keeps the
protocol's learner for every method (the comparison stays fair) and prints, per run, the raw-score
range, so a degenerate baseline is visible (``diverged`` in the JSON: |raw score| > 100).

``--table bank_marketing`` runs the same protocol on bank_marketing (target ``y``, minority ``yes``).
Prints the table and writes ``benchmarks/results/rebalancing.json`` (``rebalancing_TABLE.json`` for
another table).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
RESULTS = REPO / "benchmarks" / "results"
RATIO = 0.001
N_TREES = 200
METHODS = ("none", "RandomOverSampler", "SMOTE-NC", "argn")
DIVERGED = 100.0
#: argn's settings here: its defaults; ``--argn`` adds to or overrides them
ARGN_REBALANCING: dict[str, Any] = {}


@dataclass(frozen=True)
class Table:
    """A shared table and its binary target: the minority value is ``positive``."""

    name: str
    target: str
    positive: str

    @property
    def path(self) -> Path:
        return DATA / f"{self.name}.csv.gz"


TABLES = {t.name: t for t in (Table("census", "income", ">50K"), Table("bank_marketing", "y", "yes"))}


def split_table(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The benchmark split: training half and holdout half of a ``default_rng(0)`` permutation."""
    data = pd.read_csv(path)
    order = np.random.default_rng(0).permutation(len(data))
    half = len(data) // 2
    return data.iloc[order[:half]].reset_index(drop=True), data.iloc[order[half:]].reset_index(drop=True)


def create_imbalance(df: pd.DataFrame, target: str, ratio: float) -> pd.DataFrame:
    """The published protocol: the majority kept, minority rows making up ``ratio`` of the result."""
    val_min, val_maj = df[target].value_counts().sort_values().index
    majority = df.loc[df[target] == val_maj]
    n_min = int(majority.shape[0] / (1 - ratio) * ratio)
    minority = df.loc[df[target] == val_min].sample(n=n_min, random_state=1)
    return pd.concat([minority, majority]).sample(frac=1, random_state=1).reset_index(drop=True)


def minority_share_of_minority(df: pd.DataFrame, target: str, share: float) -> pd.DataFrame:
    """The harder case: ``share`` of the minority rows kept (``random_state=1``), the majority kept."""
    val_min, val_maj = df[target].value_counts().sort_values().index
    minority = df.loc[df[target] == val_min].sample(frac=share, random_state=1)
    majority = df.loc[df[target] == val_maj]
    return pd.concat([minority, majority]).sample(frac=1, random_state=1).reset_index(drop=True)


def _features(table: pd.DataFrame, target: str, categories: dict[str, list[str]]) -> pd.DataFrame:
    features = table.drop(columns=[target]).copy()
    for name, values in categories.items():
        features[name] = pd.Categorical(features[name].astype(str), categories=values)
    return features


def fit_and_score(
    train: pd.DataFrame, holdout: pd.DataFrame, table: Table, categories: dict[str, list[str]], seed: int
) -> dict[str, Any]:
    """LightGBM (200 trees) on ``train``, scored on ``holdout``: AUC-ROC, AUC-PR and the raw-score range."""
    import lightgbm as lgb
    from sklearn.metrics import average_precision_score, roc_auc_score

    model = lgb.LGBMClassifier(n_estimators=N_TREES, random_state=seed, n_jobs=2, verbose=-1)
    model.fit(_features(train, table.target, categories), (train[table.target] == table.positive).astype(int))
    features = _features(holdout, table.target, categories)
    scores = model.predict_proba(features)[:, 1]
    raw = model.predict(features, raw_score=True)
    truth = (holdout[table.target] == table.positive).astype(int)
    return {
        "auc_roc": float(roc_auc_score(truth, scores)),
        "auc_pr": float(average_precision_score(truth, scores)),
        "raw_min": float(raw.min()),
        "raw_max": float(raw.max()),
        "diverged": bool(np.abs(raw).max() > DIVERGED),
    }


def oversample(imbalanced: pd.DataFrame, table: Table, method: str, seed: int) -> pd.DataFrame:
    """RandomOverSampler or SMOTE-NC to 50:50."""
    from imblearn.over_sampling import SMOTENC, RandomOverSampler

    features, labels = imbalanced.drop(columns=[table.target]), imbalanced[table.target]
    if method == "RandomOverSampler":
        sampler = RandomOverSampler(sampling_strategy=1.0, random_state=seed)
    else:
        categorical = [i for i, c in enumerate(features.columns) if features[c].dtype.kind not in "iufb"]
        n_minority = int((labels == table.positive).sum())
        sampler = SMOTENC(
            categorical_features=categorical, sampling_strategy=1.0, random_state=seed,
            k_neighbors=max(1, min(5, n_minority - 1)),
        )
    resampled_features, resampled_labels = sampler.fit_resample(features, labels)
    out = pd.DataFrame(resampled_features, columns=features.columns)
    out[table.target] = np.asarray(resampled_labels)
    return out.astype({c: imbalanced[c].dtype for c in features.columns})


def generated(
    imbalanced: pd.DataFrame, table: Table, name: str, seed: int, settings: dict[str, Any], guidance: list[float]
) -> dict[str, tuple[pd.DataFrame, float]]:
    """The imbalanced table plus minority rows from generator ``name`` up to 50:50, and the seconds spent.

    For argn, also one table per extra ``guidance`` (``rare_value_guidance``), sampled from the same model.
    """
    from synth_pipeline import make_generator

    started = time.perf_counter()
    generator = make_generator(name, random_state=seed, **settings).fit(imbalanced)
    fitted = time.perf_counter() - started
    minority = imbalanced[table.target] == table.positive
    n_missing = int((~minority).sum() - minority.sum())
    variants = {name: None} | ({f"{name}, guidance {g:g}": g for g in guidance} if name == "argn" else {})
    out = {}
    for label, strength in variants.items():
        started = time.perf_counter()
        if strength is not None:
            generator.set_params(rare_value_guidance=strength)
        extra = generator.sample(n_missing, rebalance={table.target: {table.positive: 1.0}}, random_state=seed)
        extra = extra.astype({c: imbalanced[c].dtype for c in imbalanced.columns if imbalanced[c].dtype.kind in "iu"})
        seconds = fitted + time.perf_counter() - started
        out[label] = (pd.concat([imbalanced, extra[imbalanced.columns]], ignore_index=True), seconds)
    return out


def training_tables(
    imbalanced: pd.DataFrame, table: Table, method: str, seed: int, settings: dict[str, Any], guidance: list[float]
) -> dict[str, tuple[pd.DataFrame, float | None]]:
    """The training table(s) of one method (and a generator's fit + sample seconds), by row label."""
    if method == "none":
        return {method: (imbalanced, None)}
    if method in ("RandomOverSampler", "SMOTE-NC"):
        return {method: (oversample(imbalanced, table, method, seed), None)}
    return dict(generated(imbalanced, table, method, seed, settings, guidance))


def cases(training: pd.DataFrame, target: str, names: list[str]) -> dict[str, pd.DataFrame]:
    """The imbalanced tables: ``protocol`` (0.1% of the table) and ``hard`` (0.1% of the minority)."""
    builders = {
        "protocol": lambda: create_imbalance(training, target, RATIO),
        "hard": lambda: minority_share_of_minority(training, target, RATIO),
    }
    unknown = sorted(set(names) - set(builders))
    if unknown:
        raise SystemExit(f"unknown case(s) {unknown}; choose from {sorted(builders)}")
    return {name: builders[name]() for name in names}


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean and standard deviation over seeds of AUC-ROC and AUC-PR, and the runs themselves."""
    roc = np.array([r["auc_roc"] for r in runs])
    pr = np.array([r["auc_pr"] for r in runs])
    return {
        "auc_roc_mean": float(roc.mean()), "auc_roc_sd": float(roc.std()),
        "auc_pr_mean": float(pr.mean()), "auc_pr_sd": float(pr.std()), "runs": runs,
    }


def _one_thread(method: str, settings: dict[str, Any]) -> dict[str, Any]:
    return {"n_threads": 1, **settings} if method == "argn" else settings


Tables = dict[tuple[str, int], dict[str, tuple[pd.DataFrame, float | None]]]


def all_tables(
    imbalanced: dict[str, pd.DataFrame],
    table: Table,
    methods: list[str],
    seeds: list[int],
    settings: dict[str, Any],
    *,
    guidance: list[float],
    jobs: int,
) -> dict[str, Tables]:
    """Per case, every method's training tables per seed; generators in ``jobs`` processes (one thread each)."""
    tasks = [(case, m, seed) for case in imbalanced for m in methods for seed in seeds]
    results: dict[tuple[str, str, int], dict[str, tuple[pd.DataFrame, float | None]]] = {}
    if jobs <= 1:
        for case, m, seed in tasks:
            results[case, m, seed] = training_tables(imbalanced[case], table, m, seed, settings.get(m, {}), guidance)
    else:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = {
                (case, m, seed): pool.submit(
                    training_tables, imbalanced[case], table, m, seed, _one_thread(m, settings.get(m, {})), guidance
                )
                for case, m, seed in tasks
            }
            results = {task: future.result() for task, future in futures.items()}
    out: dict[str, Tables] = {case: {} for case in imbalanced}
    for (case, m, seed), tables in results.items():
        out[case][m, seed] = tables
    return out


def score_case(
    imbalanced: pd.DataFrame, holdout: pd.DataFrame, table: Table, tables: Tables, seeds: list[int]
) -> dict[str, Any]:
    """Every training table of one case scored per seed, summarized per row label."""
    categories = {
        c: sorted(set(imbalanced[c].astype(str)) | set(holdout[c].astype(str)))
        for c in imbalanced.columns
        if c != table.target and imbalanced[c].dtype.kind not in "iufb"
    }
    runs: dict[str, list[dict[str, Any]]] = {}
    for (_, seed), labelled in tables.items():
        for label, (train, seconds) in labelled.items():
            run = {"seed": seed, **fit_and_score(train, holdout, table, categories, seed)}
            if seconds is not None:
                run["fit_and_sample_seconds"] = seconds
            runs.setdefault(label, []).append(run)
            print(
                f"    {label:24s} seed {seed}: AUC-ROC {run['auc_roc']:.4f}  AUC-PR {run['auc_pr']:.4f}  "
                f"raw scores [{run['raw_min']:.0f}, {run['raw_max']:.0f}]"
                + (f"  ({seconds:.0f} s)" if seconds is not None else ""),
                flush=True,
            )
    return {label: summarize(sorted(r, key=lambda x: x["seed"])) for label, r in runs.items()}


def print_table(name: str, positive: str, n_minority: int, n_rows: int, results: dict[str, Any]) -> None:
    print(f"\n{name}: {n_minority} {positive!r} rows in {n_rows:,}; LightGBM ({N_TREES} trees) on the holdout")
    print(f"  {'training data':24s} {'AUC-ROC':>16s} {'AUC-PR':>16s}  per seed (AUC-ROC)")
    for method, summary in results.items():
        per_seed = " ".join(f"{r['auc_roc']:.3f}" for r in summary["runs"])
        print(
            f"  {method:24s} {summary['auc_roc_mean']:.4f} ± {summary['auc_roc_sd']:.4f} "
            f"{summary['auc_pr_mean']:.4f} ± {summary['auc_pr_sd']:.4f}  {per_seed}"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--table", default="census", choices=sorted(TABLES))
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0 .. N-1")
    parser.add_argument("--cases", default="protocol,hard", help="protocol (18 rows) and/or hard (6 rows)")
    parser.add_argument("--methods", default=",".join(METHODS), help=f"of {', '.join(METHODS)}, copula")
    parser.add_argument("--argn", default="{}", help="extra argn settings as JSON (exploration)")
    parser.add_argument("--guidance", default="", help="extra argn rows: rare_value_guidance values, e.g. 2")
    parser.add_argument("--jobs", type=int, default=1, help="processes for the generators (1 torch thread each)")
    parser.add_argument("--out", default=None, help="JSON file (default: benchmarks/results/rebalancing[_TABLE].json)")
    args = parser.parse_args(argv)
    table = TABLES[args.table]
    if not table.path.is_file():
        raise SystemExit(f"{table.name} data not found at {table.path}")
    training, holdout = split_table(table.path)
    methods = args.methods.split(",")
    settings = {"argn": {**ARGN_REBALANCING, **json.loads(args.argn)}, "copula": {}}
    result: dict[str, Any] = {
        "table": table.name, "target": table.target, "positive": table.positive,
        "protocol": f"create_imbalance(ratio={RATIO}), LightGBM {N_TREES} trees, seeds 0..{args.seeds - 1}",
        "n_holdout": len(holdout), "cpus": os.cpu_count(), "load_average": os.getloadavg(),
        "argn_settings": settings["argn"], "cases": {},
    }
    seeds = list(range(args.seeds))
    imbalanced = cases(training, table.target, args.cases.split(","))
    for name, rows in imbalanced.items():
        print(f"case {name}: {len(rows):,} rows, {int((rows[table.target] == table.positive).sum())} minority")
    guidance = [float(g) for g in args.guidance.split(",") if g]
    tables = all_tables(imbalanced, table, methods, seeds, settings, guidance=guidance, jobs=args.jobs)
    for name, rows in imbalanced.items():
        n_minority = int((rows[table.target] == table.positive).sum())
        print(f"case {name}:", flush=True)
        results = score_case(rows, holdout, table, tables[name], seeds)
        result["cases"][name] = {"n_rows": len(rows), "n_minority": n_minority, "results": results}
        print_table(name, table.positive, n_minority, len(rows), results)
    result["load_average_after"] = os.getloadavg()
    default = "rebalancing.json" if table.name == "census" else f"rebalancing_{table.name}.json"
    out = Path(args.out) if args.out else RESULTS / default
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print(f"\nresults written to {out}")


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    main()
