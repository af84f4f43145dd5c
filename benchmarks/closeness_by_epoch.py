"""Would a privacy-aware stopping rule help? argn's closeness to its training rows, epoch by epoch.

    python benchmarks/closeness_by_epoch.py [--dataset sim_listings] [--seed 0] [--epochs 5,10,15,20,30,40]

The usual benchmark split (``benchmarks/generators.py``). argn is fitted once with its default settings
(``random_state`` = ``--seed``, one thread); the weights it validates after each epoch (the moving
average that early stopping keeps) are recorded as it trains. Each listed epoch's weights then sample
as many rows as the holdout has, scored with :func:`synth_pipeline.quality.evaluate`: overall accuracy,
DCR share (worst subset, and all columns), discriminator AUC, next to that epoch's training and
validation loss. If the DCR share rose with the epochs while accuracy stood still, stopping earlier (or
on a rule that watches closeness) would trade little accuracy for privacy; if it is flat, it would not.
Merges into ``benchmarks/results/closeness_by_epoch.json``.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from generators import TARGETS, load_split, report_scores  # noqa: E402

from synth_pipeline.generators.argn import ARGNGenerator  # noqa: E402
from synth_pipeline.generators.argn import training as argn_training  # noqa: E402
from synth_pipeline.quality import evaluate  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "closeness_by_epoch.json"
KEPT = ("overall", "dcr_share", "dcr_share_all_columns", "discriminator_auc")


def fit_recording(training: Any, seed: int) -> tuple[ARGNGenerator, dict[int, dict[str, Any]]]:
    """The fitted default argn and the validated (moving-average) weights of every epoch.

    The weights are read where early stopping sees them (``EarlyStopping.update``, once per epoch);
    the recording wrapper changes nothing in training.
    """
    states: dict[int, dict[str, Any]] = {}
    update = argn_training.EarlyStopping.update

    def recording(self: Any, validation_loss: float, ema: Any) -> bool:
        states[len(states) + 1] = copy.deepcopy(ema.state_dict())
        return update(self, validation_loss, ema)

    argn_training.EarlyStopping.update = recording  # type: ignore[method-assign]
    try:
        model = ARGNGenerator(n_threads=1, random_state=seed).fit(training)
    finally:
        argn_training.EarlyStopping.update = update  # type: ignore[method-assign]
    return model, states


def measure(dataset: str, seed: int, epochs: list[int]) -> dict[str, Any]:
    training, holdout = load_split(dataset)
    model, states = fit_recording(training, seed)
    report = model.training_report_
    history = {row["epoch"]: row for row in report["history"]}
    best_state = copy.deepcopy(model.network_.state_dict())
    rows: dict[str, Any] = {}
    for epoch in [e for e in epochs if e in states] + ["kept"]:
        model.network_.load_state_dict(best_state if epoch == "kept" else states[epoch])
        synthetic = model.sample(len(holdout), random_state=seed)
        scores = report_scores(evaluate(training, holdout, synthetic, target=TARGETS[dataset]))
        at = history.get(report["best_epoch"] if epoch == "kept" else epoch, {})
        rows[str(epoch)] = {"loss": at.get("loss"), "validation_loss": at.get("validation_loss"),
                            **{key: scores[key] for key in KEPT}}
        print(f"  {dataset} seed {seed} epoch {epoch}: " + "  ".join(f"{k} {v:.4f}" for k, v in rows[str(epoch)].items()
                                                                     if v is not None), flush=True)
    model.network_.load_state_dict(best_state)
    return {"seed": seed, "epochs_trained": report["epochs"], "best_epoch": report["best_epoch"], "by_epoch": rows}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="sim_listings", choices=sorted(TARGETS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", default="5,10,15,20,30,40", help="epochs whose weights are scored")
    parser.add_argument("--out", default=str(RESULTS), help="JSON file to merge results into")
    args = parser.parse_args(argv)
    result = measure(args.dataset, args.seed, [int(e) for e in args.epochs.split(",") if e])
    out = Path(args.out)
    results = json.loads(out.read_text()) if out.is_file() else {}
    result["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    results[f"{args.dataset} seed {args.seed}"] = result
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
