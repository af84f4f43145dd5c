"""The privacy budget: one ``privacy: {epsilon, delta}`` for the whole model, and how it is split.

A user sets one total budget (ε, δ) per generator. Everything a model learns from
the training rows spends part of it, and the parts add up (basic sequential
composition: running mechanisms with budgets (ε₁, δ₁) … (ε_k, δ_k) on the same rows
is (Σεᵢ, Σδᵢ)-differentially private):

* the **statistics** learned outside SGD (category sets by noisy counts, DP quantiles
  for bins and bounds, datetime ranges, missing shares, rule inference, a copula's
  marginals and correlations): :attr:`BudgetSplit.statistics_epsilon` and
  ``statistics_delta`` (see :mod:`synth_pipeline.dp_statistics`: Gaussian noise and the thresholds
  that keep a value held by one row out of a vocabulary need a δ);
* **DP-SGD** (argn's network): :attr:`BudgetSplit.training_epsilon` and ``training_delta``.

A generator that trains with SGD gives :data:`STATISTICS_SHARE` of ε and of δ to the
statistics and the rest to SGD; one that learns only statistics (the copula) gives
them everything. The neighbouring relation is add/remove one row (what Poisson
sampling and opacus' accountants assume); the number of rows is treated as public.

A generator fitted under ``privacy`` keeps what it spent as ``privacy_`` (``None`` without
privacy): a JSON-ready dict with at least ``epsilon`` and ``delta`` (the totals spent) and
``epsilon_budget`` / ``delta_budget``; argn adds how DP-SGD ran (``noise_multiplier``,
``max_grad_norm``, ``sampling_rate``, ``steps``, ``accountant``). The lifecycle stores it with
the model, in asset metadata and in the snapshot catalog, and the ``max_epsilon`` gate reads it.

δ defaults to ``min(1e-5, 1 / (10 n))`` for ``n`` training rows: well below ``1/n``,
the probability at which a mechanism could publish one whole row outright.

This module imports neither torch nor opacus.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

#: share of ε (and δ) spent on the statistics learned outside SGD when a generator also trains with DP-SGD:
#: on census (benchmarks/dp_statistics.py) 0.1 of ε = 3 cost argn 3 pp of accuracy before any DP-SGD
#: (categories, atoms and tails below the noise are lost), 0.3 about 1 pp
STATISTICS_SHARE = 0.3
#: δ never defaults above this
MAX_DEFAULT_DELTA = 1e-5


def _number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"must be a number, got {value!r}")
    return float(value)


_Number = Annotated[float, BeforeValidator(_number)]


class PrivacySettings(BaseModel):
    """``privacy: {epsilon, delta}``: the total differential-privacy budget of one model.

    ``epsilon`` > 0 (finite); ``delta`` in (0, 1), ``None`` for :func:`default_delta`
    of the training rows.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    epsilon: _Number = Field(description="total ε of the model (> 0): smaller is more private")
    delta: _Number | None = Field(
        None, description="total δ (0 < δ < 1; None: min(1e-5, 1/(10 n)) for n training rows)"
    )

    @field_validator("epsilon")
    @classmethod
    def _positive_epsilon(cls, value: float) -> float:
        if not math.isfinite(value) or value <= 0:
            raise ValueError(
                f"must be a finite number above 0, got {value!r} (ε = 0 would allow no learning at all; "
                "for a model without differential privacy leave privacy out)"
            )
        return value

    @field_validator("delta")
    @classmethod
    def _delta_in_range(cls, value: float | None) -> float | None:
        if value is not None and not (0 < value < 1):
            raise ValueError(f"must be above 0 and below 1 (usually below 1/rows), got {value!r}")
        return value

    def resolved_delta(self, n_rows: int) -> float:
        """δ as configured, or :func:`default_delta` of ``n_rows``."""
        return self.delta if self.delta is not None else default_delta(n_rows)


def parse_privacy(value: Any) -> PrivacySettings | None:
    """``privacy`` as given in a config or to a generator (None, a mapping or :class:`PrivacySettings`)."""
    if value is None or isinstance(value, PrivacySettings):
        return value
    if not isinstance(value, dict):
        raise ValueError(f"must be a mapping {{epsilon: 3.0, delta: 1e-5}} or null, got {value!r}")
    return PrivacySettings.model_validate(value)


def default_delta(n_rows: int) -> float:
    """The δ used when none is set: ``min(1e-5, 1 / (10 n))``, well below ``1/n``."""
    return min(MAX_DEFAULT_DELTA, 1.0 / (10.0 * max(int(n_rows), 1)))


@dataclass(frozen=True)
class BudgetSplit:
    """How a model's total (ε, δ) is divided between the statistics and DP-SGD (they add up to the total)."""

    epsilon: float
    delta: float
    statistics_epsilon: float
    statistics_delta: float
    training_epsilon: float
    training_delta: float
    composition: str = "basic sequential composition: total = statistics + training (ε and δ each)"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return asdict(self)


def split_budget(
    privacy: PrivacySettings, n_rows: int, *, trains_with_sgd: bool, statistics_share: float = STATISTICS_SHARE
) -> BudgetSplit:
    """Divide ``privacy`` for a table of ``n_rows`` training rows.

    With SGD: ``statistics_share`` of ε and of δ to the statistics, the rest to DP-SGD.
    Without: all of ε and δ to the statistics.
    """
    if not 0 < statistics_share < 1:
        raise ValueError(f"statistics_share must be between 0 and 1, got {statistics_share!r}")
    epsilon, delta = privacy.epsilon, privacy.resolved_delta(n_rows)
    if not trains_with_sgd:
        return BudgetSplit(epsilon, delta, epsilon, delta, 0.0, 0.0)
    statistics, statistics_delta = epsilon * statistics_share, delta * statistics_share
    return BudgetSplit(epsilon, delta, statistics, statistics_delta, epsilon - statistics, delta - statistics_delta)


def describe_privacy(record: dict[str, Any] | None) -> str:
    """One line for people about a model's ``privacy_`` record (what ``fit`` prints)."""
    if not record:
        return "no differential privacy (trained without privacy: {epsilon, delta})"
    text = f"differential privacy: ε = {record['epsilon']:.3g} spent of {record.get('epsilon_budget', math.nan):.3g}"
    text += f", δ = {record['delta']:.2g}"
    if record.get("noise_multiplier") is not None:
        text += (
            f"; DP-SGD: noise multiplier {record['noise_multiplier']:.3g}, clipping norm {record['max_grad_norm']:g}, "
            f"sampling rate {record['sampling_rate']:.3g}, {record['steps']} steps, {record['accountant']} accountant"
        )
    if record.get("statistics_private") is False:
        text += "; WARNING: the statistics learned outside SGD (categories, bins) are not differentially private"
    return text


__all__ = [
    "MAX_DEFAULT_DELTA",
    "STATISTICS_SHARE",
    "BudgetSplit",
    "PrivacySettings",
    "default_delta",
    "describe_privacy",
    "parse_privacy",
    "split_budget",
]
