"""The generator contract: public methods validate and keep the books, subclasses model.

Subclasses declare their settings model (``settings_model``, a
:class:`synth_pipeline.generators.settings.GeneratorSettings`) and implement
four hooks:

* ``_fit(training, rng)``: learn from ``training`` (columns of the schema except
  id columns, canonical dtypes, see :func:`synth_pipeline.schema.apply_schema`);
* ``_sample(request, rng)``: return ``request.n_rows`` rows for those columns,
  honouring ``request.conditions`` where ``request.fixed`` is true;
* ``_get_state()`` / ``_set_state(state)``: the learned state as a nested dict of
  JSON values and numpy arrays (saved without pickle, so a model loads on any
  machine and survives library upgrades that keep the format).

Everything else (settings, schema inference, id columns, seeded sampling,
rebalancing, imputation, streaming, save/load, reproducibility) lives here once,
with its parts in :mod:`.settings`, :mod:`.ids`, :mod:`.conditions` and
:mod:`.persistence`.
"""

from __future__ import annotations

import inspect
import logging
import math
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from synth_pipeline.column_overrides import parse_overrides
from synth_pipeline.columns import ColumnKind, did_you_mean
from synth_pipeline.constraints.enforcement import RuleEnforcer, SampleReport, fit_enforcer
from synth_pipeline.constraints.rules import RuleSet, parse_rules
from synth_pipeline.errors import ConfigError, InvalidDataError, ModelFileError, NotFittedError
from synth_pipeline.generators.conditions import (
    Rebalance,
    category_frequencies,
    check_categories,
    check_known_columns,
    rebalance_conditions,
    seed_conditions,
)
from synth_pipeline.generators.ids import id_format, make_ids
from synth_pipeline.generators.persistence import ARRAYS_FILE, MODEL_FILE, read_model, write_model
from synth_pipeline.generators.progress import RowProgress
from synth_pipeline.generators.registry import generator_class
from synth_pipeline.generators.request import SamplingRequest
from synth_pipeline.generators.settings import GeneratorSettings, check_setting_names, validate_settings
from synth_pipeline.schema import ColumnSpec, Schema, apply_schema, infer_schema
from synth_pipeline.version import __version__

log = logging.getLogger(__name__)

DEFAULT_BATCH_ROWS = 100_000


def _rng(random_state: int | np.random.Generator | None) -> np.random.Generator:
    if isinstance(random_state, np.random.Generator):
        return random_state
    return np.random.default_rng(random_state)


