"""What every rule kind is: a pydantic model with one method per thing the machinery asks of it.

A rule kind is one subclass of :class:`BaseRule` in its own module, registered in
:data:`synth_pipeline.constraints.rules.kinds.RULE_KINDS`. The machinery never asks
which kind a rule is; it calls these methods, whose defaults fit a rule that is only
checked and redrawn:

* declaration: ``type`` (the YAML tag), :meth:`columns`, :meth:`describe`;
* validation against a schema: :meth:`check_kinds`, and for contradictions
  :meth:`bounds`, :meth:`check_bounds`, :meth:`ordering`;
* checking: :meth:`check` (which rows apply, which violate);
* derivation by construction (model space): ``construction``, :meth:`derivation`,
  :meth:`to_model`, :meth:`derive`, :meth:`fix_inputs`, :meth:`fix_target`;
* enforcement: :meth:`learn`, :meth:`redraw_targets`, :meth:`required_columns`, :meth:`repair`;
* Great Expectations: :meth:`expectation` (``custom_expectation``), :meth:`date_columns`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple, Protocol

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from synth_pipeline.columns import ColumnKind, json_value, to_numbers
from synth_pipeline.constraints.rules.values import plain_values, rebuild, rebuild_numbers
from synth_pipeline.schema import Schema


class Construction(NamedTuple):
    """How a rule kind builds its derived column in model space."""

    kind: str  # the name saved with the model ("dependency", "sum", "gap")
    order: int  # kinds are planned in this order (lower first)
    verb: str  # for logs: "<target> <verb> <inputs>"
    keeps_column: bool = False  # the column stays in model space, re-expressed by ``to_model``; else it leaves


class OrderEdge(NamedTuple):
    """``low <(=) high`` as a rule states it (within ``tolerance``)."""

    low: str
    high: str
    strict: bool
    tolerance: float


@dataclass
class RuleFit:
    """What enforcement learned from training for one rule (saved with the model)."""

    mapping: dict[str, Any] | None = None  # a dependency's determinant -> dependent table
    fallbacks: dict[str, Any] = field(default_factory=dict)  # "" or ":j" (a then-condition) -> repair value
    step: float | None = None  # a strict inequality's smallest gap


@dataclass
class RuleRows:
    """The rows one rule is enforced on: the table (edited in place), its violating rows, what the caller fixed."""

    rows: pd.DataFrame
    violated: np.ndarray
    user_fixed: pd.DataFrame
    schema: Schema
    fit: RuleFit
    above: dict[str, list[str]]  # the inequalities as a graph: smaller column -> larger columns

    def free(self, column: str) -> np.ndarray:
        """Violating rows whose ``column`` the caller did not fix."""
        return self.violated & ~self.fixed(column)

    def fixed(self, column: str) -> np.ndarray:
        """Rows whose ``column`` the caller fixed."""
        return self.user_fixed[column].to_numpy(dtype=bool)

    def kind(self, column: str) -> ColumnKind:
        """The schema's kind of ``column``."""
        return self.schema.kind(column)

    def unit(self, column: str) -> float:
        """The smallest step a repair moves a value by (a whole number, a second, or almost nothing)."""
        return 1.0 if self.kind(column) in (ColumnKind.INTEGER, ColumnKind.DATETIME) else 1e-9

    def set_values(self, column: str, mask: np.ndarray, values: Any) -> None:
        """Write ``values`` (one, or one per masked row) into the masked cells of ``column``."""
        if not isinstance(values, (list, np.ndarray, pd.Series)):
            values = [values] * int(mask.sum())
        kind = self.kind(column)
        plain = plain_values(self.rows[column], kind)
        values = list(values.to_numpy() if isinstance(values, pd.Series) else values)
        for position, value in zip(np.flatnonzero(mask), values, strict=True):
            plain[position] = json_value(value)
        self.rows[column] = rebuild(plain, column, kind, self.rows.index)

    def set_numbers(self, column: str, mask: np.ndarray, numbers: np.ndarray) -> None:
        """Write numbers (seconds for datetimes) into the masked cells of ``column``."""
        original = to_numbers(self.rows[column])
        current = original.copy()
        current[mask] = numbers
        kind = self.kind(column)
        if kind is ColumnKind.INTEGER:
            # round towards the inside of any bound the repair aimed for
            current[mask] = np.where(current[mask] > np.nan_to_num(original[mask]), np.ceil(current[mask]),
                                     np.floor(current[mask]))
        self.rows[column] = rebuild_numbers(current, kind, self.rows.index)

    def pinned_above(self, column: str) -> np.ndarray:
        """Rows where ``column`` lies below a fixed value through a chain of inequalities."""
        pinned = np.zeros(len(self.user_fixed), dtype=bool)
        stack, seen = list(self.above.get(column, [])), {column}
        while stack:
            name = stack.pop()
            if name in seen or name not in self.user_fixed.columns:
                continue
            seen.add(name)
            pinned |= self.fixed(name)
            stack.extend(self.above.get(name, []))
        return pinned


class ExpectationFactory(Protocol):
    """What :meth:`BaseRule.expectation` is given (built by :mod:`synth_pipeline.constraints.expectations`)."""

    gx: Any  # the ``great_expectations.expectations`` module
    meta: dict[str, Any]  # to pass as ``meta=`` (rule index, label, type, blocking)

    def is_datetime(self, column: str) -> bool:
        """Whether the validated table holds ``column`` as datetimes."""

    def custom(self, rule: BaseRule) -> Any:
        """The custom expectation that evaluates ``rule.check`` row by row."""


