"""Value protection: which real values may leave the private side, and in what form.

A value that few training rows hold can single a person out, and so can a column's extreme
(its minimum or maximum is usually one row's value). Without differential privacy the library
protects them by construction:

* **rare values**: a category (or exact number) seen fewer than ``k`` times is never sampled and
  never printed. The generators draw ``k`` per model from the seed (:func:`protection_k`, in
  ``[MIN_COUNT, MIN_COUNT + K_SPREAD)``), since a fixed ``k`` would tell whether a value occurred
  ``k - 1`` or ``k`` times; reports use :data:`MIN_COUNT` (they print every bin's share, so a
  random ``k`` would hide nothing there);
* **extremes**: numbers are sampled only inside *protected bounds*, the ``k``-th smallest and
  ``k``-th largest training values (:func:`protected_bounds`), so no value beyond them, the real
  minimum and maximum of a column with a unique extreme included, is ever sampled;
* **printed numbers** (bin edges, rule bounds) are protected bounds and quantiles rounded to a
  coarse grid (:func:`grid_unit`) and moved off any value fewer than ``MIN_COUNT`` rows hold
  (:func:`off_rare`), so they are not data values that could identify anyone.

>>> protected_bounds(np.array([1.0, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 99]), 3)
(6.0, 13.0)
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from synth_pipeline.columns import SECONDS_PER_DAY

#: the least number of training rows that must hold a value before it may be sampled or printed
MIN_COUNT = 5
#: the generators' k lies in [MIN_COUNT, MIN_COUNT + K_SPREAD)
K_SPREAD = 5
_SALT = 0x5EC2E7  # separates the protection draw from every other use of the seed


def protection_k(random_state: int | None, base: int = MIN_COUNT) -> int:
    """The model's rare-value threshold: ``base`` plus a seeded draw in ``[0, K_SPREAD)``.

    Derived from ``random_state`` alone (never from the fitting generator's stream), so the same
    seed gives the same ``k`` and the rest of fitting is unchanged by it. ``None``: a fresh draw.
    """
    seed = None if random_state is None else [_SALT, int(random_state) & (2**63 - 1)]
    return int(base) + int(np.random.default_rng(seed).integers(0, K_SPREAD))


def protected_bounds(sorted_values: np.ndarray, k: int) -> tuple[float, float]:
    """The ``k``-th smallest and ``k``-th largest of ``sorted_values`` (finite, ascending).

    With fewer than ``2k`` values there is no protected range: both bounds are the median.
    """
    n = len(sorted_values)
    if n == 0:
        return math.nan, math.nan
    if n < 2 * k:
        middle = float(sorted_values[(n - 1) // 2])
        return middle, middle
    return float(sorted_values[k - 1]), float(sorted_values[n - k])


def rare_values(sorted_values: np.ndarray, k: int = MIN_COUNT) -> np.ndarray:
    """The distinct values that fewer than ``k`` of ``sorted_values`` hold."""
    distinct, counts = np.unique(sorted_values, return_counts=True)
    return distinct[counts < k]


def grid_unit(span: float, magnitude: float, *, whole: bool = False, datetime: bool = False,
              digits: int = 3) -> float:
    """A round step of about ``span / 10**(digits - 1)``: the grid printed numbers are rounded to.

    ``span`` is the protected range; when it is 0, ``magnitude`` (a typical value) sets the step.
    Datetimes (seconds) use a day, an hour, a minute or a second; whole numbers at least 1.
    """
    reference = span if span > 0 else abs(magnitude)
    if datetime:
        for unit in (SECONDS_PER_DAY, 3600, 60):
            if reference / 10 ** (digits - 1) >= unit:
                return float(unit)
        return 1.0
    unit = 10.0 ** (math.floor(math.log10(reference)) - (digits - 1)) if reference > 0 else 1.0
    return max(unit, 1.0) if whole else unit


def snap(value: float, unit: float, how: str) -> float:
    """``value`` rounded to a multiple of ``unit``: ``how`` is ``"down"``, ``"up"`` or ``"nearest"``."""
    step = {"down": math.floor, "up": math.ceil, "nearest": round}[how](value / unit)
    decimals = max(0, -math.floor(math.log10(unit))) if unit < 1 else 0
    return float(round(step * unit, decimals))


def off_rare(value: float, unit: float, avoid: np.ndarray, direction: int) -> float:
    """``value`` moved by whole ``unit`` steps in ``direction`` (-1 or +1) until it is not in ``avoid``."""
    for _ in range(1000):
        if not np.any(avoid == value):
            return value
        value = snap(value + direction * unit, unit, "nearest")
    return value


def all_rare_columns(training: pd.DataFrame, names: list[str], k: int) -> dict[str, str]:
    """The columns among ``names`` in which no value is held by ``k`` rows (name -> why): nothing may be drawn.

    The reason does not print ``k``: the model's threshold stays unknown to whoever reads it.
    """
    return {
        name: "every value is rare (too few rows hold any one of them), so none may be generated"
        for name in names
        if training[name].notna().any() and training[name].value_counts().max() < k
    }


def replace_rare(values: pd.Series, k: int, rng: np.random.Generator) -> pd.Series:
    """``values`` with every label fewer than ``k`` rows hold replaced by a frequent one.

    The replacements are drawn from the frequent labels in proportion to their counts (the
    "sample" replacement of MOSTLY AI's value protection), so the column keeps its shape and no
    placeholder appears; with no frequent label at all the column becomes missing. ``rng`` is
    only drawn from when there is something to replace.
    """
    counts = values.value_counts()
    rare = counts.index[counts < k]
    if len(rare) == 0:
        return values
    is_rare = values.isin(rare).to_numpy()
    out = values.copy()
    frequent = counts[counts >= k]
    if frequent.empty:
        return out.mask(is_rare)
    drawn = rng.choice(len(frequent), size=int(is_rare.sum()), p=(frequent / frequent.sum()).to_numpy())
    out[is_rare] = frequent.index.to_numpy(dtype=object)[drawn]
    return out


__all__ = [
    "all_rare_columns",
    "K_SPREAD",
    "MIN_COUNT",
    "grid_unit",
    "off_rare",
    "protected_bounds",
    "protection_k",
    "rare_values",
    "replace_rare",
    "snap",
]
