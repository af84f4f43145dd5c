"""Differentially private statistics: what a generator learns from the rows outside its training steps.

Under ``privacy: {epsilon, delta}`` the statistics share of the budget (see
:mod:`synth_pipeline.generators.privacy_budget`) pays for everything a model reads off the
training table before and besides DP-SGD, each through one mechanism here:

* **vocabularies** (categories, exact numbers kept as atoms, whether a column has missing
  cells): Gaussian noisy counts of the values present, kept when the noisy count reaches a
  threshold ``1 + sigma * z`` set so that a value held by one row is released with probability at
  most ``delta`` per column (partition selection over an unknown domain). "Missing" is one more
  key of the same histogram, so missing-value shares cost nothing extra;
* **numeric ranges and bin edges** (numbers and datetimes): a noisy histogram on a fixed
  data-independent grid of powers of two finds the scale (the buckets whose noisy count passes a
  threshold that noise alone passes once in a thousand columns, widened by neighbouring windows of
  buckets whose noisy mass is significant), a second noisy histogram on a linear grid
  across it gives a noisy cumulative distribution, and bounds and quantile edges are read off it.
  The bounds are the outermost buckets whose noisy count is significant, the DP counterpart of value
  protection's ``k``-th smallest and largest value;
* **single counts** (e.g. whether every datetime is a midnight);
* **sums and second moments** (the copula's category orders and correlation): each row's vector
  clipped to a fixed norm, the per-group sums or the sum of outer products plus Gaussian noise.

Accounting is zero-concentrated DP (zCDP): a Gaussian mechanism of sensitivity 1 and noise
``sigma`` costs ``rho = 1 / (2 sigma**2)``; costs add up, and the total converts to
``(epsilon, delta / 2)`` (Canonne, Kamath & Steinke 2020, :func:`epsilon_of_rho`); the
other half of ``delta`` pays for the thresholds, split over the columns. The budget is split equally
over the columns and charged in full when a column starts, so the spent total never depends on the
data. Neighbouring tables differ by one row (added or removed), as for DP-SGD's accountant.

Noise is drawn per (column, mechanism) from ``random_state`` (or fresh entropy when it is None), so
the same data, config and seed give the same model. The seed is then as secret as the data: whoever
knows it can subtract the noise.

>>> statistics = PrivateStatistics(1.0, 1e-6, ["colour"], random_state=0)
>>> vocabulary = statistics.vocabulary("colour", pd.Series(["red"] * 500 + ["blue"] * 300 + ["teal"]))
>>> sorted(vocabulary.counts)
['blue', 'red']
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from synth_pipeline.errors import ConfigError

_SALT = 0xD95747  # separates the statistics' noise from every other use of the seed
#: the grid that finds a column's scale: 0 and +-2**k for k in this range (beyond: the outer buckets)
_SCALE_POWERS = (-20, 80)
#: the chance that noise alone keeps a bucket of the scale grid (which would stretch the range)
_SCALE_FALSE_KEEP = 1e-3
#: a window of buckets next to a range joins it when its noisy mass exceeds this many deviations of its noise
_EXTEND_DEVIATIONS = 3.5
#: buckets of the linear grid the quantiles are read from
FINE_BUCKETS = 64
#: a column's budget, by mechanism: numbers (atoms, scale, fine grid), datetimes add the time unit
NUMBER_SHARES = {"atoms": 0.4, "scale": 0.2, "quantiles": 0.4}
DATETIME_SHARES = {"atoms": 0.3, "unit": 0.1, "scale": 0.2, "quantiles": 0.4}


#: the Renyi orders the conversion from zCDP to (epsilon, delta) minimises over (any order gives a valid bound)
_ORDERS = np.concatenate([np.linspace(1.01, 10.0, 900), np.geomspace(10.0, 1e5, 1200)[1:]])


def epsilon_of_rho(rho: float, delta: float) -> float:
    """The ``epsilon`` at ``delta`` of a ``rho``-zCDP mechanism (0 when nothing was spent).

    Canonne, Kamath & Steinke (2020), Proposition 12: the least over Renyi orders ``a > 1`` of
    ``a rho + (ln(1/delta) + (a - 1) ln(1 - 1/a) - ln a) / (a - 1)``; tighter than ``rho + 2 sqrt(rho ln(1/delta))``.
    """
    if rho <= 0:
        return 0.0
    a = _ORDERS
    bounds = a * rho + (math.log(1.0 / delta) + (a - 1) * np.log1p(-1.0 / a) - np.log(a)) / (a - 1)
    return float(max(np.min(bounds), 0.0))


def rho_for_epsilon(epsilon: float, delta: float) -> float:
    """The largest zCDP ``rho`` whose :func:`epsilon_of_rho` at ``delta`` is ``epsilon`` (bisection)."""
    low, high = 0.0, max(epsilon, 1.0)
    while epsilon_of_rho(high, delta) < epsilon:
        high *= 2
    for _ in range(200):
        middle = (low + high) / 2
        if epsilon_of_rho(middle, delta) <= epsilon:
            low = middle
        else:
            high = middle
    return low


@dataclass(frozen=True)
class Vocabulary:
    """The values a column may use, with their noisy counts, and whether it has missing cells."""

    counts: dict[Any, float]
    missing: float
    threshold: float

    @property
    def has_missing(self) -> bool:
        """Whether the noisy count of missing cells reaches the threshold."""
        return self.missing >= self.threshold

    def shares(self) -> dict[str, float]:
        """The released values' noisy shares (by their text), as the seeding and rebalancing books keep them."""
        total = sum(max(c, 0.0) for c in self.counts.values())
        return {str(k): (max(c, 0.0) / total if total > 0 else 0.0) for k, c in self.counts.items()}


