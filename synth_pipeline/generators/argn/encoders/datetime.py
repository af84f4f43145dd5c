"""Datetime columns: encoded as whole numbers (see :mod:`.number`), days or seconds since 1970.

Whole days when every training value is a midnight, otherwise whole seconds.
The conversion to seconds is :func:`synth_pipeline.columns.to_numbers`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from synth_pipeline.columns import SECONDS_PER_DAY, from_seconds, to_numbers
from synth_pipeline.generators.argn.encoders.base import EncoderSettings
from synth_pipeline.generators.argn.encoders.number import NumberEncoder
from synth_pipeline.generators.argn.encoders.private import private_time_unit


@dataclass
class DatetimeEncoder(NumberEncoder):
    """A number encoder whose number line is whole days or whole seconds since 1970."""

    time_unit: str = ""  # "day" or "second"

    def _fit_unit(self, present: pd.Series, settings: EncoderSettings) -> None:
        stamps = present.astype("datetime64[ns]")
        if settings.private is not None:
            self.time_unit = private_time_unit(self.name, stamps, settings.private)
            return
        midnights = len(stamps) > 0 and bool((stamps.dt.normalize() == stamps).all())
        self.time_unit = "day" if midnights else "second"

    @property
    def _seconds_per_unit(self) -> int:
        return SECONDS_PER_DAY if self.time_unit == "day" else 1

    @property
    def number_family(self) -> str:
        return f"datetime-{self.time_unit}"

    def to_numbers(self, values: pd.Series) -> np.ndarray:
        return np.floor(to_numbers(values) / self._seconds_per_unit)

    def from_numbers(self, numbers: np.ndarray) -> pd.Series:
        return from_seconds(numbers * self._seconds_per_unit)

    def _own_state(self) -> dict[str, Any]:
        return {**super()._own_state(), "time_unit": self.time_unit}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> DatetimeEncoder:
        encoder = super().from_state(state)
        encoder.time_unit = state["time_unit"]
        return encoder
