"""Holdout-based quality and privacy evaluation of a synthetic table, and the publishing gates."""

from synth_pipeline.quality.gates import (
    GateResult,
    Gates,
    GateSpec,
    blocking_failures,
    check_gates,
)

__all__ = ["GateResult", "GateSpec", "Gates", "blocking_failures", "check_gates"]