@dataclass(frozen=True)
class NumberGrid:
    """What a number column may span: its DP quantiles at equally spaced probabilities (none: too few rows).

    The first and last quantiles are the DP bounds; nothing beyond them is ever sampled.
    """

    quantiles: np.ndarray

    @property
    def empty(self) -> bool:
        """Whether no range could be released (too few rows for the noise)."""
        return len(self.quantiles) < 2

    def edges(self, *, whole: bool) -> np.ndarray:
        """Increasing bin edges from the quantiles; whole numbers: whole edges, the last one past the bound."""
        if self.empty:
            return np.zeros(0)
        edges = np.asarray(self.quantiles, dtype=np.float64)
        if whole:
            edges = np.floor(edges)
            edges[-1] += 1.0
        edges = np.unique(edges)
        if len(edges) < 2:  # every quantile at one value: one bin one unit (or a hair) wide
            edges = np.array([edges[0], edges[0] + (1.0 if whole else max(abs(edges[0]) * 1e-6, 1e-9))])
        return edges


@dataclass
class Mechanism:
    """One noisy release, for the books: its column, what it released, its noise and cost."""

    column: str
    what: str
    sigma: float
    rho: float


@dataclass
class PrivateStatistics:
    """The statistics of one fit under an ``(epsilon, delta)`` share, split over ``columns`` by ``weights``."""

    epsilon: float
    delta: float
    columns: list[str]
    random_state: int | None = None
    #: a column's weight in the split (default 1): its share of rho is its weight over the sum
    weights: dict[str, float] = field(default_factory=dict)
    mechanisms: list[Mechanism] = field(default_factory=list)
    _entropy: int = 0
    _charged: set[str] = field(default_factory=set)
    _vocabularies: dict[str, Vocabulary] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not (self.epsilon > 0 and math.isfinite(self.epsilon)):
            raise ConfigError(f"privacy: the statistics' epsilon must be a positive number, got {self.epsilon!r}")
        if not 0 < self.delta < 1:
            raise ConfigError(f"privacy: the statistics' delta must lie in (0, 1), got {self.delta!r}")
        seed = self.random_state
        self._entropy = int(np.random.SeedSequence().entropy) if seed is None else int(seed) & (2**63 - 1)
        n = max(len(self.columns), 1)
        total_weight = sum(self.weights.get(c, 1.0) for c in self.columns) or 1.0
        self._rho = {c: rho_for_epsilon(self.epsilon, self.delta / 2) * self.weights.get(c, 1.0) / total_weight
                     for c in self.columns}
        self.delta_per_column = self.delta / 2 / n

    # -- books ------------------------------------------------------------------------
    def spent(self) -> dict[str, Any]:
        """What was spent: ``epsilon`` and ``delta`` of the columns charged so far, and each mechanism."""
        rho = sum(self._rho[c] for c in self._charged)
        return {
            "epsilon": epsilon_of_rho(rho, self.delta / 2),
            "delta": (self.delta / 2 + self.delta_per_column * len(self._charged)) if self._charged else 0.0,
            "rho": rho,
            "threshold_delta": self.delta_per_column * len(self._charged),
            "columns": sorted(self._charged),
            "mechanisms": [vars(m).copy() for m in self.mechanisms],
        }

    def _sigma(self, column: str, what: str, share: float) -> float:
        if column not in self.columns:
            raise ValueError(f"column {column!r} has no share of the statistics budget")
        self._charged.add(column)  # charged in full at the first release: the total never depends on the data
        rho = self._rho[column] * share
        sigma = math.sqrt(1.0 / (2.0 * rho))
        self.mechanisms.append(Mechanism(column, what, sigma, rho))
        return sigma

    def _rng(self, column: str, what: str) -> np.random.Generator:
        key = zlib.crc32(f"{column}\0{what}".encode())
        return np.random.default_rng([_SALT, self._entropy, key])

    def _noisy(self, counts: np.ndarray, column: str, what: str, share: float) -> tuple[np.ndarray, float]:
        sigma = self._sigma(column, what, share)
        noise = self._rng(column, what).normal(0.0, sigma, size=len(counts))
        return np.asarray(counts, dtype=np.float64) + noise, sigma

    # -- mechanisms -------------------------------------------------------------------
    def vocabulary(
        self, column: str, values: pd.Series, *, share: float = 1.0, known: list[Any] | None = None
    ) -> Vocabulary:
        """The values of ``values`` whose noisy count reaches the threshold (cached per column).

        ``known`` values form a public domain (booleans): they are all kept, whatever their count.
        """
        if column in self._vocabularies:
            return self._vocabularies[column]
        present = values.dropna()
        counts = present.value_counts(sort=False)
        keys = sorted(set(counts.index.tolist()) | set(known or []), key=lambda v: (str(type(v)), v))
        raw = np.array([counts.get(k, 0) for k in keys] + [int(values.isna().sum())], dtype=np.float64)
        noisy, sigma = self._noisy(raw, column, "vocabulary", share)
        threshold = 1.0 + sigma * float(special.ndtri(1.0 - self.delta_per_column))
        public = set(known or [])
        kept = {k: float(c) for k, c in zip(keys, noisy[:-1], strict=True) if c >= threshold or k in public}
        vocabulary = Vocabulary(kept, float(noisy[-1]), threshold)
        self._vocabularies[column] = vocabulary
        return vocabulary

    def has_vocabulary(self, column: str) -> bool:
        """Whether a vocabulary of ``column`` was released."""
        return column in self._vocabularies

    def released(self, column: str) -> Vocabulary:
        """The vocabulary :meth:`vocabulary` released for ``column`` (KeyError when none was)."""
        return self._vocabularies[column]

    def count(self, column: str, what: str, count: int, *, share: float) -> tuple[float, float]:
        """A noisy count of rows (each row adds at most 1) and its noise deviation."""
        noisy, sigma = self._noisy(np.array([count]), column, what, share)
        return float(noisy[0]), sigma

    def gram(self, key: str, rows: np.ndarray, *, clip_norm: float, share: float = 1.0) -> np.ndarray:
        """``rows.T @ rows`` plus symmetric Gaussian noise, after clipping each row to ``clip_norm``.

        One row changes the upper triangle by at most ``clip_norm**2`` (Frobenius norm), the sensitivity.
        """
        norms = np.linalg.norm(rows, axis=1)
        clipped = rows * np.minimum(1.0, clip_norm / np.maximum(norms, 1e-12))[:, None]
        size = rows.shape[1]
        upper = np.triu_indices(size)
        noisy, _ = self._noisy((clipped.T @ clipped)[upper] / clip_norm**2, key, "second moments", share)
        matrix = np.zeros((size, size))
        matrix[upper] = noisy * clip_norm**2
        return matrix + np.triu(matrix, 1).T

    def group_sums(
        self, key: str, rows: np.ndarray, groups: np.ndarray, n_groups: int, *, clip_norm: float, share: float = 1.0
    ) -> np.ndarray:
        """Per group, the sum of its ``rows`` (each clipped to ``clip_norm``) plus Gaussian noise.

        One row changes one group's sum by at most ``clip_norm`` (L2), the sensitivity.
        """
        norms = np.linalg.norm(rows, axis=1)
        clipped = rows * np.minimum(1.0, clip_norm / np.maximum(norms, 1e-12))[:, None]
        sums = np.zeros((n_groups, rows.shape[1]))
        np.add.at(sums, groups, clipped)
        noisy, _ = self._noisy(sums.ravel() / clip_norm, key, "group sums", share)
        return noisy.reshape(sums.shape) * clip_norm

    def number_grid(
        self, column: str, x: np.ndarray, *, n_quantiles: int, shares: tuple[float, float], whole: bool = False
    ) -> NumberGrid:
        """``n_quantiles`` DP quantiles of the finite numbers ``x``, bounds included (see the module docstring).

        ``shares`` are the column-budget shares of the scale histogram and the quantile histogram.
        """
        x = np.asarray(x, dtype=np.float64)
        x = x[np.isfinite(x)]
        scale_edges = _scale_edges()
        counts = np.histogram(np.clip(x, scale_edges[0], scale_edges[-1]), scale_edges)[0]
        noisy, sigma = self._noisy(counts, column, "scale", shares[0])
        # a bucket is kept above a threshold that noise alone passes in any of the buckets once in a thousand
        kept = np.flatnonzero(noisy >= sigma * float(special.ndtri(1.0 - _SCALE_FALSE_KEEP / len(counts))))
        fine = np.linspace(0.0, 1.0, FINE_BUCKETS + 1)  # a stand-in when no scale passed: noise is drawn anyway
        fine_counts = np.zeros(FINE_BUCKETS)
        if len(kept):
            low, high = _extend(noisy, sigma, int(kept[0]), int(kept[-1]))
            fine = _fine_edges(float(scale_edges[low]), float(scale_edges[high + 1]), whole)
            fine_counts = np.histogram(np.clip(x, fine[0], fine[-1]), fine)[0]
        noisy, sigma = self._noisy(fine_counts, column, "quantiles", shares[1])
        if not len(kept):
            return NumberGrid(np.zeros(0))
        return _grid_from_histogram(fine, noisy, sigma, n_quantiles)


