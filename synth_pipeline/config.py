"""The pipeline configuration: one YAML file, validated with pydantic.

Relative paths in a config (sources, warehouse, private store) are relative to
the directory the command runs from, like every other path a user types;
``${VAR}`` (or ``$VAR``) is replaced by the environment variable ``VAR``, and an unset ``${VAR}`` is an
error naming the setting. Every setting is checked when the config is loaded: gate thresholds inside their
meaningful range, the generator's settings by its settings model (without importing the generator), a sql
source's query parsed (one read-only SELECT, see :mod:`synth_pipeline.sql_source`).

A minimal config::

    datasets:
      census:
        source: {path: ../shared/data/census.csv.gz}
        target: income
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from synth_pipeline.column_overrides import ColumnOverride
from synth_pipeline.columns import ColumnKind, did_you_mean, validate_dataset_name
from synth_pipeline.constraints.rules import Rule
from synth_pipeline.engine_config import DEFAULT_SHARD_ROWS, EngineConfig, LocalEngine, engine_from_name
from synth_pipeline.errors import ConfigError
from synth_pipeline.generators.registry import check_generator_settings, generator_names
from synth_pipeline.quality.gates import Gates
from synth_pipeline.secrets import server_address
from synth_pipeline.sql_source import check_query
from synth_pipeline.warehouse_config import DEFAULT_WAREHOUSE, WarehouseConfig

DEFAULT_PRIVATE_DIR = ".synth/private"
DEFAULT_GENERATOR = "argn"
#: below this many training rows a dataset is refused (measured: benchmarks/small_tables.py, README)
DEFAULT_MIN_TRAINING_ROWS = 200
#: rows a generator learns from at most (a stratified sample of the training half): benchmarks/scale_rows.py
#: measured accuracy against training rows on the 1.47M-like simulated table (README, "Scale")
DEFAULT_MAX_TRAINING_ROWS = 200_000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class SimulatedSource(_Strict):
    """Data made by :mod:`synth_pipeline.simulate` from a built-in spec."""

    spec: Literal["churn"] = Field("churn", description="name of the built-in table spec")
    rows: int = Field(5000, gt=0, description="number of rows to simulate")
    seed: int = Field(0, description="seed of the simulation")


class PostgresSource(_Strict):
    """A PostgreSQL table or read-only query (read with psycopg; the DSN is a secret: never shown, hashed or stored)."""

    dsn: SecretStr = Field(description="postgresql://user:password@host:port/db, usually ${PG_DSN}")
    table: str | None = Field(None, description="table to read, e.g. public.customers")
    query: str | None = Field(None, description="one read-only SELECT statement, run in a READ ONLY transaction")
    updated_at: str | None = Field(None, description="timestamp column the drift probe takes max() of")
    connect_timeout_seconds: int = Field(10, ge=1, description="give up connecting after this many seconds")

    @model_validator(mode="after")
    def _table_or_query(self) -> PostgresSource:
        if (self.table is None) == (self.query is None):
            raise ValueError("give exactly one of table, query")
        return self

    def describe(self) -> str:
        what = f"table {self.table}" if self.table else "query"
        return f"PostgreSQL {what} at {server_address(self.dsn.get_secret_value())}"


class SourceConfig(_Strict):
    """Where the real table comes from: exactly one of path, sql, postgres, simulate."""

    path: str | None = Field(None, description="CSV (optionally .gz) or Parquet file")
    sql: str | None = Field(None, description="a DuckDB query, e.g. over read_parquet('...')")
    simulate: SimulatedSource | None = Field(None, description="a simulated table (demo and tests)")
    postgres: PostgresSource | None = Field(None, description="a PostgreSQL table or read-only query")
    format: Literal["csv", "parquet"] | None = Field(None, description="file format; default from the extension")
    allowed_paths: list[str] = Field(
        default_factory=list,
        description="files and directories a sql source may read (synth_pipeline.sql_source: nothing else is "
        "readable); never the private area or the warehouse",
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> SourceConfig:
        given = [k for k in ("path", "sql", "postgres", "simulate") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of path, sql, postgres, simulate (got {', '.join(given) or 'none'})")
        if self.allowed_paths and self.sql is None:
            raise ValueError("allowed_paths applies to a sql source only")
        return self

    @field_validator("sql")
    @classmethod
    def _one_select(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                check_query(value, setting=None)
            except ConfigError as error:
                raise ValueError(str(error)) from None
        return value

    def describe(self) -> str:
        if self.path is not None:
            return f"file {self.path}"
        if self.sql is not None:
            return f"DuckDB query {self.sql!r}"
        if self.postgres is not None:
            return self.postgres.describe()
        return f"simulated {self.simulate.spec} table ({self.simulate.rows} rows, seed {self.simulate.seed})"


class HoldoutConfig(_Strict):
    fraction: float = Field(0.5, gt=0, lt=1, description="share of source rows kept out of training")
    seed: int = Field(0, description="seed of the split")
    stratify: str | None = Field(None, description="categorical column whose shares both halves keep")


class GeneratorConfig(_Strict):
    name: str = Field(DEFAULT_GENERATOR, description="generator name: argn (default) or copula")
    settings: dict[str, Any] = Field(default_factory=dict, description="keyword settings of the generator")

    @field_validator("name")
    @classmethod
    def _known_name(cls, value: str) -> str:
        if value not in generator_names():
            raise ValueError(f"unknown generator {value!r}; choose one of {', '.join(generator_names())}")
        return value

    @field_validator("settings")
    @classmethod
    def _known_settings(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        # checked by the generator's settings model, without importing the generator (argn imports torch)
        name = info.data.get("name")
        if name is not None:
            try:
                check_generator_settings(name, value)
            except ConfigError as error:
                raise ValueError(str(error)) from None
        return value


class DriftConfig(_Strict):
    threshold: float = Field(0.2, gt=0, description="retrain when any column's PSI exceeds this")
    poll_seconds: int = Field(60, ge=1, description="how often the drift sensor looks at the source")


class SchedulesConfig(_Strict):
    refresh: str | None = Field(None, description="cron: sample a new snapshot from the current model")
    retrain: str | None = Field(None, description="cron: retrain and publish")
    timezone: str = Field("UTC", description="time zone of the cron expressions")

    @field_validator("refresh", "retrain")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None and len(value.split()) != 5:
            raise ValueError(f"{value!r} is not a 5-field cron expression like '0 6 * * *'")
        return value


class RetentionConfig(_Strict):
    keep_last: int | None = Field(None, ge=1, description="keep the newest N versions")
    keep_days: float | None = Field(None, gt=0, description="keep versions newer than D days")


class DatasetConfig(_Strict):
    """One source table and how to synthesize, check and publish it."""

    name: str = Field("", description="set from the key under `datasets`")
    source: SourceConfig
    holdout: HoldoutConfig = Field(default_factory=HoldoutConfig)
    generator: GeneratorConfig = Field(default_factory=GeneratorConfig)
    rows: int | None = Field(None, gt=0, description="rows to sample; default: as many as the source")
    shard_rows: int = Field(
        DEFAULT_SHARD_ROWS, gt=0,
        description="rows per shard of a snapshot (a shard's rows depend on the model, the snapshot seed and its "
        "number only, whatever the engine)",
    )
    engine: EngineConfig = Field(
        default_factory=LocalEngine,
        description="where shards are sampled: `local` (the run's process) or `{name: ray, address: ...}`",
    )
    seed: int = Field(0, description="seed of training and sampling")
    min_training_rows: int = Field(
        DEFAULT_MIN_TRAINING_ROWS, ge=1,
        description="refuse to train on fewer training rows (below it the gates cannot tell a copy from a "
        "faithful table; benchmarks/small_tables.py)",
    )
    max_training_rows: int | None = Field(
        DEFAULT_MAX_TRAINING_ROWS, gt=0,
        description="learn from at most this many training rows, a stratified reproducible sample (by "
        "holdout.stratify, else target); null: every row (benchmarks/scale_rows.py measured where more rows stop "
        "buying accuracy)",
    )
    columns: dict[str, ColumnOverride] = Field(
        default_factory=dict,
        description="column kind overrides: `name: kind`, or `name: {kind: datetime, format: '%d/%m/%Y'}`",
    )
    target: str | None = Field(None, description="label column for utility metrics (TSTR)")
    sensitive_columns: list[str] | None = Field(
        None,
        description="columns the QA report's attribute-inference attack tries to guess (default: the target, "
        "else the 3 label columns whose most frequent value is rarest)",
    )
    gates: Gates = Field(default_factory=Gates)
    drift: DriftConfig = Field(default_factory=DriftConfig)
    schedules: SchedulesConfig = Field(default_factory=SchedulesConfig)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    quality_max_rows: int = Field(100_000, gt=0, description="rows per table used by the QA report")
    rules: list[Rule] = Field(
        default_factory=list, description="business rules the synthetic table must follow (synth_pipeline.constraints)"
    )
    infer_rules: bool = Field(False, description="also enforce and check the rules that hold exactly in training")

    @model_validator(mode="after")
    def _training_row_bounds(self) -> DatasetConfig:
        if self.max_training_rows is not None and self.max_training_rows < self.min_training_rows:
            raise ValueError(
                f"max_training_rows ({self.max_training_rows}) is below min_training_rows ({self.min_training_rows}): "
                "no training table could satisfy both"
            )
        return self

    @field_validator("sensitive_columns")
    @classmethod
    def _sensitive(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and (not value or len(set(value)) < len(value)):
            raise ValueError("list each sensitive column once, at least one (or null for the default rule)")
        return value

    @field_validator("engine", mode="before")
    @classmethod
    def _engine_name(cls, value: Any) -> Any:
        return engine_from_name(value)

    @field_validator("columns", mode="before")
    @classmethod
    def _kinds(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: {"kind": ColumnKind.parse(v, setting=f"columns.{k}").value} if isinstance(v, str) else v
                for k, v in value.items()
            }
        return value

    def config_hash(self) -> str:
        """A stable hash of everything that shapes the model and its output (not what only the QA report reads)."""
        # where shards run never changes the rows: the engine is not part of the hash
        text = json.dumps(
            self.model_dump(
                mode="json", exclude={"source": {"allowed_paths"}, "engine": True, "sensitive_columns": True}
            ),
            sort_keys=True,
        )
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def check_columns(self, columns: list[str]) -> None:
        """Check the column names this config mentions against the source's columns."""
        named = {f"columns.{c}": c for c in self.columns}
        if self.target:
            named["target"] = self.target
        if self.holdout.stratify:
            named["holdout.stratify"] = self.holdout.stratify
        for number, column in enumerate(self.sensitive_columns or [], start=1):
            named[f"sensitive_columns[{number}]"] = column
        for number, rule in enumerate(self.rules, start=1):
            for column in rule.columns():
                named[f"rules[{number}] ({rule.describe()}), column {column}"] = column
        for setting, column in named.items():
            if column not in columns:
                raise ConfigError(
                    f"datasets.{self.name}.{setting}: column {column!r} is not in the source"
                    f"{did_you_mean(column, columns)}; its columns are: {', '.join(columns)}"
                )


