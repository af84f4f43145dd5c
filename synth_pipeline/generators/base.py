"""The generator contract: public methods validate and keep the books, subclasses model.

Subclasses implement three hooks:

* ``_fit(training, rng)``: learn from ``training`` (columns of the schema except
  id columns, canonical dtypes, see :func:`synth_pipeline.schema.apply_schema`);
* ``_sample(request, rng)``: return ``request.n_rows`` rows for those columns,
  honouring ``request.conditions`` where ``request.fixed`` is true;
* ``_get_state()`` / ``_set_state(state)``: the learned state as a nested dict of
  JSON values and numpy arrays (saved without pickle, so a model loads on any
  machine and survives library upgrades that keep the format).

Everything else (schema inference, id columns, seeded sampling, rebalancing,
imputation, streaming, save/load, reproducibility) lives here once.
"""

from __future__ import annotations

import inspect
import json
import logging
import math
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from synth_pipeline.columns import ColumnKind
from synth_pipeline.errors import ConfigError, InvalidDataError, NotFittedError
from synth_pipeline.generators.request import SamplingRequest
from synth_pipeline.schema import Schema, apply_schema, infer_schema
from synth_pipeline.version import __version__

if TYPE_CHECKING:  # pragma: no cover
    from synth_pipeline.constraints.enforcement import SampleReport

log = logging.getLogger(__name__)

MODEL_FORMAT_VERSION = 1
MODEL_FILE = "generator.json"
ARRAYS_FILE = "arrays.npz"
DEFAULT_BATCH_ROWS = 100_000

Rebalance = Mapping[str, Mapping[Any, float]]


def _rng(random_state: int | np.random.Generator | None) -> np.random.Generator:
    if isinstance(random_state, np.random.Generator):
        return random_state
    return np.random.default_rng(random_state)


