"""Holdout-based quality and privacy evaluation of a synthetic table, and the publishing gates.

>>> from synth_pipeline.quality import evaluate, Gates, check_gates  # doctest: +SKIP
>>> report = evaluate(training, holdout, synthetic, target="income")  # doctest: +SKIP
>>> [r.message for r in check_gates(report, Gates())]  # doctest: +SKIP
"""

from synth_pipeline.quality.evaluate import METRICS, evaluate
from synth_pipeline.quality.gates import (
    GateResult,
    Gates,
    GateSpec,
    blocking_failures,
    check_gates,
)
from synth_pipeline.quality.report import QualityReport

__all__ = [
    "METRICS",
    "GateResult",
    "GateSpec",
    "Gates",
    "QualityReport",
    "blocking_failures",
    "check_gates",
    "evaluate",
]
