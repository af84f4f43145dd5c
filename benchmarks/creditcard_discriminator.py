"""What gives argn's creditcard_default rows away: the benchmark discriminator with derived features (issue 19 §3).

    python benchmarks/creditcard_discriminator.py SYNTHETIC.parquet [--label NAME]

``SYNTHETIC`` holds rows sampled from a model fitted on the training half of
``benchmarks/generators.py``'s split (as many rows as the holdout). LightGBM with the
discriminator's settings (100 trees, 3-fold AUC on 10,000 rows of each) tells training rows from
synthetic ones, first on the raw columns (what the QA report measures), then with one group of
derived features added at a time:

* ``change``: ``bill_amt{k} - bill_amt{k+1}``, this month's bill minus last month's;
* ``ratio``: ``bill_amt{k} / bill_amt{k+1}``;
* ``balance``: ``bill_amt{k+1} - pay_amt{k} - bill_amt{k}``, last month's bill less this month's payment
  and bill (what was bought or charged);
* ``equal``: payment equal to last month's bill, bill equal to last month's, payment equal to last month's;
* ``round``: payments and bills that are multiples of 10.

A group that lifts the AUC far above the raw one is a relation the generator gets wrong. The training
half against the holdout scores about 0.5 with every group. Merges one row per label into
``benchmarks/results/creditcard_discriminator.json``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "creditcard_discriminator.json"
ROWS = 10_000
MONTHS = range(1, 6)


def _load_split() -> tuple[pd.DataFrame, pd.DataFrame]:
    spec = importlib.util.spec_from_file_location("generators_benchmark", REPO / "benchmarks" / "generators.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.load_split("creditcard_default")


def derived(table: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The derived feature groups of the module docstring, each a frame aligned with ``table``."""
    bill = {k: table[f"bill_amt{k}"].astype(float) for k in range(1, 7)}
    pay = {k: table[f"pay_amt{k}"].astype(float) for k in range(1, 7)}
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = {f"ratio{k}": np.where(bill[k + 1] != 0, bill[k] / bill[k + 1], np.nan) for k in MONTHS}
    return {
        "change": pd.DataFrame({f"change{k}": bill[k] - bill[k + 1] for k in MONTHS}),
        "ratio": pd.DataFrame(ratio, index=table.index),
        "balance": pd.DataFrame({f"balance{k}": bill[k + 1] - pay[k] - bill[k] for k in MONTHS}),
        "equal": pd.DataFrame(
            {f"pay{k}_is_bill{k + 1}": (pay[k] == bill[k + 1]).astype(float) for k in MONTHS}
            | {f"bill{k}_is_bill{k + 1}": (bill[k] == bill[k + 1]).astype(float) for k in MONTHS}
            | {f"pay{k}_is_pay{k + 1}": (pay[k] == pay[k + 1]).astype(float) for k in MONTHS}
        ),
        "round": pd.DataFrame(
            {f"pay{k}_round": ((pay[k] % 10 == 0) & (pay[k] > 0)).astype(float) for k in range(1, 7)}
            | {f"bill{k}_round": ((bill[k] % 10 == 0) & (bill[k] != 0)).astype(float) for k in range(1, 7)}
        ),
    }


def _auc(first: pd.DataFrame, second: pd.DataFrame) -> float:
    import lightgbm as lgb
    from sklearn.model_selection import cross_val_score

    x = pd.concat([first, second], ignore_index=True)
    y = np.repeat([0, 1], [len(first), len(second)])
    model = lgb.LGBMClassifier(n_estimators=100, learning_rate=0.1, num_leaves=31, random_state=0, verbose=-1,
                               n_jobs=1, deterministic=True, force_col_wise=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(cross_val_score(model, x, y, cv=3, scoring="roc_auc").mean())


def measure(training: pd.DataFrame, other: pd.DataFrame) -> dict[str, float]:
    """AUC on the raw columns, and with each derived group added (seeded samples of ``ROWS`` rows each)."""
    rng = np.random.default_rng(0)
    n = min(ROWS, len(training), len(other))
    first = training.iloc[rng.permutation(len(training))[:n]].reset_index(drop=True)
    second = other[training.columns].iloc[rng.permutation(len(other))[:n]].reset_index(drop=True)
    first, second = first.astype(float), second.astype(float)
    out = {"raw": _auc(first, second)}
    groups = derived(first), derived(second)
    for name in groups[0]:
        out[f"raw + {name}"] = _auc(first.join(groups[0][name]), second.join(groups[1][name]))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("synthetic", type=Path, help="Parquet file of synthetic rows")
    parser.add_argument("--label", default=None, help="name of the row in the results (default: the file stem)")
    parser.add_argument("--with-holdout", action="store_true", help="also score the holdout (the floor)")
    args = parser.parse_args(argv)
    training, holdout = _load_split()
    rows = {args.label or args.synthetic.stem: measure(training, pd.read_parquet(args.synthetic))}
    if args.with_holdout:
        rows["holdout"] = measure(training, holdout)
    for label, row in rows.items():
        print(label, "  ".join(f"{k}: {v:.3f}" for k, v in row.items()))
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    RESULTS.write_text(json.dumps({**results, **rows}, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
