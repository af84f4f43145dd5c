"""``allowed_values``: a column only holds listed values."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from synth_pipeline.constraints.rules.base import ColumnRule, ExpectationFactory, RuleFit, RuleRows
from synth_pipeline.constraints.rules.not_null import fallback_value, fill_with_fallback
from synth_pipeline.constraints.rules.values import Scalar, bound_number, series_keys, table_column, value_key
from synth_pipeline.errors import ConfigError
from synth_pipeline.schema import Schema


class AllowedValuesRule(ColumnRule):
    """``column`` only holds the listed values (missing values are skipped; add not_null to forbid them)."""

    type: Literal["allowed_values"] = "allowed_values"
    values: list[Scalar] = Field(min_length=1)

    def describe(self) -> str:
        """``city in {Oslo, Rome}`` (the first eight values)."""
        shown = ", ".join(map(str, self.values[:8])) + (", ..." if len(self.values) > 8 else "")
        return f"{self.column} in {{{shown}}}"

    def check(self, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Rows with a value apply; values off the list violate."""
        keys = series_keys(table_column(df, self.column))
        applies = np.array([k is not None for k in keys], dtype=bool)
        allowed = {value_key(v) for v in self.values}
        bad = np.array([k is not None and k not in allowed for k in keys], dtype=bool)
        return applies, bad

    def check_bounds(self, bounds: dict[str, tuple[float, float]]) -> None:
        """Some listed number must lie in the column's range."""
        if self.column not in bounds:
            return
        low, high = bounds[self.column]
        numbers = [bound_number(v) for v in self.values if v is not None and not isinstance(v, bool)]
        if numbers and not any(low <= x <= high for x in numbers):
            raise ConfigError(f"contradictory rules: no allowed value of {self.column!r} lies in its range")

    def learn(self, training: pd.DataFrame, schema: Schema) -> RuleFit:
        """The most frequent allowed training value (else the first listed one), to repair with."""
        value = fallback_value(self, training, schema)
        if value is None:
            value = next((v for v in self.values if v is not None), None)
        return RuleFit(fallbacks={"": value})

    def repair(self, cells: RuleRows) -> np.ndarray:
        """Replace free values off the list by the learned value."""
        return fill_with_fallback(self.column, cells)

    def expectation(self, factory: ExpectationFactory) -> Any:
        """GX's ``ExpectColumnValuesToBeInSet``."""
        return factory.gx.ExpectColumnValuesToBeInSet(column=self.column,
                                                      value_set=[v for v in self.values if v is not None],
                                                      meta=factory.meta)


__all__ = ["AllowedValuesRule"]
