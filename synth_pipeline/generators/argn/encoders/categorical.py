"""Categorical and boolean columns: one sub-column of codes, rare values pooled.

Values seen fewer than ``rare_threshold`` times in training are pooled into one
*rare* code, so the model never learns them individually. The rare code is sampled
like any other (the rest of the row follows what rare rows look like), and written
as a *stand-in*: a frequent value drawn uniformly at random. So a rare training value
can never be reproduced, no artificial label appears in the output, and the rare
rows' share is not added to the common values in proportion (which inflated the
most common values most and put synthetic rows on the values training holds most
often: on a listings table whose streets and hosts are largely rare, that cost
accuracy and raised the DCR share). A column with no frequent value at all is not
learned (argn regenerates it as ids, see ``ARGNGenerator._columns_not_to_learn``);
the encoder refuses it. Booleans have no rare pooling. With the setting ``made_up_labels``
(off by default), a drawn rare code of a text category is written as a made-up label of a
frequent label's shape instead (see :mod:`.made_up_labels`), never under ``privacy``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synth_pipeline.columns import ColumnKind
from synth_pipeline.errors import InvalidDataError
from synth_pipeline.generators.argn.encoders.base import ColumnEncoder, EncoderSettings, RowDecoding, SubColumn
from synth_pipeline.generators.argn.encoders.made_up_labels import MadeUpLabels
from synth_pipeline.generators.argn.encoders.private import private_categories

RARE_LABEL = "_RARE_"  # the name of the pooled code in messages; never a value of the output


@dataclass
class CategoricalEncoder(ColumnEncoder):
    """Codes: missing (when seen), the frequent categories in sorted order, then rare (when seen)."""

    categories: list[Any] = field(default_factory=list)
    has_rare: bool = False
    #: with ``made_up_labels``, text categories with rare values (not under privacy): drawn rare codes' labels
    made_up: MadeUpLabels | None = None
    #: make labels up for drawn rare codes (the setting ``made_up_labels``; only read by the fit)
    _make_up: bool = field(default=False, repr=False, compare=False)

    @classmethod
    def fit(cls, name: str, kind: ColumnKind, values: pd.Series, settings: EncoderSettings) -> CategoricalEncoder:
        missing = values.isna()
        present = values[~missing]
        if settings.private is not None:  # DP vocabulary; a rare code always, so its presence tells nothing
            keys = values.map(lambda v: v if pd.isna(v) else _key(v, kind))
            categories, has_missing = private_categories(name, kind, keys, settings.private)
            _check_drawable(name, categories, kind is not ColumnKind.BOOLEAN)
            # DP: stand-ins only (the rare values' hashes would be a statistic outside the budget)
            return cls(name, kind, has_missing, categories=categories, has_rare=kind is not ColumnKind.BOOLEAN)
        counts = present.map(lambda v: _key(v, kind)).value_counts(sort=False)
        threshold = 1 if kind is ColumnKind.BOOLEAN else settings.rare_threshold
        frequent = counts[counts >= threshold]
        categories = sorted(frequent.index.tolist(), key=lambda v: (str(type(v)), v))
        has_rare = bool((counts < threshold).any())
        _check_drawable(name, categories, has_rare)
        return cls(name, kind, bool(missing.any()), categories=categories, has_rare=has_rare,
                   _make_up=settings.made_up_labels)

    @property
    def rare_code(self) -> int | None:
        """Code of the pooled rare values, when training had any."""
        return int(self.has_missing) + len(self.categories) if self.has_rare else None

    @property
    def first_cardinality(self) -> int:
        return int(self.has_missing) + len(self.categories) + int(self.has_rare)

    def sub_columns(self) -> list[SubColumn]:
        return [SubColumn(self.name, "value", self.first_cardinality)]

    def code_positions(self) -> list[np.ndarray]:
        return [np.full(self.first_cardinality, np.nan)]

    def encode(self, values: pd.Series) -> np.ndarray:
        missing = values.isna().to_numpy()
        offset = int(self.has_missing)
        keys = values.to_numpy(dtype=object, na_value=None)
        if self.kind is ColumnKind.BOOLEAN:
            keys = np.array([None if m else bool(v) for v, m in zip(keys, missing, strict=True)], dtype=object)
        index = pd.Index(self.categories, dtype=object).get_indexer(keys).astype(np.int64)
        fallback = self.rare_code if self.rare_code is not None else offset
        codes = np.where(index >= 0, index + offset, fallback)
        codes[missing] = 0
        return codes[:, None]

    def fit_in_context(
        self, values: pd.Series, row_codes: np.ndarray, cardinalities: list[int], rng: np.random.Generator,
        sampled: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        """With ``made_up_labels``, text categories with rare values: the templates' shared tokens and the rare
        labels' keyed hashes."""
        if not (self._make_up and self.has_rare and self.kind is ColumnKind.CATEGORICAL and _all_text(self.categories)):
            return
        present = values.dropna()
        rare = sorted({str(v) for v in present[~present.isin(self.categories)]})
        self.made_up = MadeUpLabels.fit(list(self.categories), rare, rng)

    def decode_row(
        self, codes: np.ndarray, uniform: np.ndarray, references: list[np.ndarray] | None, row: RowDecoding
    ) -> pd.Series:
        """:meth:`decode`; where fitted with made-up labels, a drawn rare code as a made-up label (``row.rng``)."""
        out = self.decode(codes, uniform, references)
        if self.made_up is None:
            return out
        rare = np.flatnonzero(codes[:, 0] == self.rare_code)
        frequent = set(self.categories)
        values = out.to_numpy(dtype=object, copy=True)
        for i in rare:  # the stand-in drawn by ``decode`` is the template, and stays where no label is found
            label = self.made_up.label(values[i], frequent, row.rng)
            if label is not None:
                values[i] = label
        return pd.Series(values, dtype=object)

    def decode(self, codes: np.ndarray, uniform: np.ndarray, references: list[np.ndarray] | None = None) -> pd.Series:
        first = codes[:, 0]
        missing = first == 0 if self.has_missing else np.zeros(len(first), dtype=bool)
        # a drawn rare code is written as a frequent value drawn uniformly (``uniform`` picks it); where a
        # fixed (seeded or observed) cell holds it, the caller restores the real cell
        labels = np.array(list(self.categories), dtype=object)
        index = np.clip(first - int(self.has_missing), 0, len(labels) - 1)
        if self.rare_code is not None:
            rare = first == self.rare_code
            index[rare] = np.minimum((uniform[rare] * len(labels)).astype(np.int64), len(labels) - 1)
        out = labels[index]
        out[missing] = None
        series = pd.Series(out, dtype=object)
        return series.astype("boolean") if self.kind is ColumnKind.BOOLEAN else series

    def _own_state(self) -> dict[str, Any]:
        return {
            "categories": [_json_label(v) for v in self.categories],
            "has_rare": self.has_rare,
            "made_up": {} if self.made_up is None else self.made_up.to_state(),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> CategoricalEncoder:
        kind = ColumnKind(state["kind"])
        _check_drawable(state["name"], state["categories"], bool(state["has_rare"]))
        return cls(
            name=state["name"],
            kind=kind,
            has_missing=bool(state["has_missing"]),
            categories=[bool(v) if kind is ColumnKind.BOOLEAN else v for v in state["categories"]],
            has_rare=bool(state["has_rare"]),
            made_up=MadeUpLabels.from_state(state["made_up"]) if state.get("made_up") else None,
        )


def _check_drawable(name: str, categories: list[Any], has_rare: bool) -> None:
    if has_rare and not categories:
        raise InvalidDataError(
            f"column {name!r}: every value is rare, so argn has no value it may generate; "
            "it must be regenerated as ids (declare it `id`) rather than encoded"
        )


def _all_text(categories: list[Any]) -> bool:
    return bool(categories) and all(isinstance(v, str) for v in categories)


def _key(value: Any, kind: ColumnKind) -> Any:
    return bool(value) if kind is ColumnKind.BOOLEAN else value


def _json_label(value: Any) -> Any:
    # categories are stored as text (booleans as booleans), whatever type the training column had
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    return str(value)
