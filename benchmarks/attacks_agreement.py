"""Our singling-out and linkability attacks against Anonymeter 1.1's own, on census (issue 15).

    python benchmarks/attacks_agreement.py [--rows 5000]

Census is split as everywhere else (``default_rng(0)`` permutation, first half training, second holdout);
synthetic comes from our Gaussian copula (``random_state=0``, as many rows as training), then the same
table with 20% of its rows replaced by training rows (a leak both must see). Attacked: ``--rows`` training
rows (members) and as many holdout rows (control), seeded. Both implementations get the same three tables:

* singling out, univariate mode, 2,000 attacks: the number of predicates that single out a training row
  and a control row. Both draw their 2,000 predicates at random from the same candidates (census' copula
  table yields many more, fnlwgt alone thousands), so the counts agree within sampling noise, not exactly.
* singling out, multivariate mode (Anonymeter's default, 3 columns per predicate), 500 attacks, both capped
  at the same 100,000 attempts: predicates found, and those that single out a training row and a control
  row. Random draws again, so agreement within sampling noise.
* linkability, ``n_neighbors=1``, the columns split in the middle: rows linked. The distance differs by
  design (Anonymeter: its Gower-like mixed-type distance; ours: the QA report's encoding), so the rates
  agree only roughly; the risks must both be near 0 for the copula and clearly positive with copies.

Anonymeter pins numpy 1.26 and pandas 3.0.6, so it runs in its own environment:

    python3 -m venv /work/refenv-anon && /work/refenv-anon/bin/pip install anonymeter==1.1.0

(override with ANONYMETER_PYTHON=/path/to/python). Writes ``benchmarks/results/attacks_agreement.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from synth_pipeline.generators.registry import make_generator  # noqa: E402
from synth_pipeline.quality.attacks import compute_attacks  # noqa: E402
from synth_pipeline.quality.singling_out import MULTIVARIATE_ATTACKS, MULTIVARIATE_ATTEMPTS  # noqa: E402
from synth_pipeline.schema import apply_schema, infer_schema  # noqa: E402

CENSUS = ROOT.parent / "shared" / "data" / "census.csv.gz"
RESULTS = ROOT / "benchmarks" / "results" / "attacks_agreement.json"
ANONYMETER_PYTHON = Path(os.environ.get("ANONYMETER_PYTHON", "/work/refenv-anon/bin/python"))
N_ATTACKS = 2_000

_ANONYMETER_SCRIPT = """
import json, sys, time, warnings
import pandas as pd
from anonymeter.evaluators import LinkabilityEvaluator, SinglingOutEvaluator
import anonymeter.evaluators.singling_out_evaluator as singling
generated, _generate = {}, singling._generate_singling_out_queries
def _counted(**kwargs):  # the number of predicates found (Anonymeter keeps only those that hit)
    queries = _generate(**kwargs)
    generated[kwargs["mode"]] = len(queries)
    return queries
singling._generate_singling_out_queries = _counted
warnings.simplefilter("ignore")
def read(path):  # Anonymeter's numba distance needs plain float and object columns, not extension dtypes
    table = pd.read_parquet(path)
    return table.astype({c: "float64" if pd.api.types.is_numeric_dtype(table[c]) else object for c in table.columns})
members, control, synthetic = (read(sys.argv[i]) for i in (1, 2, 3))
halves = json.loads(sys.argv[4]); n_attacks = int(sys.argv[5]); n_multi = int(sys.argv[6])
max_attempts = int(sys.argv[7])
started = time.perf_counter()
single = SinglingOutEvaluator(ori=members, syn=synthetic, control=control, n_attacks=n_attacks)
single.evaluate(mode="univariate")
s = single.results()
multi = SinglingOutEvaluator(ori=members, syn=synthetic, control=control, n_attacks=n_multi, n_cols=3,
                             max_attempts=max_attempts, seed=0)
multi.evaluate(mode="multivariate")
m = multi.results()
link = LinkabilityEvaluator(ori=members, syn=synthetic, control=control, aux_cols=tuple(halves),
                            n_attacks=len(members), n_neighbors=1).evaluate(n_jobs=1)
k = link.results()
print("RESULT " + json.dumps({
    "singling_out": {"n_attacks": s.n_attacks_ori, "n_success": s.n_success, "n_control": s.n_control,
                     "risk": (s.n_success - s.n_control) / (n_attacks - s.n_control)},
    "singling_out_multivariate": {"n_attacks": m.n_attacks_ori, "predicates": generated["multivariate"],
                                  "n_success": m.n_success, "n_control": m.n_control,
                                  "risk": (m.n_success - m.n_control) / (n_multi - m.n_control)},
    "linkability": {"n_attacks": k.n_attacks_ori, "n_success": k.n_success, "n_control": k.n_control,
                    "risk": (k.n_success - k.n_control) / (len(members) - k.n_control)},
    "seconds": time.perf_counter() - started}))
