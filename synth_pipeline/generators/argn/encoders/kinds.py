"""The one table of column kind -> encoder class, and fitting or loading through it."""

from __future__ import annotations

from typing import Any

import pandas as pd

from synth_pipeline.columns import ColumnKind
from synth_pipeline.generators.argn.encoders.base import ColumnEncoder, EncoderSettings
from synth_pipeline.generators.argn.encoders.categorical import CategoricalEncoder
from synth_pipeline.generators.argn.encoders.datetime import DatetimeEncoder
from synth_pipeline.generators.argn.encoders.number import NumberEncoder
from synth_pipeline.generators.argn.encoders.text import TextEncoder

#: the encoder of each column kind the model learns (ids are regenerated, never encoded)
ENCODERS: dict[ColumnKind, type[ColumnEncoder]] = {
    ColumnKind.CATEGORICAL: CategoricalEncoder,
    ColumnKind.BOOLEAN: CategoricalEncoder,
    ColumnKind.NUMERIC: NumberEncoder,
    ColumnKind.INTEGER: NumberEncoder,
    ColumnKind.DATETIME: DatetimeEncoder,
    ColumnKind.TEXT: TextEncoder,
}


def fit_column(name: str, kind: ColumnKind, values: pd.Series, settings: EncoderSettings) -> ColumnEncoder:
    """Learn the encoding of one training column with the encoder of its kind."""
    return ENCODERS[kind].fit(name, kind, values, settings)


def encoder_from_state(state: dict[str, Any]) -> ColumnEncoder:
    """The encoder a saved state describes, rebuilt by the encoder of its kind."""
    return ENCODERS[ColumnKind(state["kind"])].from_state(state)

