"""What argn's DP statistics alone lose, without any training: a perfect model of the released statistics.

    python benchmarks/dp_statistics_roundtrip.py [--dataset census] [--epsilons 1,3] [--seeds 0,1]

For each total budget ε (δ = 1e-5) the statistics get what a model under ``privacy`` gives them
(:func:`synth_pipeline.generators.privacy_budget.split_budget`; ``--old-split``: the earlier split of
0.3 of ε and δ, for comparison). argn's encoders are fitted on the training half through those DP
statistics, the training rows are encoded, every code sampling may not draw is replaced by the codes
of a random row that has an allowed one, and the codes are decoded back (a rare category's code as
sampling writes it). What the decoded table loses against the training rows is what the
statistics lose (categories below the noise threshold, coarse bins, cut tails) before DP-SGD adds
its own loss. Prints overall accuracy (against training: without DP it reads ≈ 1.0) and the mean
pairwise TVD of each column, weakest first; merges into ``benchmarks/results/dp_statistics_roundtrip.json``.
Seconds per run; no training.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(1, str(Path(__file__).resolve().parent))
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from generators import load_split  # noqa: E402  (benchmarks/generators.py, this directory)

from synth_pipeline.columns import UNTABULATED_KINDS  # noqa: E402
from synth_pipeline.dp_statistics import PrivateStatistics  # noqa: E402
from synth_pipeline.generators.argn.encoders.base import EncoderSettings  # noqa: E402
from synth_pipeline.generators.argn.encoders.table import TableEncoder  # noqa: E402
from synth_pipeline.generators.argn.settings import ARGNSettings  # noqa: E402
from synth_pipeline.generators.privacy_budget import PrivacySettings, split_budget  # noqa: E402
from synth_pipeline.quality import evaluate  # noqa: E402
from synth_pipeline.schema import apply_schema, infer_schema  # noqa: E402

RESULTS = REPO / "benchmarks" / "results" / "dp_statistics_roundtrip.json"
DELTA = 1e-5


def statistics_budget(epsilon: float, n_rows: int, old_split: bool) -> tuple[float, float]:
    """The (ε, δ) the statistics are given at a total ``epsilon``."""
    if old_split:
        return 0.3 * epsilon, 0.3 * DELTA
    split = split_budget(PrivacySettings(epsilon=epsilon, delta=DELTA), n_rows, trains_with_sgd=True)
    return split.statistics_epsilon, split.statistics_delta


def roundtrip(dataset: str, epsilon: float, seed: int, old_split: bool) -> dict[str, Any]:
    """One perfect-model round trip; its accuracy and the columns' pairwise TVD."""
    training, holdout = load_split(dataset)
    schema = infer_schema(training, None, what="training table")
    training = apply_schema(training, schema, what="training table")
    columns = [c.name for c in schema.columns if c.kind not in UNTABULATED_KINDS]
    statistics_epsilon, statistics_delta = statistics_budget(epsilon, len(training), old_split)
    statistics = PrivateStatistics(statistics_epsilon, statistics_delta, columns, seed)
    defaults = ARGNSettings()
    encoding = EncoderSettings(
        rare_threshold=5, n_bins=defaults.n_bins, n_levels=defaults.n_levels,
        max_exact_values=defaults.max_exact_values, offsets=defaults.number_offsets,
        rounding=defaults.round_numbers, private=statistics,
    )
    encoder = TableEncoder.fit(training[columns], {n: schema.kind(n) for n in columns}, encoding)
    codes = encoder.encode(training[columns], equalities=False)
    rng = np.random.default_rng(seed)
    start = 0
    for column in encoder.encoders:
        width = len(column.sub_columns())
        barred = np.isin(codes[:, start], column.forbidden_codes(impute=False))
        allowed = np.flatnonzero(~barred)
        if barred.any() and len(allowed):
            codes[barred, start : start + width] = codes[rng.choice(allowed, int(barred.sum())), start : start + width]
        start += width
    decoded = encoder.decode(codes, rng)
    accuracy = evaluate(training[columns], holdout[columns], decoded, metrics={"accuracy"}).accuracy
    tvd: dict[str, list[float]] = {}
    for pair in accuracy.pairs:
        for name in pair.columns:
            tvd.setdefault(name, []).append(1.0 - pair.accuracy)
    return {
        "dataset": dataset, "epsilon": epsilon, "seed": seed, "split": "old 0.3 of epsilon" if old_split else "joint",
        "statistics_epsilon": statistics_epsilon, "statistics_rho": statistics.spent()["rho"],
        "overall": accuracy.overall, "univariate": accuracy.univariate, "bivariate": accuracy.bivariate,
        "trivariate": accuracy.trivariate,
        "pair_tvd": dict(sorted(((k, float(np.mean(v))) for k, v in tvd.items()), key=lambda kv: -kv[1])),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="census")
    parser.add_argument("--epsilons", default="1,3")
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--old-split", action="store_true", help="the earlier split: 0.3 of epsilon and delta")
    args = parser.parse_args()
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for epsilon in (float(e) for e in args.epsilons.split(",")):
            for seed in (int(s) for s in args.seeds.split(",")):
                row = roundtrip(args.dataset, epsilon, seed, args.old_split)
                rows.append(row)
                weakest = ", ".join(f"{k} {v:.3f}" for k, v in list(row["pair_tvd"].items())[:4])
                print(f"{args.dataset} eps={epsilon:g} seed={seed} ({row['split']}; statistics eps "
                      f"{row['statistics_epsilon']:.3f}): overall {row['overall']:.4f}  weakest: {weakest}", flush=True)
    previous = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {"runs": []}
    key = ("dataset", "epsilon", "seed", "split")
    fresh = {tuple(r[k] for k in key) for r in rows}
    keep = [r for r in previous["runs"] if tuple(r[k] for k in key) not in fresh]
    RESULTS.write_text(json.dumps({"delta": DELTA, "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
                                   "runs": keep + rows}, indent=1) + "\n")
    print(f"written {RESULTS}")


if __name__ == "__main__":
    main()