class Generator(ABC):
    """Base class of synth_pipeline's generators (scikit-learn style).

    The constructor only stores keyword settings; :meth:`fit` learns and returns
    ``self``; learned attributes end in ``_``. Every generator accepts ``rules``
    (rule dicts or objects, see :mod:`synth_pipeline.constraints`) and
    ``infer_rules`` (add the rules that hold exactly in the training table); they
    are honoured by construction in everything it samples.
    """

    name: ClassVar[str] = ""

    def __init__(
        self,
        *,
        random_state: int | None = None,
        column_kinds: Mapping[str, str] | None = None,
        rules: Any = None,
        infer_rules: bool = False,
    ) -> None:
        self.random_state = random_state
        self.column_kinds = dict(column_kinds or {})
        from synth_pipeline.constraints.rules import parse_rules

        # stored as plain dicts so get_params(), save and load stay JSON
        self.rules = [rule.to_dict() for rule in parse_rules(rules, origin="generator setting rules")]
        if not isinstance(infer_rules, bool):
            raise ConfigError(f"infer_rules must be true or false, got {infer_rules!r}")
        self.infer_rules = infer_rules

    # -- settings -----------------------------------------------------------------
    @classmethod
    def param_names(cls) -> list[str]:
        names: list[str] = []
        for klass in reversed(cls.__mro__):
            init = klass.__dict__.get("__init__")
            if init is None or klass is object:
                continue
            for p in inspect.signature(init).parameters.values():
                if p.name != "self" and p.kind is p.KEYWORD_ONLY and p.name not in names:
                    names.append(p.name)
        return names

    def get_params(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.param_names()}

    def _validate_params(self) -> None:
        """Subclasses check their settings here and raise ConfigError naming the setting."""
        if self.random_state is not None and not isinstance(self.random_state, (int, np.integer)):
            raise ConfigError(f"random_state must be an integer or None, got {self.random_state!r}")

    # -- fitting ------------------------------------------------------------------
    def fit(self, training: pd.DataFrame, *, schema: Schema | None = None) -> Generator:
        """Learn the joint distribution of ``training``; returns ``self``."""
        self._validate_params()
        schema = schema or infer_schema(training, self.column_kinds, what="training table")
        training = apply_schema(training, schema, what="training table")
        self.schema_ = schema
        self.n_training_rows_ = len(training)
        self.id_columns_ = {name: _id_format(training[name]) for name in schema.names_of(ColumnKind.ID)}
        self.frequencies_ = {
            name: {str(k): float(v) for k, v in training[name].astype(str).value_counts(normalize=True).items()}
            for name in schema.names_of(ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN)
        }
        model_columns = self.model_columns
        self._fit_rules(training)
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

    def _fit_rules(self, training: pd.DataFrame) -> None:
        """Effective rules (declared + inferred) and the enforcer that honours them in sampling."""
        from synth_pipeline.constraints.enforcement import fit_enforcer

        self.rules_, self.enforcer_ = fit_enforcer(self.rules, training, self.schema_, infer=self.infer_rules)

    def _generate(self, request: SamplingRequest, rng: np.random.Generator, report: SampleReport) -> pd.DataFrame:
        """``_sample`` through the rule enforcer (when there are rules); adds its books of repairs to ``report``."""
        enforcer = getattr(self, "enforcer_", None)
        if enforcer is None:
            return self._sample(request, rng)
        rows, batch_report = enforcer.generate(self._sample, request, rng)
        report.add(batch_report)
        return rows

    def _log_sample_report(self, report: SampleReport) -> None:
        if getattr(self, "enforcer_", None) is not None:
            log.info("%s: %s", self.name, report.summary())

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
        from synth_pipeline.constraints.enforcement import SampleReport

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
        return rows, (report.to_dict() if getattr(self, "enforcer_", None) is not None else None)

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
    ) -> Iterator[pd.DataFrame]:
        """Like :meth:`sample`, but yields consecutive chunks of at most ``batch_rows`` rows.

        Rule enforcement's books are added to ``report`` when one is given.
        """
        from synth_pipeline.constraints.enforcement import SampleReport

        report = SampleReport() if report is None else report
        self._check_fitted()
        if not (isinstance(temperature, (int, float)) and math.isfinite(temperature) and temperature > 0):
            raise ConfigError(f"temperature must be a positive number, got {temperature!r}")
        if seed_data is not None and rebalance is not None:
            raise ConfigError("use either seed_data or rebalance, not both")
        if seed_data is not None:
            conditions, fixed = self._seed_conditions(seed_data)
            if n_rows is not None and n_rows != len(conditions):
                raise ConfigError(
                    f"n_rows={n_rows} but seed_data has {len(conditions)} rows; one row is generated per seed row"
                )
            n_rows = len(conditions)
        else:
            n_rows = self.n_training_rows_ if n_rows is None else n_rows
            if not isinstance(n_rows, (int, np.integer)) or isinstance(n_rows, bool) or n_rows < 0:
                raise ConfigError(f"n_rows must be a non-negative integer, got {n_rows!r}")
            conditions = fixed = None
        rng = _rng(self.random_state if random_state is None else random_state)
        if rebalance is not None:
            conditions, fixed = self._rebalance_conditions(rebalance, int(n_rows), rng)
        if n_rows == 0:
            yield self._empty()
            return
        offset = 0
        for start in range(0, int(n_rows), batch_rows):
            stop = min(int(n_rows), start + batch_rows)
            request = SamplingRequest(stop - start, temperature=float(temperature))
            if conditions is not None:
                request.conditions = conditions.iloc[start:stop].reset_index(drop=True)
                request.fixed = fixed.iloc[start:stop].reset_index(drop=True)
            batch = self._finish(self._generate(request, rng, report), request, offset)
            offset += len(batch)
            yield batch
        self._log_sample_report(report)

    def impute(self, data: pd.DataFrame, *, temperature: float = 1.0, random_state: int | None = None) -> pd.DataFrame:
        """Fill the missing cells of ``data`` from the learned conditional distribution.

        Observed cells are returned unchanged; every missing cell of a modelled
        column is filled. The result keeps ``data``'s index and column order.
        """
        self._check_fitted()
        if not isinstance(data, pd.DataFrame):
            raise InvalidDataError(f"impute expects a DataFrame, got {type(data).__name__}")
        unknown = [c for c in data.columns if c not in self.schema_]
        if unknown:
            raise InvalidDataError(
                f"data to impute has column(s) the model does not know: {', '.join(map(repr, unknown))}"
            )
        model_columns = [c for c in self.model_columns if c in data.columns]
        canonical = apply_schema(data, self.schema_, what="data to impute", allow_missing_columns=True)
        self._check_categories(canonical[model_columns], what="data to impute")
        conditions = canonical[model_columns].reset_index(drop=True)
        fixed = conditions.notna()
        result = data.copy()
        todo = ~fixed.all(axis=1).to_numpy()
        if todo.any() and len(data):
            request = SamplingRequest(
                int(todo.sum()),
                conditions=conditions[todo].reset_index(drop=True),
                fixed=fixed[todo].reset_index(drop=True),
                temperature=float(temperature),
                impute=True,
            )
            rng = _rng(self.random_state if random_state is None else random_state)
            from synth_pipeline.constraints.enforcement import SampleReport

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

    # -- helpers for conditions ---------------------------------------------------
    def _seed_conditions(self, seed_data: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        if not isinstance(seed_data, pd.DataFrame) or seed_data.shape[1] == 0:
            raise InvalidDataError("seed_data must be a DataFrame with at least one column")
        unknown = [c for c in seed_data.columns if c not in self.schema_]
        if unknown:
            raise InvalidDataError(f"seed_data has column(s) the model does not know: {', '.join(map(repr, unknown))}")
        ids = [c for c in seed_data.columns if self.schema_.kind(c) is ColumnKind.ID]
        columns = [c for c in self.model_columns if c in seed_data.columns]
        canonical = apply_schema(seed_data, self.schema_, what="seed_data", allow_missing_columns=True)
        self._check_categories(canonical[columns], what="seed_data")
        conditions = canonical[columns + ids].reset_index(drop=True)
        fixed = pd.DataFrame(True, index=conditions.index, columns=conditions.columns)
        return conditions, fixed

    def _check_categories(self, data: pd.DataFrame, *, what: str) -> None:
        for name in data.columns:
            if name not in self.frequencies_:
                continue
            values = data[name].dropna().astype(str)
            unseen = sorted(set(values.unique()) - set(self.frequencies_[name]))
            if unseen:
                raise InvalidDataError(
                    f"{what}: column {name!r} has value(s) never seen in training: "
                    f"{', '.join(map(repr, unseen[:5]))}{' ...' if len(unseen) > 5 else ''}"
                )

    def _rebalance_conditions(
        self, rebalance: Rebalance, n_rows: int, rng: np.random.Generator
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        if not isinstance(rebalance, Mapping) or len(rebalance) != 1:
            raise ConfigError("rebalance must name exactly one column, e.g. {'income': {'>50K': 0.5}}")
        ((column, shares),) = rebalance.items()
        if column not in self.frequencies_:
            raise ConfigError(f"rebalance column {column!r} is not a categorical or boolean column of the model")
        frequencies = self.frequencies_[column]
        shares = {str(k): v for k, v in dict(shares).items()}
        unknown = sorted(set(shares) - set(frequencies))
        if unknown:
            raise ConfigError(
                f"rebalance: column {column!r} has no value(s) {', '.join(map(repr, unknown))} in training"
            )
        for value, share in shares.items():
            if not isinstance(share, (int, float)) or not 0 <= share <= 1:
                raise ConfigError(f"rebalance: share of {column}={value!r} must be between 0 and 1, got {share!r}")
        total = sum(shares.values())
        if total > 1 + 1e-9:
            raise ConfigError(f"rebalance: shares for column {column!r} add up to {total:.3f} > 1")
        rest = {v: f for v, f in frequencies.items() if v not in shares}
        rest_total = sum(rest.values())
        if rest_total == 0 and total < 1 - 1e-9:
            raise ConfigError(f"rebalance: shares for column {column!r} must add up to 1 (no other values exist)")
        targets = dict(shares)
        for value, frequency in rest.items():
            targets[value] = (1 - total) * frequency / rest_total
        counts = _largest_remainder(targets, n_rows)
        values = np.repeat(np.array(list(counts), dtype=object), list(counts.values()))
        rng.shuffle(values)
        conditions = apply_schema(pd.DataFrame({column: values}), self.schema_, allow_missing_columns=True)
        conditions.loc[conditions[column].astype(str) == "nan", column] = np.nan
        fixed = pd.DataFrame({column: np.ones(n_rows, dtype=bool)})
        return conditions, fixed

    # -- output ---------------------------------------------------------------------
    def _finish(self, generated: pd.DataFrame, request: SamplingRequest, offset: int) -> pd.DataFrame:
        """Restore ids and fixed cells exactly, column order and dtypes."""
        if len(generated) != request.n_rows:
            raise RuntimeError(f"{self.name} returned {len(generated)} rows instead of {request.n_rows}")
        out = generated.reset_index(drop=True).copy()
        for name, fmt in self.id_columns_.items():
            out[name] = _make_ids(fmt, offset, request.n_rows)
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
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, np.ndarray] = {}
        state = _pack(self._get_state(), arrays, "state")
        document = {
            "format_version": MODEL_FORMAT_VERSION,
            "generator": self.name,
            "library_version": __version__,
            "params": self.get_params(),
            "schema": self.schema_.to_dict(),
            "n_training_rows": self.n_training_rows_,
            "id_columns": self.id_columns_,
            "frequencies": self.frequencies_,
            "fitted_at": self.fitted_at_,
            "fit_seconds": self.fit_seconds_,
            "rules": self.rules_.to_dicts() if getattr(self, "rules_", None) is not None else [],
            "constraints": self.enforcer_.to_state() if getattr(self, "enforcer_", None) is not None else None,
            "state": state,
        }
        tmp_arrays = path / (ARRAYS_FILE + ".tmp.npz")
        np.savez(tmp_arrays, **arrays)
        tmp_arrays.replace(path / ARRAYS_FILE)
        tmp_model = path / (MODEL_FILE + ".tmp")
        tmp_model.write_text(json.dumps(document, indent=1, default=_json_default))
        tmp_model.replace(path / MODEL_FILE)
        return path

    @staticmethod
    def load(path: str | Path) -> Generator:
        """Load a model written by :meth:`save`, whatever its generator class."""
        from synth_pipeline.generators.registry import generator_class

        path = Path(path)
        model_file = path / MODEL_FILE
        if not model_file.is_file():
            raise InvalidDataError(f"no saved generator in {str(path)!r} (missing {MODEL_FILE})")
        try:
            document = json.loads(model_file.read_text())
        except json.JSONDecodeError as error:
            raise InvalidDataError(f"{model_file} is not valid JSON: {error}") from None
        if document.get("format_version") != MODEL_FORMAT_VERSION:
            raise InvalidDataError(
                f"{model_file} has format version {document.get('format_version')}, expected {MODEL_FORMAT_VERSION}"
            )
        klass = generator_class(document["generator"])
        generator = klass(**document["params"])
        with np.load(path / ARRAYS_FILE, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
        generator.schema_ = Schema.from_dict(document["schema"])
        generator.n_training_rows_ = document["n_training_rows"]
        generator.id_columns_ = document["id_columns"]
        generator.frequencies_ = document["frequencies"]
        generator.fitted_at_ = document["fitted_at"]
        generator.fit_seconds_ = document["fit_seconds"]
        generator._load_rules(document)
        generator._set_state(_unpack(document["state"], arrays))
        return generator

    def _load_rules(self, document: Mapping[str, Any]) -> None:
        from synth_pipeline.constraints.enforcement import RuleEnforcer
        from synth_pipeline.constraints.rules import RuleSet

        self.rules_ = RuleSet.from_dicts(document.get("rules") or [])
        state = document.get("constraints")
        self.enforcer_ = RuleEnforcer.from_state(state, self.schema_) if state else None

    # -- subclass hooks ---------------------------------------------------------------
    @abstractmethod
    def _fit(self, training: pd.DataFrame, rng: np.random.Generator) -> None: ...

    @abstractmethod
    def _sample(self, request: SamplingRequest, rng: np.random.Generator) -> pd.DataFrame: ...

    @abstractmethod
    def _get_state(self) -> dict[str, Any]: ...

    @abstractmethod
    def _set_state(self, state: dict[str, Any]) -> None: ...


def _largest_remainder(targets: Mapping[str, float], n_rows: int) -> dict[str, int]:
    raw = {k: v * n_rows for k, v in targets.items()}
    counts = {k: int(math.floor(v)) for k, v in raw.items()}
    short = n_rows - sum(counts.values())
    for key in sorted(raw, key=lambda k: raw[k] - counts[k], reverse=True)[:short]:
        counts[key] += 1
    return counts


def _id_format(values: pd.Series) -> dict[str, Any]:
    """How to regenerate an id column: numbers from 1, or strings with the common prefix."""
    observed = values.dropna()
    if pd.api.types.is_numeric_dtype(values.dtype):
        return {"type": "number"}
    text = observed.astype(str)
    prefix = _common_prefix(list(text.head(1000)))
    width = int(text.str.len().median()) - len(prefix) if len(text) else 6
    return {"type": "string", "prefix": prefix, "width": max(width, 1)}


def _common_prefix(values: list[str]) -> str:
    if not values:
        return ""
    first, last = min(values), max(values)
    size = 0
    while size < min(len(first), len(last)) and first[size] == last[size] and not first[size].isdigit():
        size += 1
    return first[:size]


def _make_ids(fmt: Mapping[str, Any], offset: int, n_rows: int) -> pd.Series:
    numbers = np.arange(offset + 1, offset + n_rows + 1)
    if fmt["type"] == "number":
        return pd.Series(numbers, dtype="Int64")
    return pd.Series([f"{fmt['prefix']}{n:0{fmt['width']}d}" for n in numbers], dtype=object)


def _pack(value: Any, arrays: dict[str, np.ndarray], key: str) -> Any:
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            raise TypeError(f"state entry {key} is an object array; store lists of strings instead")
        arrays[key] = value
        return {"__array__": key}
    if isinstance(value, dict):
        return {str(k): _pack(v, arrays, f"{key}/{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_pack(v, arrays, f"{key}/{i}") for i, v in enumerate(value)]
    return value


def _unpack(value: Any, arrays: Mapping[str, np.ndarray]) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__array__"}:
            return arrays[value["__array__"]]
        return {k: _unpack(v, arrays) for k, v in value.items()}
    if isinstance(value, list):
        return [_unpack(v, arrays) for v in value]
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    raise TypeError(f"cannot store {type(value).__name__} in a model file")
