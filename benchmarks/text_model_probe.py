"""The text model on its own (issue 19 §2): train it on real rows' codes, write held-out rows' texts from theirs.

    python benchmarks/text_model_probe.py [--rows 12000] [--seed 0] [--max-epochs 40] [--hidden 0]
                                          [--compare-rules] [--compare-calibration] [--out F]

Faster than ``benchmarks/text_columns.py`` (no table model, no sampling of the other columns), so text
model changes can be compared at a fixed number of epochs or at convergence. The table is the same Debian
package index (``apt-cache dumpavail``, 36,000 packages drawn with seed 0; the first 24,000 are training, the
last 12,000 the holdout). The text encoder (*k* = 5) is fitted on the first ``--rows`` training rows and its
model trained on their codes (one thread); then every holdout row gets a description written from its
real other columns and its real token count. Measured beside the holdout's own texts: the QA report's
token-frequency and length accuracy, the ``text_columns`` discriminator with text features, the share of
texts that read back with fewer tokens than drawn (a word run into the one before) and of texts with
unbalanced round brackets; and CPU seconds per epoch (of the whole text fit: guards and training).
``--compare-rules`` samples the same trained model again without the bracket rule and without any rule;
``--compare-calibration`` without its token-frequency calibration (``text_calibration.calibrate_token_bias``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
import time
import warnings
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from text_columns import TEXT, _uptime, debian_packages, discriminator_auc  # noqa: E402

import synth_pipeline.generators.argn.encoders.text as text_encoding  # noqa: E402
from synth_pipeline.free_text import tokenize  # noqa: E402
from synth_pipeline.generators.argn.encoders.base import EncoderSettings, RowDecoding  # noqa: E402
from synth_pipeline.generators.argn.encoders.table import TableEncoder  # noqa: E402
from synth_pipeline.generators.argn.encoders.text import TextEncoder  # noqa: E402
from synth_pipeline.quality.text import compute_text_quality  # noqa: E402
from synth_pipeline.schema import infer_schema  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "text_model_probe.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=12_000, help="training rows (of 24,000)")
    parser.add_argument("--seed", type=int, default=0, help="the text model's seed")
    parser.add_argument("--max-epochs", type=int, default=40)
    parser.add_argument("--hidden", type=int, default=0, help="the GRU's width (0: the default)")
    parser.add_argument("--embedding", type=int, default=0, help="the token embedding's width (0: the default)")
    parser.add_argument("--weight-decay", type=float, default=-1.0, help="AdamW's weight decay (<0: the default)")
    parser.add_argument("--texts", type=Path, default=None, help="also write the texts drawn (with the rules) here")
    parser.add_argument("--top-p", type=float, nargs="*", default=[],
                        help="also sample the same model with these nucleus shares (rules on)")
    parser.add_argument("--compare-rules", action="store_true")
    parser.add_argument("--compare-calibration", action="store_true",
                        help="also sample the same model without its token-frequency calibration")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    torch.set_num_threads(1)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    table = debian_packages().sample(36_000, random_state=0).reset_index(drop=True)
    training, holdout = table.iloc[: args.rows].reset_index(drop=True), table.iloc[24_000:].reset_index(drop=True)
    schema = infer_schema(training)
    kinds = {n: schema.kind(n) for n in training.columns if schema.kind(n).value != "id"}
    columns = list(kinds)
    settings = EncoderSettings(rare_threshold=5, n_bins=64, n_levels=8, max_exact_values=128,
                               text_max_epochs=args.max_epochs, text_max_seconds=1e9)
    tables = TableEncoder.fit(training[columns], kinds, settings)
    codes, holdout_codes = (tables.encode(t[columns], equalities=False) for t in (training, holdout))
    encoder = next(e for e in tables.encoders if isinstance(e, TextEncoder))
    if args.hidden:
        text_encoding.HIDDEN_SIZE = args.hidden
    if args.embedding:
        text_encoding.EMBEDDING_DIM = args.embedding
    if args.weight_decay >= 0:
        text_encoding.WEIGHT_DECAY = args.weight_decay
    started = time.process_time()
    encoder.fit_in_context(training[TEXT], codes, tables.cardinalities.tolist(), np.random.default_rng(args.seed))
    cpu = time.process_time() - started
    first = int(tables.first_sub[tables.names.index(TEXT)])
    rules = encoder.token_rules()
    variants: dict[str, Any] = {"rules": rules}
    variants |= {f"rules, top_p {p:g}": (rules, p) for p in args.top_p}
    if args.compare_rules:
        variants |= {"spacing only": dataclasses.replace(rules, brackets=[]), "no rules": None}
    counts = Counter(t.strip() for text in training[TEXT] for t in tokenize(text))
    vocabulary = [t for t, _ in counts.most_common(300)]
    if args.compare_calibration:
        variants["rules, not calibrated"] = (rules, text_encoding.TOP_P)
    calibrated = encoder.network.token_bias.clone()
    results = []
    for name, variant in variants.items():
        variant, text_encoding.TOP_P = variant if isinstance(variant, tuple) else (variant, text_encoding.TOP_P)
        encoder.network.token_bias.copy_(calibrated * (name != "rules, not calibrated"))
        encoder.token_rules = lambda variant=variant: variant  # type: ignore[method-assign]
        texts = encoder.decode_row(holdout_codes[:, first : first + 1], np.zeros(0), None,
                                   RowDecoding(codes=holdout_codes, rng=np.random.default_rng(1)))
        drawn = holdout_codes[:, first] - int(encoder.has_missing)
        written = [(t, n) for t, n in zip(texts, drawn, strict=True) if t is not None]
        synthetic = holdout.copy()
        synthetic[TEXT] = texts.to_numpy()
        n = min(len(training), len(holdout))
        quality = compute_text_quality({TEXT: ""}, training.iloc[:n], holdout.iloc[:n], synthetic.iloc[:n])[0]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            auc = discriminator_auc(training, synthetic, schema, vocabulary, 0)
            auc_holdout = discriminator_auc(training, holdout, schema, vocabulary, 0)
        present = texts.dropna().astype(str)
        if args.texts is not None and name == "rules":
            synthetic[[TEXT]].assign(holdout=holdout[TEXT]).to_csv(args.texts, index=False)
        results.append({
            "sampling": name,
            "token_accuracy": quality.token_accuracy,
            "token_accuracy_holdout": quality.token_accuracy_holdout,
            "length_accuracy": quality.length_accuracy,
            "discriminator_auc_with_text": auc,
            "discriminator_auc_with_text_holdout": auc_holdout,
            "fewer_tokens_than_drawn": float(np.mean([len(tokenize(t)) < k for t, k in written])),
            "unbalanced_round_brackets": float((present.str.count(r"\(") != present.str.count(r"\)")).mean()),
            "rare_verbatim_share": quality.rare_verbatim_share_synthetic,
            "rare_token_share": quality.rare_token_share_synthetic,
        })
    report = encoder.report
    document: dict[str, Any] = {
        "benchmark": "text_model_probe",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "uptime": _uptime()},
        "args": {k: str(v) for k, v in vars(args).items()},
        "text_model": report,
        "hidden_size": text_encoding.HIDDEN_SIZE,
        "embedding_dim": text_encoding.EMBEDDING_DIM,
        "weight_decay": text_encoding.WEIGHT_DECAY,
        "cpu_seconds": cpu,
        "cpu_seconds_per_epoch": cpu / max(int(report["epochs"]), 1),
        "results": results,
    }
    print(json.dumps(document, indent=1))
    args.out.write_text(json.dumps(document, indent=1) + "\n")


if __name__ == "__main__":
    main()
