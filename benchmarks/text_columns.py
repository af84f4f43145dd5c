"""Free-text columns (issue 19 §2): argn's text kind against "free text as ids", on a public table built at run time.

    python benchmarks/text_columns.py [--rows 36000] [--seed 0] [--text-seconds S] [--skip-baseline] [--out F]

The table is Debian's package index on this machine (``apt-cache dumpavail``; public data, built at run
time, never committed): one row per package with ``package`` (an id), ``section``, ``priority``,
``architecture``, ``multi_arch``, ``installed_size``, ``download_kb``, ``n_depends`` and the short
``description``, the free text ("Python 3 bindings for the Foo library"). ``--rows`` packages drawn at
random (seeded) are split 2:1 into training and holdout.

Two generators, both argn with default settings:

* **text**: the schema as inferred (``description`` is free text, ``package`` an id);
* **as ids** (what happened before the text kind): ``columns: {description: id}``.

Measured, each beside the holdout's own value (the ceiling a fresh real sample reaches):

* accuracy of the non-text columns (``evaluate``'s overall accuracy, which leaves ids and free text out);
* a discriminator that sees the text: LightGBM (200 trees) telling training from synthetic rows on the
  non-text columns plus, from the description, its token and character counts and one 0/1 feature per
  token for the 300 most frequent training tokens; AUC-ROC on a seeded 30 % test split (0.5: indistinguishable);
* the QA report's text section (:mod:`synth_pipeline.quality.text`): length and token-frequency accuracy,
  texts found verbatim in training, copies of rare training texts, rare tokens (names, numbers) reproduced.

Prints a table and writes ``benchmarks/results/text_columns.json`` (with ``uptime``: the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import time
import warnings
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from synth_pipeline.free_text import tokenize  # noqa: E402
from synth_pipeline.generators.argn import ARGNGenerator  # noqa: E402
from synth_pipeline.quality import evaluate  # noqa: E402
from synth_pipeline.quality.features import model_features  # noqa: E402
from synth_pipeline.quality.text import text_features  # noqa: E402
from synth_pipeline.schema import Schema, infer_schema  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "text_columns.json"
TEXT = "description"
FIELDS = {
    "Package": "package", "Section": "section", "Priority": "priority", "Architecture": "architecture",
    "Multi-Arch": "multi_arch", "Installed-Size": "installed_size", "Size": "download_kb", "Depends": "n_depends",
    "Description": TEXT,
}


def debian_packages() -> pd.DataFrame:
    """One row per package of this machine's Debian package index (``apt-cache dumpavail``)."""
    dump = subprocess.run(["apt-cache", "dumpavail"], capture_output=True, text=True, check=True).stdout
    rows = []
    for stanza in dump.split("\n\n"):
        record: dict[str, Any] = {}
        for line in stanza.splitlines():
            key, sep, value = line.partition(": ")
            if sep and not line.startswith(" ") and key in FIELDS:
                record[FIELDS[key]] = value.strip()
        if "package" in record and TEXT in record:
            rows.append(record)
    table = pd.DataFrame(rows).drop_duplicates("package").reset_index(drop=True)
    table["installed_size"] = pd.to_numeric(table["installed_size"], errors="coerce").astype("Int64")
    table["download_kb"] = (pd.to_numeric(table["download_kb"], errors="coerce") / 1024).round().astype("Int64")
    table["n_depends"] = table["n_depends"].fillna("").map(lambda d: len([p for p in d.split(",") if p.strip()]))
    columns = ["package", "section", "priority", "architecture", "multi_arch", "installed_size", "download_kb",
               "n_depends", TEXT]
    return table[columns]