class BaseRule(BaseModel):
    """The fields and hooks every rule kind shares (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    #: how the kind derives a column by construction (None: it never does)
    construction: ClassVar[Construction | None] = None
    #: class name and docstring of the kind's custom Great Expectations expectation (None: a generic name)
    custom_expectation: ClassVar[tuple[str, str] | None] = None
    #: the error when a column appears twice among :meth:`columns` (formatted with the fields and ``description``)
    repeated_column_error: ClassVar[str] = "{type} rule {description!r} names a column twice"

    blocking: bool = Field(True, description="a violation stops publishing (false: only a warning)")
    name: str | None = Field(None, description="optional label shown in reports; default: the description")

    @model_validator(mode="after")
    def _distinct_columns(self) -> BaseRule:
        columns = self.columns()
        if len(set(columns)) != len(columns):
            raise ValueError(self.repeated_column_error.format(**dict(self), description=self.describe()))
        return self

    @property
    def label(self) -> str:
        """The rule's name in reports."""
        return self.name or self.describe()

    def to_dict(self) -> dict[str, Any]:
        """The rule as plain JSON/YAML data (defaults left out)."""
        data = self.model_dump(mode="json", by_alias=True, exclude_defaults=True)
        return {"type": self.type, **{k: v for k, v in data.items() if k != "type"}}  # type: ignore[attr-defined]

    # -- declaration and checking (every kind implements these) ---------------------------------
    def columns(self) -> list[str]:
        """The columns the rule reads."""
        raise NotImplementedError

    def describe(self) -> str:
        """A one-line human reading of the rule."""
        raise NotImplementedError

    def check(self, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """``(applies, violated)``: boolean row masks; ``violated`` implies ``applies``."""
        raise NotImplementedError

    # -- validation against a schema ---------------------------------------------------------------
    def check_kinds(self, schema: Schema, where: str) -> None:
        """Raise :class:`ConfigError` (prefixed by ``where``) when the columns' kinds cannot take this rule."""

    def bounds(self) -> dict[str, tuple[float, float]]:
        """Column -> (lowest, highest) number the rule allows, for the contradiction check."""
        return {}

    def check_bounds(self, bounds: dict[str, tuple[float, float]]) -> None:
        """Raise :class:`ConfigError` when the rule cannot hold within the other rules' ``bounds``."""

    def ordering(self) -> OrderEdge | None:
        """The order the rule puts between two columns, if any (for cycles and repair chains)."""
        return None

    # -- derivation by construction (model space) ---------------------------------------------
    def derivation(self, schema: Schema, training: pd.DataFrame) -> tuple[str, list[str]] | None:
        """``(target, inputs)`` when this rule can build ``target`` from ``inputs`` for this training table."""
        return None

    def to_model(self, table: pd.DataFrame, schema: Schema) -> pd.Series:
        """The derived column as model space holds it (only asked when ``construction.keeps_column``)."""
        raise NotImplementedError

    def derive(self, rows: pd.DataFrame, fit: RuleFit, schema: Schema) -> pd.Series:
        """The derived column rebuilt from model-space ``rows`` (its inputs already original)."""
        raise NotImplementedError

    def fix_inputs(self, conditions: pd.DataFrame, fixed: pd.DataFrame, fit: RuleFit, schema: Schema,
                   rng: np.random.Generator, *, impute: bool) -> None:
        """Where the caller fixed the derived column, fix the inputs to values that give it (in place)."""

    def fix_target(self, conditions: pd.DataFrame, fixed: pd.DataFrame, schema: Schema) -> None:
        """Re-express a fixed derived column in model space (in place)."""

    # -- enforcement -----------------------------------------------------------------------------
    def learn(self, training: pd.DataFrame, schema: Schema) -> RuleFit | None:
        """What repair needs from training (None: nothing)."""
        return None

    def redraw_targets(self, cells: RuleRows) -> dict[str, np.ndarray]:
        """Column -> rows whose cell to redraw for the violating rows (default: every free cell)."""
        return {column: cells.free(column) for column in self.columns()}

    def required_columns(self) -> list[str]:
        """Columns a redraw must not leave missing."""
        return []

    def repair(self, cells: RuleRows) -> np.ndarray:
        """Repair violating rows in place where the rule says how; returns the rows changed."""
        return np.zeros(len(cells.rows), dtype=bool)

    # -- Great Expectations --------------------------------------------------------------------------
    def expectation(self, factory: ExpectationFactory) -> Any:
        """The rule's Great Expectations expectation (default: the custom one over :meth:`check`)."""
        return factory.custom(self)

    def date_columns(self) -> list[str]:
        """Columns the rule compares with dates: parsed from text before validation (a CSV keeps dates as text)."""
        return []


class ColumnRule(BaseRule):
    """A rule about one column."""

    column: str

    def columns(self) -> list[str]:
        """The one column."""
        return [self.column]


__all__ = ["BaseRule", "Construction", "ColumnRule", "ExpectationFactory", "OrderEdge", "RuleFit", "RuleRows"]
