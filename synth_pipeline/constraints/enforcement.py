"""Enforcing rules during generation: by construction first, then targeted redraws, then repair.

A :class:`RuleEnforcer` is fitted on the training table next to the generator
(the :class:`~synth_pipeline.generators.base.Generator` base does this for every
subclass) and sits between the base's sampling requests and the subclass:

* **model space**: some columns are not learned but derived. The dependent
  column of a dependency (``education -> education_num``) is dropped and
  rebuilt from the learned mapping; the total of a sum is dropped and
  recomputed; the larger side ``b`` of an inequality ``a < b`` is replaced by
  the gap ``b - a`` (same column name and kind; a datetime gap is stored as
  1970-01-01 plus the gap, so every generator handles it as an ordinary
  datetime). The subclass fits and samples this table; :meth:`RuleEnforcer.generate`
  turns its rows back.
* **conditions** given in the original space (seed data, rebalancing, the
  observed cells of imputation) are mapped into model space: a fixed dependent
  fixes its determinant to a value that maps to it (drawn by training frequency);
  a fixed gap side keeps its value exactly.
* **redraws**: rows that still violate a rule (a range, a conditional, a
  not-null, ...) get the cells the rule is about redrawn from the generator's
  conditional distribution given the rest of the row, up to ``max_rounds`` times.
* **repair**: what is left is repaired deterministically where a rule says how
  (clip to a range, the gap's smallest step, a value the conditional allows,
  the mapping, the sum); a blocking rule still violated after that raises
  :class:`~synth_pipeline.errors.ConstraintViolationError`.

Every call reports how many rows needed redrawing or repair, per rule.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synth_pipeline.columns import ColumnKind
from synth_pipeline.constraints.rules import (
    AllowedValuesRule,
    ConditionalRule,
    DependencyRule,
    InequalityRule,
    NotNullRule,
    RangeRule,
    RegexRule,
    Rule,
    RuleSet,
    SumRule,
    UniqueRule,
    _as_numbers,
    bound_number,
    parse_rules,
    series_keys,
    value_key,
)
from synth_pipeline.errors import ConfigError, ConstraintViolationError
from synth_pipeline.schema import ColumnSpec, Schema, apply_schema

log = logging.getLogger(__name__)

NUMBER_KINDS = (ColumnKind.NUMERIC, ColumnKind.INTEGER)
_EPOCH = pd.Timestamp(0)
_NS = 1_000_000_000
DEFAULT_MAX_ROUNDS = 20


class RuleViolationWarning(UserWarning):
    """A declared rule is violated by the training data itself (generation still honours it)."""


SampleFunction = Callable[[Any, np.random.Generator], pd.DataFrame]


# -- validation against a schema -----------------------------------------------------------
def check_rules(rules: RuleSet, schema: Schema) -> None:
    """Refuse rules that cannot hold for this schema: unknown columns, kind mismatches, contradictions.

    Raises :class:`ConfigError` naming the rule.
    """
    for number, rule in enumerate(rules, start=1):
        where = f"rule {number} ({rule.describe()})"
        for name in rule.columns():
            if name not in schema:
                raise ConfigError(
                    f"{where} names column {name!r}, which the table lacks; its columns are: {', '.join(schema.names)}"
                )
        kinds = {name: schema.kind(name) for name in rule.columns()}
        _check_kinds(rule, kinds, where)
    _check_contradictions(rules, schema)


def _family(kind: ColumnKind) -> str:
    if kind in NUMBER_KINDS:
        return "number"
    if kind is ColumnKind.DATETIME:
        return "datetime"
    return kind.value


def _check_bound(value: Any, kind: ColumnKind, where: str, column: str) -> None:
    if value is None:
        return
    if kind is ColumnKind.DATETIME:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            raise ConfigError(f"{where}: {column!r} is a datetime column; give the bound as a date like '2024-01-31'")
        try:
            pd.Timestamp(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: bound {value!r} of datetime column {column!r} is not a date") from None
    elif isinstance(value, str):
        try:
            float(value)
        except ValueError:
            raise ConfigError(f"{where}: bound {value!r} of {kind.value} column {column!r} is not a number") from None


def _check_kinds(rule: Rule, kinds: dict[str, ColumnKind], where: str) -> None:
    ordered = (ColumnKind.NUMERIC, ColumnKind.INTEGER, ColumnKind.DATETIME)
    if isinstance(rule, RangeRule):
        if kinds[rule.column] not in ordered:
            raise ConfigError(f"{where}: a range needs a numeric or datetime column; {rule.column!r} is "
                              f"{kinds[rule.column].value}")
        _check_bound(rule.min, kinds[rule.column], where, rule.column)
        _check_bound(rule.max, kinds[rule.column], where, rule.column)
    elif isinstance(rule, RegexRule):
        if kinds[rule.column] not in (ColumnKind.CATEGORICAL, ColumnKind.ID):
            raise ConfigError(f"{where}: a regex needs a text column; {rule.column!r} is {kinds[rule.column].value}")
    elif isinstance(rule, InequalityRule):
        left, right = _family(kinds[rule.left]), _family(kinds[rule.right])
        if left not in ("number", "datetime") or left != right:
            raise ConfigError(
                f"{where}: type mismatch, {rule.op!r} compares {rule.left!r} ({kinds[rule.left].value}) with "
                f"{rule.right!r} ({kinds[rule.right].value}); both must be numbers or both datetimes"
            )
    elif isinstance(rule, SumRule):
        bad = [c for c in rule.columns() if kinds[c] not in NUMBER_KINDS]
        if bad:
            raise ConfigError(f"{where}: a sum needs numeric columns; {', '.join(map(repr, bad))} "
                              f"{'is' if len(bad) == 1 else 'are'} not")
    elif isinstance(rule, DependencyRule):
        ids = [c for c in rule.columns() if kinds[c] is ColumnKind.ID]
        if ids:
            raise ConfigError(f"{where}: {ids[0]!r} is an id column (regenerated per row), it cannot take part in a "
                              "dependency; override its kind to categorical if it is a code")
    elif isinstance(rule, ConditionalRule):
        for condition in rule.if_ + rule.then:
            if condition.test == "between":
                kind = kinds[condition.column]
                if kind not in ordered:
                    raise ConfigError(f"{where}: min/max on {condition.column!r} needs a numeric or datetime column")
                _check_bound(condition.min, kind, where, condition.column)
                _check_bound(condition.max, kind, where, condition.column)


def _check_contradictions(rules: RuleSet, schema: Schema) -> None:
    bounds: dict[str, tuple[float, float]] = {}
    for rule in rules:
        if isinstance(rule, RangeRule):
            low, high = bounds.get(rule.column, (-np.inf, np.inf))
            new_low = bound_number(rule.min) if rule.min is not None else -np.inf
            new_high = bound_number(rule.max) if rule.max is not None else np.inf
            low, high = max(low, new_low), min(high, new_high)
            if low > high:
                raise ConfigError(f"contradictory rules: the ranges declared for {rule.column!r} do not overlap")
            bounds[rule.column] = (low, high)
    for rule in rules:
        if isinstance(rule, AllowedValuesRule) and rule.column in bounds:
            low, high = bounds[rule.column]
            numbers = [bound_number(v) for v in rule.values if v is not None and not isinstance(v, bool)]
            if numbers and not any(low <= x <= high for x in numbers):
                raise ConfigError(f"contradictory rules: no allowed value of {rule.column!r} lies in its range")
        if isinstance(rule, InequalityRule) and rule.low in bounds and rule.high in bounds:
            low_min = bounds[rule.low][0]
            high_max = bounds[rule.high][1]
            if low_min > high_max + rule.tolerance or (rule.strict and low_min >= high_max + rule.tolerance):
                raise ConfigError(
                    f"contradictory rules: {rule.describe()} cannot hold, {rule.low!r} is at least {low_min:g} "
                    f"but {rule.high!r} at most {high_max:g}"
                )
    # a strict inequality on a cycle (a < b, b <= c, c <= a) can never hold
    edges: dict[str, list[tuple[str, bool]]] = {}
    for rule in rules:
        if isinstance(rule, InequalityRule) and rule.tolerance == 0:
            edges.setdefault(rule.low, []).append((rule.high, rule.strict))
    for start in edges:
        stack = [(start, False, [start])]
        while stack:
            node, strict, path = stack.pop()
            for nxt, edge_strict in edges.get(node, []):
                if nxt == start and (strict or edge_strict):
                    raise ConfigError(f"contradictory rules: the inequalities {' -> '.join(path + [start])} form a "
                                      "cycle with a strict step")
                if nxt not in path:
                    stack.append((nxt, strict or edge_strict, path + [nxt]))


def source_violations(rules: RuleSet, training: pd.DataFrame) -> list[tuple[Rule, int, float]]:
    """Rules the training table violates: (rule, violating rows, share of the rows the rule applies to)."""
    out = []
    for rule in rules:
        applies, violated = rule.check(training)
        if violated.any():
            out.append((rule, int(violated.sum()), float(violated.sum() / max(applies.sum(), 1))))
    return out


# -- the fitted enforcer -----------------------------------------------------------------------
@dataclass
class _Derivation:
    kind: str  # "dependency", "sum", "gap"
    rule: int  # index into the rule list
    target: str
    inputs: list[str]


@dataclass
class SampleReport:
    """What enforcement did in one sampling call (summed over batches by the generator)."""

    rows: int = 0
    rows_redrawn: int = 0
    rows_repaired: int = 0
    rows_violating_after: int = 0
    rounds: int = 0
    seconds: float = 0.0
    by_rule: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, other: SampleReport) -> None:
        self.rows += other.rows
        self.rows_redrawn += other.rows_redrawn
        self.rows_repaired += other.rows_repaired
        self.rows_violating_after += other.rows_violating_after
        self.rounds = max(self.rounds, other.rounds)
        self.seconds += other.seconds
        for label, counts in other.by_rule.items():
            mine = self.by_rule.setdefault(label, {})
            for key, value in counts.items():
                mine[key] = mine.get(key, 0) + value

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "rows_redrawn": self.rows_redrawn,
            "rows_repaired": self.rows_repaired,
            "rows_violating_after": self.rows_violating_after,
            "rounds": self.rounds,
            "seconds": round(self.seconds, 4),
            "by_rule": self.by_rule,
        }

    def summary(self) -> str:
        return (
            f"rules: {self.rows_redrawn} of {self.rows} rows redrawn, {self.rows_repaired} repaired, "
            f"{self.rows_violating_after} still violating a warning rule"
        )


class RuleEnforcer:
    """Rules fitted to one training table (see the module docstring).

    Build it with :meth:`fit`; persist it with :meth:`to_state` / :meth:`from_state` (JSON values only).
    """

    def __init__(self, rules: RuleSet, schema: Schema, *, max_rounds: int = DEFAULT_MAX_ROUNDS) -> None:
        self.rules = rules
        self.schema = schema
        self.max_rounds = max_rounds
        self.derivations: list[_Derivation] = []
        self.mappings: dict[int, dict[str, Any]] = {}  # dependency rule index -> learned mapping
        self.fallbacks: dict[str, Any] = {}  # "rule:i[:j]" -> repair value
        self.steps: dict[int, float] = {}  # inequality rule index -> smallest gap (strict rules)
        self.columns: list[str] = []  # original (non-id) columns, in order

    # -- fitting ---------------------------------------------------------------------------
    @classmethod
    def fit(
        cls, rules: RuleSet, training: pd.DataFrame, schema: Schema, *, max_rounds: int = DEFAULT_MAX_ROUNDS
    ) -> RuleEnforcer:
        """Plan the derivations and learn mappings, steps and repair values from ``training``.

        ``training`` holds the generator's columns (no ids) in canonical dtypes.
        """
        check_rules(rules, schema)
        enforcer = cls(rules, schema, max_rounds=max_rounds)
        enforcer.columns = [str(c) for c in training.columns]
        enforcer._plan(training)
        enforcer._learn(training)
        return enforcer

    def _kind(self, name: str) -> ColumnKind:
        return self.schema.kind(name)

    def _derived(self) -> dict[str, _Derivation]:
        return {d.target: d for d in self.derivations}

    def _depends_on(self, column: str, target: str) -> bool:
        derived = self._derived()
        stack, seen = [column], set()
        while stack:
            name = stack.pop()
            if name == target:
                return True
            if name in seen or name not in derived:
                continue
            seen.add(name)
            stack.extend(derived[name].inputs)
        return False

    def _can_derive(self, target: str, inputs: list[str]) -> bool:
        if target not in self.columns or any(c not in self.columns for c in inputs):
            return False  # id columns are regenerated by the base, never derived here
        if target in self._derived():
            return False
        return not any(self._depends_on(c, target) for c in inputs)

    def _plan(self, training: pd.DataFrame) -> None:
        for i, rule in enumerate(self.rules):
            if isinstance(rule, DependencyRule) and self._can_derive(rule.dependent, [rule.determinant]):
                self.derivations.append(_Derivation("dependency", i, rule.dependent, [rule.determinant]))
        for i, rule in enumerate(self.rules):
            if isinstance(rule, SumRule) and self._can_derive(rule.total, list(rule.parts)):
                self.derivations.append(_Derivation("sum", i, rule.total, list(rule.parts)))
        for i, rule in enumerate(self.rules):
            if not isinstance(rule, InequalityRule) or not self._can_derive(rule.high, [rule.low]):
                continue
            low_kind, high_kind = self._kind(rule.low), self._kind(rule.high)
            if high_kind is ColumnKind.INTEGER and low_kind is not ColumnKind.INTEGER:
                continue  # a fractional gap cannot live in an integer column: redraw/repair instead
            orphan = training[rule.low].isna() & training[rule.high].notna()
            if orphan.any():
                continue  # the gap would lose the known right side where the left one is missing
            self.derivations.append(_Derivation("gap", i, rule.high, [rule.low]))
        self.derivations = self._topological(self.derivations)

    @staticmethod
    def _topological(derivations: list[_Derivation]) -> list[_Derivation]:
        pending = list(derivations)
        ordered: list[_Derivation] = []
        while pending:
            targets = {d.target for d in pending}
            ready = [d for d in pending if not any(c in targets for c in d.inputs)]
            if not ready:  # cannot happen: _can_derive refuses cycles
                raise ConfigError("rules form a cycle of derived columns")
            ordered += ready
            pending = [d for d in pending if d not in ready]
        return ordered

    def _learn(self, training: pd.DataFrame) -> None:
        for i, rule in enumerate(self.rules):
            if isinstance(rule, DependencyRule):
                self.mappings[i] = self._learn_mapping(rule, training)
            elif isinstance(rule, InequalityRule) and rule.strict:
                self.steps[i] = self._learn_step(rule, training)
            elif isinstance(rule, (NotNullRule, AllowedValuesRule)):
                ok = ~rule.check(training)[1] & training[rule.column].notna().to_numpy()
                self.fallbacks[f"rule:{i}"] = _mode(training[rule.column][ok], self._kind(rule.column))
                if isinstance(rule, AllowedValuesRule) and self.fallbacks[f"rule:{i}"] is None:
                    self.fallbacks[f"rule:{i}"] = next((v for v in rule.values if v is not None), None)
            elif isinstance(rule, ConditionalRule):
                applies, violated = rule.check(training)
                compliant = applies & ~violated
                for j, condition in enumerate(rule.then):
                    if condition.test in ("between",) or (condition.test == "is_null" and condition.is_null):
                        continue
                    column = training[condition.column]
                    holds = condition.holds(training)
                    value = _mode(column[compliant & holds], self._kind(condition.column))
                    if value is None:
                        value = _mode(column[holds], self._kind(condition.column))
                    if value is None and condition.value_set():
                        value = next((v for v in (condition.in_ or [condition.equals]) if v is not None), None)
                    self.fallbacks[f"rule:{i}:{j}"] = value

    def _learn_mapping(self, rule: DependencyRule, training: pd.DataFrame) -> dict[str, Any]:
        keys = pd.Series(series_keys(training[rule.determinant]), dtype=object).fillna("\x00NA")
        values = pd.Series(_plain_values(training[rule.dependent], self._kind(rule.dependent)), dtype=object)
        frame = pd.DataFrame({"key": keys, "value": values.map(lambda v: "\x00NA" if v is None else v)})
        counts = frame.groupby(["key", "value"], sort=False).size().reset_index(name="n")
        counts = counts.sort_values("n", ascending=False, kind="stable")
        key_counts = counts.groupby("key", sort=False)["n"].sum()
        best = counts.drop_duplicates("key")
        mapping_keys = [None if k == "\x00NA" else k for k in best["key"]]
        mapping_values = [None if v == "\x00NA" else v for v in best["value"]]
        if rule.mapping:
            declared = {k: v for k, v in rule.mapping.items()}
            for k, v in declared.items():
                key = value_key(k)
                if key in mapping_keys:
                    mapping_values[mapping_keys.index(key)] = v
                else:
                    mapping_keys.append(key)
                    mapping_values.append(v)
        counts_list = [int(key_counts.get("\x00NA" if k is None else k, 0)) for k in mapping_keys]
        numeric = self._kind(rule.determinant) in NUMBER_KINDS
        return {
            "keys": mapping_keys,
            "values": mapping_values,
            "counts": counts_list,
            "numeric": numeric,
            "default": _mode(training[rule.dependent], self._kind(rule.dependent)),
        }

    def _learn_step(self, rule: InequalityRule, training: pd.DataFrame) -> float:
        kinds = {self._kind(rule.low), self._kind(rule.high)}
        if kinds == {ColumnKind.INTEGER}:
            return 1.0
        if kinds == {ColumnKind.DATETIME}:
            both = pd.concat([training[rule.low].dropna(), training[rule.high].dropna()])
            return 86_400.0 if len(both) and bool((both.dt.normalize() == both).all()) else 1.0
        gaps = _as_numbers(training[rule.high]) - _as_numbers(training[rule.low])
        positive = gaps[np.isfinite(gaps) & (gaps > 0)]
        if len(positive):
            return float(positive.min())
        scale = np.nanmax(np.abs(_as_numbers(training[rule.high]))) if len(training) else 1.0
        return float(max(scale, 1.0) * 1e-9)

    # -- persistence -----------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        """JSON values only (saved with the generator's model file)."""
        return {
            "rules": self.rules.to_dicts(),
            "columns": self.columns,
            "max_rounds": self.max_rounds,
            "derivations": [vars(d) for d in self.derivations],
            "mappings": {str(k): v for k, v in self.mappings.items()},
            "fallbacks": {k: _json_value(v) for k, v in self.fallbacks.items()},
            "steps": {str(k): v for k, v in self.steps.items()},
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], schema: Schema) -> RuleEnforcer:
        enforcer = cls(RuleSet(parse_rules(state["rules"])), schema, max_rounds=int(state["max_rounds"]))
        enforcer.columns = list(state["columns"])
        enforcer.derivations = [_Derivation(**d) for d in state["derivations"]]
        enforcer.mappings = {int(k): v for k, v in state["mappings"].items()}
        enforcer.fallbacks = dict(state["fallbacks"])
        enforcer.steps = {int(k): float(v) for k, v in state["steps"].items()}
        return enforcer

    # -- model space -----------------------------------------------------------------------
    @property
    def model_columns(self) -> list[str]:
        """The columns the generator learns: the original ones minus dependents and totals."""
        dropped = {d.target for d in self.derivations if d.kind != "gap"}
        return [c for c in self.columns if c not in dropped]

    def describe(self) -> list[str]:
        """One line per derivation, for logs."""
        out = []
        for d in self.derivations:
            rule = self.rules[d.rule]
            verb = {"dependency": "derived from", "sum": "recomputed from", "gap": "generated as a gap above"}[d.kind]
            out.append(f"{d.target} {verb} {', '.join(d.inputs)} ({rule.describe()})")
        return out

    def to_model(self, table: pd.DataFrame) -> pd.DataFrame:
        """Original-space rows (all of :attr:`columns`) -> model-space rows."""
        out = table.copy()
        for d in self.derivations:
            if d.kind == "gap":
                out[d.target] = self._gap(table[d.target], table[d.inputs[0]], d.target)
        return out[[c for c in self.model_columns if c in out.columns]].reset_index(drop=True)

    def _gap(self, high: pd.Series, low: pd.Series, name: str) -> pd.Series:
        kind = self._kind(name)
        if kind is ColumnKind.DATETIME:
            delta = high.astype("datetime64[ns]") - low.astype("datetime64[ns]")
            return (_EPOCH + delta).astype("datetime64[ns]")
        if kind is ColumnKind.INTEGER:
            return (high.astype("Int64") - low.astype("Int64")).astype("Int64")
        return pd.Series(_as_numbers(high) - _as_numbers(low), index=high.index)

    def _ungap(self, gap: pd.Series, low: pd.Series, name: str) -> pd.Series:
        kind = self._kind(name)
        if kind is ColumnKind.DATETIME:
            delta = gap.astype("datetime64[ns]") - _EPOCH
            return (low.astype("datetime64[ns]") + delta).astype("datetime64[ns]")
        if kind is ColumnKind.INTEGER:
            return (low.astype("Int64") + gap.astype("Int64")).astype("Int64")
        return pd.Series(_as_numbers(low) + _as_numbers(gap), index=gap.index)

    def _lookup(self, index: int, determinant: pd.Series) -> pd.Series:
        mapping = self.mappings[index]
        table = dict(zip(mapping["keys"], mapping["values"], strict=True))
        keys = series_keys(determinant)
        values = [table.get(k, _MISSING) for k in keys]
        unseen = [i for i, v in enumerate(values) if v is _MISSING]
        if unseen:
            if mapping["numeric"]:
                known = [(float(k), v) for k, v in table.items() if k is not None]
                known.sort()
                numbers = np.array([x for x, _ in known])
                for i in unseen:
                    x = float(keys[i]) if keys[i] is not None else np.nan
                    values[i] = known[int(np.argmin(np.abs(numbers - x)))][1] if np.isfinite(x) and known else None
            else:
                for i in unseen:
                    values[i] = mapping["default"]
        rule = self.rules[index]
        return _rebuild(values, rule.dependent, self._kind(rule.dependent), determinant.index)

    def _inverse(self, model_rows: pd.DataFrame, conditions: pd.DataFrame | None,
                 fixed: pd.DataFrame | None) -> pd.DataFrame:
        """Model-space rows -> original-space rows; fixed original cells are authoritative."""
        rows = model_rows.reset_index(drop=True).copy()
        derived = self._derived()
        if conditions is not None:
            # generators may hand fixed cells back re-encoded (binned, interpolated): restore them first
            for name in conditions.columns:
                if name in rows.columns and name not in derived:
                    mask = fixed[name].to_numpy(dtype=bool)
                    if mask.any():
                        rows[name] = rows[name].where(~mask, conditions[name].reset_index(drop=True))
        for d in self.derivations:
            rule = self.rules[d.rule]
            if d.kind == "gap":
                rows[d.target] = self._ungap(rows[d.target], rows[d.inputs[0]], d.target)
            elif d.kind == "dependency":
                rows[d.target] = self._lookup(d.rule, rows[d.inputs[0]])
            else:
                assert isinstance(rule, SumRule)
                rows[d.target] = _rebuild_numbers(
                    np.column_stack([_as_numbers(rows[p]) for p in rule.parts]).sum(axis=1),
                    d.target, self._kind(d.target), rows.index,
                )
            if conditions is not None and d.target in conditions.columns:
                mask = fixed[d.target].to_numpy(dtype=bool)
                if mask.any():
                    rows[d.target] = rows[d.target].where(~mask, conditions[d.target].reset_index(drop=True))
        return rows[self.columns]

    def _forward_request(self, request: Any, rng: np.random.Generator) -> Any:
        """The request in model space (see the module docstring)."""
        from synth_pipeline.generators.request import SamplingRequest

        model = SamplingRequest(request.n_rows, temperature=request.temperature, impute=request.impute)
        if request.conditions is None:
            return model
        conditions = request.conditions.reset_index(drop=True).copy()
        fixed = request.fixed.reset_index(drop=True).copy().astype(bool)
        for d in reversed(self.derivations):
            if d.kind != "dependency" or d.target not in conditions.columns:
                continue
            rows = fixed[d.target].to_numpy(dtype=bool)
            if not rows.any():
                continue
            determinant = d.inputs[0]
            if determinant not in conditions.columns:
                conditions[determinant] = _rebuild([None] * len(conditions), determinant, self._kind(determinant),
                                                   conditions.index)
                fixed[determinant] = False
            self._fix_determinant(d, conditions, fixed, rows, rng, impute=bool(request.impute))
        for d in self.derivations:
            if d.kind != "gap" or d.target not in conditions.columns:
                continue
            low = d.inputs[0]
            both = fixed[d.target].to_numpy(dtype=bool).copy()
            if low in conditions.columns:
                both &= fixed[low].to_numpy(dtype=bool)
                conditions[d.target] = self._gap(conditions[d.target], conditions[low], d.target)
            else:
                both[:] = False
            # where only the larger side is fixed the gap stays free; _inverse puts the fixed value back
            fixed[d.target] = both
        keep = [c for c in conditions.columns if c in self.model_columns or c not in self.columns]
        model.conditions = conditions[keep]
        model.fixed = fixed[keep]
        return model

    def _fix_determinant(self, d: _Derivation, conditions: pd.DataFrame, fixed: pd.DataFrame,
                         rows: np.ndarray, rng: np.random.Generator, *, impute: bool) -> None:
        rule = self.rules[d.rule]
        mapping = self.mappings[d.rule]
        determinant = d.inputs[0]
        wanted = series_keys(conditions[d.target])
        value_keys = [value_key(v) for v in mapping["values"]]
        counts = np.asarray(mapping["counts"], dtype=float)
        have = fixed[determinant].to_numpy(dtype=bool)
        chosen: list[Any] = list(_plain_values(conditions[determinant], self._kind(determinant)))
        table = dict(zip(mapping["keys"], value_keys, strict=True))
        current = series_keys(conditions[determinant])
        for i in np.flatnonzero(rows):
            if have[i]:
                # (imputation keeps observed cells as they are, even when they break a rule)
                if rule.blocking and not impute and current[i] in table and table[current[i]] != wanted[i]:
                    raise ConstraintViolationError(
                        f"row {i} of the conditions fixes {determinant}={current[i]!r} and {d.target}={wanted[i]!r}, "
                        f"which breaks the rule {rule.describe()} (training maps it to {table[current[i]]!r})"
                    )
                continue
            # only determinant values seen in training can be generated (a declared mapping may list more)
            candidates = [j for j, v in enumerate(value_keys) if v == wanted[i] and counts[j] > 0]
            if not candidates:
                raise ConstraintViolationError(
                    f"row {i} of the conditions fixes {d.target}={wanted[i]!r}, but no value of {determinant!r} seen "
                    f"in training maps to it (rule {rule.describe()}); fix {determinant!r} instead or use a value "
                    "seen in training"
                )
            weights = counts[candidates]
            pick = candidates[int(rng.choice(len(candidates), p=weights / weights.sum()))]
            key = mapping["keys"][pick]
            chosen[i] = _key_to_plain(key, self._kind(determinant))
        mask = rows & ~have
        rebuilt = _rebuild(chosen, determinant, self._kind(determinant), conditions.index)
        conditions[determinant] = conditions[determinant].where(~mask, rebuilt) if mask.any() else conditions[
            determinant]
        fixed[determinant] = have | rows

    # -- sampling --------------------------------------------------------------------------
    def generate(
        self, sample: SampleFunction, request: Any, rng: np.random.Generator
    ) -> tuple[pd.DataFrame, SampleReport]:
        """Sample ``request`` through ``sample`` (the generator's model-space sampler) with every rule honoured.

        Returns original-space rows (the non-id columns) and what it took.
        """
        started = time.perf_counter()
        report = SampleReport(rows=request.n_rows)
        conditions = request.conditions.reset_index(drop=True) if request.conditions is not None else None
        user_fixed = self._user_fixed(request)
        model_request = self._forward_request(request, rng)
        rows = self._inverse(self._call(sample, model_request, rng), conditions, request.fixed)
        redrawn = np.zeros(len(rows), dtype=bool)
        clean = False
        for round_number in range(1, self.max_rounds + 1):
            targets, labels = self._targets(rows, user_fixed)
            todo = targets.any(axis=1)
            if round_number == 1:
                for label, mask in labels.items():
                    report.by_rule.setdefault(label, {})["rows_violating_first"] = int(mask.sum())
            if not todo.any():
                clean = not any(mask.any() for mask in labels.values())
                break
            report.rounds = round_number
            positions = np.flatnonzero(todo)
            redrawn[positions] = True
            chosen = targets[positions]
            if round_number > self.max_rounds // 2:
                # the offending cells alone keep coming back wrong (a strong tie to the rest of the row):
                # redraw the whole row given only what the caller fixed, i.e. rejection from the model
                chosen = np.ones_like(chosen)
            rows = self._redraw(sample, rows, positions, chosen, model_request, conditions, request, rng)
        report.rows_redrawn = int(redrawn.sum())
        if clean:  # every rule holds already: nothing to repair or re-check
            for label in labels:
                report.by_rule[label]["rows_violating_after"] = 0
        else:
            report.rows_repaired = int(self._repair(rows, user_fixed).sum())
            self._final_check(rows, user_fixed, report, impute=bool(request.impute))
        report.seconds = time.perf_counter() - started
        return rows, report

    @staticmethod
    def _call(sample: SampleFunction, request: Any, rng: np.random.Generator) -> pd.DataFrame:
        rows = sample(request, rng)
        if len(rows) != request.n_rows:
            raise RuntimeError(f"the generator returned {len(rows)} rows instead of {request.n_rows}")
        return rows.reset_index(drop=True)

    def _user_fixed(self, request: Any) -> pd.DataFrame:
        fixed = pd.DataFrame(False, index=range(request.n_rows), columns=self.columns)
        if request.conditions is not None:
            given = request.fixed.reset_index(drop=True)
            for name in self.columns:
                if name in given.columns:
                    fixed[name] = given[name].to_numpy(dtype=bool)
        return fixed

    def _sources(self, column: str) -> list[str]:
        """The model-space columns whose values decide ``column``."""
        derived = self._derived()
        if column in derived and derived[column].kind != "gap":
            return [s for c in derived[column].inputs for s in self._sources(c)]
        return [column]

    def _rule_targets(self, index: int, rule: Rule, rows: pd.DataFrame, violated: np.ndarray,
                      user_fixed: pd.DataFrame) -> dict[str, np.ndarray]:
        """Which cells to redraw for the rows violating ``rule``: column -> row mask."""
        def free(column: str) -> np.ndarray:
            return violated & ~user_fixed[column].to_numpy(dtype=bool)

        if isinstance(rule, UniqueRule):
            duplicated = rows[rule.column].duplicated(keep="first").to_numpy() & rows[rule.column].notna().to_numpy()
            return {rule.column: duplicated & ~user_fixed[rule.column].to_numpy(dtype=bool)}
        if isinstance(rule, (RangeRule, NotNullRule, AllowedValuesRule, RegexRule)):
            return {rule.column: free(rule.column)}
        if isinstance(rule, DependencyRule):
            dependent = free(rule.dependent)
            return {rule.dependent: dependent, rule.determinant: free(rule.determinant) & ~dependent}
        if isinstance(rule, InequalityRule):
            high = free(rule.high)
            return {rule.high: high, rule.low: free(rule.low) & ~high}
        if isinstance(rule, SumRule):
            total = free(rule.total)
            out = {rule.total: total}
            for part in rule.parts:
                out[part] = free(part) & ~total
            return out
        assert isinstance(rule, ConditionalRule)
        then = {c.column: free(c.column) for c in rule.then}
        any_then = np.logical_or.reduce(list(then.values()))
        out = dict(then)
        for condition in rule.if_:
            out.setdefault(condition.column, np.zeros(len(rows), dtype=bool))
            out[condition.column] = out[condition.column] | (free(condition.column) & ~any_then)
        return out

    def _targets(self, rows: pd.DataFrame, user_fixed: pd.DataFrame) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Model-space cells to redraw (rows x model columns) and, per rule, its violating rows."""
        model_columns = self.model_columns
        position = {c: j for j, c in enumerate(model_columns)}
        targets = np.zeros((len(rows), len(model_columns)), dtype=bool)
        labels: dict[str, np.ndarray] = {}
        for index, rule in enumerate(self.rules):
            if any(c not in self.columns for c in rule.columns()):
                continue  # rules on id columns: the base regenerates ids, nothing to redraw
            violated = rule.check(rows)[1]
            labels[rule.label] = violated
            if not violated.any():
                continue
            for column, mask in self._rule_targets(index, rule, rows, violated, user_fixed).items():
                for source in self._sources(column):
                    if source in position:
                        targets[:, position[source]] |= mask
        return targets, labels

    def _redraw(self, sample: SampleFunction, rows: pd.DataFrame, positions: np.ndarray, targets: np.ndarray,
                model_request: Any, conditions: pd.DataFrame | None, request: Any,
                rng: np.random.Generator) -> pd.DataFrame:
        from synth_pipeline.generators.request import SamplingRequest

        model_columns = self.model_columns
        current = self.to_model(rows.iloc[positions])
        fixed = pd.DataFrame(~targets, columns=model_columns)
        if model_request.fixed is not None:
            for name in model_request.fixed.columns:
                if name in fixed.columns:
                    fixed[name] = fixed[name].to_numpy() | model_request.fixed[name].to_numpy(dtype=bool)[positions]
        not_null = {r.column for r in self.rules if isinstance(r, NotNullRule)}
        needs_value = np.zeros(len(positions), dtype=bool)
        for name in not_null:
            if name in fixed.columns:
                needs_value |= ~fixed[name].to_numpy() & rows[name].iloc[positions].isna().to_numpy()
        extra = None
        if model_request.conditions is not None:
            extra = [c for c in model_request.conditions.columns if c not in model_columns]
        out = rows.copy()
        for impute in (False, True):
            group = needs_value == impute
            if not group.any():
                continue
            chosen = np.flatnonzero(group)
            part_conditions = current.iloc[chosen].reset_index(drop=True)
            part_fixed = fixed.iloc[chosen].reset_index(drop=True)
            if extra:
                for name in extra:
                    part_conditions[name] = model_request.conditions[name].iloc[positions[chosen]].to_numpy()
                    part_fixed[name] = model_request.fixed[name].iloc[positions[chosen]].to_numpy()
            redo = SamplingRequest(
                len(chosen),
                conditions=part_conditions,
                fixed=part_fixed,
                temperature=request.temperature,
                impute=bool(request.impute or impute),
            )
            generated = self._call(sample, redo, rng)
            part_orig_conditions = conditions.iloc[positions[chosen]].reset_index(drop=True) \
                if conditions is not None else None
            part_orig_fixed = request.fixed.reset_index(drop=True).iloc[positions[chosen]].reset_index(drop=True) \
                if conditions is not None else None
            new_rows = self._inverse(generated, part_orig_conditions, part_orig_fixed)
            for name in self.columns:
                column = out[name].copy()
                column.iloc[positions[chosen]] = new_rows[name].to_numpy()
                out[name] = column
        return out

    # -- deterministic repair --------------------------------------------------------------------
    def _repair(self, rows: pd.DataFrame, user_fixed: pd.DataFrame) -> np.ndarray:
        """Repair what redraws left, in place where a rule says how; returns the repaired rows."""
        repaired = np.zeros(len(rows), dtype=bool)
        for _ in range(3):
            changed = False
            for index, rule in enumerate(self.rules):
                if any(c not in self.columns for c in rule.columns()):
                    continue
                violated = rule.check(rows)[1]
                if not violated.any():
                    continue
                mask = self._repair_rule(index, rule, rows, violated, user_fixed)
                if mask.any():
                    repaired |= mask
                    changed = True
            if not changed:
                break
        return repaired

    def _set(self, rows: pd.DataFrame, column: str, mask: np.ndarray, values: Any) -> None:
        values = values if isinstance(values, (list, np.ndarray, pd.Series)) else [values] * int(mask.sum())
        plain = list(_plain_values(rows[column], self._kind(column)))
        values = list(values.to_numpy() if isinstance(values, pd.Series) else values)
        for position, value in zip(np.flatnonzero(mask), values, strict=True):
            plain[position] = _json_value(value)
        rows[column] = _rebuild(plain, column, self._kind(column), rows.index)

    def _repair_rule(self, index: int, rule: Rule, rows: pd.DataFrame, violated: np.ndarray,
                     user_fixed: pd.DataFrame) -> np.ndarray:
        def free(column: str) -> np.ndarray:
            return violated & ~user_fixed[column].to_numpy(dtype=bool)

        if isinstance(rule, RangeRule):
            mask = free(rule.column)
            if mask.any():
                x = _as_numbers(rows[rule.column])[mask]
                step = self._unit(rule.column)
                low, high = bound_number(rule.min), bound_number(rule.max)
                if low is not None:
                    x = np.maximum(x, low if rule.min_inclusive else low + step)
                if high is not None:
                    x = np.minimum(x, high if rule.max_inclusive else high - step)
                self._set_numbers(rows, rule.column, mask, x)
            return mask
        if isinstance(rule, (NotNullRule, AllowedValuesRule)):
            mask = free(rule.column)
            value = self.fallbacks.get(f"rule:{index}")
            if mask.any() and value is not None:
                self._set(rows, rule.column, mask, value)
                return mask
            return np.zeros(len(rows), dtype=bool)
        if isinstance(rule, DependencyRule):
            mask = free(rule.dependent)
            if mask.any():
                expected = self._lookup(index, rows[rule.determinant])
                self._set(rows, rule.dependent, mask, expected[mask])
            return mask
        if isinstance(rule, InequalityRule):
            step = self.steps.get(index, 0.0)
            # move the larger side up, unless a fixed value further up a chain (a < b < c, c fixed) pins it:
            # then move the smaller side down
            pinned = self._pinned_above(rule.high, user_fixed)
            high = free(rule.high) & ~(pinned & free(rule.low))
            low = free(rule.low) & ~high
            if high.any():
                self._set_numbers(rows, rule.high, high, _as_numbers(rows[rule.low])[high] + step)
            if low.any():
                self._set_numbers(rows, rule.low, low, _as_numbers(rows[rule.high])[low] - step)
            return high | low
        if isinstance(rule, SumRule):
            total = free(rule.total)
            parts = np.column_stack([_as_numbers(rows[p]) for p in rule.parts])
            if total.any():
                self._set_numbers(rows, rule.total, total, parts[total].sum(axis=1))
            done = total.copy()
            for j in reversed(range(len(rule.parts))):
                mask = free(rule.parts[j]) & ~done
                if mask.any():
                    others = np.delete(parts, j, axis=1).sum(axis=1)
                    self._set_numbers(rows, rule.parts[j], mask, _as_numbers(rows[rule.total])[mask] - others[mask])
                    done |= mask
            return done
        if isinstance(rule, ConditionalRule):
            done = np.zeros(len(rows), dtype=bool)
            for j, condition in enumerate(rule.then):
                bad = violated & ~condition.holds(rows) & ~user_fixed[condition.column].to_numpy(dtype=bool)
                if not bad.any():
                    continue
                if condition.test == "between":
                    x = _as_numbers(rows[condition.column])[bad]
                    low, high = bound_number(condition.min), bound_number(condition.max)
                    if np.isnan(x).any():
                        fill = low if low is not None else high
                        x = np.where(np.isnan(x), fill, x)
                    if low is not None:
                        x = np.maximum(x, low)
                    if high is not None:
                        x = np.minimum(x, high)
                    self._set_numbers(rows, condition.column, bad, x)
                elif condition.test == "is_null" and condition.is_null:
                    self._set(rows, condition.column, bad, None)
                else:
                    value = self.fallbacks.get(f"rule:{index}:{j}")
                    if value is None and not (condition.value_set() and None in condition.value_set()):
                        continue
                    self._set(rows, condition.column, bad, value)
                done |= bad
            return done
        return np.zeros(len(rows), dtype=bool)  # unique, regex: nothing deterministic to do

    def _pinned_above(self, column: str, user_fixed: pd.DataFrame) -> np.ndarray:
        """Rows where ``column`` lies below a fixed value through a chain of inequalities."""
        above: dict[str, list[str]] = {}
        for rule in self.rules:
            if isinstance(rule, InequalityRule):
                above.setdefault(rule.low, []).append(rule.high)
        pinned = np.zeros(len(user_fixed), dtype=bool)
        stack, seen = list(above.get(column, [])), {column}
        while stack:
            name = stack.pop()
            if name in seen or name not in user_fixed.columns:
                continue
            seen.add(name)
            pinned |= user_fixed[name].to_numpy(dtype=bool)
            stack.extend(above.get(name, []))
        return pinned

    def _unit(self, column: str) -> float:
        kind = self._kind(column)
        if kind is ColumnKind.INTEGER:
            return 1.0
        if kind is ColumnKind.DATETIME:
            return 1.0
        return 1e-9

    def _set_numbers(self, rows: pd.DataFrame, column: str, mask: np.ndarray, numbers: np.ndarray) -> None:
        current = _as_numbers(rows[column])
        current[mask] = numbers
        kind = self._kind(column)
        if kind is ColumnKind.INTEGER:
            # round towards the inside of any bound the repair aimed for
            original = _as_numbers(rows[column])
            current[mask] = np.where(current[mask] > np.nan_to_num(original[mask]), np.ceil(current[mask]),
                                     np.floor(current[mask]))
        rows[column] = _rebuild_numbers(current, column, kind, rows.index)

    def _final_check(self, rows: pd.DataFrame, user_fixed: pd.DataFrame, report: SampleReport, *,
                     impute: bool) -> None:
        failures = []
        still = np.zeros(len(rows), dtype=bool)
        for rule in self.rules:
            if any(c not in self.columns for c in rule.columns()):
                continue
            violated = rule.check(rows)[1]
            entry = report.by_rule.setdefault(rule.label, {})
            entry["rows_violating_after"] = int(violated.sum())
            if not violated.any():
                continue
            only_fixed = violated & user_fixed[rule.columns()].all(axis=1).to_numpy()
            if rule.blocking and not (impute and only_fixed.all()):
                example = rows.loc[violated, rule.columns()].head(3).to_dict("records")
                failures.append(f"{rule.describe()}: {int(violated.sum())} row(s), e.g. {example}")
            else:
                still |= violated
                log.warning("rule %r (warning only) is still violated by %d generated row(s)", rule.label,
                            int(violated.sum()))
        report.rows_violating_after = int(still.sum())
        if failures:
            raise ConstraintViolationError(
                f"generated rows still violate blocking rule(s) after {self.max_rounds} redraw rounds and repair: "
                + "; ".join(failures)
                + ". Check that the rules agree with each other and with any seed data, or mark a rule "
                "blocking: false"
            )


# -- fitting the rules of a generator ----------------------------------------------------------
def fit_enforcer(
    rules: Any, training: pd.DataFrame, schema: Schema, *, infer: bool = False, what: str = "training table"
) -> tuple[RuleSet, RuleEnforcer | None]:
    """The effective rules (declared plus inferred) and their enforcer, with source-violation warnings.

    ``training`` is the canonical training table with every schema column.
    """
    ruleset = RuleSet(parse_rules(rules))
    if infer:
        from synth_pipeline.constraints.inference import infer_rules

        declared = {(r.type, tuple(r.columns())) for r in ruleset}
        inferred = [r for r in infer_rules(training, schema) if (r.type, tuple(r.columns())) not in declared]
        ruleset = RuleSet([*ruleset.rules, *inferred])
    if not len(ruleset):
        return ruleset, None
    check_rules(ruleset, schema)
    for rule, count, share in source_violations(ruleset, training):
        message = (
            f"rule {rule.describe()!r} is violated by {share:.2%} of the {what} rows ({count} rows); "
            "generated rows will still honour it"
        )
        log.warning(message)
        warnings.warn(message, RuleViolationWarning, stacklevel=3)
    model_columns = [c.name for c in schema.columns if c.kind is not ColumnKind.ID]
    enforcer = RuleEnforcer.fit(ruleset, training[model_columns].reset_index(drop=True), schema)
    for line in enforcer.describe():
        log.info("rules: %s", line)
    return ruleset, enforcer


def model_schema(schema: Schema, enforcer: RuleEnforcer | None) -> Schema:
    """The schema of the model-space table (derived columns left out)."""
    if enforcer is None:
        return schema
    keep = set(enforcer.model_columns)
    return Schema([c for c in schema.columns if c.name in keep or c.kind is ColumnKind.ID])


# -- value helpers ------------------------------------------------------------------------------
_MISSING = object()


def _json_value(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if np.isnan(value) else float(value)
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        return pd.Timestamp(value).isoformat()
    return value


def _plain_values(series: pd.Series, kind: ColumnKind) -> list[Any]:
    """JSON-able values of a column that :func:`_rebuild` turns back into it."""
    if kind is ColumnKind.DATETIME:
        return [None if pd.isna(v) else pd.Timestamp(v).isoformat() for v in series]
    if kind in NUMBER_KINDS:
        numbers = _as_numbers(series)
        return [None if np.isnan(x) else float(x) for x in numbers]
    if kind is ColumnKind.BOOLEAN:
        return [None if pd.isna(v) else bool(v) for v in series]
    return [None if pd.isna(v) else str(v) for v in series]


def _key_to_plain(key: str | None, kind: ColumnKind) -> Any:
    if key is None:
        return None
    if kind in NUMBER_KINDS:
        return float(key)
    if kind is ColumnKind.BOOLEAN:
        return key == "True"
    return key


def _rebuild(values: list[Any], name: str, kind: ColumnKind, index: pd.Index) -> pd.Series:
    series = pd.Series(values, index=index, dtype=object)
    return apply_schema(pd.DataFrame({name: series}), Schema([ColumnSpec(name, kind)]), what="rule values")[name]


def _rebuild_numbers(numbers: np.ndarray, name: str, kind: ColumnKind, index: pd.Index) -> pd.Series:
    if kind is ColumnKind.DATETIME:
        stamps = pd.to_datetime(np.round(numbers * _NS), unit="ns")
        return pd.Series(stamps, index=index).astype("datetime64[ns]")
    if kind is ColumnKind.INTEGER:
        return pd.Series(np.round(numbers), index=index).astype("Int64")
    return pd.Series(numbers, index=index, dtype="float64")


def _mode(series: pd.Series, kind: ColumnKind) -> Any:
    values = [v for v in _plain_values(series.dropna(), kind) if v is not None]
    if not values:
        return None
    return pd.Series(values, dtype=object).value_counts().index[0]


__all__ = [
    "RuleEnforcer",
    "RuleViolationWarning",
    "SampleReport",
    "check_rules",
    "fit_enforcer",
    "model_schema",
    "source_violations",
]
