"""What value protection alone costs on the simulated tables: a perfect generator's rows, protected like argn's.

    python benchmarks/protection_floor.py [--datasets sim_listings,sim_race_splits] [--ks 5,7,8,9]
        [--stand-ins uniform,proportional,capped] [--draws 1] [--out FILE]

The usual benchmark split (``benchmarks/generators.py``: ``default_rng(0)`` permutation, halves). The
*fresh draw* is rows of the same simulated world that neither half holds (what a perfect generator
samples). It is then protected the way argn protects its output, for each ``k`` argn can draw
(:func:`synth_pipeline.protection.protection_k`: 5 to 9; seeds 0 / 1 / 2 draw 5 / 7 / 8): every
category seen fewer than ``k`` times in training becomes a frequent one (a *stand-in*: drawn
uniformly, as argn writes a drawn rare code; in proportion to the training counts; or "capped", in
proportion to ``min(count - k + 1, k)``, which shuns the values just above the threshold), or a value
no training row holds (``made-up``: a made-up label of a uniformly drawn frequent label's shape, as argn
writes one with ``made_up_labels``; ``placeholder``: the one label ``_RARE_`` in every such cell), and numbers
are clipped to the protected bounds (the ``k``-th smallest and largest training value). Each table is
scored with :func:`synth_pipeline.quality.evaluate` like a generator's. The protected rows' figures
are a floor for any generator under value protection: the discriminator tells training from synthetic
by the rare values the synthetic table can never hold. ``--draws N`` scores N disjoint fresh draws (figures
per draw, their mean, and each draw's worst column subset). Merges into
``benchmarks/results/protection_floor.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from generators import SIMULATED, TARGETS, load_split, report_scores  # noqa: E402

from synth_pipeline.columns import ORDERED_KINDS, ColumnKind  # noqa: E402
from synth_pipeline.generators.argn.encoders.made_up_labels import MadeUpLabels  # noqa: E402
from synth_pipeline.protection import protected_bounds  # noqa: E402
from synth_pipeline.quality import evaluate  # noqa: E402
from synth_pipeline.schema import infer_schema  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "protection_floor.json"
STAND_INS = ("uniform", "proportional", "capped", "made-up", "placeholder")
KEPT = ("overall", "univariate", "bivariate", "trivariate", "overall_max", "dcr_share", "dcr_share_all_columns",
        "discriminator_auc", "discriminator_auc_holdout")


def fresh_rows(dataset: str, n_rows: int, draw: int = 0) -> pd.DataFrame:
    """Rows of the simulated world beyond both halves of the split (as ``generators.fresh_draw``; ``draw`` > 0:
    the next disjoint blocks of ``n_rows``)."""
    import importlib

    simulator = getattr(importlib.import_module("synth_pipeline.simulate"), SIMULATED[dataset])
    n_table = len(simulator(random_state=0))
    start = 10 * n_table + draw * n_rows
    rows = simulator(n_rows=20 * n_table, random_state=0).iloc[start : start + n_rows]
    return rows.reset_index(drop=True)


def protect(
    rows: pd.DataFrame, training: pd.DataFrame, k: int, stand_in: str, rng: np.random.Generator
) -> pd.DataFrame:
    """``rows`` as argn's value protection lets them out of a model fitted on ``training`` with threshold ``k``.

    ``stand_in``: one of :data:`STAND_INS` (see the module docstring).
    """
    if stand_in not in STAND_INS:
        raise ValueError(f"stand_in must be one of {', '.join(STAND_INS)}, got {stand_in!r}")
    schema = infer_schema(training)
    out = rows.copy()
    for name in rows.columns:
        kind = schema[name].kind
        present = training[name].dropna()
        if kind in ORDERED_KINDS and kind is not ColumnKind.DATETIME:
            low, high = protected_bounds(np.sort(present.to_numpy(dtype=np.float64)), k)
            out[name] = out[name].clip(low, high).astype(rows[name].dtype)
        elif kind is ColumnKind.CATEGORICAL:
            counts = present.value_counts()
            frequent = counts[counts >= k]
            rare = (out[name].notna() & ~out[name].isin(frequent.index)).to_numpy()
            if not rare.any() or frequent.empty:
                continue
            values = out[name].to_numpy(dtype=object)
            if stand_in in ("made-up", "placeholder"):
                values[rare] = _unheld(frequent.index.tolist(), counts.index[counts < k].tolist(), int(rare.sum()),
                                       stand_in, rng)
                out[name] = values
                continue
            weights = {"uniform": np.ones(len(frequent)), "proportional": frequent.to_numpy(dtype=np.float64),
                       "capped": np.clip(frequent.to_numpy(dtype=np.float64) - (k - 1), 0, k)}[stand_in]
            p = weights / weights.sum()
            values[rare] = rng.choice(frequent.index.to_numpy(dtype=object), int(rare.sum()), p=p)
            out[name] = values
    return out


def _unheld(frequent: list, rare: list, n: int, stand_in: str, rng: np.random.Generator) -> list[str]:
    """``n`` values no training row holds: made-up labels of frequent labels' shapes, or one placeholder."""
    if stand_in == "placeholder":
        return ["_RARE_"] * n
    labels = [str(v) for v in frequent]
    made = MadeUpLabels.fit(labels, [str(v) for v in rare], rng)
    known = set(labels)
    templates = rng.choice(np.array(labels, dtype=object), n)
    return [made.label(t, known, rng) or t for t in templates]