class PipelineConfig(_Strict):
    warehouse: WarehouseConfig = Field(
        default_factory=WarehouseConfig,
        description=f"a DuckDB file of published snapshots (default {DEFAULT_WAREHOUSE}), or {{path: ..., "
        "lock_timeout_seconds: N}, or {postgres: {dsn: ${PG_DSN}, schema: synthetic}}",
    )
    private_dir: str = Field(DEFAULT_PRIVATE_DIR, description="where real data and models are kept")
    datasets: dict[str, DatasetConfig]

    @field_validator("datasets", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        if not isinstance(value, dict) or not value:
            raise ValueError("declare at least one dataset as a mapping name -> settings")
        named = {}
        for name, settings in value.items():
            try:
                validate_dataset_name(name)
            except ConfigError as error:
                raise ValueError(str(error)) from None
            if isinstance(settings, dict):
                settings = {**settings, "name": name}
            named[name] = settings
        return named

    @model_validator(mode="after")
    def _sql_reads_no_private_data(self) -> PipelineConfig:
        places = [("the private area", Path(self.private_dir).resolve())]
        if self.warehouse.path is not None:  # a PostgreSQL warehouse is no file a query could read
            places.append(("the warehouse", Path(self.warehouse.path).resolve()))
        for name, dataset in self.datasets.items():
            for number, entry in enumerate(dataset.source.allowed_paths):
                allowed = Path(entry).expanduser().resolve()
                for what, path in places:
                    if allowed == path or path.is_relative_to(allowed) or allowed.is_relative_to(path):
                        raise ValueError(
                            f"datasets.{name}.source.allowed_paths[{number}]: {entry!r} would let the query read "
                            f"{what} ({path}); allow only the directories or files that hold the source"
                        )
        return self

    @property
    def model_dir(self) -> Path:
        return Path(self.private_dir) / "models"


_VARIABLE = re.compile(r"\$\{([^}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _expand(value: Any, where: str = "") -> Any:
    """``${VAR}`` and ``$VAR`` replaced by the environment's values; an unset ``${VAR}`` is an error naming the setting.

    An unset bare ``$word`` stays as written (a ``$`` in a password or a pattern is not a reference).
    """
    if isinstance(value, str):

        def replace(match: re.Match) -> str:
            name = match.group(1) if match.group(1) is not None else match.group(2)
            setting = where or "(top level)"
            if not _NAME.fullmatch(name):
                raise ConfigError(f"{setting}: {match.group(0)!r} is not an environment variable reference")
            if name not in os.environ:
                if match.group(1) is None:  # a bare $word stays as written: it may be part of a password or pattern
                    return match.group(0)
                raise ConfigError(f"{setting}: environment variable {name} is not set (used as {match.group(0)})")
            return os.environ[name]

        return _VARIABLE.sub(replace, value)
    if isinstance(value, dict):
        return {k: _expand(v, f"{where}.{k}" if where else str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, f"{where}[{i}]") for i, v in enumerate(value)]
    return value


def _problem(item: Any) -> str:
    """One pydantic error as ``key.path: what is wrong``."""
    where = ".".join(str(p) for p in item["loc"])
    message = item["msg"].removeprefix("Value error, ")
    if not where:  # a check across settings names them itself
        return message
    if item["type"] == "extra_forbidden":
        message = "unknown setting (check the spelling)"
    elif item["type"] in ("model_type", "dict_type", "model_attributes_type"):
        message = f"must be a mapping of settings (name: value), got {type(item['input']).__name__}"
    elif item["type"] == "list_type":
        message = f"must be a list, got {type(item['input']).__name__}"
    return f"{where}: {message}"


def _one_line(problems: list[str], shown: int = 3) -> str:
    """The problems on one line: the first few, and how many more there are."""
    if len(problems) == 1:
        return problems[0]
    more = f" (and {len(problems) - shown} more)" if len(problems) > shown else ""
    return f"{len(problems)} problems: " + "; ".join(problems[:shown]) + more


def parse_config(data: Any, *, origin: str = "config") -> PipelineConfig:
    """Validate a config given as Python data; errors name the setting."""
    if not isinstance(data, dict):
        raise ConfigError(f"{origin}: expected a mapping at the top level, got {type(data).__name__}")
    try:
        expanded = _expand(data)
    except ConfigError as error:
        raise ConfigError(f"{origin} is invalid: {error}") from None
    try:
        config = PipelineConfig.model_validate(expanded)
    except ValidationError as error:
        problems = [_problem(item) for item in error.errors()]
        raise ConfigError(f"{origin} is invalid: {_one_line(problems)}") from None
    if config.warehouse.postgres is not None:  # remember ${VAR}, so Dagster's resource holds no password
        raw = data.get("warehouse", {}).get("postgres", {}) if isinstance(data.get("warehouse"), dict) else {}
        postgres = config.warehouse.postgres.with_env_reference(raw.get("dsn") if isinstance(raw, dict) else None)
        config.warehouse = config.warehouse.model_copy(update={"postgres": postgres})
    return config


def _yaml_problem(error: yaml.YAMLError) -> str:
    """What PyYAML found and where, on one line (its own message spans several, with a snippet of the file)."""
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    mark = getattr(error, "problem_mark", None)
    return f"{problem} (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else problem


def load_config(path: str | Path) -> PipelineConfig:
    """Read and validate a YAML config file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} does not exist")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise ConfigError(f"{path} is not valid YAML: {_yaml_problem(error)}") from None
    return parse_config(data, origin=str(path))
