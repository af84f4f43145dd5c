"""Enforcing rules during generation: by construction first, then targeted redraws, then repair.

A :class:`RuleEnforcer` is fitted on the training table next to the generator
(the :class:`~synth_pipeline.generators.base.Generator` base does this for every
subclass) and sits between the base's sampling requests and the subclass:

* **model space** (:mod:`.derivation`): derived columns are not learned but built
  from the columns they follow from; conditions in the original space (seed data,
  rebalancing, imputation) are mapped into model space.
* **redraws**: rows that still violate a rule (a range, a conditional, a
  not-null, ...) get the cells the rule targets redrawn from the generator's
  conditional distribution given the rest of the row, up to ``max_rounds`` times.
* **repair**: what is left is repaired deterministically where the rule says how
  (clip to a range, the gap's smallest step, a value the conditional allows,
  the mapping, the sum); a blocking rule still violated after that raises
  :class:`~synth_pipeline.errors.ConstraintViolationError`.

This loop is generic: it asks each rule (``check``, ``learn``, ``redraw_targets``,
``required_columns``, ``repair``) and never which kind it is. Every call reports how
many rows needed redrawing or repair, per rule.
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

from synth_pipeline.columns import ColumnKind, json_value
from synth_pipeline.constraints.derivation import Derivation, ModelSpace, plan_derivations
from synth_pipeline.constraints.inference import infer_rules
from synth_pipeline.constraints.rules import BaseRule, RuleSet, parse_rules
from synth_pipeline.constraints.rules.base import RuleFit, RuleRows
from synth_pipeline.constraints.validation import check_rules, source_violations
from synth_pipeline.errors import ConstraintViolationError
from synth_pipeline.generators.request import SamplingRequest
from synth_pipeline.schema import Schema

log = logging.getLogger(__name__)

DEFAULT_MAX_ROUNDS = 20

SampleFunction = Callable[[SamplingRequest, np.random.Generator], pd.DataFrame]


class RuleViolationWarning(UserWarning):
    """A declared rule is violated by the training data itself (generation still honours it)."""


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
        """Add another batch's books to these."""
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
        """Plain JSON data (seconds rounded)."""
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
        """One line for logs."""
        return (
            f"rules: {self.rows_redrawn} of {self.rows} rows redrawn, {self.rows_repaired} repaired, "
            f"{self.rows_violating_after} still violating a warning rule"
        )


