"""Reversible encodings of table columns into discrete sub-columns.

Every model column becomes one or two integer *sub-columns*; the network
predicts codes, never raw values. The choice per kind:

* **categorical / boolean**: one sub-column of codes. Values seen fewer than
  ``rare_threshold`` times in training are pooled into one *rare* code, so the
  model never learns them individually. At sampling time the rare code is not
  drawn (its probability goes to the frequent values in proportion), so a rare
  training value can never be reproduced and no artificial label appears in the
  output. Only when a column has no frequent value at all does the rare code
  decode to the label ``"_RARE_"``. Booleans have no rare pooling.
* **integer / numeric / datetime**: a *bin* sub-column and, when needed, a
  *within-bin* sub-column. Values seen at least a threshold number of times are
  *atoms*: codes of their own that decode to exactly that value (all values seen
  at least ``rare_threshold`` times when there are few of them, as for ages or
  small counts; otherwise only point masses heavier than a quantile bin, such
  as a spike at 0). All other values fall into quantile bins; the within-bin
  sub-column says in which of ``n_levels`` equal slices of the bin the value
  lies, and decoding draws uniformly inside that slice. Sampled numbers are
  therefore not limited to training values, integers (and datetimes) come back
  whole, and numbers outside the training range are clipped into the outer
  bins when they are encoded as conditions. Floats are rounded to the number
  of decimals seen in training. Datetimes are encoded as such numbers: whole
  days since 1970 when every value is a midnight, otherwise whole seconds.
* **missing values**: code 0 of the first sub-column, present only when the
  column had missing values in training.
* **equal to an earlier column**: when a number column equals an earlier
  column of the same kind in at least 1% of the training rows (beyond its
  atoms), say a payment that equals last month's bill or an end date equal to
  the start date, the bin sub-column gets one more code per such *reference*
  (at most four): "the same value as that column". It decodes to the
  reference's sampled value, so the exact relation is reproduced instead of
  being blurred by the bins. A reference is only usable when its column comes
  first, so a fixed value whose reference is not fixed is encoded by its bin.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synth_pipeline.columns import ColumnKind

RARE_LABEL = "_RARE_"
_NS_PER_DAY = 86_400 * 10**9
_NS_PER_SECOND = 10**9


@dataclass
class SubColumn:
    """One discrete sub-column: its owner column, role and number of codes."""

    column: str
    role: str  # "value", "bin" or "level"
    cardinality: int


@dataclass(frozen=True)
class Equality:
    """A column with references: its sub-columns, and per reference (its "equal" code, the reference column)."""

    column: int
    first_sub: int
    n_subs: int
    codes: list[tuple[int, int]]


@dataclass
class ColumnEncoder:
    """Encoding of one column; ``kind`` selects the categorical or numeric path."""

    name: str
    kind: ColumnKind
    has_missing: bool
    # categorical / boolean
    categories: list[Any] = field(default_factory=list)
    has_rare: bool = False
    # numeric-like
    atoms: np.ndarray = field(default_factory=lambda: np.zeros(0))
    edges: np.ndarray = field(default_factory=lambda: np.zeros(0))
    n_levels: int = 0
    whole: bool = False
    decimals: int = -1
    time_unit: str = ""
    references: list[str] = field(default_factory=list)

    # -- structure ----------------------------------------------------------------
    @property
    def is_categorical(self) -> bool:
        return self.kind in (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN)

    @property
    def n_bins(self) -> int:
        return max(len(self.edges) - 1, 0)

    @property
    def missing_code(self) -> int | None:
        return 0 if self.has_missing else None

    @property
    def rare_code(self) -> int | None:
        if not (self.is_categorical and self.has_rare):
            return None
        return int(self.has_missing) + len(self.categories)

    @property
    def first_cardinality(self) -> int:
        if self.is_categorical:
            return int(self.has_missing) + len(self.categories) + int(self.has_rare)
        return int(self.has_missing) + len(self.atoms) + self.n_bins + len(self.references)

    @property
    def first_equal_code(self) -> int:
        """Code of "equal to ``references[0]``"; reference ``j`` has this code plus ``j``."""
        return int(self.has_missing) + len(self.atoms) + self.n_bins

    def sub_columns(self) -> list[SubColumn]:
        if self.is_categorical:
            return [SubColumn(self.name, "value", self.first_cardinality)]
        subs = [SubColumn(self.name, "bin", self.first_cardinality)]
        if self.n_bins:
            subs.append(SubColumn(self.name, "level", self.n_levels))
        return subs

    def code_positions(self) -> list[np.ndarray]:
        """Per sub-column, each code's place on the number line scaled to [0, 1] (NaN: not ordinal).

        Used to start the embeddings of neighbouring numbers close to each other.
        """
        if self.is_categorical:
            return [np.full(self.first_cardinality, np.nan)]
        centres = np.concatenate([self.atoms, (self.edges[:-1] + self.edges[1:]) / 2 if self.n_bins else []])
        ranks = np.argsort(np.argsort(centres, kind="stable"), kind="stable") / max(len(centres) - 1, 1)
        first = np.concatenate([[np.nan] * int(self.has_missing), ranks, [np.nan] * len(self.references)])
        positions = [first.astype(np.float64)]
        if self.n_bins:
            positions.append(np.arange(self.n_levels) / max(self.n_levels - 1, 1))
        return positions

    def forbidden_codes(self, *, impute: bool) -> list[int]:
        """Codes of the first sub-column that sampling must not draw."""
        codes = []
        if self.rare_code is not None and len(self.categories) > 0:
            codes.append(self.rare_code)
        if impute and self.missing_code is not None and self.first_cardinality > 1:
            codes.append(self.missing_code)
        return codes

    # -- encode / decode ------------------------------------------------------------
    def encode(self, values: pd.Series) -> np.ndarray:
        """Codes of ``values`` as an (n, n_sub_columns) int64 array; missing -> missing code (or 0)."""
        missing = values.isna().to_numpy()
        n = len(values)
        if self.is_categorical:
            offset = int(self.has_missing)
            keys = values.to_numpy(dtype=object, na_value=None)
            if self.kind is ColumnKind.BOOLEAN:
                keys = np.array([None if m else bool(v) for v, m in zip(keys, missing, strict=True)], dtype=object)
            index = pd.Index(self.categories, dtype=object).get_indexer(keys).astype(np.int64)
            fallback = self.rare_code if self.rare_code is not None else offset
            codes = np.where(index >= 0, index + offset, fallback)
            codes[missing] = 0
            return codes[:, None]
        numbers = self.to_numbers(values)
        codes = np.zeros((n, 2 if self.n_bins else 1), dtype=np.int64)
        offset = int(self.has_missing)
        present = ~missing
        x = numbers[present]
        first = np.full(len(x), -1, dtype=np.int64)
        levels = np.zeros(len(x), dtype=np.int64)
        if len(self.atoms):
            pos = np.searchsorted(self.atoms, x)
            pos_clipped = np.minimum(pos, len(self.atoms) - 1)
            is_atom = self.atoms[pos_clipped] == x
            first[is_atom] = offset + pos_clipped[is_atom]
        else:
            is_atom = np.zeros(len(x), dtype=bool)
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
        return codes

    def _bin(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        edges = self.edges
        bins = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, self.n_bins - 1)
        left, width = edges[bins], edges[bins + 1] - edges[bins]
        centre = x + 0.5 if self.whole else x
        fraction = np.clip((centre - left) / width, 0.0, 1.0 - 1e-9)
        return bins, np.floor(fraction * self.n_levels).astype(np.int64)

    def decode(
        self, codes: np.ndarray, uniform: np.ndarray, references: list[np.ndarray] | None = None
    ) -> pd.Series:
        """Values of ``codes`` ((n, n_sub) ints); ``uniform`` (n,) in [0, 1) places numbers inside a slice.

        ``references`` holds the decoded numbers of the reference columns, in order.
        """
        first = codes[:, 0]
        missing = first == 0 if self.has_missing else np.zeros(len(first), dtype=bool)
        if self.is_categorical:
            labels = np.array(list(self.categories) + [RARE_LABEL], dtype=object)
            index = np.clip(first - int(self.has_missing), 0, len(labels) - 1)
            out = labels[index]
            out[missing] = None
            series = pd.Series(out, dtype=object)
            if self.kind is ColumnKind.BOOLEAN:
                return series.astype("boolean")
            return series
        index = first - int(self.has_missing)
        numbers = np.full(len(first), np.nan)
        n_atoms = len(self.atoms)
        is_atom = (~missing) & (index < n_atoms)
        numbers[is_atom] = self.atoms[index[is_atom]]
        in_bin = (~missing) & (index >= n_atoms) & (index < n_atoms + self.n_bins)
        if self.n_bins and in_bin.any():
            bins = index[in_bin] - n_atoms
            left, width = self.edges[bins], self.edges[bins + 1] - self.edges[bins]
            levels = codes[in_bin, 1]
            if self.whole:
                # the whole numbers k whose centre k + 0.5 falls into the level's slice
                low = np.ceil(left + levels * width / self.n_levels - 0.5)
                high = np.maximum(np.ceil(left + (levels + 1) * width / self.n_levels - 0.5), low + 1)
                numbers[in_bin] = low + np.floor(uniform[in_bin] * (high - low))
            else:
                numbers[in_bin] = left + (levels + uniform[in_bin]) / self.n_levels * width
        for j, values in enumerate(references or []):
            same = first == self.first_equal_code + j
            numbers[same] = values[same]
        return self.from_numbers(numbers)

    # -- numbers -----------------------------------------------------------------------
    def to_numbers(self, values: pd.Series) -> np.ndarray:
        if self.kind is ColumnKind.DATETIME:
            ns = values.astype("datetime64[ns]").to_numpy().astype("int64").astype(np.float64)
            unit = _NS_PER_DAY if self.time_unit == "day" else _NS_PER_SECOND
            return np.floor(ns / unit)
        return values.astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)

    def from_numbers(self, numbers: np.ndarray) -> pd.Series:
        if self.kind is ColumnKind.DATETIME:
            unit = _NS_PER_DAY if self.time_unit == "day" else _NS_PER_SECOND
            ns = np.where(np.isnan(numbers), 0, numbers).astype(np.int64) * unit
            out = pd.Series(ns.astype("datetime64[ns]"))
            out[np.isnan(numbers)] = pd.NaT
            return out
        if self.kind is ColumnKind.INTEGER:
            whole = np.where(np.isnan(numbers), 0, np.round(numbers)).astype(np.int64)
            return pd.Series(pd.array(whole, dtype="Int64")).mask(np.isnan(numbers))
        if self.decimals >= 0:
            numbers = np.round(numbers, self.decimals)
        return pd.Series(numbers, dtype=np.float64)

    # -- persistence ---------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind.value,
            "has_missing": self.has_missing,
            "categories": [_json_value(v) for v in self.categories],
            "has_rare": self.has_rare,
            "atoms": self.atoms,
            "edges": self.edges,
            "n_levels": self.n_levels,
            "whole": self.whole,
            "decimals": self.decimals,
            "time_unit": self.time_unit,
            "references": list(self.references),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> ColumnEncoder:
        kind = ColumnKind(state["kind"])
        return cls(
            name=state["name"],
            kind=kind,
            has_missing=bool(state["has_missing"]),
            categories=[bool(v) if kind is ColumnKind.BOOLEAN else v for v in state["categories"]],
            has_rare=bool(state["has_rare"]),
            atoms=np.asarray(state["atoms"], dtype=np.float64),
            edges=np.asarray(state["edges"], dtype=np.float64),
            n_levels=int(state["n_levels"]),
            whole=bool(state["whole"]),
            decimals=int(state["decimals"]),
            time_unit=state["time_unit"],
            references=list(state.get("references", [])),
        )


def _key(value: Any, kind: ColumnKind) -> Any:
    return bool(value) if kind is ColumnKind.BOOLEAN else value


def _json_value(value: Any) -> Any:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    return str(value)


def _nearest(atoms: np.ndarray, x: np.ndarray) -> np.ndarray:
    pos = np.clip(np.searchsorted(atoms, x), 1, len(atoms) - 1) if len(atoms) > 1 else np.zeros(len(x), dtype=np.int64)
    if len(atoms) > 1:
        left_closer = np.abs(x - atoms[pos - 1]) <= np.abs(atoms[pos] - x)
        pos = np.where(left_closer, pos - 1, pos)
    return pos.astype(np.int64)


def _decimals(x: np.ndarray) -> int:
    sample = x[:10_000]
    for decimals in range(7):
        if np.allclose(sample, np.round(sample, decimals), rtol=0, atol=1e-9 * max(1.0, float(np.max(np.abs(sample))))):
            return decimals
    return -1


MAX_REFERENCES = 4
MIN_EQUAL_SHARE = 0.01
_SCREEN_ROWS = 20_000


def _number_family(encoder: ColumnEncoder) -> str | None:
    if encoder.is_categorical:
        return None
    return f"datetime-{encoder.time_unit}" if encoder.kind is ColumnKind.DATETIME else "number"


def find_references(encoders: list[ColumnEncoder], training: pd.DataFrame, *, rare_threshold: int) -> None:
    """Give each binned number column the earlier columns it often equals exactly (see the module docstring).

    Candidates are screened on a sample of rows and confirmed on all of them.
    """
    n = len(training)
    if n == 0:
        return
    screen = np.random.default_rng(0).permutation(n)[:_SCREEN_ROWS] if n > _SCREEN_ROWS else np.arange(n)
    numbers: dict[int, np.ndarray] = {}
    for c, encoder in enumerate(encoders):
        family = _number_family(encoder)
        if family is None:
            continue
        numbers[c] = encoder.to_numbers(training[encoder.name])
        if encoder.n_bins == 0:
            continue
        x = numbers[c]
        in_bins = ~np.isnan(x) & ~np.isin(x, encoder.atoms)
        earlier = [r for r in numbers if r < c and _number_family(encoders[r]) == family]
        if not earlier or not in_bins[screen].any():
            continue
        sample = np.column_stack([numbers[r][screen] for r in earlier])
        screen_share = ((sample == x[screen, None]) & in_bins[screen, None]).mean(axis=0)
        needed = max(rare_threshold, MIN_EQUAL_SHARE * n)
        found = []
        for k in np.argsort(-screen_share, kind="stable"):
            if screen_share[k] < MIN_EQUAL_SHARE / 2 or len(found) == MAX_REFERENCES:
                break
            count = int(((numbers[earlier[k]] == x) & in_bins).sum())
            if count >= needed:
                found.append(earlier[k])
        encoder.references = [encoders[r].name for r in found]


def fit_column(
    name: str,
    kind: ColumnKind,
    values: pd.Series,
    *,
    rare_threshold: int,
    n_bins: int,
    n_levels: int,
    max_exact_values: int,
) -> ColumnEncoder:
    """Learn the encoding of one training column (see the module docstring)."""
    missing = values.isna()
    has_missing = bool(missing.any())
    present = values[~missing]
    if kind in (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN):
        counts = present.map(lambda v: _key(v, kind)).value_counts(sort=False)
        threshold = 1 if kind is ColumnKind.BOOLEAN else rare_threshold
        frequent = counts[counts >= threshold]
        categories = sorted(frequent.index.tolist(), key=lambda v: (str(type(v)), v))
        has_rare = bool((counts < threshold).any())
        return ColumnEncoder(name, kind, has_missing, categories=categories, has_rare=has_rare)

    encoder = ColumnEncoder(name, kind, has_missing, whole=kind in (ColumnKind.INTEGER, ColumnKind.DATETIME))
    if kind is ColumnKind.DATETIME:
        ns = present.astype("datetime64[ns]").to_numpy().astype("int64")
        encoder.time_unit = "day" if len(ns) and bool(np.all(ns % _NS_PER_DAY == 0)) else "second"
    x = encoder.to_numbers(present)
    if kind is ColumnKind.NUMERIC and len(x):
        encoder.decimals = _decimals(x)
        if encoder.decimals == 0:
            encoder.whole = True
    if len(x) == 0:
        encoder.atoms = np.zeros(0)
        return encoder
    distinct, counts = np.unique(x, return_counts=True)
    frequent = counts >= rare_threshold
    if frequent.sum() <= max_exact_values:
        is_atom = frequent
    else:
        is_atom = counts >= max(rare_threshold, len(x) / n_bins)
    encoder.atoms = distinct[is_atom].astype(np.float64)
    rest = np.repeat(distinct[~is_atom], counts[~is_atom])
    if len(rest) == 0:
        return encoder
    if len(encoder.atoms) == 0 and len(distinct) == 1:
        encoder.atoms = distinct.astype(np.float64)
        return encoder
    bins_wanted = int(np.clip(len(rest) // 20, 1, n_bins))
    edges = np.quantile(rest, np.linspace(0.0, 1.0, bins_wanted + 1))
    if encoder.whole:
        edges = np.floor(edges)
        edges[-1] = rest.max() + 1
    edges = np.unique(edges)
    if len(edges) < 2:
        edges = np.array([rest.min(), rest.max() + (1 if encoder.whole else 0)], dtype=np.float64)
    if len(edges) < 2 or edges[-1] <= edges[0]:
        # a single repeated rare value: let it be an atom-like bin of width one unit
        edges = np.array([rest.min(), rest.min() + 1.0])
    encoder.edges = edges.astype(np.float64)
    widest = float(np.max(np.diff(edges)))
    encoder.n_levels = int(max(1, min(n_levels, widest))) if encoder.whole else n_levels
    return encoder


class TableEncoder:
    """The encoders of all model columns, in table order, and their sub-columns."""

    def __init__(self, encoders: list[ColumnEncoder]) -> None:
        self.encoders = encoders
        self.sub_columns: list[SubColumn] = [s for e in encoders for s in e.sub_columns()]
        self.column_of_sub = np.array(
            [i for i, e in enumerate(encoders) for _ in e.sub_columns()], dtype=np.int64
        )
        self.cardinalities = np.array([s.cardinality for s in self.sub_columns], dtype=np.int64)
        self.first_sub = np.array([int(np.flatnonzero(self.column_of_sub == c)[0]) for c in range(len(encoders))])
        position = {e.name: c for c, e in enumerate(encoders)}
        self.reference_columns = [[position[name] for name in e.references] for e in encoders]

    def code_positions(self) -> list[np.ndarray]:
        return [p for e in self.encoders for p in e.code_positions()]

    @property
    def names(self) -> list[str]:
        return [e.name for e in self.encoders]

    def equalities(self) -> list[Equality]:
        """The columns with references, for training and sampling."""
        return [
            Equality(
                column=c,
                first_sub=int(self.first_sub[c]),
                n_subs=len(e.sub_columns()),
                codes=[(e.first_equal_code + j, r) for j, r in enumerate(self.reference_columns[c])],
            )
            for c, e in enumerate(self.encoders)
            if e.references
        ]

    @classmethod
    def fit(
        cls,
        training: pd.DataFrame,
        kinds: dict[str, ColumnKind],
        *,
        rare_threshold: int,
        n_bins: int,
        n_levels: int,
        max_exact_values: int,
    ) -> TableEncoder:
        encoders = [
            fit_column(
                name,
                kinds[name],
                training[name],
                rare_threshold=rare_threshold,
                n_bins=n_bins,
                n_levels=n_levels,
                max_exact_values=max_exact_values,
            )
            for name in training.columns
        ]
        find_references(encoders, training, rare_threshold=rare_threshold)
        return cls(encoders)

    def encode(self, data: pd.DataFrame, *, known: np.ndarray | None = None, equalities: bool = True) -> np.ndarray:
        """(n, n_sub_columns) int64 codes; columns absent from ``data`` get zeros.

        ``equalities=False`` codes every number by its bin; otherwise see :meth:`code_equalities`.
        """
        parts = [
            encoder.encode(data[encoder.name])
            if encoder.name in data.columns
            else np.zeros((len(data), len(encoder.sub_columns())), dtype=np.int64)
            for encoder in self.encoders
        ]
        codes = np.concatenate(parts, axis=1) if parts else np.zeros((len(data), 0), dtype=np.int64)
        return self.code_equalities(codes, data, known=known) if equalities else codes

    def code_equalities(self, codes: np.ndarray, data: pd.DataFrame, *, known: np.ndarray | None = None) -> np.ndarray:
        """``codes`` (by bin) with "equal to an earlier column" codes where they apply; a copy when any do.

        ``known`` (n, n_columns) marks the cells that are given (default: every column
        present in ``data``); a value is coded as equal to a reference column only where
        the reference is given too.
        """
        out = codes
        for c, encoder in enumerate(self.encoders):
            if not encoder.references or encoder.name not in data.columns:
                continue
            if out is codes:
                out = codes.copy()
            first = int(self.first_sub[c])
            self._code_equal(c, out[:, first : first + len(encoder.sub_columns())], data, known)
        return out

    def _code_equal(self, c: int, part: np.ndarray, data: pd.DataFrame, known: np.ndarray | None) -> None:
        encoder = self.encoders[c]
        x = encoder.to_numbers(data[encoder.name])
        # only values in a quantile bin: missing values and atoms keep their own codes
        open_rows = (part[:, 0] >= int(encoder.has_missing) + len(encoder.atoms)) & ~np.isnan(x)
        if known is not None:
            open_rows &= known[:, c]
        for j, r in enumerate(self.reference_columns[c]):
            reference = self.encoders[r]
            if reference.name not in data.columns:
                continue
            same = open_rows & (reference.to_numbers(data[reference.name]) == x)
            if known is not None:
                same &= known[:, r]
            part[same, 0] = encoder.first_equal_code + j
            if part.shape[1] > 1:
                part[same, 1] = 0
            open_rows &= ~same

    def decode(self, codes: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
        columns: dict[str, pd.Series] = {}
        numbers: dict[int, np.ndarray] = {}
        referenced = {r for refs in self.reference_columns for r in refs}
        start = 0
        for c, encoder in enumerate(self.encoders):
            width = len(encoder.sub_columns())
            references = [numbers[r] for r in self.reference_columns[c]]
            column = encoder.decode(codes[:, start : start + width], rng.random(len(codes)), references)
            columns[encoder.name] = column
            if c in referenced:
                numbers[c] = encoder.to_numbers(column)
            start += width
        return pd.DataFrame(columns)

    def to_state(self) -> list[dict[str, Any]]:
        return [e.to_state() for e in self.encoders]

    @classmethod
    def from_state(cls, state: list[dict[str, Any]]) -> TableEncoder:
        return cls([ColumnEncoder.from_state(s) for s in state])
