"""Run mostlyai-engine's TabularARGN with its defaults on one training table (benchmark-only).

Runs inside its own environment (``/work/refenv-engine``: mostlyai-engine pins a
different torch than synth_pipeline), called by ``benchmarks/generators.py``:

    python benchmarks/reference_engine.py TRAINING.parquet N_ROWS SYNTHETIC.parquet

Prints one JSON line with fit seconds, sampling rows/s and peak memory.
"""

import json
import os
import resource
import sys
import time

import pandas as pd


def main() -> None:
    training_path, n_rows, synthetic_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    from mostlyai.engine import TabularARGN

    training = pd.read_parquet(training_path)
    started = time.perf_counter()
    model = TabularARGN(random_state=0)
    model.fit(training)
    fit_seconds = time.perf_counter() - started
    started = time.perf_counter()
    synthetic = model.sample(n_samples=n_rows)
    sample_seconds = time.perf_counter() - started
    synthetic.to_parquet(synthetic_path, index=False)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({
        "fit_seconds": fit_seconds,
        "sample_rows_per_second": n_rows / sample_seconds,
        "peak_memory_mb": peak_mb,
        "threads": os.cpu_count(),
    }))


if __name__ == "__main__":
    main()
