"""``range``: values of a numeric or datetime column lie between bounds."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import model_validator

from synth_pipeline.columns import ORDERED_KINDS, to_numbers
from synth_pipeline.constraints.rules.base import ColumnRule, ExpectationFactory, RuleRows
from synth_pipeline.constraints.rules.values import Bound, bound_number, check_bound, is_number, table_column
from synth_pipeline.errors import ConfigError
from synth_pipeline.schema import Schema


class RangeRule(ColumnRule):
    """Values of ``column`` lie between ``min`` and ``max`` (numbers, or dates as ISO text)."""

    type: Literal["range"] = "range"
    min: Bound = None
    max: Bound = None
    min_inclusive: bool = True
    max_inclusive: bool = True

    @model_validator(mode="after")
    def _bounds(self) -> RangeRule:
        if self.min is None and self.max is None:
            raise ValueError(f"range rule on {self.column!r} needs min, max or both")
        low, high = bound_number(self.min), bound_number(self.max)
        if low is not None and high is not None:
            if low > high or (low == high and not (self.min_inclusive and self.max_inclusive)):
                raise ValueError(f"range rule on {self.column!r} is empty: min {self.min!r} > max {self.max!r}")
        return self

    def describe(self) -> str:
        """``age in [0, 120]``, ``age >= 0``, ``age < 120``."""
        if self.min is not None and self.max is not None:
            left = "[" if self.min_inclusive else "("
            right = "]" if self.max_inclusive else ")"
            return f"{self.column} in {left}{self.min}, {self.max}{right}"
        if self.min is not None:
            return f"{self.column} {'>=' if self.min_inclusive else '>'} {self.min}"
        return f"{self.column} {'<=' if self.max_inclusive else '<'} {self.max}"

    def check(self, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Rows with a value apply; those outside the bounds violate."""
        x = to_numbers(table_column(df, self.column))
        applies = ~np.isnan(x)
        bad = np.zeros(len(x), dtype=bool)
        low, high = bound_number(self.min), bound_number(self.max)
        with np.errstate(invalid="ignore"):
            if low is not None:
                bad |= (x < low) if self.min_inclusive else (x <= low)
            if high is not None:
                bad |= (x > high) if self.max_inclusive else (x >= high)
        return applies, bad & applies

    def check_kinds(self, schema: Schema, where: str) -> None:
        """A numeric or datetime column, with bounds of its kind."""
        kind = schema.kind(self.column)
        if kind not in ORDERED_KINDS:
            raise ConfigError(f"{where}: a range needs a numeric or datetime column; {self.column!r} is {kind.value}")
        check_bound(self.min, kind, where, self.column)
        check_bound(self.max, kind, where, self.column)

    def bounds(self) -> dict[str, tuple[float, float]]:
        """The column's bounds as numbers (open ends infinite)."""
        low = bound_number(self.min) if self.min is not None else -np.inf
        high = bound_number(self.max) if self.max is not None else np.inf
        return {self.column: (low, high)}

    def repair(self, cells: RuleRows) -> np.ndarray:
        """Clip to the bounds (an exclusive bound: one unit inside)."""
        mask = cells.free(self.column)
        if mask.any():
            x = to_numbers(cells.rows[self.column])[mask]
            step = cells.unit(self.column)
            low, high = bound_number(self.min), bound_number(self.max)
            if low is not None:
                x = np.maximum(x, low if self.min_inclusive else low + step)
            if high is not None:
                x = np.minimum(x, high if self.max_inclusive else high - step)
            cells.set_numbers(self.column, mask, x)
        return mask

    def expectation(self, factory: ExpectationFactory) -> Any:
        """GX's ``ExpectColumnValuesToBeBetween`` (datetime bounds for a datetime column)."""
        is_datetime = factory.is_datetime(self.column)
        return factory.gx.ExpectColumnValuesToBeBetween(
            column=self.column, min_value=_gx_bound(self.min, is_datetime), max_value=_gx_bound(self.max, is_datetime),
            strict_min=not self.min_inclusive, strict_max=not self.max_inclusive, meta=factory.meta,
        )

    def date_columns(self) -> list[str]:
        """The column, when a bound is a date."""
        bounds = [b for b in (self.min, self.max) if b is not None]
        if any(isinstance(b, str) and not is_number(b) or isinstance(b, (date, datetime)) for b in bounds):
            return [self.column]
        return []


def _gx_bound(value: Any, column_is_datetime: bool) -> Any:
    if value is None:
        return None
    if column_is_datetime:
        return pd.Timestamp(value).to_pydatetime()
    return float(value)


__all__ = ["RangeRule"]
