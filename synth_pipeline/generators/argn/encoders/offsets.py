"""A number coded relative to an earlier column: quantile bins of its log ratio (or difference) to that column.

Nearly proportional numbers, such as a runner's split times, are blurred when each is coded by
its own quantile bins: the network would have to learn a sharp diagonal between two bin scales
from few rows. Coded as an *offset* from the earlier column (``log(x) - log(reference)``, both
positive) the same value is one draw from a narrow, nearly independent distribution, which small
tables learn well. The offset bins are quantile bins like the value's own, with a within-bin slice
on the column's level sub-column; they end at the offsets' protected bounds, and a decoded value is
clipped into the column's own protected range, so value protection holds for these codes too.
Only point masses heavier than a quantile bin keep their exact codes: a lighter atom is one more
value near its reference, and coding it on its own would cut it loose.

Signed amounts have no ratio. They are coded by a *difference* to the reference instead
(``scale="difference"``): a month's bill is last month's bill plus a change that is small for most
customers, a narrow distribution where the two bills' own bins would blur a sharp diagonal (on
creditcard_default a discriminator told such blurred bills from real ones by that difference alone).
The difference is taken on ``asinh(x / unit)``, with ``unit`` a twentieth of the column's median size:
like a log ratio for large amounts, so a change scales with the amount, and linear through zero, so
signs may change. A plain difference was measured worse: drawn independently of the amount, a
change of a large bill's size turned a small bill negative (10.8% negative bills against 2.2%).
A difference exists wherever both values are present, so the sampling rule above holds unchanged.

:class:`Offset` is the learned part (which column, the bin edges, the atoms kept exact); which
columns get one is :func:`.relations.find_offsets`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from synth_pipeline.errors import ModelFileError
from synth_pipeline.protection import protected_bounds

#: saved keys of an encoder's offset, with the value of an encoder without one
OFFSET_STATE_DEFAULTS: dict[str, Any] = {
    "offset_reference": "", "offset_edges": np.zeros(0), "offset_exact": np.zeros(0), "offset_scale": "ratio",
    "offset_unit": 1.0,
}
#: the scales an offset can be measured on: ``log(x / reference)``, or ``asinh(x / unit) - asinh(reference / unit)``
SCALES = ("ratio", "difference")


@dataclass
class Offset:
    """The offset coding of one number column: reference column, bin edges, atoms that stay exact, scale."""

    reference: str
    edges: np.ndarray = field(default_factory=lambda: np.zeros(0))
    exact: np.ndarray = field(default_factory=lambda: np.zeros(0))
    scale: str = "ratio"
    unit: float = 1.0

    @property
    def n_bins(self) -> int:
        """Number of offset bins (each is one code of the column's first sub-column)."""
        return max(len(self.edges) - 1, 0)

    @staticmethod
    def offsets(x: np.ndarray, reference: np.ndarray, scale: str = "ratio", unit: float = 1.0) -> np.ndarray:
        """``log(x / reference)`` (both columns positive where present) or ``asinh(x / unit) - asinh(reference /
        unit)``; NaN where either is missing."""
        if scale == "difference":
            return np.arcsinh(x / unit) - np.arcsinh(reference / unit)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(x / reference)

    def of(self, x: np.ndarray, reference: np.ndarray) -> np.ndarray:
        """:meth:`offsets` on this offset's scale."""
        return self.offsets(x, reference, self.scale, self.unit)

    @classmethod
    def fit(
        cls, reference: str, offsets: np.ndarray, exact: np.ndarray, *, n_bins: int, rare_threshold: int,
        scale: str = "ratio", unit: float = 1.0,
    ) -> Offset | None:
        """Quantile bins of ``offsets`` (finite) within their protected bounds; None when too few to bin."""
        offsets = offsets[np.isfinite(offsets)]
        if len(offsets) < max(2 * rare_threshold, 40):
            return None
        clipped = np.clip(offsets, *protected_bounds(np.sort(offsets), rare_threshold))
        bins_wanted = int(np.clip(len(clipped) // 20, 1, n_bins))
        edges = np.unique(np.quantile(clipped, np.linspace(0.0, 1.0, bins_wanted + 1)))
        if len(edges) < 2:
            return None
        return cls(reference, edges.astype(np.float64), np.asarray(exact, dtype=np.float64), scale, unit)

    def code(self, offsets: np.ndarray, n_levels: int) -> tuple[np.ndarray, np.ndarray]:
        """(bin, slice) of each (finite) offset; offsets beyond the edges go to the outer bins."""
        bins = np.clip(np.searchsorted(self.edges, offsets, side="right") - 1, 0, self.n_bins - 1)
        left, width = self.edges[bins], self.edges[bins + 1] - self.edges[bins]
        fraction = np.clip((offsets - left) / width, 0.0, 1.0 - 1e-9)
        return bins, np.floor(fraction * n_levels).astype(np.int64)

    def value(
        self, bins: np.ndarray, levels: np.ndarray, uniform: np.ndarray, reference: np.ndarray, n_levels: int
    ) -> np.ndarray:
        """The numbers the codes stand for, given the reference's values (NaN where it has none)."""
        left, width = self.edges[bins], self.edges[bins + 1] - self.edges[bins]
        offsets = left + (levels + uniform) / n_levels * width
        if self.scale == "difference":
            return self.unit * np.sinh(np.arcsinh(reference / self.unit) + offsets)  # NaN where the reference is
        with np.errstate(invalid="ignore"):
            return np.where(reference > 0, reference * np.exp(offsets), np.nan)

    def to_state(self) -> dict[str, Any]:
        """The offset under its keys of :data:`OFFSET_STATE_DEFAULTS`."""
        return {"offset_reference": self.reference, "offset_edges": self.edges, "offset_exact": self.exact,
                "offset_scale": self.scale, "offset_unit": self.unit}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Offset | None:
        """The offset :meth:`to_state` wrote (None for an encoder without one, or a model saved before offsets)."""
        reference = str(state.get("offset_reference", "") or "")
        if not reference:
            return None
        edges, exact = (np.asarray(state[key], dtype=np.float64) for key in ("offset_edges", "offset_exact"))
        scale = str(state.get("offset_scale", "ratio") or "ratio")
        if scale not in SCALES:
            raise ModelFileError(f"offset from column {reference!r}: unknown scale {scale!r}")
        return cls(reference, edges, exact, scale, float(state.get("offset_unit", 1.0)))
