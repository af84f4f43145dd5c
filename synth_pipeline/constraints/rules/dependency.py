"""``dependency``: one column determines another (``zip -> city``), derived by construction.

The dependent column leaves model space: the generator learns the determinant,
and the dependent is looked up in the mapping learned from training. A fixed
dependent (seed data, imputation) fixes its determinant to a value that maps to
it, drawn by training frequency.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from synth_pipeline.columns import NUMBER_KINDS, ColumnKind
from synth_pipeline.constraints.rules.base import BaseRule, Construction, RuleFit, RuleRows
from synth_pipeline.constraints.rules.values import (
    Scalar,
    key_to_plain,
    mode,
    plain_values,
    rebuild,
    series_keys,
    table_column,
    value_key,
)
from synth_pipeline.errors import ConfigError, ConstraintViolationError
from synth_pipeline.schema import Schema

_NA = "\x00NA"  # a missing value as a group key
_MISSING = object()


class DependencyRule(BaseRule):
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

    construction = Construction("dependency", order=0, verb="derived from")
    repeated_column_error = "dependency rule: {determinant!r} cannot determine itself"
    custom_expectation = (
        "ExpectColumnValuesToFollowDependency",
        "The determinant column determines the dependent one (each value maps to one value; a mapping if given).",
    )

    def columns(self) -> list[str]:
        """The determinant, then the dependent."""
        return [self.determinant, self.dependent]

    def describe(self) -> str:
        """``zip -> city``, or ``education <-> education_num`` one to one."""
        arrow = "<->" if self.one_to_one else "->"
        return f"{self.determinant} {arrow} {self.dependent}"

    def check(self, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Every row applies; rows off their group's majority (or off the declared mapping) violate."""
        a = series_keys(table_column(df, self.determinant))
        b = series_keys(table_column(df, self.dependent))
        bad = _off_majority(a, b)
        if self.one_to_one:
            bad |= _off_majority(b, a)
        if self.mapping:
            expected = {k: value_key(v) for k, v in self.mapping.items()}
            bad |= np.array([k in expected and expected[k] != v for k, v in zip(a, b, strict=True)], dtype=bool)
        return np.ones(len(df), dtype=bool), bad

    def check_kinds(self, schema: Schema, where: str) -> None:
        """No id columns: they are regenerated per row."""
        ids = [c for c in self.columns() if schema.kind(c) is ColumnKind.ID]
        if ids:
            raise ConfigError(f"{where}: {ids[0]!r} is an id column (regenerated per row), it cannot take part in a "
                              "dependency; override its kind to categorical if it is a code")

    # -- derivation ----------------------------------------------------------------------------------
    def derivation(self, schema: Schema, training: pd.DataFrame) -> tuple[str, list[str]] | None:
        """The dependent, from the determinant."""
        return self.dependent, [self.determinant]

    def derive(self, rows: pd.DataFrame, fit: RuleFit, schema: Schema) -> pd.Series:
        """The dependent looked up from the determinant."""
        return self.lookup(fit, rows[self.determinant], schema)

    def lookup(self, fit: RuleFit, determinant: pd.Series, schema: Schema) -> pd.Series:
        """The learned dependent of each determinant value; an unseen value takes the nearest number's
        (numeric determinants) or the most frequent dependent."""
        mapping = fit.mapping or {}
        table = dict(zip(mapping["keys"], mapping["values"], strict=True))
        keys = series_keys(determinant)
        values = [table.get(k, _MISSING) for k in keys]
        unseen = [i for i, v in enumerate(values) if v is _MISSING]
        if unseen and mapping["numeric"]:
            known = sorted((float(k), v) for k, v in table.items() if k is not None)
            numbers = np.array([x for x, _ in known])
            for i in unseen:
                x = float(keys[i]) if keys[i] is not None else np.nan
                values[i] = known[int(np.argmin(np.abs(numbers - x)))][1] if np.isfinite(x) and known else None
        else:
            for i in unseen:
                values[i] = mapping["default"]
        return rebuild(values, self.dependent, schema.kind(self.dependent), determinant.index)

    def fix_inputs(self, conditions: pd.DataFrame, fixed: pd.DataFrame, fit: RuleFit, schema: Schema,
                   rng: np.random.Generator, *, impute: bool) -> None:
        """A fixed dependent fixes the determinant to a training value that maps to it."""
        if self.dependent not in conditions.columns:
            return
        rows = fixed[self.dependent].to_numpy(dtype=bool)
        if not rows.any():
            return
        determinant, kind = self.determinant, schema.kind(self.determinant)
        if determinant not in conditions.columns:
            conditions[determinant] = rebuild([None] * len(conditions), determinant, kind, conditions.index)
            fixed[determinant] = False
        have = fixed[determinant].to_numpy(dtype=bool)
        chosen = self._choose_determinants(conditions, fit, rows, have, kind, rng, impute=impute)
        mask = rows & ~have
        if mask.any():
            rebuilt = rebuild(chosen, determinant, kind, conditions.index)
            conditions[determinant] = conditions[determinant].where(~mask, rebuilt)
        fixed[determinant] = have | rows

    def _choose_determinants(self, conditions: pd.DataFrame, fit: RuleFit, rows: np.ndarray, have: np.ndarray,
                             kind: ColumnKind, rng: np.random.Generator, *, impute: bool) -> list[Any]:
        mapping = fit.mapping or {}
        determinant, dependent = self.determinant, self.dependent
        wanted = series_keys(conditions[dependent])
        value_keys = [value_key(v) for v in mapping["values"]]
        counts = np.asarray(mapping["counts"], dtype=float)
        chosen: list[Any] = plain_values(conditions[determinant], kind)
        table = dict(zip(mapping["keys"], value_keys, strict=True))
        current = series_keys(conditions[determinant])
        for i in np.flatnonzero(rows):
            if have[i]:
                # (imputation keeps observed cells as they are, even when they break a rule)
                if self.blocking and not impute and current[i] in table and table[current[i]] != wanted[i]:
                    raise ConstraintViolationError(
                        f"row {i} of the conditions fixes {determinant}={current[i]!r} and {dependent}={wanted[i]!r}, "
                        f"which breaks the rule {self.describe()} (training maps it to {table[current[i]]!r})"
                    )
                continue
            # only determinant values seen in training can be generated (a declared mapping may list more)
            candidates = [j for j, v in enumerate(value_keys) if v == wanted[i] and counts[j] > 0]
            if not candidates:
                raise ConstraintViolationError(
                    f"row {i} of the conditions fixes {dependent}={wanted[i]!r}, but no value of {determinant!r} seen "
                    f"in training maps to it (rule {self.describe()}); fix {determinant!r} instead or use a value "
                    "seen in training"
                )
            weights = counts[candidates]
            pick = candidates[int(rng.choice(len(candidates), p=weights / weights.sum()))]
            chosen[i] = key_to_plain(mapping["keys"][pick], kind)
        return chosen

    # -- enforcement ---------------------------------------------------------------------------------
    def learn(self, training: pd.DataFrame, schema: Schema) -> RuleFit:
        """Each determinant value's most frequent dependent (a declared mapping wins), with counts."""
        dependent_kind = schema.kind(self.dependent)
        keys = pd.Series(series_keys(training[self.determinant]), dtype=object).fillna(_NA)
        values = pd.Series(plain_values(training[self.dependent], dependent_kind), dtype=object)
        frame = pd.DataFrame({"key": keys, "value": values.map(lambda v: _NA if v is None else v)})
        counts = frame.groupby(["key", "value"], sort=False).size().reset_index(name="n")
        counts = counts.sort_values("n", ascending=False, kind="stable")
        key_counts = counts.groupby("key", sort=False)["n"].sum()
        best = counts.drop_duplicates("key")
        mapping_keys = [None if k == _NA else k for k in best["key"]]
        mapping_values = [None if v == _NA else v for v in best["value"]]
        for k, v in (self.mapping or {}).items():
            key = value_key(k)
            if key in mapping_keys:
                mapping_values[mapping_keys.index(key)] = v
            else:
                mapping_keys.append(key)
                mapping_values.append(v)
        return RuleFit(mapping={
            "keys": mapping_keys,
            "values": mapping_values,
            "counts": [int(key_counts.get(_NA if k is None else k, 0)) for k in mapping_keys],
            "numeric": schema.kind(self.determinant) in NUMBER_KINDS,
            "default": mode(training[self.dependent], dependent_kind),
        })

    def redraw_targets(self, cells: RuleRows) -> dict[str, np.ndarray]:
        """The dependent where free, else the determinant."""
        dependent = cells.free(self.dependent)
        return {self.dependent: dependent, self.determinant: cells.free(self.determinant) & ~dependent}

    def repair(self, cells: RuleRows) -> np.ndarray:
        """Set free dependents to the learned mapping of their determinant."""
        mask = cells.free(self.dependent)
        if mask.any():
            expected = self.lookup(cells.fit, cells.rows[self.determinant], cells.schema)
            cells.set_values(self.dependent, mask, expected[mask])
        return mask


def _off_majority(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rows whose ``b`` differs from the most common ``b`` of their ``a`` group (ties: first seen)."""
    if len(a) == 0:
        return np.zeros(0, dtype=bool)
    frame = pd.DataFrame({"a": pd.Series(a, dtype=object).fillna(_NA), "b": pd.Series(b, dtype=object).fillna(_NA)})
    counts = frame.groupby(["a", "b"], sort=False).size().reset_index(name="n")
    counts = counts.sort_values("n", ascending=False, kind="stable").drop_duplicates("a")
    majority = dict(zip(counts["a"], counts["b"], strict=True))
    return (frame["b"].to_numpy() != frame["a"].map(majority).to_numpy()).astype(bool)


__all__ = ["DependencyRule"]
