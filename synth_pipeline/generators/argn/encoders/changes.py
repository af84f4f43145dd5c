"""A "change" sub-column: how much the next, related number differs from this one, drawn before it.

Signed amounts that move little from one column to the next (a bill and last month's bill) are
coded by their own quantile bins; the network has to learn the narrow diagonal between two bin
scales, and it blurs it: sampled month-to-month changes come out far wider than real ones. Coding
the later value only as a difference to the earlier one (tried first) got the changes right but lost
the columns' own levels, and a change sub-column on the later value, after its bin and level, came
too late to correct a bin drawn too far away (both measured on creditcard_default, README). So the
*earlier* column ``r`` gets one more sub-column, after its own: the quantile bin of ``target - r``
(code 0: no change coded, where the target is missing, an atom or equal to a reference). Drawn
before the target, it is what the target's bin is conditioned on, as a change from a known place.
Decoding draws the target inside the intersection of its own slice and ``r`` plus that change,
or of its bin where the slice misses it (where both do, inside its slice as without a change), so
the target's bin, far narrower than the QA's, stays as the model drew it. The change bins
end at the changes' protected bounds and a decoded value never leaves its own slice, so value
protection holds for these codes too. Seeded sampling or imputation that fixes ``r`` but not the
target draws the change code with the target (a fixed value's change to a free one is unknown).

:class:`Change` is the learned part (the target column, the bin edges); which columns get one is
:func:`.relations.find_changes`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from synth_pipeline.protection import protected_bounds

#: saved keys of an encoder's change sub-column, with the value of an encoder without one
CHANGE_STATE_DEFAULTS: dict[str, Any] = {"change_target": "", "change_edges": np.zeros(0)}


@dataclass
class Change:
    """The change sub-column of one number column: the later column it leads to and the changes' bin edges."""

    target: str
    edges: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def n_bins(self) -> int:
        """Number of change bins."""
        return max(len(self.edges) - 1, 0)

    @property
    def n_codes(self) -> int:
        """Codes of the change sub-column: "no change coded" and one per bin."""
        return self.n_bins + 1

    @classmethod
    def fit(
        cls, target: str, changes: np.ndarray, *, n_bins: int, rare_threshold: int, whole: bool
    ) -> Change | None:
        """Quantile bins of ``changes`` (finite) within their protected bounds; None when too few to bin."""
        changes = np.sort(changes[np.isfinite(changes)])
        if len(changes) < max(2 * rare_threshold, 40):
            return None
        clipped = np.clip(changes, *protected_bounds(changes, rare_threshold))
        bins_wanted = int(np.clip(len(clipped) // 20, 1, n_bins))
        edges = np.quantile(clipped, np.linspace(0.0, 1.0, bins_wanted + 1))
        if whole:  # whole changes: bin k holds the whole numbers in [edges[k], edges[k + 1])
            edges = np.floor(edges)
            edges[-1] = clipped[-1] + 1
        edges = np.unique(edges)
        if len(edges) < 2:
            return None
        return cls(target, edges.astype(np.float64))

    def code(self, changes: np.ndarray) -> np.ndarray:
        """Code (1 + bin) of each finite change; changes beyond the edges go to the outer bins."""
        return 1 + np.clip(np.searchsorted(self.edges, changes, side="right") - 1, 0, self.n_bins - 1)

    def target_range(self, codes: np.ndarray, numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``[low, high)`` where the target lies, from this column's ``numbers`` and change ``codes``.

        NaN where no change is coded (code 0) or this column has no number.
        """
        coded = (codes > 0) & np.isfinite(numbers)
        bins = np.where(coded, codes - 1, 0)
        low = np.where(coded, numbers + self.edges[bins], np.nan)
        return low, np.where(coded, numbers + self.edges[bins + 1], np.nan)

    def code_positions(self) -> np.ndarray:
        """Each code's place on the change's number line in [0, 1] (NaN: "no change coded")."""
        return np.concatenate([[np.nan], np.arange(self.n_bins) / max(self.n_bins - 1, 1)])

    def to_state(self) -> dict[str, Any]:
        """The change under its keys of :data:`CHANGE_STATE_DEFAULTS`."""
        return {"change_target": self.target, "change_edges": self.edges}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Change | None:
        """The change :meth:`to_state` wrote (None for an encoder without one, or a model saved before changes)."""
        target = str(state.get("change_target", "") or "")
        if not target:
            return None
        return cls(target, np.asarray(state["change_edges"], dtype=np.float64))


def draw_within(
    slices: tuple[np.ndarray, np.ndarray], bins: tuple[np.ndarray, np.ndarray], target: tuple[np.ndarray, np.ndarray],
    uniform: np.ndarray, *, whole: bool,
) -> np.ndarray:
    """Numbers in ``target`` (``[low, high)`` pairs, finite), inside their slice where they meet it, else their bin.

    Drawn uniformly where ``target`` meets the slice; where it does not (the earlier column's drawn value
    lies elsewhere in its own slice than the model assumed) but meets the bin, in the bin's part of it;
    where it meets neither, NaN (the caller keeps its own draw: moving such values to the bin's nearest
    end piled them up on the bin edges, measured on creditcard_default). For whole numbers every range
    holds the whole numbers ``k`` with ``low <= k < high``.
    """
    out = _draw_in(slices, target, uniform, whole=whole)
    missed = np.isnan(out)
    if missed.any():
        out[missed] = _draw_in((bins[0][missed], bins[1][missed]), (target[0][missed], target[1][missed]),
                               uniform[missed], whole=whole)
    return out


def _draw_in(
    ranges: tuple[np.ndarray, np.ndarray], target: tuple[np.ndarray, np.ndarray], uniform: np.ndarray, *, whole: bool
) -> np.ndarray:
    """Uniform draws where ``ranges`` and ``target`` meet (NaN where they do not)."""
    start, stop = np.maximum(ranges[0], target[0]), np.minimum(ranges[1], target[1])
    if whole:
        start, stop = np.ceil(start), np.ceil(stop)
        return np.where(stop > start, start + np.floor(uniform * np.maximum(stop - start, 1.0)), np.nan)
    return np.where(stop > start, start + uniform * (stop - start), np.nan)