def discriminator_auc(real: pd.DataFrame, other: pd.DataFrame, schema: Schema, vocabulary: list[str],
                      seed: int) -> float:
    """AUC of LightGBM telling ``real`` from ``other`` on the non-text columns and the description's features."""
    import lightgbm
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    n = min(len(real), len(other))
    real, other = real.sample(n, random_state=seed), other.sample(n, random_state=seed)
    columns = [c for c in schema.names if schema.kind(c).value not in ("id", "text")]
    kinds = {c: schema.kind(c) for c in columns}
    (x_real, x_other), categorical = model_features(columns, kinds, [real, other])
    x = np.vstack([
        np.hstack([x_real, text_features(real[TEXT], vocabulary)]),
        np.hstack([x_other, text_features(other[TEXT].astype(object), vocabulary)]),
    ])
    y = np.r_[np.zeros(n), np.ones(n)]
    x_fit, x_test, y_fit, y_test = train_test_split(x, y, test_size=0.3, random_state=seed, stratify=y)
    model = lightgbm.LGBMClassifier(n_estimators=200, verbose=-1, random_state=seed, n_jobs=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(x_fit, y_fit, categorical_feature=categorical)
        return float(roc_auc_score(y_test, model.predict_proba(x_test)[:, 1]))


def run(name: str, training: pd.DataFrame, holdout: pd.DataFrame, overrides: dict[str, str], args: Any,
        vocabulary: list[str]) -> dict[str, Any]:
    """Fit argn with ``overrides``, sample, and measure."""
    started = time.perf_counter()
    generator = ARGNGenerator(random_state=args.seed, column_kinds=overrides or None,
                              text_max_seconds=args.text_seconds).fit(training)
    fit_seconds = time.perf_counter() - started
    started = time.perf_counter()
    synthetic = generator.sample(len(training), random_state=args.seed)
    sample_seconds = time.perf_counter() - started
    schema = generator.schema_
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = evaluate(training, holdout, synthetic, schema=schema, random_state=0,
                          metrics={"accuracy", "similarity", "text"})
    text = report.text[0].model_dump() if report.text else None
    encoder = next((e for e in generator.encoder_.encoders if e.name == TEXT), None)
    return {
        "generator": name,
        "description_kind": schema.kind(TEXT).value,
        "description_reason": schema[TEXT].reason,
        "fit_seconds": round(fit_seconds, 1),
        "text_model": getattr(encoder, "report", None),
        "vocabulary_size": len(getattr(encoder, "vocabulary", [])),
        "sample_seconds": round(sample_seconds, 1),
        "accuracy_non_text": report.accuracy.overall,
        "accuracy_non_text_holdout": report.accuracy.overall_max,
        "discriminator_auc_non_text": report.similarity.discriminator_auc_training_synthetic,
        "discriminator_auc_with_text": discriminator_auc(training, synthetic, schema, vocabulary, args.seed),
        "discriminator_auc_with_text_holdout": discriminator_auc(training, holdout, schema, vocabulary, args.seed),
        "text": text,
        "examples": synthetic[["section", TEXT]].head(12).astype(str).values.tolist(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=36_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--text-seconds", type=float, default=None,
                        help="a wall-clock limit of the text model (default: none, argn's token budget)")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the JSON goes")
    args = parser.parse_args()
    table = debian_packages()
    table = table.sample(min(args.rows, len(table)), random_state=args.seed).reset_index(drop=True)
    cut = len(table) * 2 // 3
    training, holdout = table.iloc[:cut].reset_index(drop=True), table.iloc[cut:].reset_index(drop=True)
    schema = infer_schema(training)
    print(schema.describe().to_string())
    counts = Counter(t.strip() for text in training[TEXT] for t in tokenize(text))
    vocabulary = [t for t, _ in counts.most_common(300)]
    results = [run("argn, description as text", training, holdout, {}, args, vocabulary)]
    if not args.skip_baseline:
        results.append(run("argn, description as ids", training, holdout, {TEXT: "id"}, args, vocabulary))
    _print(results)
    document = {
        "benchmark": "text_columns",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "uptime": _uptime()},
        "table": {"source": "apt-cache dumpavail (Debian package index on this machine)", "rows": len(table),
                  "training": len(training), "holdout": len(holdout), "columns": list(table.columns)},
        "schema": schema.to_dict(),
        "seed": args.seed,
        "text_max_seconds": args.text_seconds,
        "results": results,
    }
    args.out.write_text(json.dumps(document, indent=1, default=str) + "\n")
    print(f"wrote {args.out}")


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def _print(results: list[dict[str, Any]]) -> None:
    rows = []
    for r in results:
        t = r["text"] or {}
        rows.append({
            "generator": r["generator"],
            "accuracy (non-text)": f"{r['accuracy_non_text']:.3f} / {r['accuracy_non_text_holdout']:.3f}",
            "disc. AUC with text": f"{r['discriminator_auc_with_text']:.3f} / "
                                   f"{r['discriminator_auc_with_text_holdout']:.3f}",
            "disc. AUC non-text": f"{r['discriminator_auc_non_text']:.3f}",
            "length acc.": _pair(t, "length_accuracy", "length_accuracy_holdout", "{:.3f}"),
            "token acc.": _pair(t, "token_accuracy", "token_accuracy_holdout", "{:.3f}"),
            "verbatim": _pair(t, "verbatim_share_synthetic", "verbatim_share_holdout", "{:.1%}"),
            "rare verbatim": _pair(t, "rare_verbatim_share_synthetic", "rare_verbatim_share_holdout", "{:.2%}"),
            "rare tokens": _pair(t, "rare_token_share_synthetic", "rare_token_share_holdout", "{:.2%}"),
            "fit s": r["fit_seconds"],
        })
    print("(each pair: synthetic / holdout)")
    print(pd.DataFrame(rows).to_string(index=False))
    for r in results:
        print(f"\n{r['generator']}: examples")
        for section, text in r["examples"]:
            print(f"  [{section}] {text}")


def _pair(t: dict[str, Any], mine: str, holdout: str, fmt: str) -> str:
    return f"{fmt.format(t[mine])} / {fmt.format(t[holdout])}" if t else "-"


if __name__ == "__main__":
    main()
