"""Gaussian copula: the fast generator.

Each column is mapped to a standard-normal latent through its own marginal:

* continuous numbers, integers with many values, datetimes: normal scores of
  randomized ranks (ties spread uniformly over their probability mass, so a
  value held by 90% of the rows, like a zero, comes back exactly that often);
  back through the training quantile function (a grid of at most
  ``max_quantiles`` points, interpolated, so sampled numbers are not limited
  to training values; integers are rounded);
* categories, booleans and numbers with at most ``discrete_threshold`` distinct
  values: each value owns an interval of the unit line as wide as its share;
  the latent is a uniform draw inside it. Category order matters for what a
  correlation can express, so it is learned (optimal scaling: categories are
  ordered along the main direction in which their rows differ in the other
  latents), not taken alphabetically;
* missing values: one extra binary latent per column that had any;
* value protection (:mod:`synth_pipeline.protection`): a category fewer than ``k`` training rows
  hold (``k`` drawn per model from the seed, in [5, 10)) is replaced by a frequent one before
  fitting, a discrete number that rare counts for its nearest frequent value, and the quantile
  grid of continuous numbers spans only their protected bounds (the ``k``-th smallest and largest), so no rare
  category and no extreme beyond those bounds can ever be sampled.

The correlation matrix of the underlying normals is the model, estimated
from each row's *score* (its expected latent given its value) and corrected
for what an interval hides (see :func:`.copula_linalg.correlation_of_products`), so dependence between
discrete columns keeps its strength. Sampling draws correlated
normals; conditioning on fixed cells (seed data, rebalancing, imputation)
uses the exact Gaussian conditional distribution given their latents.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from pydantic import Field
from scipy import special

from synth_pipeline.columns import SECONDS_PER_DAY, ColumnKind, from_seconds, json_value, to_numbers
from synth_pipeline.dp_statistics import PrivateStatistics
from synth_pipeline.generators.base import Generator
from synth_pipeline.generators.conditions import fixed_patterns
from synth_pipeline.generators.copula_linalg import (
    canonical_signs,
    checked_correlation,
    cholesky,
    correlation_of_products,
)
from synth_pipeline.generators.copula_private import (
    budget_weights,
    private_marginal,
    private_products,
    private_sums,
)
from synth_pipeline.generators.label_codes import label_codes
from synth_pipeline.generators.private_fit import (
    fit_statistics,
    private_schema,
    released_frequencies,
    unlearnable_columns,
)
from synth_pipeline.generators.request import SamplingRequest
from synth_pipeline.generators.settings import GeneratorSettings, Integer
from synth_pipeline.protection import all_rare_columns, protected_bounds, protection_k, replace_rare
from synth_pipeline.schema import Schema

log = logging.getLogger(__name__)

_EPS = 1e-6


def _ndtri(u: np.ndarray) -> np.ndarray:
    return special.ndtri(np.clip(u, _EPS, 1 - _EPS))


@dataclass
class _Marginal:
    """How one column maps to and from its latent."""

    name: str
    kind: str  # a ColumnKind value
    mode: str  # "discrete" or "quantile"
    values: list[Any] = field(default_factory=list)  # discrete: the values, in latent order
    cumulative: np.ndarray | None = None  # discrete: right edges of the intervals
    grid: np.ndarray | None = None  # quantile: values at probabilities ``probabilities``
    probabilities: np.ndarray | None = None
    missing_share: float = 0.0  # > 0: the column has a missing-indicator latent
    day_resolution: bool = False  # datetimes that were all dates

    # -- numbers <-> floats ---------------------------------------------------------
    def to_float(self, series: pd.Series) -> np.ndarray:
        """The column as numbers (datetimes in seconds since 1970), NaN where missing."""
        return to_numbers(series)

    def from_float(self, numbers: np.ndarray) -> pd.Series:
        """Numbers back to the column's values: whole seconds (or days) for datetimes, whole integers."""
        if self.kind == ColumnKind.DATETIME.value:
            unit = SECONDS_PER_DAY if self.day_resolution else 1
            return from_seconds(np.round(numbers / unit) * unit)
        if self.kind == ColumnKind.INTEGER.value:
            return pd.Series(np.round(numbers)).astype("Int64")
        return pd.Series(numbers)

    # -- value -> latent -------------------------------------------------------------
    def latent(self, series: pd.Series, rng: np.random.Generator) -> np.ndarray:
        """Latents of the observed values (NaN where missing): uniform draws inside each value's interval."""
        out = np.full(len(series), np.nan)
        present, left, right = self._intervals(series)
        out[present] = _ndtri(left + rng.random(len(left)) * (right - left))
        return out

    def scores(self, series: pd.Series) -> np.ndarray:
        """Each row's expected latent given its value: the mean of the normal over the value's interval (0 if missing).

        Unlike a latent drawn inside the interval, the score adds no noise, so
        correlations estimated from scores (see :func:`.copula_linalg.correlation_of_products`) stay stable
        for rare values.
        """
        out = np.zeros(len(series))
        present, left, right = self._intervals(series)
        out[present] = _interval_mean(left, right)
        return out

    def _intervals(self, series: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Present rows, and the probability interval [left, right] of each present value."""
        present = series.notna().to_numpy().copy()
        if not present.any():
            return present, np.zeros(0), np.zeros(0)
        if self.mode == "discrete":
            codes = self._codes(series[present])
            if (codes < 0).any():  # unknown labels (given as conditions) stay unobserved
                present[np.flatnonzero(present)[codes < 0]] = False
                codes = codes[codes >= 0]
            right = self.cumulative[codes]
            left = np.where(codes > 0, self.cumulative[np.maximum(codes - 1, 0)], 0.0)
            return present, left, right
        numbers = self.to_float(series[present])
        left = np.interp(numbers, self.grid, self.probabilities, left=0.0, right=1.0)
        # a value held by many rows spans a flat stretch of the grid: spread over all of it
        upper = np.searchsorted(self.grid, numbers, side="right")
        lower = np.searchsorted(self.grid, numbers, side="left")
        tied = upper - lower > 1
        right = left.copy()
        right[tied] = self.probabilities[upper[tied] - 1]
        left[tied] = self.probabilities[lower[tied]]
        if len(self.grid) > 1:  # beyond the protected bounds the grid spans: the outermost grid step
            below, above = numbers < self.grid[0], numbers > self.grid[-1]
            left[below], right[below] = 0.0, self.probabilities[1]
            left[above], right[above] = self.probabilities[-2], 1.0
        return present, left, right

    def _codes(self, series: pd.Series) -> np.ndarray:
        """Positions of the values in ``self.values``; unseen numbers take the nearest value's."""
        if self.kind in (ColumnKind.CATEGORICAL.value, ColumnKind.BOOLEAN.value):
            # -1: a label the model does not know (a rare training value, never sampled)
            return label_codes(series, self._value_keys())
        known = np.asarray(self.values, dtype=float)
        numbers = self.to_float(series)
        upper = np.clip(np.searchsorted(known, numbers), 1, max(len(known) - 1, 1))
        lower = upper - 1
        if len(known) == 1:
            return np.zeros(len(numbers), dtype=int)
        return np.where(np.abs(numbers - known[lower]) <= np.abs(known[upper] - numbers), lower, upper)

    def _value_keys(self) -> list[Any]:
        if self.kind in (ColumnKind.CATEGORICAL.value, ColumnKind.BOOLEAN.value):
            return [str(v) for v in self.values]
        return [float(v) for v in self.values]

    # -- latent -> value --------------------------------------------------------------
    def value(self, latent: np.ndarray) -> pd.Series:
        """The column's values for standard-normal ``latent`` draws."""
        u = special.ndtr(latent)
        if self.mode == "discrete" and not self.values:  # every training value was rare: nothing to sample
            return pd.Series([None] * len(u), dtype=object)
        if self.mode == "discrete":
            codes = np.minimum(np.searchsorted(self.cumulative, u, side="right"), len(self.values) - 1)
            if self.kind == ColumnKind.CATEGORICAL.value:
                return pd.Series(np.asarray(self.values, dtype=object)[codes])
            if self.kind == ColumnKind.BOOLEAN.value:
                return pd.Series(np.asarray([str(v) == "True" for v in self.values])[codes]).astype("boolean")
            return self.from_float(np.asarray(self.values, dtype=float)[codes])
        return self.from_float(np.interp(u, self.probabilities, self.grid))

    def to_state(self) -> dict[str, Any]:
        """The marginal as JSON values and arrays."""
        state = {
            "name": self.name,
            "kind": self.kind,
            "mode": self.mode,
            "values": list(self.values),
            "missing_share": self.missing_share,
            "day_resolution": self.day_resolution,
        }
        for key in ("cumulative", "grid", "probabilities"):
            if getattr(self, key) is not None:
                state[key] = np.asarray(getattr(self, key), dtype=float)
        return state

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> _Marginal:
        """The marginal :meth:`to_state` wrote; ValueError when its arrays do not fit together."""
        marginal = cls(**state)
        marginal._check_arrays()
        return marginal

    def _check_arrays(self) -> None:
        name = self.name
        if self.mode == "discrete":
            cumulative = np.asarray(self.cumulative if self.cumulative is not None else [], dtype=float)
            if len(cumulative) != len(self.values) or not len(cumulative):
                raise ValueError(f"column {name!r}: {len(cumulative)} interval edges for {len(self.values)} values")
            if not _is_distribution(cumulative) or abs(cumulative[-1] - 1.0) > 1e-6:
                raise ValueError(f"column {name!r}: the interval edges are not a cumulative distribution")
        else:
            grid, probabilities = (np.asarray(a if a is not None else [], dtype=float)
                                   for a in (self.grid, self.probabilities))
            if len(grid) != len(probabilities) or not len(grid):
                raise ValueError(f"column {name!r}: {len(grid)} grid values for {len(probabilities)} probabilities")
            if not _is_distribution(probabilities) or not np.isfinite(grid).all() or np.any(np.diff(grid) < 0):
                raise ValueError(f"column {name!r}: the quantile grid is not increasing with its probabilities")


class CopulaSettings(GeneratorSettings):
    """The settings of :class:`GaussianCopulaGenerator`."""

    max_quantiles: Integer = Field(1000, ge=10, description="points of a number column's quantile grid")
    discrete_threshold: Integer = Field(
        30, ge=0, description="numbers with at most this many distinct values are modelled as discrete values"
    )
    ordering_rounds: Integer = Field(2, ge=0, description="rounds of learning the category orders (0: by frequency)")
    #: ``privacy``: DP marginals and correlation (see :mod:`synth_pipeline.generators.copula_private`)
    supports_privacy: ClassVar[bool] = True


class GaussianCopulaGenerator(Generator):
    """Gaussian copula over mixed column kinds (fast; the flagship is ``argn``).

    >>> from synth_pipeline.simulate import simulate_churn
    >>> generator = GaussianCopulaGenerator(random_state=0).fit(simulate_churn(500))
    >>> len(generator.sample(100))
    100
    """

    name = "copula"

    settings_model = CopulaSettings

    # -- fit ---------------------------------------------------------------------
    def _columns_not_to_learn(self, training: pd.DataFrame, schema: Schema) -> dict[str, str]:
        # every value rare (under privacy: none passes the noise): nothing may be drawn, so the column is
        # regenerated as ids (listed as not learned)
        self._statistics = fit_statistics(self._settings().privacy, self.random_state, training, schema,
                                          trains_with_sgd=False,
                                          extra=budget_weights(schema))
        if self._statistics is not None:
            unlearnable = unlearnable_columns(training, schema, self._statistics)
        else:
            k = protection_k(self.random_state)
            unlearnable = all_rare_columns(training, schema.names_of(ColumnKind.CATEGORICAL), k)
        # free text needs a text model, which only argn has: said plainly, and listed as not learned
        for name in schema.names_of(ColumnKind.TEXT):
            why = schema[name].reason if self._statistics is None else "free text"  # the reason counts values
            unlearnable[name] = f"{why}; the copula has no text model (argn writes free text)"
        return unlearnable

    def _fit(self, training: pd.DataFrame, rng: np.random.Generator) -> None:
        if self._statistics is not None:  # privacy: DP marginals and correlation (see copula_private)
            self._fit_private(training, self._statistics, rng)
            return
        k = protection_k(self.random_state)
        training = training.copy()
        for name in training.columns:
            if self.schema_.kind(name) is ColumnKind.CATEGORICAL:
                training[name] = replace_rare(training[name], k, rng)
        self.marginals_ = [self._fit_marginal(training[name], k) for name in training.columns]
        self._order_categories(training, rng, self.ordering_rounds)
        scores = self._score_matrix(training)
        self.correlation_ = correlation_of_products(scores.T @ scores / max(len(scores), 1))

    def _order_categories(self, training: pd.DataFrame, rng: np.random.Generator, rounds: int,
                          statistics: PrivateStatistics | None = None) -> None:
        categorical = [
            i for i, m in enumerate(self.marginals_) if m.kind == ColumnKind.CATEGORICAL.value and len(m.values) > 2
        ]
        for _ in range(rounds if categorical else 0):
            latents = self._latent_matrix(training, rng)
            for i in categorical:
                self._reorder(i, training[self.marginals_[i].name], latents, statistics)

    def _fit_private(self, training: pd.DataFrame, statistics: PrivateStatistics, rng: np.random.Generator) -> None:
        self.marginals_ = [_Marginal(**private_marginal(training[name], self.schema_.kind(name), statistics,
                                                        max_quantiles=self.max_quantiles,
                                                        discrete_threshold=self.discrete_threshold))
                           for name in training.columns]
        self._order_categories(training, rng, min(self.ordering_rounds, 1), statistics)  # one round: one release
        self.correlation_ = correlation_of_products(private_products(self._score_matrix(training), statistics))
        self.frequencies_ = released_frequencies(self.schema_, statistics)
        self.schema_ = private_schema(self.schema_, statistics)
        self.private_statistics_ = statistics.spent()

    def _fit_marginal(self, series: pd.Series, k: int) -> _Marginal:
        """One column's marginal; numbers inside their protected bounds, discrete values held by ``k`` rows."""
        kind = self.schema_.kind(str(series.name)).value
        present = series.dropna()
        marginal = _Marginal(str(series.name), kind, "discrete", missing_share=float(series.isna().mean()))
        if kind == ColumnKind.DATETIME.value:
            marginal.day_resolution = bool((present.dt.normalize() == present).all())
        numeric = kind in (ColumnKind.NUMERIC.value, ColumnKind.INTEGER.value, ColumnKind.DATETIME.value)
        if numeric and present.nunique() > self.discrete_threshold:
            numbers = np.sort(marginal.to_float(present))
            low, high = protected_bounds(numbers, k)  # no number beyond them is ever sampled: the grid spans
            numbers = numbers[(numbers >= low) & (numbers <= high)]  # them (trimmed: no pile-up on a bound)
            size = min(self.max_quantiles, len(numbers))
            marginal.mode = "quantile"
            marginal.probabilities = np.linspace(0.0, 1.0, size)
            marginal.grid = np.quantile(numbers, marginal.probabilities)
            return marginal
        if kind in (ColumnKind.CATEGORICAL.value, ColumnKind.BOOLEAN.value):
            counts = present.astype(str).value_counts()
        else:
            counts = pd.Series(marginal.to_float(present)).value_counts().sort_index()
            if (counts >= k).any():  # a number fewer than k rows hold is never sampled: its rows count for
                counts = counts[counts >= k]  # the nearest frequent value (see _codes)
        marginal.values = [json_value(v) for v in counts.index]
        marginal.cumulative = np.cumsum(counts.to_numpy()) / counts.sum()
        return marginal

    def _latent_matrix(self, table: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
        """Latents of a table: value latents, then missing indicators; missing values drawn at random."""
        columns = []
        indicators = []
        for marginal in self.marginals_:
            z = marginal.latent(table[marginal.name], rng)
            missing = np.isnan(z)
            z[missing] = rng.standard_normal(int(missing.sum()))
            columns.append(z)
            if marginal.missing_share > 0:
                indicators.append(self._indicator_latent(missing, marginal.missing_share, rng))
        return np.column_stack(columns + indicators)

    def _score_matrix(self, table: pd.DataFrame) -> np.ndarray:
        """Scores (expected latents) of a table: value scores, then missing indicators' scores."""
        columns = [marginal.scores(table[marginal.name]) for marginal in self.marginals_]
        for marginal in self.marginals_:
            if marginal.missing_share > 0:
                missing = table[marginal.name].isna().to_numpy()
                split = 1 - marginal.missing_share
                present_score, missing_score = _interval_mean(np.array([0.0, split]), np.array([split, 1.0]))
                columns.append(np.where(missing, missing_score, present_score))
        return np.column_stack(columns)

    @staticmethod
    def _indicator_latent(missing: np.ndarray, share: float, rng: np.random.Generator) -> np.ndarray:
        # present owns [0, 1 - share), missing owns [1 - share, 1)
        u = rng.random(len(missing))
        u = np.where(missing, (1 - share) + u * share, u * (1 - share))
        return _ndtri(u)

    def _reorder(
        self, i: int, series: pd.Series, latents: np.ndarray, statistics: PrivateStatistics | None = None
    ) -> None:
        """Order category i along the first principal direction of its rows' mean latents elsewhere."""
        marginal = self.marginals_[i]
        if latents.shape[1] == 1:
            return
        n_values = len(marginal.values)
        codes = label_codes(series, marginal._value_keys())
        known = codes >= 0  # present, and (under privacy) a released category
        shares = np.diff(np.concatenate([[0.0], marginal.cumulative]))
        if statistics is None:  # per-category means of the other latents (row by row: the sums of np.add.at)
            rows, present = latents if known.all() else latents[known], codes[known]
            sums = np.column_stack([np.bincount(present, weights=rows[:, j], minlength=n_values)
                                    for j in range(latents.shape[1]) if j != i])
            means = sums / np.maximum(np.bincount(present, minlength=n_values), 1)[:, None]
        else:  # noisy sums over the (public) row count times the noisy shares
            others = np.delete(latents, i, axis=1)
            means = private_sums(others[known], codes[known], n_values, statistics, marginal.name)
            means = means / np.maximum(shares * len(series), 1.0)[:, None]
        centred = means - shares @ means
        _, _, vt = np.linalg.svd(centred * np.sqrt(shares)[:, None], full_matrices=False)
        # the direction's sign is LAPACK's choice: fix it, so the order is the same on every machine
        direction = canonical_signs(vt[:1].T)[:, 0]
        order = np.argsort(centred @ direction, kind="stable")
        marginal.values = [marginal.values[j] for j in order]
        marginal.cumulative = np.cumsum(shares[order])
        marginal.cumulative[-1] = 1.0

    # -- sample -----------------------------------------------------------------------
    def _sample(self, request: SamplingRequest, rng: np.random.Generator) -> pd.DataFrame:
        n_columns = len(self.marginals_)
        indicator_of = {}
        for marginal_index, marginal in enumerate(self.marginals_):
            if marginal.missing_share > 0:
                indicator_of[marginal_index] = n_columns + len(indicator_of)
        size = n_columns + len(indicator_of)
        fixed_latent = np.zeros((request.n_rows, size), dtype=bool)
        latent = np.zeros((request.n_rows, size))
        if request.conditions is not None:
            self._condition_latents(request, rng, indicator_of, fixed_latent, latent)
        patterns, inverse = fixed_patterns(fixed_latent)
        for p, pattern in enumerate(patterns):
            rows = np.flatnonzero(inverse == p)
            latent[rows] = self._draw(pattern, latent[rows], request.temperature, rng)
        out = {}
        for i, marginal in enumerate(self.marginals_):
            values = marginal.value(latent[:, i])
            if i in indicator_of:
                values = values.mask(special.ndtr(latent[:, indicator_of[i]]) >= 1 - marginal.missing_share)
            out[marginal.name] = values
        return pd.DataFrame(out)

    def _condition_latents(
        self,
        request: SamplingRequest,
        rng: np.random.Generator,
        indicator_of: dict[int, int],
        fixed_latent: np.ndarray,
        latent: np.ndarray,
    ) -> None:
        for i, marginal in enumerate(self.marginals_):
            name = marginal.name
            if name in request.conditions.columns:
                fixed = request.fixed[name].to_numpy(dtype=bool)
                values = request.conditions[name]
                z = marginal.latent(values, rng)
                observed = fixed & ~np.isnan(z)
                latent[observed, i] = z[observed]
                fixed_latent[observed, i] = True
                if i in indicator_of:
                    missing = fixed & values.isna().to_numpy()
                    latent[fixed, indicator_of[i]] = self._indicator_latent(missing[fixed], marginal.missing_share, rng)
                    fixed_latent[fixed, indicator_of[i]] = True
                free = ~fixed
            else:
                free = np.ones(request.n_rows, dtype=bool)
            if request.impute and i in indicator_of:
                # imputed cells must be filled: condition them on "present"
                latent[free, indicator_of[i]] = self._indicator_latent(
                    np.zeros(int(free.sum()), bool), marginal.missing_share, rng
                )
                fixed_latent[free, indicator_of[i]] = True

    def _draw(
        self, pattern: np.ndarray, latent: np.ndarray, temperature: float, rng: np.random.Generator
    ) -> np.ndarray:
        free = ~pattern
        correlation = self.correlation_
        noise = rng.standard_normal((len(latent), int(free.sum())))
        if not pattern.any():
            mean = np.zeros((len(latent), int(free.sum())))
            covariance = correlation
        else:
            r_ff = correlation[np.ix_(pattern, pattern)]
            r_uf = correlation[np.ix_(free, pattern)]
            weights = np.linalg.solve(r_ff, r_uf.T).T
            mean = latent[:, pattern] @ weights.T
            covariance = correlation[np.ix_(free, free)] - weights @ r_uf.T
        if free.any():
            factor = cholesky(covariance * temperature)
            latent = latent.copy()
            latent[:, free] = mean + noise @ factor.T
        return latent

    # -- state --------------------------------------------------------------------------
    def _get_state(self) -> dict[str, Any]:
        return {"marginals": [m.to_state() for m in self.marginals_], "correlation": self.correlation_,
                "private_statistics": getattr(self, "private_statistics_", None)}

    def _set_state(self, state: dict[str, Any]) -> None:
        self.marginals_ = [_Marginal.from_state(m) for m in state["marginals"]]
        self.private_statistics_ = state.get("private_statistics")
        self.correlation_ = checked_correlation(
            np.asarray(state["correlation"], dtype=np.float64),
            len(self.marginals_) + sum(m.missing_share > 0 for m in self.marginals_),
        )


def _is_distribution(values: np.ndarray) -> bool:
    """Finite, within [0, 1] and non-decreasing."""
    return bool(np.isfinite(values).all() and values.min() >= 0 and values.max() <= 1 and np.all(np.diff(values) >= 0))


def _interval_mean(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Mean of a standard normal restricted to the probability interval [left, right] (its point when empty)."""
    width = right - left
    wide = width > 1e-12
    density = np.exp(-0.5 * special.ndtri(np.stack([left, right])) ** 2) / np.sqrt(2 * np.pi)
    return np.where(wide, (density[0] - density[1]) / np.where(wide, width, 1.0), _ndtri(left))
