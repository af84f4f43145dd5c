"""The privacy budget: one ``privacy: {epsilon, delta}`` for the whole model, and how it is split.

A user sets one total budget (ε, δ) per generator. Everything a model learns from
the training rows spends part of it:

* the **statistics** learned outside SGD (category sets by noisy counts, DP quantiles
  for bins and bounds, datetime ranges, missing shares, a copula's marginals and
  correlations; see :mod:`synth_pipeline.dp_statistics`): Gaussian mechanisms, together
  ``ρ``-zCDP, plus vocabulary thresholds that release a value held by one row with
  probability at most :attr:`BudgetSplit.threshold_delta`;
* **DP-SGD** (argn's network).

A generator that trains with SGD composes both under **one accountant** (opacus' PRV):
the statistics' Gaussian mechanisms are exactly one Gaussian mechanism of noise
``1 / sqrt(2 ρ)`` (Gaussian mechanisms compose as one, μ² = Σ μᵢ²), which enters the
accountant's history as a single step at sampling rate 1 before the SGD steps. The
thresholds' δ is added outside it, so the total is (ε of the accountant at
``accountant_delta``, ``threshold_delta + accountant_delta``). Paying ``ln(1/δ)`` once
instead of once per part leaves both parts less noise than a split of ε would (census,
ε = 1: ε split 0.3/0.7 spends only 0.76 under one accountant). The statistics get
:data:`STATISTICS_SHARE` of ``ρ_ref``, the zCDP ``ρ`` of one Gaussian mechanism spending
the whole (ε, ``accountant_delta``); DP-SGD takes the least noise that keeps the whole
history within ε. A generator that learns only statistics (the copula) gives them
everything (basic composition of the zCDP conversion and the thresholds). The neighbouring
relation is add/remove one row (what Poisson sampling and opacus' accountants assume);
the number of rows is treated as public.

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

from synth_pipeline.dp_statistics import epsilon_of_rho, rho_for_epsilon

#: the statistics' share of ``ρ_ref`` when a generator also trains with DP-SGD under the same accountant.
#: (0.15 already gives them more than the earlier ε split 0.3 / 0.7: ρ 0.0043 vs 0.0027 at ε = 1); census, ε = 1:
#: 0.930 at 0.15, 0.9335 at 0.3, 0.934 at 0.5 (DP-SGD noise 5.4, 5.9, 6.7); ε = 3: 0.953 at 0.3 (0.950 with
#: the ε split). Weighting number columns twice in the statistics' split (they release three histograms)
#: measured worse in the model (census 0.929 at ε = 1, 0.948 at ε = 3), so every column weighs the same
STATISTICS_SHARE = 0.3
#: the share of δ that pays for the vocabulary thresholds (the rest is the accountant's)
THRESHOLD_DELTA_SHARE = 0.5
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
    """How a model's total (ε, δ) is divided between the statistics and DP-SGD.

    ``statistics_epsilon`` / ``statistics_delta``: the statistics' own guarantee (what
    :class:`synth_pipeline.dp_statistics.PrivateStatistics` is given: ``statistics_rho`` at half of
    ``statistics_delta``, thresholds the other half). With SGD, ``training_epsilon`` /
    ``training_delta`` are the whole ε and the accountant's δ: the accountant holds the statistics'
    Gaussian (``statistics_noise``) and the steps together; the thresholds' δ comes on top.
    """

    epsilon: float
    delta: float
    statistics_epsilon: float
    statistics_delta: float
    training_epsilon: float
    training_delta: float
    statistics_rho: float = 0.0
    threshold_delta: float = 0.0
    composition: str = "basic sequential composition: total = statistics + training (ε and δ each)"

    @property
    def statistics_noise(self) -> float | None:
        """The statistics as one Gaussian mechanism of sensitivity 1: its noise (None: no statistics)."""
        return math.sqrt(1.0 / (2.0 * self.statistics_rho)) if self.statistics_rho > 0 else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return asdict(self)


#: how a split with SGD composes, as the model's record states it
JOINT_COMPOSITION = (
    "one PRV accountant: the statistics' Gaussian mechanisms (rho-zCDP, one Gaussian of noise 1/sqrt(2 rho)) "
    "and the DP-SGD steps; plus the vocabulary thresholds' delta"
)


def split_budget(
    privacy: PrivacySettings, n_rows: int, *, trains_with_sgd: bool, statistics_share: float | None = None
) -> BudgetSplit:
    """Divide ``privacy`` for a table of ``n_rows`` training rows (see the module docstring).

    With SGD: ``statistics_share`` of ``ρ_ref`` to the statistics, the rest of one accountant's ε to
    DP-SGD (``None``: :data:`STATISTICS_SHARE`). Without: all of ε and δ to the statistics.
    """
    statistics_share = STATISTICS_SHARE if statistics_share is None else statistics_share
    if not 0 < statistics_share < 1:
        raise ValueError(f"statistics_share must be between 0 and 1, got {statistics_share!r}")
    epsilon, delta = privacy.epsilon, privacy.resolved_delta(n_rows)
    if not trains_with_sgd:
        return BudgetSplit(epsilon, delta, epsilon, delta, 0.0, 0.0, rho_for_epsilon(epsilon, delta / 2), delta / 2)
    threshold_delta = delta * THRESHOLD_DELTA_SHARE
    accountant_delta = delta - threshold_delta
    rho = statistics_share * rho_for_epsilon(epsilon, accountant_delta)
    return BudgetSplit(
        epsilon, delta, epsilon_of_rho(rho, threshold_delta), 2 * threshold_delta, epsilon, accountant_delta,
        rho, threshold_delta, JOINT_COMPOSITION,
    )


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
    "JOINT_COMPOSITION",
    "STATISTICS_SHARE",
    "THRESHOLD_DELTA_SHARE",
    "BudgetSplit",
    "PrivacySettings",
    "default_delta",
    "describe_privacy",
    "parse_privacy",
    "split_budget",
]