def _scale_edges() -> np.ndarray:
    powers = 2.0 ** np.arange(_SCALE_POWERS[0], _SCALE_POWERS[1] + 1)
    return np.concatenate([-powers[::-1], powers])


def _fine_edges(low: float, high: float, whole: bool) -> np.ndarray:
    """The linear grid across ``[low, high]``: whole-number steps when a column of whole numbers spans few."""
    if whole and high - low <= FINE_BUCKETS:
        return np.arange(math.floor(low), math.ceil(high) + 1, dtype=np.float64)
    return np.linspace(low, high, FINE_BUCKETS + 1)


def _grid_from_histogram(edges: np.ndarray, noisy: np.ndarray, sigma: float, n_quantiles: int) -> NumberGrid:
    """Bounds and quantiles read off a noisy histogram (post-processing: no further cost).

    The bounds are the first and last buckets whose noisy count passes a threshold that noise alone
    passes once in a thousand columns, at the finest resolution (1, 2, 4, ... buckets merged) where any
    does; the quantiles come from the noisy distribution function between them.
    """
    support = _support(noisy, sigma)
    if support is None:
        return NumberGrid(np.zeros(0))
    low, high = support
    inner, inner_edges = noisy[low : high + 1], edges[low : high + 2]
    cumulative = np.concatenate([[0.0], np.cumsum(inner)]) / max(float(inner.sum()), 1e-12)
    # non-decreasing, from 0 to 1, strictly increasing (for the inverse)
    cumulative = np.maximum.accumulate(np.clip(cumulative, 0.0, 1.0))
    cumulative[-1] = 1.0
    cumulative = cumulative + np.arange(len(cumulative)) * 1e-12
    return NumberGrid(np.interp(np.linspace(0.0, 1.0, n_quantiles) * cumulative[-1], cumulative, inner_edges))


