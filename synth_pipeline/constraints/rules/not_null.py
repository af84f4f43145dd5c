"""``not_null``: a column is never missing."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from synth_pipeline.constraints.rules.base import ColumnRule, ExpectationFactory, RuleFit, RuleRows
from synth_pipeline.constraints.rules.values import mode, table_column
from synth_pipeline.schema import Schema


class NotNullRule(ColumnRule):
    """``column`` is never missing."""

    type: Literal["not_null"] = "not_null"

    def describe(self) -> str:
        """``income is not null``."""
        return f"{self.column} is not null"

    def check(self, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Every row applies; missing cells violate."""
        missing = table_column(df, self.column).isna().to_numpy()
        return np.ones(len(df), dtype=bool), missing

    def learn(self, training: pd.DataFrame, schema: Schema) -> RuleFit:
        """The most frequent value, to fill what redraws leave missing."""
        return RuleFit(fallbacks={"": fallback_value(self, training, schema)})

    def required_columns(self) -> list[str]:
        """A redraw must fill the column."""
        return [self.column]

    def repair(self, cells: RuleRows) -> np.ndarray:
        """Fill the free missing cells with the learned value."""
        return fill_with_fallback(self.column, cells)

    def expectation(self, factory: ExpectationFactory) -> Any:
        """GX's ``ExpectColumnValuesToNotBeNull``."""
        return factory.gx.ExpectColumnValuesToNotBeNull(column=self.column, meta=factory.meta)


def fallback_value(rule: ColumnRule, training: pd.DataFrame, schema: Schema) -> Any:
    """The most frequent training value of the rule's column among the rows that keep the rule."""
    ok = ~rule.check(training)[1] & training[rule.column].notna().to_numpy()
    return mode(training[rule.column][ok], schema.kind(rule.column))


def fill_with_fallback(column: str, cells: RuleRows) -> np.ndarray:
    """Write the learned fallback into the free violating cells of ``column``."""
    mask = cells.free(column)
    value = cells.fit.fallbacks.get("")
    if mask.any() and value is not None:
        cells.set_values(column, mask, value)
        return mask
    return np.zeros(len(cells.rows), dtype=bool)


__all__ = ["NotNullRule", "fallback_value", "fill_with_fallback"]
