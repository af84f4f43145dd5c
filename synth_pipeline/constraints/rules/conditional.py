"""``conditional``: if every ``if`` condition holds, every ``then`` condition must hold."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, field_validator

from synth_pipeline.columns import to_numbers
from synth_pipeline.constraints.rules.base import BaseRule, RuleFit, RuleRows
from synth_pipeline.constraints.rules.condition import Condition
from synth_pipeline.constraints.rules.values import mode
from synth_pipeline.schema import Schema


class ConditionalRule(BaseRule):
    """If every ``if`` condition holds, every ``then`` condition must hold.

    ``{type: conditional, if: {column: employment, equals: unemployed}, then: {column: income, in: [0, null]}}``
    """

    type: Literal["conditional"] = "conditional"
    if_: list[Condition] = Field(alias="if", min_length=1)
    then: list[Condition] = Field(min_length=1)

    custom_expectation = (
        "ExpectConditionalRuleToHold", "Rows that meet the ``if`` conditions also meet the ``then`` conditions."
    )

    @field_validator("if_", "then", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        return [value] if isinstance(value, (dict, Condition)) else value

    def columns(self) -> list[str]:
        """The columns of the conditions, each once."""
        return list(dict.fromkeys(c.column for c in self.if_ + self.then))

    def describe(self) -> str:
        """``if employment = 'unemployed' then income in {0, null}``."""
        return f"if {' and '.join(c.describe() for c in self.if_)} then {' and '.join(c.describe() for c in self.then)}"

    def premise(self, df: pd.DataFrame) -> np.ndarray:
        """Rows where every ``if`` condition holds."""
        applies = np.ones(len(df), dtype=bool)
        for condition in self.if_:
            applies &= condition.holds(df)
        return applies

    def check(self, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Rows meeting the premise apply; those failing a ``then`` condition violate."""
        applies = self.premise(df)
        ok = np.ones(len(df), dtype=bool)
        for condition in self.then:
            ok &= condition.holds(df)
        return applies, applies & ~ok

    def check_kinds(self, schema: Schema, where: str) -> None:
        """min/max conditions on numeric or datetime columns."""
        for condition in self.if_ + self.then:
            condition.check_kind(schema.kind(condition.column), where)

    # -- enforcement ---------------------------------------------------------------------------------
    def learn(self, training: pd.DataFrame, schema: Schema) -> RuleFit:
        """Per listed ``then`` condition, a value to repair with: the most frequent one that keeps the rule."""
        applies, violated = self.check(training)
        compliant = applies & ~violated
        fallbacks = {}
        for j, condition in enumerate(self.then):
            if condition.test == "between" or (condition.test == "is_null" and condition.is_null):
                continue  # repaired by clipping or by emptying the cell
            column, kind = training[condition.column], schema.kind(condition.column)
            holds = condition.holds(training)
            value = mode(column[compliant & holds], kind)
            if value is None:
                value = mode(column[holds], kind)
            if value is None and condition.value_set():
                value = condition.example_value()
            fallbacks[f":{j}"] = value
        return RuleFit(fallbacks=fallbacks)

    def redraw_targets(self, cells: RuleRows) -> dict[str, np.ndarray]:
        """The free ``then`` cells; where none is free, the free ``if`` cells."""
        then = {c.column: cells.free(c.column) for c in self.then}
        any_then = np.logical_or.reduce(list(then.values()))
        out = dict(then)
        for condition in self.if_:
            out.setdefault(condition.column, np.zeros(len(cells.rows), dtype=bool))
            out[condition.column] = out[condition.column] | (cells.free(condition.column) & ~any_then)
        return out

    def repair(self, cells: RuleRows) -> np.ndarray:
        """Make each failing ``then`` condition hold: clip into min/max, empty the cell, or the learned value."""
        done = np.zeros(len(cells.rows), dtype=bool)
        for j, condition in enumerate(self.then):
            bad = cells.violated & ~condition.holds(cells.rows) & ~cells.fixed(condition.column)
            if not bad.any():
                continue
            if condition.test == "between":
                cells.set_numbers(condition.column, bad, condition.clip(to_numbers(cells.rows[condition.column])[bad]))
            elif condition.test == "is_null" and condition.is_null:
                cells.set_values(condition.column, bad, None)
            else:
                value = cells.fit.fallbacks.get(f":{j}")
                if value is None and not (condition.value_set() and None in condition.value_set()):
                    continue
                cells.set_values(condition.column, bad, value)
            done |= bad
        return done


__all__ = ["Condition", "ConditionalRule"]