def _support(noisy: np.ndarray, sigma: float) -> tuple[int, int] | None:
    """The first and last bucket of the released range (see :func:`_grid_from_histogram`), if any."""
    width = 1
    while width <= len(noisy):
        merged = np.add.reduceat(noisy, np.arange(0, len(noisy), width))
        threshold = sigma * math.sqrt(width) * float(special.ndtri(1.0 - _SCALE_FALSE_KEEP / len(merged)))
        passing = np.flatnonzero(merged >= threshold)
        if len(passing):
            core = int(passing[0]) * width, min((int(passing[-1]) + 1) * width, len(noisy)) - 1
            return _extend(noisy, sigma, *core)
        width *= 2
    return None


def _extend(noisy: np.ndarray, sigma: float, low: int, high: int) -> tuple[int, int]:
    """``[low, high]`` widened by every window of 1, 2, 4, ... buckets just beyond it whose noisy mass is significant.

    Thin tails next to the range join it; empty stretches never do (their windows hold only noise).
    """
    widths = [w for w in (1, 2, 4, 8, 16) if w <= len(noisy)]
    moved = True
    while moved:
        moved = False
        for width in widths:
            below, above = noisy[max(low - width, 0) : low], noisy[high + 1 : high + 1 + width]
            if len(below) and below.sum() >= _EXTEND_DEVIATIONS * sigma * math.sqrt(len(below)):
                low, moved = low - len(below), True
            if len(above) and above.sum() >= _EXTEND_DEVIATIONS * sigma * math.sqrt(len(above)):
                high, moved = high + len(above), True
            if moved:
                break
    return low, high


__all__ = [
    "DATETIME_SHARES",
    "FINE_BUCKETS",
    "NUMBER_SHARES",
    "Mechanism",
    "NumberGrid",
    "PrivateStatistics",
    "Vocabulary",
    "epsilon_of_rho",
    "rho_for_epsilon",
]
