"""Publishing gates: thresholds on a :class:`~synth_pipeline.quality.report.QualityReport`.

A gate names one headline metric and a threshold; a *blocking* gate that fails
stops publishing, a non-blocking one only warns. Gates are configured per
dataset (the YAML ``gates:`` section is parsed into :class:`Gates`) and checked
with :func:`check_gates`, which the Dagster asset checks and the CLI call.

>>> gates = Gates(max_dcr_share=0.55, max_ims_training={"threshold": 0.01, "blocking": False})
>>> gates.max_dcr_share.threshold
0.55
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

if TYPE_CHECKING:  # pragma: no cover
    from synth_pipeline.quality.report import QualityReport

#: default of ``max_ims_training``: synthetic rows identical to a training row, beyond the holdout's own rate
DEFAULT_MAX_IMS_EXCESS = 0.01


class GateSpec(BaseModel):
    """One gate's threshold and whether failing it blocks publishing (else it warns)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    threshold: float = Field(description="The limit the metric is compared against.")
    blocking: bool = Field(True, description="True: a failure stops publishing. False: a failure is a warning.")

    @field_validator("threshold")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("a gate threshold must be a finite number")
        return value


def _as_spec(value: Any) -> Any:
    # YAML convenience: `max_dcr_share: 0.6` means a blocking gate at 0.6.
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {"threshold": float(value)}
    if value is not None and not isinstance(value, (dict, GateSpec)):
        raise ValueError(
            f"must be a number (a blocking gate at that threshold), {{threshold: x, blocking: false}} or null "
            f"(off), got {type(value).__name__}"
        )
    return value


# name -> (lowest, highest, whether the highest is allowed): outside it a gate always fails or never can
_RANGES: dict[str, tuple[float, float, bool]] = {
    "min_accuracy_ratio": (0.0, 1.0, True),
    "max_dcr_share": (0.5, 1.0, False),
    "max_ims_training": (0.0, 1.0, False),
    "max_discriminator_auc": (0.5, 1.0, False),
    "min_accuracy": (0.0, 1.0, True),
    "max_mia_auc": (0.5, 1.0, False),
    "max_attribute_inference_gain": (0.0, 1.0, False),
    "max_epsilon": (0.0, math.inf, False),
}

#: an attack's number within this many standard deviations (of a perfect generator's) of no leak is noise
NOISE_SDS = 4.0


def _in_range(spec: GateSpec | None, info: ValidationInfo) -> GateSpec | None:
    if spec is None:
        return None
    low, high, high_allowed = _RANGES[info.field_name]
    x = spec.threshold
    never_passes = x == low and (info.field_name.startswith("min") or info.field_name == "max_epsilon")
    if x < low or x > high or (x == high and not high_allowed) or never_passes:
        left = "<" if info.field_name.startswith("min") else "<="
        right = "<=" if high_allowed else "<"
        raise ValueError(
            f"threshold {x:g} is outside its meaningful range {low:g} {left} x {right} {high:g}: there the gate "
            "always fails or can never fail (set the gate to null to switch it off)"
        )
    return spec