class RuleEnforcer:
    """Rules fitted to one training table (see the module docstring).

    Build it with :meth:`fit`; persist it with :meth:`to_state` / :meth:`from_state` (JSON values only).
    """

    def __init__(self, rules: RuleSet, schema: Schema, *, max_rounds: int = DEFAULT_MAX_ROUNDS,
                 columns: list[str] | None = None, derivations: list[Derivation] | None = None,
                 fits: dict[int, RuleFit] | None = None) -> None:
        self.rules = rules
        self.schema = schema
        self.max_rounds = max_rounds
        self.fits = fits or {}  # rule index -> what it learned from training
        self.space = ModelSpace(rules, schema, columns or [], derivations or [], self.fits)
        # the inequalities as a graph (smaller -> larger columns): repairs follow chains through it
        self._above: dict[str, list[str]] = {}
        for rule in rules:
            if (edge := rule.ordering()) is not None:
                self._above.setdefault(edge.low, []).append(edge.high)

    @property
    def columns(self) -> list[str]:
        """The original (non-id) columns, in order."""
        return self.space.columns

    # -- fitting ---------------------------------------------------------------------------
    @classmethod
    def fit(
        cls, rules: RuleSet, training: pd.DataFrame, schema: Schema, *, max_rounds: int = DEFAULT_MAX_ROUNDS
    ) -> RuleEnforcer:
        """Plan the derivations and learn what each rule needs from ``training``.

        ``training`` holds the generator's columns (no ids) in canonical dtypes.
        """
        check_rules(rules, schema)
        columns = [str(c) for c in training.columns]
        fits = {}
        for index, rule in enumerate(rules):
            if (fit := rule.learn(training, schema)) is not None:
                fits[index] = fit
        return cls(rules, schema, max_rounds=max_rounds, columns=columns,
                   derivations=plan_derivations(rules, schema, training, columns), fits=fits)

    # -- persistence -----------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        """JSON values only (saved with the generator's model file)."""
        fits = sorted(self.fits.items())
        return {
            "rules": self.rules.to_dicts(),
            "columns": self.columns,
            "max_rounds": self.max_rounds,
            "derivations": [vars(d) for d in self.space.derivations],
            "mappings": {str(i): fit.mapping for i, fit in fits if fit.mapping is not None},
            "fallbacks": {f"rule:{i}{suffix}": json_value(value) for i, fit in fits
                          for suffix, value in fit.fallbacks.items()},
            "steps": {str(i): fit.step for i, fit in fits if fit.step is not None},
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], schema: Schema) -> RuleEnforcer:
        """The enforcer :meth:`to_state` saved (models saved by every earlier version load)."""
        fits: dict[int, RuleFit] = {}
        for key, mapping in state["mappings"].items():
            fits.setdefault(int(key), RuleFit()).mapping = mapping
        for key, value in state["fallbacks"].items():
            _, index, *condition = key.split(":")
            fits.setdefault(int(index), RuleFit()).fallbacks["".join(f":{j}" for j in condition)] = value
        for key, step in state["steps"].items():
            fits.setdefault(int(key), RuleFit()).step = float(step)
        return cls(RuleSet(parse_rules(state["rules"])), schema, max_rounds=int(state["max_rounds"]),
                   columns=list(state["columns"]), derivations=[Derivation(**d) for d in state["derivations"]],
                   fits=fits)

    # -- model space -----------------------------------------------------------------------
    @property
    def model_columns(self) -> list[str]:
        """The columns the generator learns: the original ones minus those derived outside model space."""
        return self.space.model_columns

    def describe(self) -> list[str]:
        """One line per derivation, for logs."""
        return self.space.describe()

    def to_model(self, table: pd.DataFrame) -> pd.DataFrame:
        """Original-space rows (all of :attr:`columns`) -> model-space rows."""
        return self.space.to_model(table)

    # -- sampling --------------------------------------------------------------------------
    def generate(
        self, sample: SampleFunction, request: SamplingRequest, rng: np.random.Generator
    ) -> tuple[pd.DataFrame, SampleReport]:
        """Sample ``request`` through ``sample`` (the generator's model-space sampler) with every rule honoured.

        Returns original-space rows (the non-id columns) and what it took.
        """
        started = time.perf_counter()
        report = SampleReport(rows=request.n_rows)
        conditions = request.conditions.reset_index(drop=True) if request.conditions is not None else None
        user_fixed = self._user_fixed(request)
        model_request = self.space.model_request(request, rng)
        rows = self.space.from_model(_call(sample, model_request, rng), conditions, request.fixed)
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
            rows = self._redraw(sample, rows, positions, chosen, model_request, request, rng)
        report.rows_redrawn = int(redrawn.sum())
        if clean:  # every rule holds already: nothing to repair or re-check
            for label in labels:
                report.by_rule[label]["rows_violating_after"] = 0
        else:
            report.rows_repaired = int(self._repair(rows, user_fixed).sum())
            self._final_check(rows, user_fixed, report, impute=bool(request.impute))
        report.seconds = time.perf_counter() - started
        return rows, report

    def _user_fixed(self, request: SamplingRequest) -> pd.DataFrame:
        fixed = pd.DataFrame(False, index=range(request.n_rows), columns=self.columns)
        if request.conditions is not None:
            given = request.fixed.reset_index(drop=True)
            for name in self.columns:
                if name in given.columns:
                    fixed[name] = given[name].to_numpy(dtype=bool)
        return fixed

    def _enforced(self) -> list[tuple[int, BaseRule]]:
        """The rules enforcement acts on: not those on id columns (the base regenerates ids)."""
        return [(i, rule) for i, rule in enumerate(self.rules) if all(c in self.columns for c in rule.columns())]

    def _cells(self, index: int, rows: pd.DataFrame, violated: np.ndarray, user_fixed: pd.DataFrame) -> RuleRows:
        return RuleRows(rows, violated, user_fixed, self.schema, self.fits.get(index, RuleFit()), self._above)

    def _targets(self, rows: pd.DataFrame, user_fixed: pd.DataFrame) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Model-space cells to redraw (rows x model columns) and, per rule, its violating rows."""
        position = {c: j for j, c in enumerate(self.model_columns)}
        targets = np.zeros((len(rows), len(position)), dtype=bool)
        labels: dict[str, np.ndarray] = {}
        for index, rule in self._enforced():
            violated = rule.check(rows)[1]
            labels[rule.label] = violated
            if not violated.any():
                continue
            for column, mask in rule.redraw_targets(self._cells(index, rows, violated, user_fixed)).items():
                for source in self.space.sources(column):
                    if source in position:
                        targets[:, position[source]] |= mask
        return targets, labels

    def _redraw(self, sample: SampleFunction, rows: pd.DataFrame, positions: np.ndarray, targets: np.ndarray,
                model_request: SamplingRequest, request: SamplingRequest,
                rng: np.random.Generator) -> pd.DataFrame:
        """Rows ``positions`` with their ``targets`` cells drawn again (the rest fixed)."""
        model_columns = self.model_columns
        current = self.to_model(rows.iloc[positions])
        fixed = pd.DataFrame(~targets, columns=model_columns)
        if model_request.fixed is not None:
            for name in model_request.fixed.columns:
                if name in fixed.columns:
                    fixed[name] = fixed[name].to_numpy() | model_request.fixed[name].to_numpy(dtype=bool)[positions]
        # rows whose required cell is redrawn while missing are asked for as imputation (never missing)
        needs_value = np.zeros(len(positions), dtype=bool)
        for name in {c for rule in self.rules for c in rule.required_columns()}:
            if name in fixed.columns:
                needs_value |= ~fixed[name].to_numpy() & rows[name].iloc[positions].isna().to_numpy()
        out = rows.copy()
        for impute in (False, True):
            chosen = np.flatnonzero(needs_value == impute)
            if not len(chosen):
                continue
            redo = self._redo_request(current, fixed, chosen, positions, model_request, request, impute=impute)
            new_rows = self._from_model_part(_call(sample, redo, rng), positions[chosen], request)
            for name in self.columns:
                column = out[name].copy()
                column.iloc[positions[chosen]] = new_rows[name].to_numpy()
                out[name] = column
        return out

    def _redo_request(self, current: pd.DataFrame, fixed: pd.DataFrame, chosen: np.ndarray, positions: np.ndarray,
                      model_request: SamplingRequest, request: SamplingRequest, *, impute: bool) -> SamplingRequest:
        """The model-space request for rows ``chosen`` of a redraw (conditions outside the model kept)."""
        part_conditions = current.iloc[chosen].reset_index(drop=True)
        part_fixed = fixed.iloc[chosen].reset_index(drop=True)
        if model_request.conditions is not None:
            for name in [c for c in model_request.conditions.columns if c not in self.model_columns]:
                part_conditions[name] = model_request.conditions[name].iloc[positions[chosen]].to_numpy()
                part_fixed[name] = model_request.fixed[name].iloc[positions[chosen]].to_numpy()
        return SamplingRequest(len(chosen), conditions=part_conditions, fixed=part_fixed,
                               temperature=request.temperature, impute=bool(request.impute or impute))

    def _from_model_part(self, generated: pd.DataFrame, rows: np.ndarray, request: SamplingRequest) -> pd.DataFrame:
        """Redrawn model rows back to the original space, with the caller's fixed cells of those ``rows``."""
        if request.conditions is None:
            return self.space.from_model(generated, None, None)
        conditions = request.conditions.reset_index(drop=True).iloc[rows].reset_index(drop=True)
        fixed = request.fixed.reset_index(drop=True).iloc[rows].reset_index(drop=True)
        return self.space.from_model(generated, conditions, fixed)

    # -- deterministic repair --------------------------------------------------------------------
    def _repair(self, rows: pd.DataFrame, user_fixed: pd.DataFrame) -> np.ndarray:
        """Repair what redraws left, in place where a rule says how; returns the repaired rows."""
        repaired = np.zeros(len(rows), dtype=bool)
        for _ in range(3):
            changed = False
            for index, rule in self._enforced():
                violated = rule.check(rows)[1]
                if not violated.any():
                    continue
                mask = rule.repair(self._cells(index, rows, violated, user_fixed))
                if mask.any():
                    repaired |= mask
                    changed = True
            if not changed:
                break
        return repaired

    def _final_check(self, rows: pd.DataFrame, user_fixed: pd.DataFrame, report: SampleReport, *,
                     impute: bool) -> None:
        failures = []
        still = np.zeros(len(rows), dtype=bool)
        for _, rule in self._enforced():
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


def _call(sample: SampleFunction, request: SamplingRequest, rng: np.random.Generator) -> pd.DataFrame:
    rows = sample(request, rng)
    if len(rows) != request.n_rows:
        raise RuntimeError(f"the generator returned {len(rows)} rows instead of {request.n_rows}")
    return rows.reset_index(drop=True)


# -- fitting the rules of a generator ----------------------------------------------------------
def fit_enforcer(
    rules: Any, training: pd.DataFrame, schema: Schema, *, infer: bool = False, what: str = "training table"
) -> tuple[RuleSet, RuleEnforcer | None]:
    """The effective rules (declared plus inferred) and their enforcer, with source-violation warnings.

    ``training`` is the canonical training table with every schema column.
    """
    ruleset = RuleSet(parse_rules(rules))
    if infer:
        declared = {(r.type, tuple(r.columns())) for r in ruleset}  # type: ignore[attr-defined]
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


__all__ = [
    "RuleEnforcer",
    "RuleViolationWarning",
    "SampleReport",
    "check_rules",
    "fit_enforcer",
    "source_violations",
]
