"""Business rules as typed objects: declared in YAML or Python, checked on any table.

Every rule is a pydantic model discriminated by ``type`` and may be ``blocking``
(a gate: a violation stops publishing) or a warning. A rule checks a table with
:meth:`check`, which returns two boolean arrays: which rows the rule applies to
(missing values are skipped, as Great Expectations does) and which of those
violate it. The same semantics drive enforcement during generation and the
custom Great Expectations expectations, so the three never disagree.

>>> rules = RuleSet.from_yaml('''
... - {type: range, column: age, min: 0, max: 120}
... - {type: inequality, left: start, op: "<", right: end}
... ''')
>>> [r.describe() for r in rules]
['age in [0, 120]', 'start < end']
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator, model_validator

from synth_pipeline.errors import ConfigError

Scalar = Union[bool, int, float, str, None]
Bound = Union[int, float, str, date, datetime, None]


# -- value helpers -------------------------------------------------------------------------
def value_key(value: Any) -> str | None:
    """A comparable text key of a cell: ``13``, ``13.0`` and ``"13"`` agree; missing is None."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        return "True" if value else "False"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return None
        return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(float(value))
    if isinstance(value, (pd.Timestamp, datetime, date, np.datetime64)):
        return pd.Timestamp(value).isoformat()
    text = str(value)
    try:
        number = float(text)
    except ValueError:
        return text
    if math.isfinite(number) and text.strip() == text and text not in ("nan", "inf"):
        return value_key(number)
    return text


def series_keys(series: pd.Series) -> np.ndarray:
    """:func:`value_key` of every cell, as an object array (vectorized for the common dtypes)."""
    if pd.api.types.is_bool_dtype(series.dtype):
        out = np.where(series.fillna(False).to_numpy(dtype=bool), "True", "False").astype(object)
        out[series.isna().to_numpy()] = None
        return out
    if pd.api.types.is_numeric_dtype(series.dtype):
        numbers = series.astype("float64").to_numpy()
        out = np.empty(len(numbers), dtype=object)
        missing = np.isnan(numbers)
        whole = ~missing & (numbers == np.round(numbers)) & (np.abs(numbers) < 1e15)
        out[whole] = [str(v) for v in numbers[whole].astype(np.int64)]
        other = ~missing & ~whole
        out[other] = [repr(float(v)) for v in numbers[other]]
        out[missing] = None
        return out
    # text and datetimes: one key per distinct value
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    keys = np.array([value_key(v) for v in uniques] + [None], dtype=object)
    return keys[codes]


def _as_numbers(series: pd.Series) -> np.ndarray:
    """Numbers of a numeric or datetime column (datetimes as seconds since 1970); NaN where missing."""
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        stamps = series.astype("datetime64[ns]")
        out = stamps.astype("int64").to_numpy().astype(float) / 1e9
        out[stamps.isna().to_numpy()] = np.nan
        return out
    if pd.api.types.is_bool_dtype(series.dtype):
        return np.array(series.astype("float64").to_numpy(), dtype=float, copy=True)
    if not pd.api.types.is_numeric_dtype(series.dtype):
        converted = pd.to_numeric(series, errors="coerce")
        if converted.notna().sum() < series.notna().sum():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                stamps = pd.to_datetime(series, errors="coerce", format="mixed")
            if stamps.notna().sum() == series.notna().sum():
                return _as_numbers(stamps)
        series = converted
    # a writable copy: pandas may hand out read-only views (copy-on-write)
    return np.array(series.astype("float64").to_numpy(), dtype=float, copy=True)


