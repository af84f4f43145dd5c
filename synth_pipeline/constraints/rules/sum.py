"""``sum``: a total column is the sum of part columns, recomputed by construction."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from synth_pipeline.columns import NUMBER_KINDS, to_numbers
from synth_pipeline.constraints.rules.base import BaseRule, Construction, RuleFit, RuleRows
from synth_pipeline.constraints.rules.values import rebuild_numbers, table_column
from synth_pipeline.errors import ConfigError
from synth_pipeline.schema import Schema


class SumRule(BaseRule):
    """``total = parts[0] + parts[1] + ...`` within ``tolerance`` (rows with a missing cell are skipped)."""

    type: Literal["sum"] = "sum"
    total: str
    parts: list[str] = Field(min_length=1)
    tolerance: float = Field(1e-6, ge=0)

    construction = Construction("sum", order=1, verb="recomputed from")
    repeated_column_error = "sum rule {description!r}: the total and the parts must be distinct columns"
    custom_expectation = (
        "ExpectColumnSumToMatchTotal",
        "The total column equals the sum of the part columns within the rule's tolerance.",
    )

    def columns(self) -> list[str]:
        """The total, then the parts."""
        return [self.total, *self.parts]

    def describe(self) -> str:
        """``total = base + extras``."""
        return f"{self.total} = {' + '.join(self.parts)}"

    def check(self, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Rows with every cell apply; a total off the sum (beyond the tolerance) violates."""
        total = to_numbers(table_column(df, self.total))
        parts = np.column_stack([to_numbers(table_column(df, p)) for p in self.parts])
        applies = ~np.isnan(total) & ~np.isnan(parts).any(axis=1)
        with np.errstate(invalid="ignore"):
            ok = np.abs(total - parts.sum(axis=1)) <= self.tolerance + 1e-9 * np.abs(total)
        return applies, applies & ~ok

    def check_kinds(self, schema: Schema, where: str) -> None:
        """Numeric columns only."""
        bad = [c for c in self.columns() if schema.kind(c) not in NUMBER_KINDS]
        if bad:
            raise ConfigError(f"{where}: a sum needs numeric columns; {', '.join(map(repr, bad))} "
                              f"{'is' if len(bad) == 1 else 'are'} not")

    def derivation(self, schema: Schema, training: pd.DataFrame) -> tuple[str, list[str]] | None:
        """The total, from the parts."""
        return self.total, list(self.parts)

    def derive(self, rows: pd.DataFrame, fit: RuleFit, schema: Schema) -> pd.Series:
        """The parts added up."""
        numbers = np.column_stack([to_numbers(rows[p]) for p in self.parts]).sum(axis=1)
        return rebuild_numbers(numbers, schema.kind(self.total), rows.index)

    def redraw_targets(self, cells: RuleRows) -> dict[str, np.ndarray]:
        """The total where free, else the free parts."""
        total = cells.free(self.total)
        return {self.total: total, **{part: cells.free(part) & ~total for part in self.parts}}

    def repair(self, cells: RuleRows) -> np.ndarray:
        """Recompute a free total; else solve the last free part for what the total needs."""
        rows = cells.rows
        total = cells.free(self.total)
        parts = np.column_stack([to_numbers(rows[p]) for p in self.parts])
        if total.any():
            cells.set_numbers(self.total, total, parts[total].sum(axis=1))
        done = total.copy()
        for j in reversed(range(len(self.parts))):
            mask = cells.free(self.parts[j]) & ~done
            if mask.any():
                others = np.delete(parts, j, axis=1).sum(axis=1)
                cells.set_numbers(self.parts[j], mask, to_numbers(rows[self.total])[mask] - others[mask])
                done |= mask
        return done


__all__ = ["SumRule"]
