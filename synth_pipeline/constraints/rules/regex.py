"""``regex``: text in a column matches a pattern."""

from __future__ import annotations

import re
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import field_validator

from synth_pipeline.columns import ColumnKind
from synth_pipeline.constraints.rules.base import ColumnRule, ExpectationFactory
from synth_pipeline.constraints.rules.values import table_column
from synth_pipeline.errors import ConfigError
from synth_pipeline.schema import Schema


class RegexRule(ColumnRule):
    """Text in ``column`` matches ``pattern`` (Python ``re.search``; anchor it with ^...$ for a full match)."""

    type: Literal["regex"] = "regex"
    pattern: str

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as error:
            raise ValueError(f"regex {value!r} does not compile: {error}") from None
        return value

    def describe(self) -> str:
        """``code matches /^C[0-9]+$/``."""
        return f"{self.column} matches /{self.pattern}/"

    def check(self, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Rows with a value apply; text the pattern does not find violates."""
        series = table_column(df, self.column)
        applies = series.notna().to_numpy()
        compiled = re.compile(self.pattern)
        bad = np.array(
            [ok and compiled.search(str(v)) is None for ok, v in zip(applies, series.to_numpy(), strict=True)],
            dtype=bool,
        )
        return applies, bad

    def check_kinds(self, schema: Schema, where: str) -> None:
        """A text column (categorical, id or free text)."""
        kind = schema.kind(self.column)
        if kind not in (ColumnKind.CATEGORICAL, ColumnKind.ID, ColumnKind.TEXT):
            raise ConfigError(f"{where}: a regex needs a text column; {self.column!r} is {kind.value}")

    def expectation(self, factory: ExpectationFactory) -> Any:
        """GX's ``ExpectColumnValuesToMatchRegex``."""
        return factory.gx.ExpectColumnValuesToMatchRegex(column=self.column, regex=self.pattern, meta=factory.meta)


__all__ = ["RegexRule"]
