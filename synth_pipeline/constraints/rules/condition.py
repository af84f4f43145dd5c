"""A test on one column, the building block of conditional rules."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from synth_pipeline.columns import ORDERED_KINDS, ColumnKind, to_numbers
from synth_pipeline.constraints.rules.values import (
    Bound,
    Scalar,
    bound_number,
    check_bound,
    series_keys,
    table_column,
    value_key,
)
from synth_pipeline.errors import ConfigError

_TESTS = ("equals", "in_", "not_in", "is_null")


class Condition(BaseModel):
    """A test on one column: exactly one of ``equals``, ``in``, ``not_in``, ``is_null``, or ``min``/``max``.

    ``null`` inside ``in``/``not_in`` stands for a missing value: ``{column: income, in: [0, null]}``
    reads "income is 0 or missing".
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    column: str
    equals: Scalar = None
    in_: list[Scalar] | None = Field(None, alias="in")
    not_in: list[Scalar] | None = None
    is_null: bool | None = None
    min: Bound = None
    max: Bound = None

    @model_validator(mode="after")
    def _one_test(self) -> Condition:
        given = [k for k in _TESTS if k in self.model_fields_set]
        if "min" in self.model_fields_set or "max" in self.model_fields_set:
            given.append("min/max")
        if len(given) != 1:
            raise ValueError(
                f"condition on {self.column!r} needs exactly one of equals, in, not_in, is_null, min/max "
                f"(got {', '.join(g.rstrip('_') for g in given) or 'none'})"
            )
        return self

    @property
    def test(self) -> str:
        """``equals``, ``in``, ``not_in``, ``is_null`` or ``between``."""
        for key in _TESTS:
            if key in self.model_fields_set:
                return key.rstrip("_")
        return "between"

    def value_set(self) -> set[str | None] | None:
        """The keys this condition accepts when it is a finite set (equals, in, is_null true)."""
        if self.test == "equals":
            return {value_key(self.equals)}
        if self.test == "in":
            return {value_key(v) for v in self.in_ or []}
        if self.test == "is_null" and self.is_null:
            return {None}
        return None

    def describe(self) -> str:
        """``income in {0, null}``, ``age >= 18 and age <= 65``, ..."""
        test = self.test
        if test == "equals":
            return f"{self.column} = {self.equals!r}" if self.equals is not None else f"{self.column} is null"
        if test in ("in", "not_in"):
            values = self.in_ if test == "in" else self.not_in
            shown = ", ".join("null" if v is None else repr(v) for v in values or [])
            return f"{self.column} {test.replace('_', ' ')} {{{shown}}}"
        if test == "is_null":
            return f"{self.column} is {'' if self.is_null else 'not '}null"
        parts = []
        if self.min is not None:
            parts.append(f"{self.column} >= {self.min}")
        if self.max is not None:
            parts.append(f"{self.column} <= {self.max}")
        return " and ".join(parts)

    def holds(self, df: pd.DataFrame) -> np.ndarray:
        """Rows where the test holds."""
        series = table_column(df, self.column)
        test = self.test
        if test == "is_null":
            missing = series.isna().to_numpy()
            return missing if self.is_null else ~missing
        if test == "between":
            x = to_numbers(series)
            ok = ~np.isnan(x)
            low, high = bound_number(self.min), bound_number(self.max)
            with np.errstate(invalid="ignore"):
                if low is not None:
                    ok &= x >= low
                if high is not None:
                    ok &= x <= high
            return ok
        keys = series_keys(series)
        accepted = {value_key(v) for v in (self.not_in or [])} if test == "not_in" else self.value_set()
        inside = np.array([k in accepted for k in keys], dtype=bool)
        return ~inside if test == "not_in" else inside

    def check_kind(self, kind: ColumnKind, where: str) -> None:
        """min/max needs a numeric or datetime column and bounds of its kind."""
        if self.test != "between":
            return
        if kind not in ORDERED_KINDS:
            raise ConfigError(f"{where}: min/max on {self.column!r} needs a numeric or datetime column")
        check_bound(self.min, kind, where, self.column)
        check_bound(self.max, kind, where, self.column)

    def clip(self, x: np.ndarray) -> np.ndarray:
        """Numbers moved into ``[min, max]`` (a missing one onto ``min``, else ``max``)."""
        low, high = bound_number(self.min), bound_number(self.max)
        if np.isnan(x).any():
            x = np.where(np.isnan(x), low if low is not None else high, x)
        if low is not None:
            x = np.maximum(x, low)
        if high is not None:
            x = np.minimum(x, high)
        return x

    def example_value(self) -> Any:
        """A value the test accepts, from its own declaration (None when it lists none)."""
        return next((v for v in (self.in_ or [self.equals]) if v is not None), None)


__all__ = ["Condition"]
