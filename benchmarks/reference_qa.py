"""Score one synthetic table with mostlyai-qa, the reference implementation (benchmark-only).

Runs inside its own environment (``/work/refenv-qa``), called by ``benchmarks/generators.py``:

    python benchmarks/reference_qa.py TRAINING.parquet HOLDOUT.parquet SYNTHETIC.parquet REPORT.html

Prints one JSON line with mostlyai-qa's metrics.
"""

import json
import sys

import pandas as pd


def main() -> None:
    training_path, holdout_path, synthetic_path, report_path = sys.argv[1:5]
    from mostlyai import qa

    training = pd.read_parquet(training_path)
    holdout = pd.read_parquet(holdout_path)
    synthetic = pd.read_parquet(synthetic_path)
    _, metrics = qa.report(
        syn_tgt_data=synthetic, trn_tgt_data=training, hol_tgt_data=holdout, report_path=report_path
    )
    print(json.dumps(metrics.model_dump(mode="json") if metrics is not None else {}))


if __name__ == "__main__":
    main()