def measure(dataset: str, ks: list[int], stand_ins: list[str], draws: int) -> dict[str, dict[str, float]]:
    training, holdout = load_split(dataset)
    target = TARGETS[dataset]
    out: dict[str, dict[str, float]] = {}
    for draw in range(draws):
        fresh = fresh_rows(dataset, len(holdout), draw)
        suffix = f", draw {draw}" if draws > 1 else ""
        variants = {"fresh draw": fresh}
        for k in ks:
            for stand_in in stand_ins:
                variants[f"fresh draw, k={k}, {stand_in} stand-ins"] = protect(
                    fresh, training, k, stand_in, np.random.default_rng(k)
                )
        for name, rows in variants.items():
            report = evaluate(training, holdout, rows, target=target)
            scores = report_scores(report)
            worst = max(report.distances.dcr_share_subsets, key=lambda subset: subset.dcr_share)
            row = {key: scores[key] for key in KEPT}
            out[name + suffix] = {**row, "worst_subset": f"{worst.view}: {', '.join(worst.columns)}"}
            figures = "  ".join(f"{key} {row[key]:.4f}" for key in KEPT[:1] + KEPT[5:8])
            print(f"  {dataset}: {name + suffix:52s} {figures}  worst {out[name + suffix]['worst_subset']}", flush=True)
            if draws > 1:
                mean = out.setdefault(name + f", mean of {draws} draws", dict.fromkeys(KEPT, 0.0))
                for key in KEPT:
                    mean[key] += row[key] / draws
    return out


def simulated_datasets(parser: argparse.ArgumentParser, value: str) -> list[str]:
    """The comma-separated ``--datasets`` value, each a simulated table (else the parser's error)."""
    datasets = [d for d in value.split(",") if d]
    unknown = [d for d in datasets if d not in SIMULATED]
    if unknown:
        parser.error(f"not a simulated table: {', '.join(unknown)}; choose from {', '.join(SIMULATED)}")
    return datasets


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default=",".join(SIMULATED), help="comma-separated simulated tables")
    parser.add_argument("--ks", default="5,7,8,9", help="value-protection thresholds to apply")
    parser.add_argument("--stand-ins", default="uniform,proportional,capped", help=f"of {', '.join(STAND_INS)}")
    parser.add_argument("--draws", type=int, default=1, help="disjoint fresh draws to score")
    parser.add_argument("--out", default=str(RESULTS), help="JSON file to merge results into")
    args = parser.parse_args(argv)
    datasets = simulated_datasets(parser, args.datasets)
    ks = [int(k) for k in args.ks.split(",") if k]
    stand_ins = [s for s in args.stand_ins.split(",") if s]
    if set(stand_ins) - set(STAND_INS):
        parser.error(f"--stand-ins: choose from {', '.join(STAND_INS)}")
    out = Path(args.out)
    results = json.loads(out.read_text()) if out.is_file() else {}
    for dataset in datasets:
        measured = measure(dataset, ks, stand_ins, args.draws)
        results[dataset] = {"measured_at": datetime.now(UTC).isoformat(timespec="seconds"), **measured}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
