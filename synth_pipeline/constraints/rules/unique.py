"""``unique``: no two rows share a value of a column."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from synth_pipeline.constraints.rules.base import ColumnRule, ExpectationFactory, RuleRows
from synth_pipeline.constraints.rules.values import table_column


class UniqueRule(ColumnRule):
    """No two rows share a value of ``column`` (missing values are not compared)."""

    type: Literal["unique"] = "unique"

    def describe(self) -> str:
        """``id is unique``."""
        return f"{self.column} is unique"

    def check(self, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Rows with a value apply; every row of a repeated value violates."""
        series = table_column(df, self.column)
        applies = series.notna().to_numpy()
        duplicated = series.duplicated(keep=False).to_numpy() & applies
        return applies, duplicated

    def redraw_targets(self, cells: RuleRows) -> dict[str, np.ndarray]:
        """Every repeat after the first occurrence (the first one keeps its value)."""
        series = cells.rows[self.column]
        duplicated = series.duplicated(keep="first").to_numpy() & series.notna().to_numpy()
        return {self.column: duplicated & ~cells.fixed(self.column)}

    def expectation(self, factory: ExpectationFactory) -> Any:
        """GX's ``ExpectColumnValuesToBeUnique``."""
        return factory.gx.ExpectColumnValuesToBeUnique(column=self.column, meta=factory.meta)


__all__ = ["UniqueRule"]
