"""``inequality``: ``left op right`` between two numeric or two datetime columns, derived as a gap.

In model space the larger side is replaced by the gap above the smaller one (same
column name and kind; a datetime gap is stored as 1970-01-01 plus the gap, so every
generator handles it as an ordinary datetime). A gap is never negative by
construction once the generator keeps it so; redraws and repair do the rest.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from synth_pipeline.columns import ORDERED_KINDS, SECONDS_PER_DAY, ColumnKind, to_numbers
from synth_pipeline.constraints.rules.base import (
    BaseRule,
    Construction,
    ExpectationFactory,
    OrderEdge,
    RuleFit,
    RuleRows,
)
from synth_pipeline.constraints.rules.values import table_column
from synth_pipeline.errors import ConfigError
from synth_pipeline.schema import Schema

Operator = Literal["<", "<=", ">", ">="]
_EPOCH = pd.Timestamp(0)


class InequalityRule(BaseRule):
    """``left op right`` between two numeric or two datetime columns.

    ``tolerance`` loosens the check by that much (in the columns' units; seconds
    for datetimes): ``a <= b`` with tolerance 0.01 accepts ``a = b + 0.005``.
    Rows where either side is missing are skipped.
    """

    type: Literal["inequality"] = "inequality"
    left: str
    op: Operator
    right: str
    tolerance: float = Field(0.0, ge=0)

    construction = Construction("gap", order=2, verb="generated as a gap above", keeps_column=True)
    repeated_column_error = "inequality rule compares {left!r} with itself"
    custom_expectation = (
        "ExpectColumnPairInequalityWithTolerance",
        "``left op right`` holds up to the rule's tolerance (rows with a missing side are skipped).",
    )

    @property
    def low(self) -> str:
        """The column that must be the smaller one."""
        return self.left if self.op in ("<", "<=") else self.right

    @property
    def high(self) -> str:
        """The column that must be the larger one."""
        return self.right if self.op in ("<", "<=") else self.left

    @property
    def strict(self) -> bool:
        """Whether equality breaks the rule."""
        return self.op in ("<", ">")

    def columns(self) -> list[str]:
        """The left and the right side."""
        return [self.left, self.right]

    def describe(self) -> str:
        """``start < end``, with the tolerance if there is one."""
        text = f"{self.left} {self.op} {self.right}"
        return text + (f" (tolerance {self.tolerance:g})" if self.tolerance else "")

    def check(self, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Rows with both sides apply; those out of order (beyond the tolerance) violate."""
        low = to_numbers(table_column(df, self.low))
        high = to_numbers(table_column(df, self.high))
        applies = ~np.isnan(low) & ~np.isnan(high)
        with np.errstate(invalid="ignore"):
            ok = (low < high + self.tolerance) if self.strict else (low <= high + self.tolerance)
        return applies, applies & ~ok

    # -- validation ------------------------------------------------------------------------------------
    def check_kinds(self, schema: Schema, where: str) -> None:
        """Both sides numbers, or both datetimes."""
        left, right = schema.kind(self.left), schema.kind(self.right)
        same = (left is ColumnKind.DATETIME) == (right is ColumnKind.DATETIME)
        if left not in ORDERED_KINDS or right not in ORDERED_KINDS or not same:
            raise ConfigError(
                f"{where}: type mismatch, {self.op!r} compares {self.left!r} ({left.value}) with "
                f"{self.right!r} ({right.value}); both must be numbers or both datetimes"
            )

    def check_bounds(self, bounds: dict[str, tuple[float, float]]) -> None:
        """The smaller side's lowest value must not exceed the larger side's highest."""
        if self.low not in bounds or self.high not in bounds:
            return
        low_min, high_max = bounds[self.low][0], bounds[self.high][1]
        if low_min > high_max + self.tolerance or (self.strict and low_min >= high_max + self.tolerance):
            raise ConfigError(
                f"contradictory rules: {self.describe()} cannot hold, {self.low!r} is at least {low_min:g} "
                f"but {self.high!r} at most {high_max:g}"
            )

    def ordering(self) -> OrderEdge:
        """``low < high`` (or ``<=``)."""
        return OrderEdge(self.low, self.high, self.strict, self.tolerance)

    # -- derivation --------------------------------------------------------------------------------------
    def derivation(self, schema: Schema, training: pd.DataFrame) -> tuple[str, list[str]] | None:
        """The larger side as a gap above the smaller, unless the gap could not hold it."""
        if schema.kind(self.high) is ColumnKind.INTEGER and schema.kind(self.low) is not ColumnKind.INTEGER:
            return None  # a fractional gap cannot live in an integer column: redraw/repair instead
        if (training[self.low].isna() & training[self.high].notna()).any():
            return None  # the gap would lose the known larger side where the smaller one is missing
        return self.high, [self.low]

    def to_model(self, table: pd.DataFrame, schema: Schema) -> pd.Series:
        """The gap ``high - low``."""
        return _gap(table[self.high], table[self.low], schema.kind(self.high))

    def derive(self, rows: pd.DataFrame, fit: RuleFit, schema: Schema) -> pd.Series:
        """``low + gap``."""
        gap, low = rows[self.high], rows[self.low]
        kind = schema.kind(self.high)
        if kind is ColumnKind.DATETIME:
            delta = gap.astype("datetime64[ns]") - _EPOCH
            return (low.astype("datetime64[ns]") + delta).astype("datetime64[ns]")
        if kind is ColumnKind.INTEGER:
            return (low.astype("Int64") + gap.astype("Int64")).astype("Int64")
        return pd.Series(to_numbers(low) + to_numbers(gap), index=gap.index)

    def fix_target(self, conditions: pd.DataFrame, fixed: pd.DataFrame, schema: Schema) -> None:
        """A fixed larger side becomes a fixed gap where the smaller side is fixed too."""
        if self.high not in conditions.columns:
            return
        both = fixed[self.high].to_numpy(dtype=bool).copy()
        if self.low in conditions.columns:
            both &= fixed[self.low].to_numpy(dtype=bool)
            conditions[self.high] = _gap(conditions[self.high], conditions[self.low], schema.kind(self.high))
        else:
            both[:] = False
        # where only the larger side is fixed the gap stays free; the enforcer puts the fixed value back
        fixed[self.high] = both

    # -- enforcement -----------------------------------------------------------------------------------
    def learn(self, training: pd.DataFrame, schema: Schema) -> RuleFit | None:
        """A strict rule's smallest gap: one unit, one day or second, or the smallest gap seen."""
        if not self.strict:
            return None
        kinds = {schema.kind(self.low), schema.kind(self.high)}
        if kinds == {ColumnKind.INTEGER}:
            return RuleFit(step=1.0)
        if kinds == {ColumnKind.DATETIME}:
            both = pd.concat([training[self.low].dropna(), training[self.high].dropna()])
            whole_days = len(both) and bool((both.dt.normalize() == both).all())
            return RuleFit(step=float(SECONDS_PER_DAY) if whole_days else 1.0)
        gaps = to_numbers(training[self.high]) - to_numbers(training[self.low])
        positive = gaps[np.isfinite(gaps) & (gaps > 0)]
        if len(positive):
            return RuleFit(step=float(positive.min()))
        scale = np.nanmax(np.abs(to_numbers(training[self.high]))) if len(training) else 1.0
        return RuleFit(step=float(max(scale, 1.0) * 1e-9))

    def redraw_targets(self, cells: RuleRows) -> dict[str, np.ndarray]:
        """The larger side where free, else the smaller."""
        high = cells.free(self.high)
        return {self.high: high, self.low: cells.free(self.low) & ~high}

    def repair(self, cells: RuleRows) -> np.ndarray:
        """Move the larger side up to the smaller plus the step, or (pinned by a fixed value further up a
        chain such as a < b < c with c fixed) the smaller side down."""
        step = cells.fit.step or 0.0
        pinned = cells.pinned_above(self.high)
        high = cells.free(self.high) & ~(pinned & cells.free(self.low))
        low = cells.free(self.low) & ~high
        if high.any():
            cells.set_numbers(self.high, high, to_numbers(cells.rows[self.low])[high] + step)
        if low.any():
            cells.set_numbers(self.low, low, to_numbers(cells.rows[self.high])[low] - step)
        return high | low

    def expectation(self, factory: ExpectationFactory) -> Any:
        """GX's column-pair comparison without a tolerance; the custom expectation with one."""
        if self.tolerance:
            return factory.custom(self)
        return factory.gx.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A=self.high, column_B=self.low, or_equal=not self.strict,
            ignore_row_if="either_value_is_missing", meta=factory.meta,
        )


def _gap(high: pd.Series, low: pd.Series, kind: ColumnKind) -> pd.Series:
    if kind is ColumnKind.DATETIME:
        delta = high.astype("datetime64[ns]") - low.astype("datetime64[ns]")
        return (_EPOCH + delta).astype("datetime64[ns]")
    if kind is ColumnKind.INTEGER:
        return (high.astype("Int64") - low.astype("Int64")).astype("Int64")
    return pd.Series(to_numbers(high) - to_numbers(low), index=high.index)


__all__ = ["InequalityRule", "Operator"]