class Generator(ABC):
    """Base class of synth_pipeline's generators (scikit-learn style).

    The constructor only stores keyword settings, the fields of ``settings_model``
    with its defaults; :meth:`fit` validates them, learns and returns ``self``;
    learned attributes end in ``_``. Every generator accepts ``rules`` (rule dicts
    or objects, see :mod:`synth_pipeline.constraints`) and ``infer_rules`` (add the
    rules that hold exactly in the training table); they are honoured by
    construction in everything it samples.
    """

    name: ClassVar[str] = ""
    settings_model: ClassVar[type[GeneratorSettings]] = GeneratorSettings

    def __init__(self, **settings: Any) -> None:
        names = self.param_names()
        unknown = sorted(set(settings) - set(names))
        if unknown:
            raise TypeError(f"{type(self).__name__} has no setting(s) {', '.join(map(repr, unknown))}")
        # stored exactly as given (scikit-learn's contract: clone() checks that), validated by fit
        for setting, field in self.settings_model.model_fields.items():
            setattr(self, setting, settings.get(setting, field.default))
        parse_rules(self.rules, origin="generator setting rules")
        if not isinstance(self.infer_rules, bool):
            raise ConfigError(f"infer_rules must be true or false, got {self.infer_rules!r}")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # help() and IDEs show the settings as keyword arguments with their defaults
        cls.__signature__ = inspect.Signature(
            [
                inspect.Parameter(setting, inspect.Parameter.KEYWORD_ONLY, default=field.default)
                for setting, field in cls.settings_model.model_fields.items()
            ]
        )

    # -- settings -----------------------------------------------------------------
    @classmethod
    def param_names(cls) -> list[str]:
        """The names of the settings, in the order of the settings model."""
        return list(cls.settings_model.model_fields)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The settings as stored (scikit-learn's ``get_params``).

        Settings hold no estimators, so ``deep`` changes nothing; it is there for
        ``sklearn.base.clone``.
        """
        return {name: getattr(self, name) for name in self.param_names()}

    def set_params(self, **settings: Any) -> Generator:
        """Change settings (scikit-learn's ``set_params``); unknown names raise ConfigError listing the valid ones.

        Takes effect at the next :meth:`fit`, except for the settings the settings model lists in
        ``read_when_sampling`` (argn's ``rare_value_guidance``, ``rare_copula_count`` and ``n_threads``,
        every generator's ``show_progress``): those change the next :meth:`sample` of a fitted model
        too, and a model saved afterwards keeps the new value. Returns ``self``.
        """
        check_setting_names(settings, self.param_names(), generator=self.name)
        if "rules" in settings:
            parse_rules(settings["rules"], origin="generator setting rules")
        for setting, value in settings.items():
            setattr(self, setting, value)
        return self

    def __repr__(self) -> str:
        """``ARGNGenerator(max_epochs=50, random_state=0)``: the settings that differ from their defaults."""
        changed = [
            f"{name}={value!r}"
            for name, value in self.get_params().items()
            if not _same(value, self.settings_model.model_fields[name].default)
        ]
        return f"{type(self).__name__}({', '.join(changed)})"

    def _json_params(self) -> dict[str, Any]:
        """The settings as JSON values (rule objects as dicts), as a saved model keeps them."""
        params = self.get_params()
        if self.rules is not None and not _plain_rule_dicts(self.rules):
            params["rules"] = [rule.to_dict() for rule in parse_rules(self.rules, origin="generator setting rules")]
        if self.column_kinds is not None:
            overrides = parse_overrides(self.column_kinds, setting="column_kinds")
            params["column_kinds"] = {name: override.to_setting() for name, override in overrides.items()}
        return params

    def _settings(self) -> GeneratorSettings:
        """The settings validated by the settings model; a bad one raises ConfigError naming it.

        Subclasses extend it for checks the model cannot make (say, that a GPU exists).
        """
        return validate_settings(self.settings_model, self.get_params(), generator=self.name)

    # -- fitting ------------------------------------------------------------------
    def fit(self, training: pd.DataFrame, *, schema: Schema | None = None) -> Generator:
        """Learn the joint distribution of ``training``; returns ``self``."""
        self._settings()
        schema = schema or infer_schema(training, self.column_kinds, what="training table")
        training = apply_schema(training, schema, what="training table")
        schema = self._regenerated_instead(training, schema)
        self.schema_ = schema
        self.n_training_rows_ = len(training)
        self.id_columns_ = {name: id_format(training[name]) for name in schema.names_of(ColumnKind.ID)}
        self.frequencies_ = category_frequencies(training, schema)
        model_columns = self.model_columns
        self.rules_, self.enforcer_ = fit_enforcer(self.rules, training, self.schema_, infer=self.infer_rules)
        model_training = training[model_columns].reset_index(drop=True)
        if self.enforcer_ is not None:
            model_training = self.enforcer_.to_model(model_training)
        log.info("%s: fitting on %d rows x %d columns", self.name, len(training), model_training.shape[1])
        started = datetime.now(UTC)
        self._fit(model_training, _rng(self.random_state))
        self.fitted_at_ = started.isoformat()
        self.fit_seconds_ = (datetime.now(UTC) - started).total_seconds()
        log.info("%s: fitted in %.1f s", self.name, self.fit_seconds_)
        return self

    def _regenerated_instead(self, training: pd.DataFrame, schema: Schema) -> Schema:
        """``schema`` with the columns this generator cannot learn turned into id columns (regenerated, listed)."""
        unlearnable = self._columns_not_to_learn(training, schema)
        if not unlearnable:
            return schema
        for name, reason in unlearnable.items():
            log.warning("%s: column %r is not learned (%s); it is regenerated as ids", self.name, name, reason)
        return Schema(
            [
                ColumnSpec(c.name, ColumnKind.ID, c.has_missing, unlearnable[c.name]) if c.name in unlearnable else c
                for c in schema.columns
            ]
        )

    def _columns_not_to_learn(self, training: pd.DataFrame, schema: Schema) -> dict[str, str]:
        """Columns (name -> why) that this generator cannot learn from ``training`` (canonical dtypes); none here."""
        return {}

    @property
    def model_columns(self) -> list[str]:
        """The columns the subclass models (all but ids)."""
        self._check_fitted()
        return [c.name for c in self.schema_.columns if c.kind is not ColumnKind.ID]

    def _check_fitted(self) -> None:
        if not hasattr(self, "schema_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit(training) first")

    # -- sampling -----------------------------------------------------------------
    def sample(
        self,
        n_rows: int | None = None,
        *,
        seed_data: pd.DataFrame | None = None,
        rebalance: Rebalance | None = None,
        temperature: float = 1.0,
        random_state: int | None = None,
        return_report: bool = False,
    ) -> pd.DataFrame | tuple[pd.DataFrame, dict[str, Any] | None]:
        """Generate rows.

        ``n_rows`` defaults to the training size (or the number of seed rows).
        ``seed_data`` fixes some columns, one output row per seed row.
        ``rebalance`` sets target shares for the values of one categorical column,
        e.g. ``{"income": {">50K": 0.5}}``; other values share the rest in
        their training proportions. With ``return_report`` the result is
        ``(rows, rule_report)``: what rule enforcement redrew and repaired (None
        when the generator has no rules).
        """
        report = SampleReport()
        batches = list(
            self.sample_batches(
                n_rows,
                seed_data=seed_data,
                rebalance=rebalance,
                temperature=temperature,
                random_state=random_state,
                report=report,
            )
        )
        rows = pd.concat(batches, ignore_index=True) if len(batches) > 1 else batches[0]
        if not return_report:
            return rows
        return rows, (report.to_dict() if self.enforcer_ is not None else None)

    def sample_batches(
        self,
        n_rows: int | None = None,
        *,
        seed_data: pd.DataFrame | None = None,
        rebalance: Rebalance | None = None,
        temperature: float = 1.0,
        random_state: int | None = None,
        batch_rows: int = DEFAULT_BATCH_ROWS,
        report: SampleReport | None = None,
        row_offset: int = 0,
    ) -> Iterator[pd.DataFrame]:
        """Like :meth:`sample`, but yields consecutive chunks of at most ``batch_rows`` rows.

        Rule enforcement's books are added to ``report`` when one is given. ``row_offset``: the position of the
        first row in a larger table (a snapshot's shard), so regenerated ids continue there instead of repeating.
        """
        report = SampleReport() if report is None else report
        self._check_fitted()
        _check_temperature(temperature)
        if not isinstance(batch_rows, (int, np.integer)) or isinstance(batch_rows, bool) or batch_rows < 1:
            raise ConfigError(f"batch_rows must be a positive integer, got {batch_rows!r}")
        if seed_data is not None and rebalance is not None:
            raise ConfigError("use either seed_data or rebalance, not both")
        conditions = fixed = None
        if seed_data is not None:
            conditions, fixed = seed_conditions(seed_data, self.schema_, self.model_columns, self.frequencies_)
            if n_rows is not None and n_rows != len(conditions):
                raise ConfigError(
                    f"n_rows={n_rows} but seed_data has {len(conditions)} rows; one row is generated per seed row"
                )
            n_rows = len(conditions)
        else:
            n_rows = self.n_training_rows_ if n_rows is None else n_rows
            if not isinstance(n_rows, (int, np.integer)) or isinstance(n_rows, bool) or n_rows < 0:
                raise ConfigError(f"n_rows must be a non-negative integer, got {n_rows!r}")
        rng = _rng(self.random_state if random_state is None else random_state)
        if rebalance is not None:
            conditions, fixed = rebalance_conditions(rebalance, int(n_rows), rng, self.schema_, self.frequencies_)
        if n_rows == 0:
            yield self._empty()
            return
        progress = RowProgress(int(n_rows), self.name, enabled=self.show_progress)
        with progress:
            for start in range(0, int(n_rows), batch_rows):
                stop = min(int(n_rows), start + batch_rows)
                request = SamplingRequest(stop - start, temperature=float(temperature), progress=progress.advance)
                if conditions is not None:
                    request.conditions = conditions.iloc[start:stop].reset_index(drop=True)
                    request.fixed = fixed.iloc[start:stop].reset_index(drop=True)
                rows = self._finish(self._generate(request, rng, report), request, row_offset + start)
                progress.reached(stop)
                yield rows
        self._log_sample_report(report)

    def impute(
        self,
        data: pd.DataFrame,
        *,
        columns: Sequence[str] | None = None,
        temperature: float = 1.0,
        random_state: int | None = None,
    ) -> pd.DataFrame:
        """Fill the missing cells of ``data`` from the learned conditional distribution.

        Observed cells are returned unchanged. ``columns`` names the columns to
        fill (default: every modelled column); missing cells of the other
        columns stay missing (the fill is conditioned on them being missing).
        The result keeps ``data``'s index and column order.

        >>> generator.impute(table, columns=["income"])  # doctest: +SKIP
        """
        self._check_fitted()
        if not isinstance(data, pd.DataFrame):
            raise InvalidDataError(f"impute expects a DataFrame, got {type(data).__name__}")
        check_known_columns(data, self.schema_, what="data to impute")
        model_columns = [c for c in self.model_columns if c in data.columns]
        to_fill = _columns_to_fill(columns, model_columns, list(data.columns))
        canonical = apply_schema(data, self.schema_, what="data to impute", allow_missing_columns=True)
        check_categories(canonical[model_columns], self.frequencies_, what="data to impute")
        conditions = canonical[model_columns].reset_index(drop=True)
        # a cell is fixed when observed, or missing in a column not to fill (then it must stay missing)
        fixed = conditions.notna() | pd.DataFrame(
            {c: c not in to_fill for c in model_columns}, index=conditions.index, columns=model_columns
        )
        result = data.copy()
        todo = ~fixed.all(axis=1).to_numpy()
        if not (todo.any() and len(data)):
            return result
        request = SamplingRequest(
            int(todo.sum()),
            conditions=conditions[todo].reset_index(drop=True),
            fixed=fixed[todo].reset_index(drop=True),
            temperature=float(temperature),
            impute=True,
        )
        rng = _rng(self.random_state if random_state is None else random_state)
        report = SampleReport()
        filled = self._finish(self._generate(request, rng, report), request, 0)
        self._log_sample_report(report)
        positions = np.flatnonzero(todo)
        for name in model_columns:
            if fixed[name].all():
                continue
            # _finish restored the observed cells exactly, so writing the whole
            # column back changes only the missing ones.
            column = canonical[name].copy()
            column.iloc[positions] = filled[name].to_numpy()
            result[name] = column.to_numpy()
        return result

    def _generate(self, request: SamplingRequest, rng: np.random.Generator, report: SampleReport) -> pd.DataFrame:
        """``_sample`` through the rule enforcer (when there are rules); adds its books of repairs to ``report``."""
        if self.enforcer_ is None:
            return self._sample(request, rng)
        rows, batch_report = self.enforcer_.generate(self._sample, request, rng)
        report.add(batch_report)
        return rows

    def _log_sample_report(self, report: SampleReport) -> None:
        if self.enforcer_ is not None:
            log.info("%s: %s", self.name, report.summary())

    # -- output ---------------------------------------------------------------------
    def _finish(self, generated: pd.DataFrame, request: SamplingRequest, offset: int) -> pd.DataFrame:
        """Restore ids and fixed cells exactly, column order and dtypes."""
        if len(generated) != request.n_rows:
            raise RuntimeError(f"{self.name} returned {len(generated)} rows instead of {request.n_rows}")
        out = generated.reset_index(drop=True).copy()
        for name, fmt in self.id_columns_.items():
            out[name] = make_ids(fmt, offset, request.n_rows)
        if request.conditions is not None:
            for name in request.conditions.columns:
                mask = request.fixed[name].to_numpy()
                if name not in out.columns:
                    out[name] = request.conditions[name]
                else:
                    out[name] = out[name].where(~mask, request.conditions[name])
        out = out[self.schema_.names]
        return apply_schema(out, self.schema_, what=f"{self.name} output", allow_missing_columns=True)

    def _empty(self) -> pd.DataFrame:
        empty = pd.DataFrame({name: pd.Series([], dtype=object) for name in self.schema_.names})
        return apply_schema(empty, self.schema_, allow_missing_columns=True)

    # -- persistence ----------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the model to the directory ``path`` (JSON + npz, no pickle)."""
        self._check_fitted()
        document = {
            "generator": self.name,
            "library_version": __version__,
            "params": self._json_params(),
            "schema": self.schema_.to_dict(),
            "n_training_rows": self.n_training_rows_,
            "id_columns": self.id_columns_,
            "frequencies": self.frequencies_,
            "fitted_at": self.fitted_at_,
            "fit_seconds": self.fit_seconds_,
            "rules": self.rules_.to_dicts() if self.rules_ is not None else [],
            "constraints": self.enforcer_.to_state() if self.enforcer_ is not None else None,
        }
        return write_model(Path(path), document, self._get_state())

    @staticmethod
    def load(path: str | Path) -> Generator:
        """Load a model written by :meth:`save`, whatever its generator class.

        Files that are missing, changed since saving or inconsistent raise one :class:`ModelFileError`
        naming the file and the problem.
        """
        document, state = read_model(Path(path))
        try:
            return Generator._from_document(document, state)
        except (KeyError, IndexError, TypeError, ValueError, RuntimeError, np.linalg.LinAlgError, ConfigError) as error:
            problem = " ".join(str(error).split())[:300] or type(error).__name__  # one line, however long the cause
            if isinstance(error, KeyError):
                problem = f"missing entry {problem}"
            raise ModelFileError(
                f"{Path(path)}: the {document['generator']} state saved in {MODEL_FILE} and {ARRAYS_FILE} does not "
                f"fit the model: {problem}"
            ) from None

    @staticmethod
    def _from_document(document: dict[str, Any], state: Any) -> Generator:
        generator = generator_class(document["generator"])(**document["params"])
        generator.schema_ = Schema.from_dict(document["schema"])
        generator.n_training_rows_ = document["n_training_rows"]
        generator.id_columns_ = document["id_columns"]
        generator.frequencies_ = document["frequencies"]
        generator.fitted_at_ = document["fitted_at"]
        generator.fit_seconds_ = document["fit_seconds"]
        generator.rules_ = RuleSet.from_dicts(document.get("rules") or [])
        constraints = document.get("constraints")
        generator.enforcer_ = RuleEnforcer.from_state(constraints, generator.schema_) if constraints else None
        generator._set_state(state)
        return generator

    # -- subclass hooks ---------------------------------------------------------------
    @abstractmethod
    def _fit(self, training: pd.DataFrame, rng: np.random.Generator) -> None: ...

    @abstractmethod
    def _sample(self, request: SamplingRequest, rng: np.random.Generator) -> pd.DataFrame: ...

    @abstractmethod
    def _get_state(self) -> dict[str, Any]: ...

    @abstractmethod
    def _set_state(self, state: dict[str, Any]) -> None: ...


def _columns_to_fill(columns: Sequence[str] | None, model_columns: list[str], present: list[str]) -> set[str]:
    """The modelled columns ``impute`` fills: ``columns`` checked against the table's, or all of them."""
    if columns is None:
        return set(model_columns)
    if isinstance(columns, str):
        columns = [columns]
    for name in columns:
        if name not in model_columns:
            why = "is an id or not modelled" if name in present else "is not in the data to impute"
            raise ConfigError(
                f"impute columns: {name!r} {why}{did_you_mean(name, model_columns)}; "
                f"the columns it can fill are: {', '.join(model_columns)}"
            )
    return set(columns)


def _plain_rule_dicts(rules: Any) -> bool:
    """Whether ``rules`` is already JSON (a list of dicts): then a saved model keeps them exactly as given."""
    return isinstance(rules, list) and all(isinstance(rule, dict) for rule in rules)


def _same(value: Any, default: Any) -> bool:
    """Whether a setting is at its default (an empty list or dict counts as None)."""
    if value is None or default is None:
        return (value is None or value == [] or value == {}) and (default is None or default in ([], {}))
    try:
        return bool(value == default)
    except (TypeError, ValueError):  # arrays and the like: not a default
        return False


def _check_temperature(temperature: Any) -> None:
    if not (isinstance(temperature, (int, float)) and math.isfinite(temperature) and temperature > 0):
        raise ConfigError(f"temperature must be a positive number, got {temperature!r}")