def bound_number(value: Bound) -> float | None:
    """A bound as a number: numbers as they are, dates and times as seconds since 1970."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return float(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        pass
    try:
        return pd.Timestamp(value).value / 1e9
    except (TypeError, ValueError):
        raise ConfigError(f"bound {value!r} is neither a number nor a date") from None


def _column(df: pd.DataFrame, name: str) -> pd.Series:
    if name not in df.columns:
        columns = ", ".join(map(str, df.columns))
        raise ConfigError(f"rule names column {name!r}, which the table lacks; it has: {columns}")
    return df[name]


# -- rules -------------------------------------------------------------------------------
class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    blocking: bool = Field(True, description="a violation stops publishing (false: only a warning)")
    name: str | None = Field(None, description="optional label shown in reports; default: the description")

    @property
    def label(self) -> str:
        return self.name or self.describe()

    def columns(self) -> list[str]:
        """The columns the rule reads."""
        raise NotImplementedError

    def describe(self) -> str:
        """A one-line human reading of the rule."""
        raise NotImplementedError

    def check(self, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """``(applies, violated)``: boolean row masks; ``violated`` implies ``applies``."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """The rule as plain JSON/YAML data (defaults left out)."""
        data = self.model_dump(mode="json", by_alias=True, exclude_defaults=True)
        return {"type": self.type, **{k: v for k, v in data.items() if k != "type"}}  # type: ignore[attr-defined]


class RangeRule(_Rule):
    """Values of ``column`` lie between ``min`` and ``max`` (numbers, or dates as ISO text)."""

    type: Literal["range"] = "range"
    column: str
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

    def columns(self) -> list[str]:
        return [self.column]

    def describe(self) -> str:
        if self.min is not None and self.max is not None:
            left = "[" if self.min_inclusive else "("
            right = "]" if self.max_inclusive else ")"
            return f"{self.column} in {left}{self.min}, {self.max}{right}"
        if self.min is not None:
            return f"{self.column} {'>=' if self.min_inclusive else '>'} {self.min}"
        return f"{self.column} {'<=' if self.max_inclusive else '<'} {self.max}"

    def check(self, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        x = _as_numbers(_column(df, self.column))
        applies = ~np.isnan(x)
        bad = np.zeros(len(x), dtype=bool)
        low, high = bound_number(self.min), bound_number(self.max)
        with np.errstate(invalid="ignore"):
            if low is not None:
                bad |= (x < low) if self.min_inclusive else (x <= low)
            if high is not None:
                bad |= (x > high) if self.max_inclusive else (x >= high)
        return applies, bad & applies


class NotNullRule(_Rule):
    """``column`` is never missing."""

    type: Literal["not_null"] = "not_null"
    column: str

    def columns(self) -> list[str]:
        return [self.column]

    def describe(self) -> str:
        return f"{self.column} is not null"

    def check(self, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        missing = _column(df, self.column).isna().to_numpy()
        return np.ones(len(df), dtype=bool), missing


class UniqueRule(_Rule):
    """No two rows share a value of ``column`` (missing values are not compared)."""

    type: Literal["unique"] = "unique"
    column: str

    def columns(self) -> list[str]:
        return [self.column]

    def describe(self) -> str:
        return f"{self.column} is unique"

    def check(self, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        series = _column(df, self.column)
        applies = series.notna().to_numpy()
        duplicated = series.duplicated(keep=False).to_numpy() & applies
        return applies, duplicated


class AllowedValuesRule(_Rule):
    """``column`` only holds the listed values (missing values are skipped; add not_null to forbid them)."""

    type: Literal["allowed_values"] = "allowed_values"
    column: str
    values: list[Scalar] = Field(min_length=1)

    def columns(self) -> list[str]:
        return [self.column]

    def describe(self) -> str:
        shown = ", ".join(map(str, self.values[:8])) + (", ..." if len(self.values) > 8 else "")
        return f"{self.column} in {{{shown}}}"

    def check(self, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        keys = series_keys(_column(df, self.column))
        applies = np.array([k is not None for k in keys], dtype=bool)
        allowed = {value_key(v) for v in self.values}
        bad = np.array([k is not None and k not in allowed for k in keys], dtype=bool)
        return applies, bad


class RegexRule(_Rule):
    """Text in ``column`` matches ``pattern`` (Python ``re.search``; anchor it with ^...$ for a full match)."""

    type: Literal["regex"] = "regex"
    column: str
    pattern: str

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as error:
            raise ValueError(f"regex {value!r} does not compile: {error}") from None
        return value

    def columns(self) -> list[str]:
        return [self.column]

    def describe(self) -> str:
        return f"{self.column} matches /{self.pattern}/"

    def check(self, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        series = _column(df, self.column)
        applies = series.notna().to_numpy()
        compiled = re.compile(self.pattern)
        bad = np.array(
            [ok and compiled.search(str(v)) is None for ok, v in zip(applies, series.to_numpy(), strict=True)],
            dtype=bool,
        )
        return applies, bad


class DependencyRule(_Rule):
    """``determinant`` determines ``dependent`` (``zip -> city``); ``one_to_one`` also the reverse.

    Without ``mapping`` the rule holds when, within the table, every determinant
    value comes with a single dependent value (rows off the majority value of
    their group violate). With ``mapping`` (determinant value -> dependent value),
    listed determinant values must also map as listed.
    """

    type: Literal["dependency"] = "dependency"
    determinant: str
    dependent: str
    one_to_one: bool = False
    mapping: dict[str, Scalar] | None = None

    @model_validator(mode="after")
    def _distinct(self) -> DependencyRule:
        if self.determinant == self.dependent:
            raise ValueError(f"dependency rule: {self.determinant!r} cannot determine itself")
        return self

    def columns(self) -> list[str]:
        return [self.determinant, self.dependent]

    def describe(self) -> str:
        arrow = "<->" if self.one_to_one else "->"
        return f"{self.determinant} {arrow} {self.dependent}"

    def check(self, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        a = series_keys(_column(df, self.determinant))
        b = series_keys(_column(df, self.dependent))
        bad = _off_majority(a, b)
        if self.one_to_one:
            bad |= _off_majority(b, a)
        if self.mapping:
            expected = {k: value_key(v) for k, v in self.mapping.items()}
            bad |= np.array([k in expected and expected[k] != v for k, v in zip(a, b, strict=True)], dtype=bool)
        return np.ones(len(df), dtype=bool), bad


def _off_majority(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rows whose ``b`` differs from the most common ``b`` of their ``a`` group (ties: first seen)."""
    if len(a) == 0:
        return np.zeros(0, dtype=bool)
    frame = pd.DataFrame({"a": pd.Series(a, dtype=object).fillna("\x00NA"),
                          "b": pd.Series(b, dtype=object).fillna("\x00NA")})
    counts = frame.groupby(["a", "b"], sort=False).size().reset_index(name="n")
    counts = counts.sort_values("n", ascending=False, kind="stable").drop_duplicates("a")
    majority = dict(zip(counts["a"], counts["b"], strict=True))
    return (frame["b"].to_numpy() != frame["a"].map(majority).to_numpy()).astype(bool)


