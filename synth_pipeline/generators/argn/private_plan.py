"""DP-SGD's plan before training: sampling rate, steps and noise multiplier for a budget, checked up front.

Training under ``privacy`` is DP-SGD (Abadi et al. 2016): every step draws a Poisson
sample of the training rows (each row independently with probability ``q``), clips
each row's gradient to norm ``C`` and adds Gaussian noise of standard deviation
``σ·C`` to their sum. opacus' accountant turns (``q``, ``σ``, steps) into the (ε, δ)
spent. The plan fixes ``q`` and the number of steps from the table size, then picks
the smallest ``σ`` whose ε after all steps stays within the budget, so every prefix of
the run is within budget too (ε only grows with steps). The accountant's history starts
with the DP statistics learned before training, as one Gaussian mechanism at sampling
rate 1 (``statistics_noise``, see :mod:`synth_pipeline.generators.privacy_budget`): the ε
planned and recorded is that of the statistics and the steps together.

A budget too small for at least :data:`MIN_EPOCHS` epoch at the largest noise we
allow (:data:`MAX_NOISE_MULTIPLIER`; beyond it the noise drowns every gradient) is
refused before training, naming the smallest ε that works for the table's size.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from typing import Any

from synth_pipeline.dp_statistics import rho_for_epsilon
from synth_pipeline.errors import ConfigError

#: opacus' accountant used (PRV: numerically tight, ≈ 10% below RDP's bound; "rdp" is the classic one)
ACCOUNTANT = "prv"
#: the largest noise multiplier a plan uses
MAX_NOISE_MULTIPLIER = 10.0
#: the least training a model needs: this many expected passes over the rows
MIN_EPOCHS = 1
#: per-row gradient clipping norm
MAX_GRAD_NORM = 1.0


@dataclass(frozen=True)
class DPPlan:
    """What DP-SGD will do: Poisson sampling rate, steps, noise, clipping and the accountant."""

    epsilon: float  # the ε the accountant may reach (statistics and steps together)
    delta: float  # the accountant's δ
    sample_rate: float
    expected_batch_size: int
    steps: int
    noise_multiplier: float
    max_grad_norm: float
    accountant: str
    planned_epsilon: float  # ε after the statistics and all ``steps`` (≤ ``epsilon``)
    statistics_noise: float | None = None  # the statistics as one Gaussian step at rate 1 (None: not in the books)

    @property
    def prior(self) -> list[tuple[float, float, int]]:
        """The accountant's history before the first step: the statistics' Gaussian mechanism, if any."""
        return _prior(self.statistics_noise)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return asdict(self)


def make_accountant(name: str = ACCOUNTANT) -> Any:
    """A fresh opacus accountant (``"prv"`` or ``"rdp"``)."""
    from opacus.accountants import PRVAccountant, RDPAccountant

    if name == "prv":
        return PRVAccountant()
    if name == "rdp":
        return RDPAccountant()
    raise ValueError(f"unknown accountant {name!r}: use 'prv' or 'rdp'")


def _prior(statistics_noise: float | None) -> list[tuple[float, float, int]]:
    return [] if statistics_noise is None else [(float(statistics_noise), 1.0, 1)]


def epsilon_after(
    noise_multiplier: float, sample_rate: float, steps: int, delta: float, accountant: str,
    statistics_noise: float | None = None,
) -> float:
    """ε spent by ``steps`` Poisson-sampled Gaussian steps after the statistics' Gaussian, by opacus' ``accountant``."""
    steps_taken = [(float(noise_multiplier), float(sample_rate), int(steps))] if steps > 0 else []
    history = _prior(statistics_noise) + steps_taken
    if not history:
        return 0.0
    books = make_accountant(accountant)
    books.history = history
    with warnings.catch_warnings():  # PRV warns about its discretisation on tiny ε; its bound still holds
        warnings.simplefilter("ignore")
        return float(books.get_epsilon(delta=delta))


def noise_for(
    epsilon: float, delta: float, sample_rate: float, steps: int, accountant: str, statistics_noise: float | None = None
) -> float | None:
    """The smallest noise multiplier (to 2%) whose ε after ``steps`` is at most ``epsilon``; None above the cap."""
    found = _noise_and_epsilon(epsilon, delta, sample_rate, steps, accountant, statistics_noise)
    return None if found is None else found[0]


def _fits(
    noise: float, epsilon: float, delta: float, sample_rate: float, steps: int, accountant: str,
    statistics_noise: float | None,
) -> float | None:
    """ε after ``steps`` at ``noise`` when it is within ``epsilon``, else None."""
    spent = epsilon_after(noise, sample_rate, steps, delta, accountant, statistics_noise)
    return spent if spent <= epsilon else None


def _noise_and_epsilon(
    epsilon: float, delta: float, sample_rate: float, steps: int, accountant: str, statistics_noise: float | None = None
) -> tuple[float, float] | None:
    low, high, narrowed = 0.3, MAX_NOISE_MULTIPLIER, False
    books = (epsilon, delta, sample_rate, steps, accountant, statistics_noise)
    if accountant != "rdp":
        # RDP's bound is above PRV's and ≈ 50× cheaper: its noise is enough (a little more than
        # needed), and PRV's is rarely a third below it; the bisection then runs in between
        bound = _noise_and_epsilon(epsilon, delta, sample_rate, steps, "rdp", statistics_noise)
        if bound is not None:
            low, high, narrowed = bound[0] / 1.3, bound[0], True
    best = _fits(high, *books)
    if best is None and narrowed:  # PRV above RDP here (not seen): search the whole range
        low, high, narrowed = 0.3, MAX_NOISE_MULTIPLIER, False
        best = _fits(high, *books)
    if best is None:
        return None
    if not narrowed and (at_low := _fits(low, *books)) is not None:
        return low, at_low
    while high / low > 1.02:  # bisection in log space
        middle = math.sqrt(low * high)
        spent = _fits(middle, *books)
        if spent is None:
            low = middle
        else:
            high, best = middle, spent
    return high, best


def statistics_noise_for(epsilon: float, delta: float, statistics_share: float) -> float | None:
    """The statistics' Gaussian noise for a total ``epsilon`` at the accountant's ``delta`` (None: share 0).

    They get ``statistics_share`` of the zCDP ρ one Gaussian mechanism spending all of
    (``epsilon``, ``delta``) would have (:func:`synth_pipeline.generators.privacy_budget.split_budget`).
    """
    if statistics_share <= 0:
        return None
    return math.sqrt(1.0 / (2.0 * statistics_share * rho_for_epsilon(epsilon, delta)))


def smallest_epsilon(
    n_rows: int, expected_batch_size: int, delta: float, accountant: str = ACCOUNTANT, statistics_share: float = 0.0
) -> float:
    """ε of the least training (:data:`MIN_EPOCHS` at :data:`MAX_NOISE_MULTIPLIER`) for ``n_rows`` rows.

    With a ``statistics_share``, the least total ε whose statistics and least training fit in it
    (found with the RDP accountant, whose ε is above PRV's: the value returned works for both).
    """
    sample_rate = min(1.0, expected_batch_size / n_rows)
    steps = max(1, math.ceil(MIN_EPOCHS / sample_rate))
    if statistics_share <= 0:
        return epsilon_after(MAX_NOISE_MULTIPLIER, sample_rate, steps, delta, accountant)
    alone = epsilon_after(MAX_NOISE_MULTIPLIER, sample_rate, steps, delta, "rdp")

    def fits(total: float) -> bool:
        prior = statistics_noise_for(total, delta, statistics_share)
        return epsilon_after(MAX_NOISE_MULTIPLIER, sample_rate, steps, delta, "rdp", prior) <= total

    low, high = alone, 2 * alone
    while not fits(high):
        low, high = high, 2 * high
    for _ in range(30):
        middle = math.sqrt(low * high)
        low, high = (low, middle) if fits(middle) else (middle, high)
    return high


def plan_dp_sgd(
    n_rows: int,
    *,
    epsilon: float,
    delta: float,
    expected_batch_size: int,
    epochs: int,
    statistics_share: float = 0.0,
    accountant: str = ACCOUNTANT,
) -> DPPlan:
    """The plan for ``epochs`` expected passes over ``n_rows`` rows within (``epsilon``, ``delta``).

    ``statistics_share``: the statistics' share of ρ (:func:`statistics_noise_for`), whose
    Gaussian mechanism the accountant holds before the steps. When ``epochs`` would need more
    noise than :data:`MAX_NOISE_MULTIPLIER`, fewer epochs are planned (down to :data:`MIN_EPOCHS`);
    below that a :class:`ConfigError` names the smallest total ε that works.
    """
    batch = max(1, min(int(expected_batch_size), n_rows))
    sample_rate = batch / n_rows
    steps_per_epoch = max(1, round(1 / sample_rate))
    smallest_steps = max(1, math.ceil(MIN_EPOCHS / sample_rate))
    prior = statistics_noise_for(epsilon, delta, statistics_share)
    if not _feasible(epsilon, delta, sample_rate, smallest_steps, accountant, prior):
        least = smallest_epsilon(n_rows, batch, delta, accountant, statistics_share)
        raise ConfigError(
            f"privacy.epsilon is too small to train argn on {n_rows} rows: even {MIN_EPOCHS} epoch of DP-SGD at the "
            f"largest noise multiplier ({MAX_NOISE_MULTIPLIER:g}) spends more; the smallest privacy.epsilon that "
            f"works for this table size is about {_round_up(least)} (with delta={delta:.3g})"
        )
    steps = max(smallest_steps, int(epochs) * steps_per_epoch)
    found = _noise_and_epsilon(epsilon, delta, sample_rate, steps, accountant, prior)
    while found is None:  # too many steps for the budget: fewer epochs
        steps = max(smallest_steps, steps * 3 // 4)
        found = _noise_and_epsilon(epsilon, delta, sample_rate, steps, accountant, prior)
    noise, planned = found
    return DPPlan(
        epsilon=epsilon,
        delta=delta,
        sample_rate=sample_rate,
        expected_batch_size=batch,
        steps=steps,
        noise_multiplier=noise,
        max_grad_norm=MAX_GRAD_NORM,
        accountant=accountant,
        planned_epsilon=planned,
        statistics_noise=prior,
    )


def _feasible(
    epsilon: float, delta: float, sample_rate: float, steps: int, accountant: str, prior: float | None
) -> bool:
    """Whether ``steps`` fit in ``epsilon`` at the largest noise (RDP first: when it fits, PRV does)."""
    if epsilon_after(MAX_NOISE_MULTIPLIER, sample_rate, steps, delta, "rdp", prior) <= epsilon:
        return True
    return accountant != "rdp" and (
        epsilon_after(MAX_NOISE_MULTIPLIER, sample_rate, steps, delta, accountant, prior) <= epsilon
    )


def _round_up(value: float) -> str:
    """``value`` rounded up to two significant digits (a suggestion must work, not fall short)."""
    if value <= 0:
        return "0"
    scale = 10 ** (math.floor(math.log10(value)) - 1)
    return f"{math.ceil(value / scale) * scale:.3g}"
