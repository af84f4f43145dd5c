"""Where argn's DCR share above 0.5 comes from on the simulated tables (issue 15): rows that a known cause moves.

    python benchmarks/dcr_sources.py [--datasets sim_race_splits] [--draws 4] [--seeds 0,1,2,3]
        [--settings '{"hidden_size": 32}' ...] [--with-reference] [--with-qa] [--out FILE]

The usual benchmark split (``benchmarks/generators.py``). Every table is scored with
:func:`synth_pipeline.quality.evaluate` on three QA seeds (0, 1, 2): ``worst`` is the mean over them of the
reported ``dcr_share`` (the worst case over the column subsets and both views), ``all`` the all-columns share
(the same on every QA seed), ``overall`` the accuracy. Rows scored:

* ``fresh``: disjoint fresh draws of the simulated world (what a perfect generator samples; ``--draws``);
* ``roundtrip``: those draws encoded with argn's encoders (fitted on training) and decoded again: what the
  codes themselves (bins, atoms, offsets, slices; no network) keep of the training rows;
* ``training marginals``: the draws' number columns mapped through the training rows' own quantiles
  (each value's place in the true distribution, from 10 tables' worth of fresh rows, read off the training
  rows' empirical distribution): a generator that learns every number's marginal exactly as training has it;
* ``training category combinations``: each categorical column of the draws redrawn from the training rows that
  share the row's other categorical values: a generator that copies training's contingency table;
* ``argn``: the default argn fitted on training (``--seeds``, one thread, its own process), and argn with each
  ``--settings`` variant; for its rows, the share per group of synthetic rows: rows holding a category value that
  under 10% of the training rows hold (``rare``) or not, and by the quartile of their distance to the nearest
  real row (training or holdout, all columns, the QA's rank view; ``q4`` the sparsest);
* ``argn, C shuffled``: the default argn's rows with categorical column ``C`` permuted among them (its ties to
  the other columns cut); ``argn, numbers jittered``: its number columns (more than 20 values) moved together in
  normal scores (training ranks), ``z' = (z + h e) / sqrt(1 + h^2)``, ``e`` drawn with the training rows' rank
  correlations, ``h = 0.2``, and read back off the training quantiles: smoother at the scale of a fifth of a
  standard deviation, the correlations kept;
* ``--with-reference``: mostlyai-engine's TabularARGN (``benchmarks/reference_engine.py``, its defaults);
* ``--with-qa``: each fresh draw, argn and TabularARGN table scored by mostlyai-qa too (its ``dcr_share``).

Prints a table per dataset and merges into ``benchmarks/results/dcr_sources.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from generators import TARGETS, load_split, run_qa, run_reference, run_worker  # noqa: E402
from protection_floor import fresh_rows, simulated_datasets  # noqa: E402

from synth_pipeline.columns import ColumnKind  # noqa: E402
from synth_pipeline.generators.registry import make_generator  # noqa: E402
from synth_pipeline.profile import infer_schema  # noqa: E402
from synth_pipeline.quality import evaluate  # noqa: E402
from synth_pipeline.quality.privacy import closest_distances, encode_tables  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "dcr_sources.json"
QA_SEEDS = (0, 1, 2)
#: a category value held by fewer training rows than this share is "rare" in the per-group shares
RARE_SHARE = 0.10
#: bandwidth of the joint jitter of the number columns, in standard deviations of their normal scores
JITTER = 0.2


def score(training: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame, target: str) -> dict[str, float]:
    """Accuracy, the worst-case DCR share (mean over the QA seeds) and the all-columns share."""
    reports = [evaluate(training, holdout, synthetic, target=target, metrics=["accuracy", "distances"],
                        random_state=seed) for seed in QA_SEEDS]
    return {"overall": reports[0].accuracy.overall, "ceiling": reports[0].accuracy.overall_max,
            "worst": float(np.mean([r.distances.dcr_share for r in reports])),
            "all": reports[0].distances.dcr_share_all_columns}


def categorical_columns(training: pd.DataFrame) -> list[str]:
    schema = infer_schema(training, what="training")
    return [c for c in training.columns if schema.kind(c) == ColumnKind.CATEGORICAL]


def argn_encoder(training: pd.DataFrame) -> Any:
    """argn's table encoder fitted on ``training`` (a one-epoch fit: only the encoders are used)."""
    model = make_generator("argn", random_state=0, max_epochs=1, n_threads=1, show_progress=False)
    model.fit(training)
    return model.encoder_


