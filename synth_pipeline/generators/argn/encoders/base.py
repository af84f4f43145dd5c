"""What every ARGN column encoder is: sub-columns of integer codes, encode, decode, persist.

A concrete encoder (one module per column kind, see :data:`..ENCODERS`) learns its
encoding in :meth:`ColumnEncoder.fit` and turns values into codes and back. Code 0
of the first sub-column means "missing" when the column had missing values in
training.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from synth_pipeline.columns import ColumnKind
from synth_pipeline.generators.argn.encoders.changes import CHANGE_STATE_DEFAULTS
from synth_pipeline.generators.argn.encoders.offsets import OFFSET_STATE_DEFAULTS

if TYPE_CHECKING:
    from synth_pipeline.dp_statistics import PrivateStatistics


@dataclass
class SubColumn:
    """One discrete sub-column: its owner column, role and number of codes."""

    column: str
    role: str  # "value", "bin", "level", "round" or "change"
    cardinality: int


@dataclass(frozen=True)
class EncoderSettings:
    """The generator settings that shape the encodings."""

    rare_threshold: int
    n_bins: int
    n_levels: int
    max_exact_values: int
    #: code numbers as offsets from an earlier column where that fits (see :mod:`.offsets`)
    offsets: bool = True
    #: give numbers rounded more often than chance a "round number" sub-column (see :mod:`.rounding`)
    rounding: bool = False
    #: keep values far more frequent than their neighbours as exact atoms (see :mod:`.spikes`)
    spikes: bool = True
    #: write a drawn rare code of a text category as a made-up label (see :mod:`.made_up_labels`)
    made_up_labels: bool = False
    #: give a number that a later column moves little from a "change" sub-column (see :mod:`.changes`)
    changes: bool = False
    #: under ``privacy``: the fit's DP statistics, which every statistic of the encoders goes through
    private: PrivateStatistics | None = None
    # free-text columns (see .text)
    text_max_tokens: int = 40
    text_vocabulary: int = 4000
    text_temperature: float = 1.0
    #: the text model's budget: training tokens seen (reproducible), and an optional wall-clock limit
    text_max_tokens_seen: int = 20_000_000
    text_max_seconds: float | None = None
    text_max_epochs: int = 60


@dataclass(frozen=True)
class RowDecoding:
    """What an encoder that writes from its whole row (free text) gets when decoding: the rows' codes."""

    codes: np.ndarray  # (n, n_sub_columns) every sub-column of the rows
    rng: np.random.Generator
    temperature: float = 1.0


#: every key of a saved encoder, with the value an encoder without that part writes:
#: the saved format (model format version 1) is one flat record whatever the kind
STATE_DEFAULTS: dict[str, Any] = {
    "categories": [],
    "has_rare": False,
    "made_up": {},
    "atoms": np.zeros(0),
    "edges": np.zeros(0),
    "n_levels": 0,
    "whole": False,
    "decimals": -1,
    "time_unit": "",
    "references": [],
    **OFFSET_STATE_DEFAULTS,
    "rounding_units": np.zeros(0),
    **CHANGE_STATE_DEFAULTS,
    "vocabulary": [],
    "max_tokens": 0,
    "text": {},
}


@dataclass
class ColumnEncoder(ABC):
    """Encoding of one column into one or more sub-columns of codes."""

    name: str
    kind: ColumnKind
    has_missing: bool

    @classmethod
    @abstractmethod
    def fit(cls, name: str, kind: ColumnKind, values: pd.Series, settings: EncoderSettings) -> ColumnEncoder:
        """Learn the encoding of one training column."""

    @property
    def missing_code(self) -> int | None:
        """Code of "missing" in the first sub-column, when the column had missing values."""
        return 0 if self.has_missing else None

    @property
    @abstractmethod
    def first_cardinality(self) -> int:
        """Number of codes of the first sub-column."""

    @abstractmethod
    def sub_columns(self) -> list[SubColumn]:
        """The sub-columns this column becomes, in order."""

    @abstractmethod
    def code_positions(self) -> list[np.ndarray]:
        """Per sub-column, each code's place on the number line scaled to [0, 1] (NaN: not ordinal).

        Used to start the embeddings of neighbouring numbers close to each other.
        """

    def forbidden_codes(self, *, impute: bool) -> list[int]:
        """Codes of the first sub-column that sampling must not draw."""
        if impute and self.missing_code is not None and self.first_cardinality > 1:
            return [self.missing_code]
        return []

    @abstractmethod
    def encode(self, values: pd.Series) -> np.ndarray:
        """Codes of ``values`` as an (n, n_sub_columns) int64 array; missing -> missing code (or 0)."""

    @abstractmethod
    def decode(self, codes: np.ndarray, uniform: np.ndarray, references: list[np.ndarray] | None = None) -> pd.Series:
        """Values of ``codes`` ((n, n_sub) ints); ``uniform`` (n,) in [0, 1) places numbers inside a slice."""

    def fit_in_context(
        self, values: pd.Series, row_codes: np.ndarray, cardinalities: list[int], rng: np.random.Generator,
        sampled: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        """Learn what depends on the rest of the row, once the table is encoded (free text); nothing by default.

        ``row_codes`` (n, n_sub_columns) are the training rows' codes, ``cardinalities`` each sub-column's size.
        ``sampled``: rows the trained table model drew (all their codes, and this column's part of them), to
        calibrate what is written from the row on the rows it will be written for; None: none drawn.
        """
        return None

    def decode_row(
        self, codes: np.ndarray, uniform: np.ndarray, references: list[np.ndarray] | None, row: RowDecoding
    ) -> pd.Series:
        """:meth:`decode`, for an encoder that may read the rest of the row (``row``); most do not."""
        return self.decode(codes, uniform, references)

    # -- persistence ---------------------------------------------------------------------
    @abstractmethod
    def _own_state(self) -> dict[str, Any]:
        """The kind's learned parts, under their keys in :data:`STATE_DEFAULTS`."""

    def to_state(self) -> dict[str, Any]:
        """The encoder as JSON values and arrays (every key of :data:`STATE_DEFAULTS` present)."""
        return {
            "name": self.name,
            "kind": self.kind.value,
            "has_missing": self.has_missing,
            **STATE_DEFAULTS,
            **self._own_state(),
        }

    @classmethod
    @abstractmethod
    def from_state(cls, state: dict[str, Any]) -> ColumnEncoder:
        """The encoder :meth:`to_state` wrote."""