class Gates(BaseModel):
    """The gates of one dataset. A gate set to ``None`` is off.

    Each gate may be given as a number (a blocking gate at that threshold) or as
    ``{"threshold": x, "blocking": false}``. Unknown gate names are refused, so a
    typo cannot silently switch a gate off, and so is a threshold outside the gate's
    meaningful range (``max_dcr_share: 1.5`` could never fail, ``min_accuracy_ratio: -1``
    neither): a gate is switched off only by setting it to ``None`` (YAML ``null``).
    Ranges: ``min_accuracy_ratio`` and ``min_accuracy`` in (0, 1]; ``max_dcr_share`` and
    ``max_discriminator_auc`` and ``max_mia_auc`` in [0.5, 1); ``max_ims_training`` and
    ``max_attribute_inference_gain`` in [0, 1).
    """

    model_config = ConfigDict(extra="forbid")

    min_accuracy_ratio: GateSpec | None = Field(
        GateSpec(threshold=0.9),
        description="Minimum of overall accuracy divided by its holdout ceiling (accuracy.overall / overall_max).",
    )
    max_dcr_share: GateSpec | None = Field(
        GateSpec(threshold=0.6),
        description="Maximum share of synthetic rows closer to a training row than to a holdout row (0.5 is ideal).",
    )
    max_ims_training: GateSpec | None = Field(
        GateSpec(threshold=DEFAULT_MAX_IMS_EXCESS),
        description="Maximum share of synthetic rows identical to a training row beyond the holdout's own rate "
        "(distances.ims_training - distances.ims_holdout_training): real tables have natural duplicates, so "
        "only copies beyond what fresh real rows show count. Blocking by default.",
    )
    max_discriminator_auc: GateSpec | None = Field(
        None, description="Maximum cross-validated AUC of a classifier telling synthetic from training rows."
    )
    min_accuracy: GateSpec | None = Field(None, description="Minimum absolute overall accuracy (accuracy.overall).")
    max_mia_auc: GateSpec | None = Field(
        GateSpec(threshold=0.55),
        description="Maximum AUC of the membership-inference attack (attacks.mia_auc; 0.5 is ideal). An AUC within "
        "4 standard deviations of 0.5 (attacks.mia_auc_null_sd: sampling noise on small tables) always passes. "
        "Blocking by default.",
    )
    max_attribute_inference_gain: GateSpec | None = Field(
        GateSpec(threshold=0.03, blocking=False),
        description="Maximum gain of the attribute-inference attack (attacks.attribute_inference_gain: how much "
        "more often the sensitive value of a training row is guessed right than that of a holdout row). A gain "
        "within 4 standard deviations of 0 (sampling noise) always passes. A warning by default.",
    )
    max_epsilon: GateSpec | None = Field(
        None,
        description="Maximum differential-privacy ε the model spent (header.epsilon, from the model's privacy "
        "record): a model trained without privacy has ε = ∞ and fails it.",
    )

    _to_spec = field_validator(*_RANGES, mode="before")(_as_spec)
    _check_range = field_validator(*_RANGES)(_in_range)

    def active(self) -> dict[str, GateSpec]:
        """The gates that are switched on, by name, in declaration order."""
        return {name: spec for name in type(self).model_fields if (spec := getattr(self, name)) is not None}


class GateResult(BaseModel):
    """The outcome of one gate on one report."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="The gate's name, e.g. 'max_dcr_share'.")
    value: float | None = Field(description="The metric's value; None when it was not computed.")
    threshold: float = Field(description="The gate's threshold.")
    blocking: bool = Field(description="Whether a failure stops publishing.")
    passed: bool = Field(description="Whether the metric is on the right side of the threshold.")
    message: str = Field(description="One line for people: the metric, its value, the limit and the verdict.")

    @property
    def severity(self) -> Literal["ok", "warn", "error"]:
        """'ok' when passed, else 'error' for a blocking gate and 'warn' for a warning one."""
        if self.passed:
            return "ok"
        return "error" if self.blocking else "warn"


def _section_value(report: QualityReport, section: str, field: str) -> float | None:
    part = getattr(report, section, None)
    if part is None:
        return None
    value = getattr(part, field, None)
    return None if value is None else float(value)


def _ims_excess(report: QualityReport) -> float | None:
    copies = _section_value(report, "distances", "ims_training")
    natural = _section_value(report, "distances", "ims_holdout_training")
    if copies is None or natural is None:
        return None
    return copies - natural


def _accuracy_ratio(report: QualityReport) -> float | None:
    overall = _section_value(report, "accuracy", "overall")
    ceiling = _section_value(report, "accuracy", "overall_max")
    if overall is None or ceiling is None or ceiling <= 0:
        return None
    return overall / ceiling


def _model_epsilon(report: QualityReport) -> float | None:
    """The ε the report's model spent; ∞ for a named model trained without privacy; None when no model is named."""
    header = report.header
    if header.model_id is None and header.epsilon is None:
        return None
    return math.inf if header.epsilon is None else float(header.epsilon)