def roundtrip(encoder: Any, rows: pd.DataFrame, seed: int) -> pd.DataFrame:
    """``rows`` through ``encoder`` (see :func:`argn_encoder`) and back."""
    codes = encoder.code_equalities(encoder.encode(rows, equalities=False), rows)
    return encoder.decode(codes, np.random.default_rng(seed))[list(rows.columns)]


def number_columns(training: pd.DataFrame) -> list[str]:
    """The number columns with more than 20 distinct values (the ones the transforms move)."""
    return [c for c in training.columns if pd.api.types.is_numeric_dtype(training[c]) and training[c].nunique() > 20]


def _mid_ranks(ordered: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Each value's rank among ``ordered`` (sorted), ties at their middle."""
    return (np.searchsorted(ordered, values, "left") + np.searchsorted(ordered, values, "right")) / 2


def training_marginals(training: pd.DataFrame, rows: pd.DataFrame, population: pd.DataFrame) -> pd.DataFrame:
    """``rows`` with every number column read off the training rows' empirical quantiles."""
    out = rows.copy()
    for column in number_columns(training):
        truth = np.sort(population[column].to_numpy(np.float64))
        place = _mid_ranks(truth, rows[column].to_numpy(np.float64)) / len(truth)
        mapped = np.quantile(training[column].to_numpy(np.float64), np.clip(place, 0.0, 1.0))
        out[column] = _like(training[column], mapped)
    return out


def _like(column: pd.Series, values: np.ndarray) -> np.ndarray:
    """``values`` rounded where ``column`` holds whole numbers only (the QA reads such a column as integer)."""
    present = column.dropna().to_numpy(np.float64)
    return np.round(values) if len(present) and np.all(present == np.round(present)) else values


def training_combinations(training: pd.DataFrame, rows: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Each categorical column of ``rows`` redrawn from the training rows sharing the row's other categories."""
    rng = np.random.default_rng(seed)
    out = rows.copy()
    columns = categorical_columns(training)
    for column in columns:
        others = [c for c in columns if c != column]
        if not others:
            continue
        pools = training.groupby(others)[column].agg(lambda s: s.to_numpy())
        for key, index in out.groupby(others).groups.items():
            if key in pools.index:
                out.loc[index, column] = rng.choice(pools.loc[key], len(index))
    return out


def shuffled(rows: pd.DataFrame, column: str, seed: int) -> pd.DataFrame:
    out = rows.copy()
    out[column] = np.random.default_rng(seed).permutation(out[column].to_numpy())
    return out


def jittered(training: pd.DataFrame, rows: pd.DataFrame, seed: int, bandwidth: float = JITTER) -> pd.DataFrame:
    """``rows`` with their number columns moved jointly in normal scores (see the module docstring)."""
    from scipy.stats import norm

    columns = number_columns(training)
    if not columns:
        return rows
    known = {c: np.sort(training[c].to_numpy(np.float64)) for c in columns}

    def scores(table: pd.DataFrame) -> np.ndarray:
        out = np.empty((len(table), len(columns)))
        for j, c in enumerate(columns):
            rank = _mid_ranks(known[c], table[c].to_numpy(np.float64))
            out[:, j] = norm.ppf(np.clip((rank + 0.5) / (len(known[c]) + 1), 1e-4, 1 - 1e-4))
        return out

    root = np.linalg.cholesky(np.corrcoef(scores(training).T).reshape(len(columns), -1) + 1e-6 * np.eye(len(columns)))
    noise = np.random.default_rng(seed).standard_normal((len(rows), len(columns))) @ root.T
    moved = (scores(rows) + bandwidth * noise) / np.sqrt(1 + bandwidth**2)
    out = rows.copy()
    for j, c in enumerate(columns):
        place = norm.cdf(moved[:, j]) * (len(known[c]) + 1) - 0.5
        values = np.interp(place, np.arange(len(known[c])), known[c])
        out[c] = _like(training[c], values)
    return out


def shares_by_group(training: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame) -> dict[str, float]:
    """All-columns DCR share (rank view) of synthetic rows with a rare category value or not, and by density."""
    schema = infer_schema(training, what="training")
    columns = list(training.columns)
    tables = {"training": training, "holdout": holdout, "synthetic": synthetic.iloc[: len(holdout)]}
    matrices, _ = encode_tables(columns, {c: schema.kind(c) for c in columns}, tables, np.random.default_rng(0))
    to_training, _ = closest_distances(matrices["synthetic"], matrices["training"], second=False)
    to_holdout, _ = closest_distances(matrices["synthetic"], matrices["holdout"], second=False)
    closer = np.where(to_training < to_holdout, 1.0, np.where(to_training == to_holdout, 0.5, 0.0))
    rows = tables["synthetic"].reset_index(drop=True)
    rare = np.zeros(len(rows), dtype=bool)
    for column in categorical_columns(training):
        shares = training[column].value_counts(normalize=True)
        rare |= rows[column].map(shares).fillna(0.0).to_numpy() < RARE_SHARE
    quartile = pd.qcut(np.minimum(to_training, to_holdout), 4, labels=False, duplicates="drop")
    out = {"rare": float(closer[rare].mean()) if rare.any() else float("nan"),
           "not rare": float(closer[~rare].mean()) if (~rare).any() else float("nan"),
           "rare rows": float(rare.mean())}
    out.update({f"q{q + 1}": float(closer[quartile == q].mean()) for q in range(4)})
    return out


def measure_perfect(
    dataset: str, training: pd.DataFrame, holdout: pd.DataFrame, work: Path, draws: int, with_qa: bool
) -> dict[str, list[dict[str, float]]]:
    """The fresh draws (scored by mostlyai-qa too when asked) and the three transformed versions of each."""
    target = TARGETS[dataset]
    population = fresh_rows(dataset, 10 * (len(training) + len(holdout)))  # the world beyond the split
    encoder = argn_encoder(training)
    found: dict[str, list[dict[str, float]]] = {}
    for draw in range(draws):
        rows = fresh_rows(dataset, len(holdout), draw=draw)
        variants = {
            "fresh": rows,
            "roundtrip": roundtrip(encoder, rows, draw),
            "training marginals": training_marginals(training, rows, population),
            "training category combinations": training_combinations(training, rows, draw),
        }
        for name, table in variants.items():
            found.setdefault(name, []).append(score(training, holdout, table, target))
        found["fresh"][-1].update(shares_by_group(training, holdout, rows))
        if with_qa:
            path = work / f"fresh-{draw}.parquet"
            rows.to_parquet(path, index=False)
            found["fresh"][-1].update(_refereed(work, path))
    return found


def _refereed(work: Path, path: Path) -> dict[str, float]:
    """mostlyai-qa's ``dcr_share`` and overall accuracy of the synthetic table at ``path`` (empty without it)."""
    referee = run_qa(work / "training.parquet", work / "holdout.parquet", path, work)
    return {} if referee is None else {"qa_dcr_share": referee["dcr_share"], "qa_overall": referee["overall"]}


def measure_models(
    dataset: str, training: pd.DataFrame, holdout: pd.DataFrame, work: Path, seeds: list[int],
    variants: list[dict[str, Any]], with_reference: bool, with_qa: bool,
) -> dict[str, list[dict[str, Any]]]:
    """argn (default and each variant) on every seed, and TabularARGN when asked, scored alike."""
    target = TARGETS[dataset]
    found: dict[str, list[dict[str, Any]]] = {}
    runs = [(f"argn {json.dumps(v)}" if v else "argn", {**v, "random_state": s, "n_threads": 1})
            for v in [{}, *variants] for s in seeds]
    for number, (name, settings) in enumerate(runs):
        path = work / f"synthetic-{number}.parquet"
        fit = run_worker("argn", work / "training.parquet", len(holdout), path, json.dumps(settings))
        found.setdefault(name, []).append(_scored(training, holdout, path, target, work, with_qa, fit))
        found[name][-1]["seed"] = settings["random_state"]
        if name == "argn":
            _transformed(training, holdout, pd.read_parquet(path), target, settings["random_state"], found)
    if with_reference:
        path = work / "reference.parquet"
        fit = run_reference(work / "training.parquet", len(holdout), path)
        if fit is not None:
            found["TabularARGN"] = [_scored(training, holdout, path, target, work, with_qa, fit)]
    return found


def _transformed(training: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame, target: str, seed: int,
                 found: dict[str, list[dict[str, Any]]]) -> None:
    """The default argn's rows with one categorical column shuffled, and with the numbers jittered."""
    tables = {f"argn, {c} shuffled": shuffled(synthetic, c, seed) for c in categorical_columns(training)}
    tables["argn, numbers jittered"] = jittered(training, synthetic, seed)
    for name, table in tables.items():
        found.setdefault(name, []).append({**score(training, holdout, table, target), "seed": seed})


def _scored(training: pd.DataFrame, holdout: pd.DataFrame, path: Path, target: str, work: Path, with_qa: bool,
            fit: dict[str, Any]) -> dict[str, Any]:
    synthetic = pd.read_parquet(path)
    row: dict[str, Any] = {**score(training, holdout, synthetic, target),
                           **shares_by_group(training, holdout, synthetic), "fit_seconds": fit.get("fit_seconds")}
    if with_qa:
        row.update(_refereed(work, path))
    return row


def print_table(dataset: str, found: dict[str, list[dict[str, Any]]]) -> None:
    print(f"\n{dataset}: means over draws / seeds (QA seeds {', '.join(map(str, QA_SEEDS))})")
    keys = ["overall", "worst", "all", "rare", "not rare", "q1", "q4", "qa_dcr_share", "qa_overall"]
    print(f"{'rows':34s} {'n':>2s} " + " ".join(f"{k:>12s}" for k in keys))
    for name, rows in found.items():
        means = [np.nanmean([r.get(k, np.nan) for r in rows]) if any(k in r for r in rows) else np.nan for k in keys]
        print(f"{name[:34]:34s} {len(rows):2d} " + " ".join(f"{m:12.4f}" for m in means))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default="sim_race_splits", help="comma-separated simulated tables")
    parser.add_argument("--draws", type=int, default=4, help="disjoint fresh draws")
    parser.add_argument("--seeds", default="0,1,2,3", help="argn seeds (empty: no argn fits)")
    parser.add_argument("--settings", action="append", default=[], help="an argn variant as JSON (repeatable)")
    parser.add_argument("--with-reference", action="store_true", help="also fit mostlyai-engine's TabularARGN")
    parser.add_argument("--with-qa", action="store_true", help="also score fresh and fitted tables by mostlyai-qa")
    parser.add_argument("--out", default=str(RESULTS), help="JSON file to merge results into")
    args = parser.parse_args(argv)
    datasets = simulated_datasets(parser, args.datasets)
    seeds = [int(s) for s in args.seeds.split(",") if s]
    variants = [json.loads(s) for s in args.settings]
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    out = Path(args.out)
    results = json.loads(out.read_text()) if out.is_file() else {}
    for dataset in datasets:
        training, holdout = load_split(dataset)
        with tempfile.TemporaryDirectory() as folder:  # the split as the workers and the referee read it
            work = Path(folder)
            training.to_parquet(work / "training.parquet", index=False)
            holdout.to_parquet(work / "holdout.parquet", index=False)
            found = measure_perfect(dataset, training, holdout, work, args.draws, args.with_qa)
            found.update(measure_models(dataset, training, holdout, work, seeds, variants, args.with_reference,
                                        args.with_qa))
        results[dataset] = {"measured_at": datetime.now(UTC).isoformat(timespec="seconds"), "rows": found}
        print_table(dataset, found)
        results["machine"] = {"cpus": os.cpu_count(), "platform": platform.platform(),
                              "python": platform.python_version()}
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=1, default=float) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