Operator = Literal["<", "<=", ">", ">="]


class InequalityRule(_Rule):
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

    @model_validator(mode="after")
    def _distinct(self) -> InequalityRule:
        if self.left == self.right:
            raise ValueError(f"inequality rule compares {self.left!r} with itself")
        return self

    @property
    def low(self) -> str:
        """The column that must be the smaller one."""
        return self.left if self.op in ("<", "<=") else self.right

    @property
    def high(self) -> str:
        return self.right if self.op in ("<", "<=") else self.left

    @property
    def strict(self) -> bool:
        return self.op in ("<", ">")

    def columns(self) -> list[str]:
        return [self.left, self.right]

    def describe(self) -> str:
        text = f"{self.left} {self.op} {self.right}"
        return text + (f" (tolerance {self.tolerance:g})" if self.tolerance else "")

    def check(self, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        low = _as_numbers(_column(df, self.low))
        high = _as_numbers(_column(df, self.high))
        applies = ~np.isnan(low) & ~np.isnan(high)
        with np.errstate(invalid="ignore"):
            ok = (low < high + self.tolerance) if self.strict else (low <= high + self.tolerance)
        return applies, applies & ~ok


class SumRule(_Rule):
    """``total = parts[0] + parts[1] + ...`` within ``tolerance`` (rows with a missing cell are skipped)."""

    type: Literal["sum"] = "sum"
    total: str
    parts: list[str] = Field(min_length=1)
    tolerance: float = Field(1e-6, ge=0)

    @model_validator(mode="after")
    def _distinct(self) -> SumRule:
        if self.total in self.parts or len(set(self.parts)) != len(self.parts):
            raise ValueError(f"sum rule {self.describe()!r}: the total and the parts must be distinct columns")
        return self

    def columns(self) -> list[str]:
        return [self.total, *self.parts]

    def describe(self) -> str:
        return f"{self.total} = {' + '.join(self.parts)}"

    def check(self, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        total = _as_numbers(_column(df, self.total))
        parts = np.column_stack([_as_numbers(_column(df, p)) for p in self.parts])
        applies = ~np.isnan(total) & ~np.isnan(parts).any(axis=1)
        with np.errstate(invalid="ignore"):
            ok = np.abs(total - parts.sum(axis=1)) <= self.tolerance + 1e-9 * np.abs(total)
        return applies, applies & ~ok


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
        given = [k for k in ("equals", "in_", "not_in", "is_null") if k in self.model_fields_set]
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
        for key in ("equals", "in_", "not_in", "is_null"):
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
        test = self.test
        if test == "equals":
            return f"{self.column} = {self.equals!r}" if self.equals is not None else f"{self.column} is null"
        if test == "in":
            return f"{self.column} in {{{', '.join('null' if v is None else repr(v) for v in self.in_ or [])}}}"
        if test == "not_in":
            return f"{self.column} not in {{{', '.join('null' if v is None else repr(v) for v in self.not_in or [])}}}"
        if test == "is_null":
            return f"{self.column} is {'' if self.is_null else 'not '}null"
        parts = []
        if self.min is not None:
            parts.append(f"{self.column} >= {self.min}")
        if self.max is not None:
            parts.append(f"{self.column} <= {self.max}")
        return " and ".join(parts)

    def holds(self, df: pd.DataFrame) -> np.ndarray:
        series = _column(df, self.column)
        test = self.test
        if test == "is_null":
            missing = series.isna().to_numpy()
            return missing if self.is_null else ~missing
        if test == "between":
            x = _as_numbers(series)
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


def _conditions(value: Any) -> Any:
    return [value] if isinstance(value, (dict, Condition)) else value


class ConditionalRule(_Rule):
    """If every ``if`` condition holds, every ``then`` condition must hold.

    ``{type: conditional, if: {column: employment, equals: unemployed}, then: {column: income, in: [0, null]}}``
    """

    type: Literal["conditional"] = "conditional"
    if_: list[Condition] = Field(alias="if", min_length=1)
    then: list[Condition] = Field(min_length=1)

    _listify = field_validator("if_", "then", mode="before")(classmethod(lambda cls, v: _conditions(v)))

    def columns(self) -> list[str]:
        names = [c.column for c in self.if_ + self.then]
        return list(dict.fromkeys(names))

    def describe(self) -> str:
        return f"if {' and '.join(c.describe() for c in self.if_)} then {' and '.join(c.describe() for c in self.then)}"

    def premise(self, df: pd.DataFrame) -> np.ndarray:
        applies = np.ones(len(df), dtype=bool)
        for condition in self.if_:
            applies &= condition.holds(df)
        return applies

    def check(self, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        applies = self.premise(df)
        ok = np.ones(len(df), dtype=bool)
        for condition in self.then:
            ok &= condition.holds(df)
        return applies, applies & ~ok


Rule = Annotated[
    Union[
        RangeRule,
        NotNullRule,
        UniqueRule,
        AllowedValuesRule,
        RegexRule,
        DependencyRule,
        InequalityRule,
        SumRule,
        ConditionalRule,
    ],
    Field(discriminator="type"),
]
RULE_TYPES = ("range", "not_null", "unique", "allowed_values", "regex", "dependency", "inequality", "sum",
              "conditional")
_RULE_LIST = TypeAdapter(list[Rule])


def parse_rules(data: Any, *, origin: str = "rules") -> list[Rule]:
    """Rules from plain data (a list of dicts, or rule objects); errors name the rule and the field."""
    if data is None:
        return []
    if isinstance(data, RuleSet):
        return list(data.rules)
    if isinstance(data, dict) and "rules" in data:
        data = data["rules"]
    if not isinstance(data, (list, tuple)):
        raise ConfigError(f"{origin}: expected a list of rules, got {type(data).__name__}")
    items = [r.to_dict() if isinstance(r, _Rule) else r for r in data]
    try:
        return _RULE_LIST.validate_python(items)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            loc = list(item["loc"])
            where = f"rule {loc[0] + 1}" if loc and isinstance(loc[0], int) else "rules"
            detail = ".".join(str(p) for p in loc[2:] if not isinstance(p, int) or p) if len(loc) > 2 else ""
            message = item["msg"].removeprefix("Value error, ")
            if item["type"] == "extra_forbidden":
                message = "unknown field (check the spelling)"
            if item["type"] == "union_tag_invalid" or item["type"] == "union_tag_not_found":
                message = f"'type' must be one of {', '.join(RULE_TYPES)}"
            problems.append(f"{where}{' ' + detail if detail else ''}: {message}")
        raise ConfigError(f"{origin} is invalid:\n  " + "\n  ".join(problems)) from None


class RuleResult(BaseModel):
    """How a table fares against one rule (or one Great Expectations expectation built from it)."""

    rule: str = Field(description="the rule's label")
    type: str = Field(description="the rule kind")
    expectation: str = Field("", description="the Great Expectations expectation that checked it")
    blocking: bool
    rows_checked: int = Field(description="rows the rule applies to (missing cells are skipped)")
    violations: int
    success_share: float = Field(description="share of checked rows that satisfy the rule (1.0 when none apply)")
    examples: list[Any] = Field(default_factory=list, description="a few offending values")

    @property
    def passed(self) -> bool:
        return self.violations == 0


class RuleSet(BaseModel):
    """An ordered list of rules with YAML round trip, table checks and the QA report hook.

    >>> ruleset = RuleSet([RangeRule(column="age", min=0)])
    >>> ruleset.adherence(pd.DataFrame({"age": [3, -1]}))[0]["success_share"]
    0.5
    """

    model_config = ConfigDict(extra="forbid")

    rules: list[Rule] = Field(default_factory=list)

    def __init__(self, rules: Iterable[Any] | None = None, **data: Any) -> None:
        if rules is not None:
            data["rules"] = parse_rules(list(rules))
        super().__init__(**data)

    def __iter__(self) -> Iterator[Rule]:  # type: ignore[override]
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def __getitem__(self, index: int) -> Rule:
        return self.rules[index]

    def __add__(self, other: RuleSet | Sequence[Any]) -> RuleSet:
        return RuleSet([*self.rules, *parse_rules(other)])

    @classmethod
    def from_dicts(cls, data: Any) -> RuleSet:
        return cls(parse_rules(data))

    def to_dicts(self) -> list[dict[str, Any]]:
        return [rule.to_dict() for rule in self.rules]

    def columns(self) -> list[str]:
        return list(dict.fromkeys(c for rule in self.rules for c in rule.columns()))

    # -- YAML -----------------------------------------------------------------------------
    def to_yaml(self, *, header: str | None = None) -> str:
        """YAML a person can review: one commented entry per rule."""
        lines = [f"# {line}" for line in (header or "").splitlines()]
        for rule in self.rules:
            lines.append(f"# {rule.describe()}")
            text = yaml.safe_dump([rule.to_dict()], sort_keys=False, default_flow_style=None, width=110)
            lines.append(text.rstrip())
        return "\n".join(lines) + "\n" if lines else "[]\n"

    @classmethod
    def from_yaml(cls, source: str | Path) -> RuleSet:
        """Read rules from YAML text or a file: a list of rules, or a mapping with a ``rules`` list."""
        origin = "rules"
        text = source
        if isinstance(source, Path) or ("\n" not in str(source) and str(source).endswith((".yaml", ".yml"))):
            path = Path(source)
            if not path.is_file():
                raise ConfigError(f"rules file {str(path)!r} does not exist")
            text, origin = path.read_text(), str(path)
        try:
            data = yaml.safe_load(str(text))
        except yaml.YAMLError as error:
            raise ConfigError(f"{origin} is not valid YAML: {error}") from None
        return cls(parse_rules(data or [], origin=origin))

    # -- checking -------------------------------------------------------------------------
    def results(self, df: pd.DataFrame) -> list[RuleResult]:
        """Check ``df`` against every rule with pandas (no Great Expectations involved)."""
        out = []
        for rule in self.rules:
            applies, violated = rule.check(df)
            checked, bad = int(applies.sum()), int(violated.sum())
            examples = []
            if bad:
                rows = df.loc[violated, rule.columns()].head(3)
                examples = [{k: value_key(v) for k, v in row.items()} for row in rows.to_dict("records")]
            out.append(
                RuleResult(
                    rule=rule.label,
                    type=rule.type,
                    blocking=rule.blocking,
                    rows_checked=checked,
                    violations=bad,
                    success_share=1.0 - bad / checked if checked else 1.0,
                    examples=examples,
                )
            )
        return out

    def adherence(self, df: pd.DataFrame) -> list[dict[str, Any]]:
        """One entry per rule (the hook :func:`synth_pipeline.quality.evaluate` calls)."""
        return [
            {
                "rule": r.rule,
                "type": r.type,
                "blocking": r.blocking,
                "rows_checked": r.rows_checked,
                "violations": r.violations,
                "success_share": round(r.success_share, 6),
            }
            for r in self.results(df)
        ]


__all__ = [
    "AllowedValuesRule",
    "Condition",
    "ConditionalRule",
    "DependencyRule",
    "InequalityRule",
    "NotNullRule",
    "RangeRule",
    "RegexRule",
    "Rule",
    "RuleResult",
    "RuleSet",
    "SumRule",
    "UniqueRule",
    "parse_rules",
    "series_keys",
    "value_key",
]