# name -> (what the metric is, how to read it from a report, direction)
_GATE_METRICS: dict[str, tuple[str, Callable[[QualityReport], float | None], Literal["min", "max"]]] = {
    "min_accuracy_ratio": ("accuracy.overall / accuracy.overall_max", _accuracy_ratio, "min"),
    "max_dcr_share": ("distances.dcr_share", lambda r: _section_value(r, "distances", "dcr_share"), "max"),
    "max_ims_training": ("distances.ims_training - distances.ims_holdout_training", _ims_excess, "max"),
    "max_discriminator_auc": (
        "similarity.discriminator_auc_training_synthetic",
        lambda r: _section_value(r, "similarity", "discriminator_auc_training_synthetic"),
        "max",
    ),
    "min_accuracy": ("accuracy.overall", lambda r: _section_value(r, "accuracy", "overall"), "min"),
    "max_mia_auc": ("attacks.mia_auc", lambda r: _section_value(r, "attacks", "mia_auc"), "max"),
    "max_attribute_inference_gain": (
        "attacks.attribute_inference_gain",
        lambda r: _section_value(r, "attacks", "attribute_inference_gain"),
        "max",
    ),
    "max_epsilon": ("the model's differential-privacy ε", _model_epsilon, "max"),
}

# gate -> (the value meaning no leak, how to read its sampling noise): a value within NOISE_SDS of it passes
_NOISE: dict[str, tuple[float, Callable[[QualityReport], float | None]]] = {
    "max_mia_auc": (0.5, lambda r: _section_value(r, "attacks", "mia_auc_null_sd")),
    "max_attribute_inference_gain": (0.0, lambda r: _section_value(r, "attacks", "attribute_inference_gain_null_sd")),
}


def _noise_floor(name: str, report: QualityReport) -> float | None:
    if name not in _NOISE:
        return None
    ideal, read = _NOISE[name]
    sd = read(report)
    return None if sd is None else ideal + NOISE_SDS * sd
assert set(_GATE_METRICS) == set(Gates.model_fields), "every gate needs a metric"


def check_gates(report: QualityReport, gates: Gates | None = None) -> list[GateResult]:
    """Check every active gate of ``gates`` (defaults: ``Gates()``) against ``report``.

    A gate whose metric was not computed (its section is missing, e.g. evaluated
    with ``metrics={"accuracy"}``) fails with a message saying so; a blocking
    gate must never pass by omission.
    """
    gates = Gates() if gates is None else gates
    results = []
    for name, spec in gates.active().items():
        label, read, direction = _GATE_METRICS[name]
        value = read(report)
        kind = "blocking" if spec.blocking else "warning"
        if name == "max_epsilon" and value == math.inf:
            passed, value = False, None
            message = (
                f"{name} ({kind}): the model was trained without differential privacy (ε = ∞), required <= "
                f"{spec.threshold:g}: {'FAILED' if spec.blocking else 'warning'}"
            )
        elif value is None or not math.isfinite(value):
            passed = False
            message = f"{name} ({kind}): {label} was not computed, so the gate cannot pass"
            value = None
        else:
            limit, floor = spec.threshold, _noise_floor(name, report)
            if floor is not None and floor > limit:
                limit = floor
            passed = value >= limit if direction == "min" else value <= limit
            relation = ">=" if direction == "min" else "<="
            verdict = "passed" if passed else ("FAILED" if spec.blocking else "warning")
            required = f"{spec.threshold:g}" if limit == spec.threshold else (
                f"{spec.threshold:g} (raised to {limit:.4f}, the sampling noise of this sample size)"
            )
            message = f"{name} ({kind}): {label} = {value:.4f}, required {relation} {required}: {verdict}"
        results.append(
            GateResult(
                name=name, value=value, threshold=spec.threshold, blocking=spec.blocking, passed=passed, message=message
            )
        )
    return results


def blocking_failures(results: list[GateResult]) -> list[GateResult]:
    """The results that stop publishing."""
    return [r for r in results if r.blocking and not r.passed]