"""


def split_census() -> tuple[pd.DataFrame, pd.DataFrame]:
    census = pd.read_csv(CENSUS)
    order = np.random.default_rng(0).permutation(len(census))
    half = len(census) // 2
    return census.iloc[order[:half]].reset_index(drop=True), census.iloc[order[half:]].reset_index(drop=True)


def ours(members: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame) -> dict:
    """Our attacks on the same tables (members, holdout whose first rows are the control, synthetic)."""
    schema = infer_schema(members)
    kinds = {c: schema.kind(c) for c in schema.names}
    tables = {name: apply_schema(t[schema.names], schema) for name, t in
              (("members", members), ("holdout", holdout), ("synthetic", synthetic))}
    started = time.perf_counter()
    attacks = compute_attacks(schema.names, kinds, tables, np.random.default_rng(0))
    r = attacks.reidentification
    n = len(members)
    return {
        "singling_out": {"n_attacks": N_ATTACKS, "n_success": round(r.singling_out_rate_training * N_ATTACKS),
                         "n_control": round(r.singling_out_rate_holdout * N_ATTACKS),
                         "predicates": r.singling_out_predicates, "risk": r.singling_out_risk},
        "singling_out_multivariate": {
            "n_attacks": MULTIVARIATE_ATTACKS,
            "n_success": round(r.singling_out_multivariate_rate_training * MULTIVARIATE_ATTACKS),
            "n_control": round(r.singling_out_multivariate_rate_holdout * MULTIVARIATE_ATTACKS),
            "predicates": r.singling_out_multivariate_predicates, "risk": r.singling_out_multivariate_risk},
        "linkability": {"n_attacks": n, "n_success": round(r.linkability_rate_training * n),
                        "n_control": round(r.linkability_rate_holdout * n), "risk": r.linkability_risk},
        "halves": list(r.linkability_columns),
        "mia_auc": attacks.mia_auc,
        "seconds": time.perf_counter() - started,
    }


def anonymeter(members: pd.DataFrame, control: pd.DataFrame, synthetic: pd.DataFrame, halves: list) -> dict | None:
    if not ANONYMETER_PYTHON.exists():
        print(f"Anonymeter environment not found at {ANONYMETER_PYTHON}; see this script's docstring. Ours only.")
        return None
    with tempfile.TemporaryDirectory() as tmp:
        paths = [Path(tmp) / f"{name}.parquet" for name in ("members", "control", "synthetic")]
        for table, path in zip((members, control, synthetic), paths, strict=True):
            table.to_parquet(path, index=False)
        done = subprocess.run(
            [str(ANONYMETER_PYTHON), "-c", _ANONYMETER_SCRIPT, *map(str, paths), json.dumps(halves), str(N_ATTACKS),
             str(MULTIVARIATE_ATTACKS), str(MULTIVARIATE_ATTEMPTS)],
            capture_output=True, text=True, env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}, check=False,
        )
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        print("Anonymeter failed:\n" + done.stderr[-3000:])
        return None
    return json.loads(lines[-1][len("RESULT "):])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000, help="members and control rows attacked")
    args = parser.parse_args()
    if not CENSUS.exists():
        print(f"{CENSUS} not found; nothing to benchmark")
        return
    training, holdout = split_census()
    synthetic = make_generator("copula", random_state=0).fit(training).sample(len(training))
    leak_rows = np.random.default_rng(1).choice(len(synthetic), size=len(synthetic) // 5, replace=False)
    leaky = synthetic.copy()
    leaky.iloc[leak_rows] = training.iloc[leak_rows].to_numpy()
    leaky = leaky.astype(synthetic.dtypes.to_dict())
    rng = np.random.default_rng(2)
    members = training.iloc[rng.permutation(len(training))[: args.rows]].reset_index(drop=True)
    shuffled_holdout = holdout.iloc[rng.permutation(len(holdout))].reset_index(drop=True)
    results = {}
    for scenario, table in (("copula", synthetic), ("copula_20pct_training_copies", leaky)):
        mine = ours(members, shuffled_holdout, table)
        theirs = anonymeter(members, shuffled_holdout.iloc[: args.rows], table, mine["halves"])
        results[scenario] = {"ours": mine, "anonymeter": theirs}
        print(f"\n[{scenario}]  {'':28s} {'ours':>10s} {'anonymeter':>10s}")
        for attack in ("singling_out", "singling_out_multivariate", "linkability"):
            for key in ("predicates", "n_success", "n_control", "risk"):
                if key in mine[attack]:
                    other = theirs[attack].get(key) if theirs else None
                    print(f"  {attack + ' ' + key:38s} {_show(mine[attack][key])} {_show(other)}")
        print(f"  seconds: ours {mine['seconds']:.1f}, anonymeter {theirs['seconds'] if theirs else float('nan'):.1f}")
    load = os.getloadavg()[0]
    print(f"load average at the end: {load:.2f}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"data": "census 50/50 split, copula random_state=0, members and control "
                                   f"{args.rows} rows each (default_rng(2))", "load_average_1min": load,
                                   "scenarios": results}, indent=2, default=float) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


def _show(value: float | int | None) -> str:
    if value is None:
        return f"{'-':>10s}"
    return f"{value:10d}" if isinstance(value, int) else f"{value:10.4f}"


if __name__ == "__main__":
    main()
