"""A "round number" sub-column: which power of ten a number is a multiple of, where people round.

Payments, prices and limits are round far more often than chance (a third of the nonzero payments in
a credit-card table are multiples of 100), but a value drawn uniformly inside its bin slice almost
never is, and only the most frequent round values are common enough to be exact atoms. A number
column whose binned values are multiples of ``10 * unit``, ``100 * unit``, ... (``unit``: its
smallest step, 1 for whole numbers, ``10 ** -decimals`` otherwise) at least ``MIN_LIFT`` times as
often as chance, in at least ``MIN_SHARE`` of them and of all the column's values (so a few round
values in a count's rare tail do not count), gets one more sub-column after its level: code ``j``
says "a multiple of ``units[j - 1]``" (the largest such unit), 0 "not round". Decoding rounds the
drawn value to that unit, staying inside the column's protected range.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

MIN_LIFT = 3.0
MIN_SHARE = 0.01
MAX_POWER = 9


def multiple_of(x: np.ndarray, unit: float) -> np.ndarray:
    """Whether each ``x`` is a whole multiple of ``unit`` (up to float error, for ``|x / unit|`` below 1e9)."""
    ratio = x / unit
    return np.abs(ratio - np.round(ratio)) <= 1e-6


@dataclass
class Rounding:
    """The units (ascending powers of ten) a column's numbers are rounded to more often than chance."""

    units: np.ndarray

    @property
    def n_codes(self) -> int:
        """Codes of the round sub-column: "not round" and one per unit."""
        return len(self.units) + 1

    @classmethod
    def fit(cls, x: np.ndarray, decimals: int, *, rare_threshold: int, n_values: int | None = None) -> Rounding | None:
        """The rounding of binned values ``x`` (finite) of a column of ``n_values`` (default: ``len(x)``) values.

        None when they are not round beyond chance.
        """
        if decimals < 0 or len(x) < 2 * rare_threshold:
            return None
        step = 10.0 ** -decimals
        largest = float(np.max(np.abs(x)))
        units = []
        for power in range(1, MAX_POWER + 1):
            unit = step * 10.0**power
            if unit > largest:
                break
            hits = multiple_of(x, unit)
            share = float(hits.mean())
            enough = int(hits.sum()) >= max(rare_threshold, MIN_SHARE * (n_values or len(x)))
            if share >= max(MIN_SHARE, MIN_LIFT * step / unit) and enough:
                units.append(unit)
        return cls(np.asarray(units, dtype=np.float64)) if units else None

    def code(self, x: np.ndarray) -> np.ndarray:
        """Code of each number: the index (from 1) of the largest unit it is a multiple of, else 0."""
        codes = np.zeros(len(x), dtype=np.int64)
        finite = np.isfinite(x)
        for j, unit in enumerate(self.units, start=1):
            codes[finite & multiple_of(np.where(finite, x, 0.0), unit)] = j
        return codes

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Rounding | None:
        """The rounding saved under ``rounding_units`` (None: none, or a model saved before roundings)."""
        units = np.asarray(state.get("rounding_units", []), dtype=np.float64)
        return cls(units) if len(units) else None

    def draw_in_bins(
        self, numbers: np.ndarray, codes: np.ndarray, left: np.ndarray, right: np.ndarray, uniform: np.ndarray,
        within: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> np.ndarray:
        """Binned numbers with a round code: a multiple of its unit drawn uniformly inside ``[left, right)``.

        ``within`` (the slices ``[low, high)`` the numbers were drawn in) narrows the draw to the slice
        wherever the slice holds such a multiple, so the round number keeps the level's place in its bin.
        Where the bin holds no such multiple (training never had one there) the number stays as drawn.
        """
        out = numbers.copy()
        for j, unit in enumerate(self.units, start=1):
            rows = codes == j
            pick, found = _multiple_in(left[rows], right[rows], uniform[rows], unit)
            if within is not None:
                in_slice, found_in_slice = _multiple_in(within[0][rows], within[1][rows], uniform[rows], unit)
                pick, found = np.where(found_in_slice, in_slice, pick), found | found_in_slice
            out[rows] = np.where(found, pick, numbers[rows])
        return out

    def apply(self, numbers: np.ndarray, codes: np.ndarray, low: float, high: float) -> np.ndarray:
        """``numbers`` rounded to the unit of their code, moved by one unit back into ``[low, high]``."""
        out = numbers.copy()
        for j, unit in enumerate(self.units, start=1):
            rows = (codes == j) & np.isfinite(numbers)
            if not rows.any():
                continue
            rounded = np.round(numbers[rows] / unit) * unit
            rounded = np.where(rounded > high, rounded - unit, rounded)
            rounded = np.where(rounded < low, rounded + unit, rounded)
            inside = (rounded >= low) & (rounded <= high)
            out[rows] = np.where(inside, rounded, numbers[rows])
        return out


def _multiple_in(low: np.ndarray, high: np.ndarray, uniform: np.ndarray, unit: float) -> tuple[np.ndarray, np.ndarray]:
    """A multiple of ``unit`` drawn uniformly in each ``[low, high)``, and whether there is one."""
    first = np.ceil(low / unit - 1e-9)
    count = np.ceil(high / unit - 1e-9) - first
    return (first + np.floor(uniform * np.maximum(count, 1.0))) * unit, count >= 1
