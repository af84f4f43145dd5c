"""The pipeline configuration: one YAML file, validated with pydantic.

Relative paths in a config (sources, warehouse, private store) are relative to
the directory the command runs from, like every other path a user types;
``${VAR}`` is replaced by the environment variable ``VAR``.

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
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from synth_pipeline.column_overrides import ColumnOverride
from synth_pipeline.columns import ColumnKind, did_you_mean, validate_dataset_name
from synth_pipeline.constraints.rules import Rule
from synth_pipeline.errors import ConfigError
from synth_pipeline.generators.registry import check_generator_settings
from synth_pipeline.quality.gates import Gates
from synth_pipeline.secrets import server_address

DEFAULT_WAREHOUSE = ".synth/warehouse.duckdb"
DEFAULT_PRIVATE_DIR = ".synth/private"
DEFAULT_GENERATOR = "argn"


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

    @model_validator(mode="after")
    def _exactly_one(self) -> SourceConfig:
        given = [k for k in ("path", "sql", "postgres", "simulate") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of path, sql, postgres, simulate (got {', '.join(given) or 'none'})")
        return self

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

    @model_validator(mode="after")
    def _known(self) -> GeneratorConfig:
        # checks the name and the settings without importing the generator (argn imports torch)
        try:
            check_generator_settings(self.name, self.settings)
        except ConfigError as error:
            raise ValueError(str(error)) from None
        return self


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
    seed: int = Field(0, description="seed of training and sampling")
    columns: dict[str, ColumnOverride] = Field(
        default_factory=dict,
        description="column kind overrides: `name: kind`, or `name: {kind: datetime, format: '%d/%m/%Y'}`",
    )
    target: str | None = Field(None, description="label column for utility metrics (TSTR)")
    gates: Gates = Field(default_factory=Gates)
    drift: DriftConfig = Field(default_factory=DriftConfig)
    schedules: SchedulesConfig = Field(default_factory=SchedulesConfig)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    quality_max_rows: int = Field(100_000, gt=0, description="rows per table used by the QA report")
    rules: list[Rule] = Field(
        default_factory=list, description="business rules the synthetic table must follow (synth_pipeline.constraints)"
    )
    infer_rules: bool = Field(False, description="also enforce and check the rules that hold exactly in training")

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
        """A stable hash of everything that shapes the model and its output."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def check_columns(self, columns: list[str]) -> None:
        """Check the column names this config mentions against the source's columns."""
        named = {f"columns.{c}": c for c in self.columns}
        if self.target:
            named["target"] = self.target
        if self.holdout.stratify:
            named["holdout.stratify"] = self.holdout.stratify
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
    warehouse: str = Field(DEFAULT_WAREHOUSE, description="DuckDB file of published synthetic snapshots")
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

    @property
    def model_dir(self) -> Path:
        return Path(self.private_dir) / "models"


def _expand(value: Any) -> Any:
    if isinstance(value, str):
        return os.path.expandvars(value)
    if isinstance(value, dict):
        return {k: _expand(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v) for v in value]
    return value


def parse_config(data: Any, *, origin: str = "config") -> PipelineConfig:
    """Validate a config given as Python data; errors name the setting."""
    if not isinstance(data, dict):
        raise ConfigError(f"{origin}: expected a mapping at the top level, got {type(data).__name__}")
    try:
        return PipelineConfig.model_validate(_expand(data))
    except ValidationError as error:
        problems = []
        for item in error.errors():
            where = ".".join(str(p) for p in item["loc"]) or "(top level)"
            message = item["msg"].removeprefix("Value error, ")
            if item["type"] == "extra_forbidden":
                message = "unknown setting (check the spelling)"
            problems.append(f"{where}: {message}")
        raise ConfigError(f"{origin} is invalid:\n  " + "\n  ".join(problems)) from None


def load_config(path: str | Path) -> PipelineConfig:
    """Read and validate a YAML config file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} does not exist")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise ConfigError(f"{path} is not valid YAML: {error}") from None
    return parse_config(data, origin=str(path))
