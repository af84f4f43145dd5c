"""Holdout-based quality and privacy evaluation of a synthetic table, the publishing gates, the HTML page.

>>> from synth_pipeline.quality import evaluate, Gates, check_gates, render_html  # doctest: +SKIP
>>> report = evaluate(training, holdout, synthetic, target="income")  # doctest: +SKIP
>>> [r.message for r in check_gates(report, Gates())]  # doctest: +SKIP
>>> render_html(report, "quality.html", gates=Gates())  # doctest: +SKIP
"""

from synth_pipeline.quality.evaluate import METRICS, evaluate
from synth_pipeline.quality.gates import (
    GateResult,
    Gates,
    GateSpec,
    blocking_failures,
    check_gates,
)
from synth_pipeline.quality.html import render_html
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
    "render_html",
]
