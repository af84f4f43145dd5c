"""A number coded relative to an earlier column: quantile bins of its log ratio to that column.

Nearly proportional numbers, such as a runner's split times, are blurred when each is coded by
its own quantile bins: the network would have to learn a sharp diagonal between two bin scales
from few rows. Coded as an *offset* from the earlier column (``log(x) - log(reference)``, both
positive) the same value is one draw from a narrow, nearly independent distribution, which small
tables learn well. The offset bins are quantile bins like the value's own, with a within-bin slice
on the column's level sub-column; they end at the offsets' protected bounds, and a decoded value is
clipped into the column's own protected range, so value protection holds for these codes too.
Only point masses heavier than a quantile bin keep their exact codes: a lighter atom is one more
value near its reference, and coding it on its own would cut it loose.

:class:`Offset` is the learned part (which column, the bin edges, the atoms kept exact); which
columns get one is :func:`.relations.find_offsets`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from synth_pipeline.protection import protected_bounds

#: saved keys of an encoder's offset, with the value of an encoder without one
OFFSET_STATE_DEFAULTS: dict[str, Any] = {
    "offset_reference": "", "offset_edges": np.zeros(0), "offset_exact": np.zeros(0),
}


@dataclass
class Offset:
    """The offset coding of one number column: reference column, bin edges, atoms that stay exact."""

    reference: str
    edges: np.ndarray = field(default_factory=lambda: np.zeros(0))
    exact: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def n_bins(self) -> int:
        """Number of offset bins (each is one code of the column's first sub-column)."""
        return max(len(self.edges) - 1, 0)

    @staticmethod
    def offsets(x: np.ndarray, reference: np.ndarray) -> np.ndarray:
        """``log(x / reference)``: NaN where either is missing (both columns are positive where present)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(x / reference)

    @classmethod
    def fit(
        cls, reference: str, offsets: np.ndarray, exact: np.ndarray, *, n_bins: int, rare_threshold: int
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
        return cls(reference, edges.astype(np.float64), np.asarray(exact, dtype=np.float64))

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
        with np.errstate(invalid="ignore"):
            return np.where(reference > 0, reference * np.exp(left + (levels + uniform) / n_levels * width), np.nan)

    def to_state(self) -> dict[str, Any]:
        """The offset under its keys of :data:`OFFSET_STATE_DEFAULTS`."""
        return {"offset_reference": self.reference, "offset_edges": self.edges, "offset_exact": self.exact}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Offset | None:
        """The offset :meth:`to_state` wrote (None for an encoder without one, or a model saved before offsets)."""
        reference = str(state.get("offset_reference", "") or "")
        if not reference:
            return None
        edges, exact = (np.asarray(state[key], dtype=np.float64) for key in ("offset_edges", "offset_exact"))
        return cls(reference, edges, exact)
