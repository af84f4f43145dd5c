"""All the encoders of a table, in table order: sub-column layout, encode, decode, persistence."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synth_pipeline.columns import ColumnKind
from synth_pipeline.generators.argn.encoders.base import ColumnEncoder, EncoderSettings, RowDecoding, SubColumn
from synth_pipeline.generators.argn.encoders.kinds import encoder_from_state, fit_column
from synth_pipeline.generators.argn.encoders.number import NumberEncoder
from synth_pipeline.generators.argn.encoders.references import Equality, find_references, references_of
from synth_pipeline.generators.argn.encoders.relations import find_changes, find_offsets


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
        self.reference_columns = [[position[name] for name in references_of(e)] for e in encoders]
        #: target column -> the earlier column whose change sub-column leads to it (see :mod:`.changes`)
        self.change_sources = {
            position[e.change.target]: c for c, e in enumerate(encoders) if isinstance(e, NumberEncoder) and e.change
        }

    @classmethod
    def fit(cls, training: pd.DataFrame, kinds: dict[str, ColumnKind], settings: EncoderSettings) -> TableEncoder:
        """Learn every column's encoding, then the "equal to an earlier column" references and offsets."""
        encoders = [fit_column(name, kinds[name], training[name], settings) for name in training.columns]
        if settings.private is None:  # under privacy the search would be one more statistic: not made
            find_references(encoders, training, rare_threshold=settings.rare_threshold)
            if settings.offsets:  # so are the offsets' ratios; half as many bins (narrow; measured better, faster)
                n_bins = max(1, settings.n_bins // 2)
                find_offsets(encoders, training, rare_threshold=settings.rare_threshold, n_bins=n_bins)
            if settings.changes:
                find_changes(encoders, training, rare_threshold=settings.rare_threshold, n_bins=settings.n_bins)
        return cls(encoders)

    def fit_in_context(
        self, training: pd.DataFrame, codes: np.ndarray, rng: np.random.Generator, sampled: np.ndarray | None = None
    ) -> None:
        """Let each encoder learn what depends on the rest of the row (free text's words) from the table's codes.

        ``sampled``: rows the trained network drew (codes as sampling gives them), or None; each encoder also
        gets its own part of them.
        """
        for c, encoder in enumerate(self.encoders):
            own = None
            if sampled is not None:
                start = int(self.first_sub[c])
                own = (sampled, sampled[:, start : start + len(encoder.sub_columns())])
            encoder.fit_in_context(training[encoder.name], codes, self.cardinalities.tolist(), rng, own)

    def code_positions(self) -> list[np.ndarray]:
        """Per sub-column, each code's place on the number line (see :meth:`ColumnEncoder.code_positions`)."""
        return [p for e in self.encoders for p in e.code_positions()]

    @property
    def names(self) -> list[str]:
        """The model columns, in table order."""
        return [e.name for e in self.encoders]

    def equalities(self) -> list[Equality]:
        """The columns with references ("equal to" or offset codes), for training and sampling."""
        return [
            Equality(
                column=c,
                first_sub=int(self.first_sub[c]),
                n_subs=len(e.sub_columns()),
                codes=self._reference_codes(c, e),
            )
            for c, e in enumerate(self.encoders)
            if isinstance(e, NumberEncoder) and e.all_references
        ]

    def _reference_codes(self, c: int, encoder: NumberEncoder) -> list[tuple[int, int]]:
        """(code, reference column) of every code of column ``c`` that needs a reference sampled before it."""
        references = self.reference_columns[c]
        codes = [(encoder.first_equal_code + j, references[j]) for j in range(len(encoder.references))]
        if encoder.offset is not None:
            first = encoder.first_offset_code
            codes += [(first + b, references[-1]) for b in range(encoder.offset.n_bins)]
        return codes

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
            if not references_of(encoder) or encoder.name not in data.columns:
                continue
            if out is codes:
                out = codes.copy()
            first = int(self.first_sub[c])
            self._code_equal(c, out[:, first : first + len(encoder.sub_columns())], data, known)
        for target, source in self.change_sources.items():
            out = out.copy() if out is codes else out
            self._code_change(source, target, out, data, known)
        return out

    def change_sub(self, source: int) -> int:
        """The table's index of column ``source``'s change sub-column (see :mod:`.changes`)."""
        encoder = self.encoders[source]
        assert isinstance(encoder, NumberEncoder)
        return int(self.first_sub[source]) + encoder.change_sub

    def _code_change(self, source: int, target: int, codes: np.ndarray, data: pd.DataFrame,
                     known: np.ndarray | None) -> None:
        """Code, on ``source``'s change sub-column, how far ``target`` (where binned, coded by now) lies from it."""
        encoder, later = self.encoders[source], self.encoders[target]
        assert isinstance(encoder, NumberEncoder) and encoder.change is not None and isinstance(later, NumberEncoder)
        if encoder.name not in data.columns or later.name not in data.columns:
            return
        first = codes[:, self.first_sub[target]]
        binned = (first >= int(later.has_missing) + len(later.atoms)) & (first < later.first_equal_code)
        change = later.to_numbers(data[later.name]) - encoder.to_numbers(data[encoder.name])
        rows = binned & np.isfinite(change)
        if known is not None:
            rows &= known[:, source] & known[:, target]
        codes[rows, self.change_sub(source)] = encoder.change.code(change[rows])

    def _code_equal(self, c: int, part: np.ndarray, data: pd.DataFrame, known: np.ndarray | None) -> None:
        encoder = self.encoders[c]
        assert isinstance(encoder, NumberEncoder)  # only number columns have references
        x = encoder.to_numbers(data[encoder.name])
        # only values in a quantile bin: missing values and atoms keep their own codes
        open_rows = (part[:, 0] >= int(encoder.has_missing) + len(encoder.atoms)) & ~np.isnan(x)
        if known is not None:
            open_rows &= known[:, c]
        not_equal = ~np.isnan(x) if known is None else ~np.isnan(x) & known[:, c]
        for j, r in enumerate(self.reference_columns[c][: len(encoder.references)]):
            reference = self.encoders[r]
            if reference.name not in data.columns:
                continue
            same = open_rows & (reference.to_numbers(data[reference.name]) == x)
            if known is not None:
                same &= known[:, r]
            part[same, 0] = encoder.first_equal_code + j
            part[same, 1:] = 0
            open_rows &= ~same
            not_equal &= ~same
        if encoder.offset is not None:
            self._code_offsets(c, part, data, x, not_equal & ~np.isin(x, encoder.offset.exact), known)

    def _code_offsets(
        self, c: int, part: np.ndarray, data: pd.DataFrame, x: np.ndarray, rows: np.ndarray, known: np.ndarray | None
    ) -> None:
        """Code the ``rows`` of column ``c`` whose offset from its reference exists by the offset's bins."""
        encoder = self.encoders[c]
        assert isinstance(encoder, NumberEncoder) and encoder.offset is not None
        r = self.reference_columns[c][-1]
        reference = self.encoders[r]
        if reference.name not in data.columns:
            return
        offset = encoder.offset.offsets(x, reference.to_numbers(data[reference.name]))
        rows = rows & np.isfinite(offset) if known is None else rows & np.isfinite(offset) & known[:, r]
        bins, levels = encoder.offset.code(offset[rows], encoder.n_levels)
        part[rows, 0] = encoder.first_offset_code + bins
        part[rows, 1] = levels

    def decode(self, codes: np.ndarray, rng: np.random.Generator, *, temperature: float = 1.0) -> pd.DataFrame:
        """The table of ``codes`` ((n, n_sub_columns) ints); ``rng`` places numbers inside their slices.

        Free text is written from the whole row's codes at ``temperature`` (see :class:`RowDecoding`), as are
        made-up labels (see :mod:`.made_up_labels`).
        """
        row = RowDecoding(codes, rng, temperature)
        columns: dict[str, pd.Series] = {}
        numbers: dict[int, np.ndarray] = {}
        referenced = {r for refs in self.reference_columns for r in refs} | set(self.change_sources.values())
        start = 0
        for c, encoder in enumerate(self.encoders):
            width = len(encoder.sub_columns())
            references = [numbers[r] for r in self.reference_columns[c]]
            part, uniform = codes[:, start : start + width], rng.random(len(codes))
            if c in self.change_sources and isinstance(encoder, NumberEncoder):
                source = self.change_sources[c]
                change = self.encoders[source].change  # type: ignore[attr-defined]
                target = change.target_range(codes[:, self.change_sub(source)], numbers[source])
                column = encoder.decode(part, uniform, references, target=target)
            else:
                column = encoder.decode_row(part, uniform, references, row)
            columns[encoder.name] = column
            if c in referenced:
                numbers[c] = encoder.to_numbers(column)
            start += width
        return pd.DataFrame(columns)

    def to_state(self) -> list[dict[str, Any]]:
        """The encoders as JSON values and arrays, in table order."""
        return [e.to_state() for e in self.encoders]

    @classmethod
    def from_state(cls, state: list[dict[str, Any]]) -> TableEncoder:
        """The table encoder :meth:`to_state` wrote."""
        return cls([encoder_from_state(s) for s in state])
