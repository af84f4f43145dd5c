"""Numeric and integer columns: a *bin* sub-column and, when needed, a *within-bin* sub-column.

Values seen at least a threshold number of times are *atoms*: codes of their own
that decode to exactly that value (all values seen at least ``rare_threshold``
times when there are few of them, as for ages or small counts; otherwise only
point masses heavier than a quantile bin, such as a spike at 0, and the values far more frequent than
their neighbours, such as round payments: see :mod:`.spikes`). All other
values fall into quantile bins; the within-bin sub-column says in which of
``n_levels`` equal slices of the bin the value lies, and decoding draws
uniformly inside that slice. Sampled numbers are therefore not limited to
training values, integers come back whole, and numbers outside the training
range are clipped into the outer bins when they are encoded as conditions. The bins end at the
protected bounds (the ``rare_threshold``-th smallest and largest binned value), so a number beyond
them, a unique minimum or maximum included, is never sampled.
Floats are rounded to the number of decimals seen in training.

The bin sub-column may end with "equal to an earlier column" codes, one per
reference (see :mod:`.references`), and then with the bins of an offset from an
earlier column (see :mod:`.offsets`). Numbers rounded more often than chance get a
"round number" sub-column (see :mod:`.rounding`), and a number that a later column moves little
from a last, "change" sub-column: that column's difference to it (see :mod:`.changes`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synth_pipeline.columns import ColumnKind, to_numbers
from synth_pipeline.generators.argn.encoders.base import ColumnEncoder, EncoderSettings, SubColumn
from synth_pipeline.generators.argn.encoders.changes import Change, draw_within
from synth_pipeline.generators.argn.encoders.offsets import Offset
from synth_pipeline.generators.argn.encoders.private import private_atoms_and_edges
from synth_pipeline.generators.argn.encoders.rounding import Rounding
from synth_pipeline.generators.argn.encoders.spikes import spike_values
from synth_pipeline.protection import protected_bounds


@dataclass
class NumberEncoder(ColumnEncoder):
    """Codes of the bin sub-column: missing (when seen), atoms, quantile bins, "equal to" references, offset bins."""

    atoms: np.ndarray = field(default_factory=lambda: np.zeros(0))
    edges: np.ndarray = field(default_factory=lambda: np.zeros(0))
    n_levels: int = 0
    whole: bool = False
    decimals: int = -1
    references: list[str] = field(default_factory=list)
    offset: Offset | None = None
    rounding: Rounding | None = None
    change: Change | None = None

    # -- fitting ----------------------------------------------------------------------
    @classmethod
    def fit(cls, name: str, kind: ColumnKind, values: pd.Series, settings: EncoderSettings) -> NumberEncoder:
        missing = values.isna()
        encoder = cls(name, kind, bool(missing.any()), whole=kind is not ColumnKind.NUMERIC)
        present = values[~missing]
        encoder._fit_unit(present, settings)
        if settings.private is not None:
            encoder._fit_private(values, settings)
            return encoder
        x = encoder.to_numbers(present)
        if kind is ColumnKind.NUMERIC and len(x):
            encoder.decimals = _decimals(x)
            if encoder.decimals == 0:
                encoder.whole = True
        if len(x):
            encoder._fit_atoms_and_bins(x, settings)
        return encoder

    def _fit_unit(self, present: pd.Series, settings: EncoderSettings) -> None:
        """Hook for kinds whose number unit depends on the data (datetimes)."""

    def _fit_private(self, values: pd.Series, settings: EncoderSettings) -> None:
        """Under privacy: atoms, bins and "has missing" from DP statistics (see :mod:`.private`)."""
        assert settings.private is not None
        self.has_missing, self.atoms, self.edges = private_atoms_and_edges(
            self.name, self.to_numbers(values), settings.private, n_bins=settings.n_bins,
            max_exact_values=settings.max_exact_values, whole=self.whole, datetime=self.number_family != "number",
        )
        if self.n_bins:
            widest = float(np.max(np.diff(self.edges)))
            self.n_levels = int(max(1, min(settings.n_levels, widest))) if self.whole else settings.n_levels

    def _fit_atoms_and_bins(self, x: np.ndarray, settings: EncoderSettings) -> None:
        distinct, counts = np.unique(x, return_counts=True)
        frequent = counts >= settings.rare_threshold
        if frequent.sum() <= settings.max_exact_values:
            is_atom = frequent
        else:
            is_atom = counts >= max(settings.rare_threshold, len(x) / settings.n_bins)
            if settings.spikes:
                is_atom |= spike_values(
                    distinct, counts, is_atom, unit=self._step(), rare_threshold=settings.rare_threshold,
                    n_bins=settings.n_bins, budget=settings.max_exact_values - int(is_atom.sum()),
                )
        self.atoms = distinct[is_atom].astype(np.float64)
        rest = np.repeat(distinct[~is_atom], counts[~is_atom])
        if len(self.atoms) and len(rest) < 2 * settings.rare_threshold:
            return  # too few to bin without showing them: the nearest atom stands in for each
        if len(rest) == 0:
            return
        # value protection: bins end at the k-th smallest and largest value, so nothing beyond is sampled
        rest = np.clip(rest, *protected_bounds(rest, settings.rare_threshold))
        if len(self.atoms) == 0 and len(distinct) == 1:
            self.atoms = distinct.astype(np.float64)
            return
        self.edges = self._quantile_edges(rest, settings.n_bins).astype(np.float64)
        widest = float(np.max(np.diff(self.edges)))
        self.n_levels = int(max(1, min(settings.n_levels, widest))) if self.whole else settings.n_levels
        if settings.rounding and self.number_family == "number":
            decimals = 0 if self.whole else self.decimals
            self.rounding = Rounding.fit(rest, decimals, rare_threshold=settings.rare_threshold, n_values=len(x))

    def _step(self) -> float:
        """The column's smallest step: 1 for whole numbers, ``10 ** -decimals`` for floats (NaN: unknown)."""
        if self.whole:
            return 1.0
        return 10.0 ** -self.decimals if self.decimals >= 0 else float("nan")

    def _quantile_edges(self, rest: np.ndarray, n_bins: int) -> np.ndarray:
        bins_wanted = int(np.clip(len(rest) // 20, 1, n_bins))
        edges = np.quantile(rest, np.linspace(0.0, 1.0, bins_wanted + 1))
        if self.whole:
            edges = np.floor(edges)
            edges[-1] = rest.max() + 1
        edges = np.unique(edges)
        if len(edges) < 2:
            edges = np.array([rest.min(), rest.max() + (1 if self.whole else 0)], dtype=np.float64)
        if len(edges) < 2 or edges[-1] <= edges[0]:
            # a single repeated rare value: let it be an atom-like bin of width one unit
            edges = np.array([rest.min(), rest.min() + 1.0])
        return edges

    # -- structure --------------------------------------------------------------------
    @property
    def n_bins(self) -> int:
        """Number of quantile bins (0 when every training value is an atom)."""
        return max(len(self.edges) - 1, 0)

    @property
    def first_cardinality(self) -> int:
        return self.first_offset_code + (self.offset.n_bins if self.offset else 0)

    @property
    def first_equal_code(self) -> int:
        """Code of "equal to ``references[0]``"; reference ``j`` has this code plus ``j``."""
        return int(self.has_missing) + len(self.atoms) + self.n_bins

    @property
    def first_offset_code(self) -> int:
        """Code of the first offset bin (see :mod:`.offsets`)."""
        return self.first_equal_code + len(self.references)

    def codes_offset_replaces(self) -> list[int]:
        """Codes of the first sub-column never used when the offset's reference is present (see :mod:`.offsets`)."""
        if self.offset is None:
            return []
        start = int(self.has_missing)
        light = [start + i for i, atom in enumerate(self.atoms) if atom not in self.offset.exact]
        return light + list(range(start + len(self.atoms), start + len(self.atoms) + self.n_bins))

    @property
    def all_references(self) -> list[str]:
        """The columns this one's codes may refer to: the "equal to" references, then the offset's."""
        return [*self.references, *([self.offset.reference] if self.offset else [])]

    @property
    def number_family(self) -> str:
        """Columns of one family can equal each other (numbers with numbers, dates with dates of one unit)."""
        return "number"

    def sub_columns(self) -> list[SubColumn]:
        subs = [SubColumn(self.name, "bin", self.first_cardinality)]
        if self.n_bins:
            subs.append(SubColumn(self.name, "level", self.n_levels))
        if self.rounding is not None:
            subs.append(SubColumn(self.name, "round", self.rounding.n_codes))
        if self.change is not None:
            subs.append(SubColumn(self.name, "change", self.change.n_codes))
        return subs

    @property
    def change_sub(self) -> int:
        """Index of the change sub-column among this column's sub-columns (-1: none)."""
        return len(self.sub_columns()) - 1 if self.change is not None else -1

    def code_positions(self) -> list[np.ndarray]:
        centres = np.concatenate([self.atoms, (self.edges[:-1] + self.edges[1:]) / 2 if self.n_bins else []])
        ranks = np.argsort(np.argsort(centres, kind="stable"), kind="stable") / max(len(centres) - 1, 1)
        n_offset = self.offset.n_bins if self.offset else 0
        offset_ranks = np.arange(n_offset) / max(n_offset - 1, 1)
        first = np.concatenate([[np.nan] * int(self.has_missing), ranks, [np.nan] * len(self.references), offset_ranks])
        positions = [first.astype(np.float64)]
        if self.n_bins:
            positions.append(np.arange(self.n_levels) / max(self.n_levels - 1, 1))
        if self.rounding is not None:
            positions.append(np.arange(self.rounding.n_codes) / (self.rounding.n_codes - 1))
        if self.change is not None:
            positions.append(self.change.code_positions())
        return positions

    # -- encode / decode ----------------------------------------------------------------
    def encode(self, values: pd.Series) -> np.ndarray:
        missing = values.isna().to_numpy()
        codes = np.zeros((len(values), len(self.sub_columns())), dtype=np.int64)
        offset = int(self.has_missing)
        present = ~missing
        x = self.to_numbers(values)[present]
        first = np.full(len(x), -1, dtype=np.int64)
        levels = np.zeros(len(x), dtype=np.int64)
        is_atom = np.zeros(len(x), dtype=bool)
        if len(self.atoms):
            pos = np.minimum(np.searchsorted(self.atoms, x), len(self.atoms) - 1)
            is_atom = self.atoms[pos] == x
            first[is_atom] = offset + pos[is_atom]
        rest = ~is_atom
        if self.n_bins:
            bins, levels_rest = self._bin(x[rest])
            first[rest] = offset + len(self.atoms) + bins
            levels[rest] = levels_rest
        elif rest.any():
            # No bins (every training value is an atom): the nearest atom stands in.
            first[rest] = offset + _nearest(self.atoms, x[rest])
        codes[present, 0] = first
        if self.n_bins:
            codes[present, 1] = levels
        if self.rounding is not None:
            codes[present, 2] = self.rounding.code(x)
        # the change sub-column stays 0 here: it needs the target column (see TableEncoder.code_equalities)
        return codes

    def _bin(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        edges = self.edges
        bins = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, self.n_bins - 1)
        left, width = edges[bins], edges[bins + 1] - edges[bins]
        centre = x + 0.5 if self.whole else x
        fraction = np.clip((centre - left) / width, 0.0, 1.0 - 1e-9)
        return bins, np.floor(fraction * self.n_levels).astype(np.int64)

    def decode(
        self, codes: np.ndarray, uniform: np.ndarray, references: list[np.ndarray] | None = None,
        target: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> pd.Series:
        """``references`` holds the decoded numbers of :attr:`all_references`, in order.

        ``target``: where an earlier column's change code puts each value (``[low, high)``, NaN: nowhere;
        see :mod:`.changes`): binned values are drawn where their slice meets it.
        """
        first = codes[:, 0]
        missing = first == 0 if self.has_missing else np.zeros(len(first), dtype=bool)
        index = first - int(self.has_missing)
        numbers = np.full(len(first), np.nan)
        n_atoms = len(self.atoms)
        is_atom = (~missing) & (index < n_atoms)
        numbers[is_atom] = self.atoms[index[is_atom]]
        in_bin = (~missing) & (index >= n_atoms) & (index < n_atoms + self.n_bins)
        if self.n_bins and in_bin.any():
            numbers[in_bin] = self._unbin(index[in_bin] - n_atoms, codes[in_bin, 1], uniform[in_bin])
            if target is not None:
                self._decode_change(in_bin, index - n_atoms, codes, uniform, target, numbers)
        for j, values in enumerate((references or [])[: len(self.references)]):
            same = first == self.first_equal_code + j
            numbers[same] = values[same]
        if self.offset is not None and references:
            self._decode_offsets(first, codes, uniform, references[-1], numbers)
        if self.rounding is not None:
            self._round(codes, uniform, in_bin, first >= self.first_offset_code, numbers)
        return self.from_numbers(numbers)

    def _round(
        self, codes: np.ndarray, uniform: np.ndarray, in_bin: np.ndarray, offset: np.ndarray, numbers: np.ndarray
    ) -> None:
        """Round drawn numbers as their round code says: inside their bin, or (offsets) to the nearest multiple."""
        assert self.rounding is not None
        bins = codes[in_bin, 0] - int(self.has_missing) - len(self.atoms)
        left, right = self.edges[bins], self.edges[bins + 1]
        levels = codes[in_bin, 1]
        shift = 0.5 if self.whole else 0.0  # a whole number k lies in the slice holding k + 0.5
        within = (left + levels * (right - left) / self.n_levels - shift,
                  left + (levels + 1) * (right - left) / self.n_levels - shift)
        numbers[in_bin] = self.rounding.draw_in_bins(numbers[in_bin], codes[in_bin, 2], left, right, uniform[in_bin],
                                                     within)
        numbers[offset] = self.rounding.apply(numbers[offset], codes[offset, 2], *self._protected_range())

    def _protected_range(self) -> tuple[float, float]:
        """The least and greatest number the codes can decode to: the bins' ends or the outermost atoms."""
        low, high = float(self.edges[0]), float(self.edges[-1] - (1.0 if self.whole else 0.0))
        if len(self.atoms):
            low, high = min(low, float(self.atoms[0])), max(high, float(self.atoms[-1]))
        return low, high

    def _decode_offsets(
        self, first: np.ndarray, codes: np.ndarray, uniform: np.ndarray, reference: np.ndarray, numbers: np.ndarray
    ) -> None:
        assert self.offset is not None
        rows = first >= self.first_offset_code
        if not rows.any():
            return
        values = self.offset.value(first[rows] - self.first_offset_code, codes[rows, 1], uniform[rows],
                                   reference[rows], self.n_levels)
        # value protection: never beyond the column's own bins (a reference without a value: their middle)
        values = np.where(np.isfinite(values), values, self.edges[len(self.edges) // 2])
        numbers[rows] = np.clip(values, *self._protected_range())

    def _decode_change(
        self, in_bin: np.ndarray, bins: np.ndarray, codes: np.ndarray, uniform: np.ndarray,
        target: tuple[np.ndarray, np.ndarray], numbers: np.ndarray,
    ) -> None:
        """Binned numbers an earlier column's change places: in ``target``, inside their slice or else their bin.

        Where ``target`` misses the bin, the number stays as drawn inside its slice.
        """
        rows = in_bin & np.isfinite(target[0])
        if not rows.any():
            return
        slices = self._slice(bins[rows], codes[rows, 1])
        left, right = self.edges[bins[rows]], self.edges[bins[rows] + 1]
        # whole numbers k of bin b are those with k + 0.5 in it: left - 0.5 <= k < right - 0.5
        whole_bins = (np.ceil(left - 0.5), np.ceil(right - 0.5)) if self.whole else (left, right)
        drawn = draw_within(slices, whole_bins, (target[0][rows], target[1][rows]), uniform[rows], whole=self.whole)
        numbers[rows] = np.where(np.isnan(drawn), numbers[rows], drawn)

    def _slice(self, bins: np.ndarray, levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``[low, high)`` of the levels' slices of ``bins``: whole numbers ``low <= k < high`` for whole columns."""
        left, width = self.edges[bins], self.edges[bins + 1] - self.edges[bins]
        low, high = left + levels * width / self.n_levels, left + (levels + 1) * width / self.n_levels
        if not self.whole:
            return low, high
        low = np.ceil(low - 0.5)
        return low, np.maximum(np.ceil(high - 0.5), low + 1)

    def _unbin(self, bins: np.ndarray, levels: np.ndarray, uniform: np.ndarray) -> np.ndarray:
        left, width = self.edges[bins], self.edges[bins + 1] - self.edges[bins]
        if not self.whole:
            return left + (levels + uniform) / self.n_levels * width
        # the whole numbers k whose centre k + 0.5 falls into the level's slice
        low = np.ceil(left + levels * width / self.n_levels - 0.5)
        high = np.maximum(np.ceil(left + (levels + 1) * width / self.n_levels - 0.5), low + 1)
        return low + np.floor(uniform * (high - low))

    # -- numbers ----------------------------------------------------------------------
    def to_numbers(self, values: pd.Series) -> np.ndarray:
        """The column on the encoder's number line (NaN where missing)."""
        return to_numbers(values)

    def from_numbers(self, numbers: np.ndarray) -> pd.Series:
        """Numbers on the encoder's number line back to the column's dtype."""
        if self.kind is ColumnKind.INTEGER:
            whole = np.where(np.isnan(numbers), 0, np.round(numbers)).astype(np.int64)
            return pd.Series(pd.array(whole, dtype="Int64")).mask(np.isnan(numbers))
        if self.decimals >= 0:
            numbers = np.round(numbers, self.decimals)
        return pd.Series(numbers, dtype=np.float64)

    # -- persistence --------------------------------------------------------------------
    def _own_state(self) -> dict[str, Any]:
        return {
            "atoms": self.atoms,
            "edges": self.edges,
            "n_levels": self.n_levels,
            "whole": self.whole,
            "decimals": self.decimals,
            "references": list(self.references),
            **(self.offset.to_state() if self.offset else {}),
            "rounding_units": self.rounding.units if self.rounding else np.zeros(0),
            **(self.change.to_state() if self.change else {}),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> NumberEncoder:
        return cls(
            name=state["name"],
            kind=ColumnKind(state["kind"]),
            has_missing=bool(state["has_missing"]),
            atoms=np.asarray(state["atoms"], dtype=np.float64),
            edges=np.asarray(state["edges"], dtype=np.float64),
            n_levels=int(state["n_levels"]),
            whole=bool(state["whole"]),
            decimals=int(state["decimals"]),
            references=list(state.get("references", [])),
            offset=Offset.from_state(state),
            rounding=Rounding.from_state(state),
            change=Change.from_state(state),
        )


def _nearest(atoms: np.ndarray, x: np.ndarray) -> np.ndarray:
    if len(atoms) <= 1:
        return np.zeros(len(x), dtype=np.int64)
    pos = np.clip(np.searchsorted(atoms, x), 1, len(atoms) - 1)
    left_closer = np.abs(x - atoms[pos - 1]) <= np.abs(atoms[pos] - x)
    return np.where(left_closer, pos - 1, pos).astype(np.int64)


def _decimals(x: np.ndarray) -> int:
    sample = x[:10_000]
    for decimals in range(7):
        if np.allclose(sample, np.round(sample, decimals), rtol=0, atol=1e-9 * max(1.0, float(np.max(np.abs(sample))))):
            return decimals
    return -1
