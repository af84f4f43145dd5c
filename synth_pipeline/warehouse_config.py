"""The ``warehouse:`` setting: a DuckDB file (the embedded default) or a PostgreSQL schema.

``warehouse: .synth/warehouse.duckdb`` (a path) is short for ``warehouse: {path: ...}``::

    warehouse:
      path: .synth/warehouse.duckdb
      lock_timeout_seconds: 60        # how long an operation waits for another process's lock

    warehouse:
      postgres: {dsn: "${PG_DSN}", schema: synthetic}

The DSN carries a password: it is only ever shown through :func:`synth_pipeline.secrets.redact_dsn`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from synth_pipeline.columns import DATASET_NAME
from synth_pipeline.secrets import redact_dsn

DEFAULT_WAREHOUSE = ".synth/warehouse.duckdb"
DEFAULT_POSTGRES_REPORTS = ".synth/reports"
ENV_REFERENCE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)\}|\$(?P<bare>[A-Za-z_][A-Za-z0-9_]*)")


class PostgresWarehouseConfig(BaseModel):
    """A PostgreSQL schema holding the catalog, one table per snapshot version and the ``_latest`` views."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    dsn: str = Field(description="libpq DSN or postgresql:// URL; write it as ${ENV_VAR}, it holds a password")
    db_schema: str = Field("synthetic", alias="schema", description="schema of the warehouse (created if missing)")
    connect_timeout_seconds: int = Field(10, ge=1, le=300, description="how long a connection attempt may take")
    dsn_env: str | None = Field(
        None, description="the environment variable the DSN came from (set when dsn is written as ${VAR})"
    )

    @field_validator("db_schema")
    @classmethod
    def _schema_name(cls, value: str) -> str:
        if not DATASET_NAME.match(value):
            raise ValueError(f"schema {value!r} must be letters, digits or underscores (not starting with a digit)")
        return value

    def with_env_reference(self, raw_dsn: Any) -> PostgresWarehouseConfig:
        """This config remembering the variable of a DSN written as ``${VAR}`` (so Dagster holds the name only)."""
        found = ENV_REFERENCE.fullmatch(str(raw_dsn).strip()) if isinstance(raw_dsn, str) else None
        return self.model_copy(update={"dsn_env": found["name"] or found["bare"]}) if found else self

    def __repr__(self) -> str:  # never the password
        return f"PostgresWarehouseConfig(dsn={redact_dsn(self.dsn)!r}, schema={self.db_schema!r})"

    def __str__(self) -> str:
        return f"{redact_dsn(self.dsn)} (schema {self.db_schema})"


class WarehouseConfig(BaseModel):
    """Where published snapshots go: ``path`` (a DuckDB file) or ``postgres``; and how long to wait for locks."""

    model_config = ConfigDict(extra="forbid")

    path: str | None = Field(None, description=f"DuckDB file of published snapshots (default {DEFAULT_WAREHOUSE})")
    postgres: PostgresWarehouseConfig | None = Field(None, description="a PostgreSQL schema instead of a file")
    lock_timeout_seconds: float = Field(
        60.0, ge=0, le=86_400, description="seconds an operation waits for a lock held by another process"
    )
    reports_dir: str | None = Field(
        None, description=f"where QA reports go; default reports/ beside the DuckDB file, or {DEFAULT_POSTGRES_REPORTS}"
    )

    @model_validator(mode="before")
    @classmethod
    def _from_path(cls, value: Any) -> Any:
        return {"path": str(value)} if isinstance(value, (str, os.PathLike)) else value

    @model_validator(mode="after")
    def _one_target(self) -> WarehouseConfig:
        if self.path is not None and self.postgres is not None:
            raise ValueError("give either path (DuckDB) or postgres, not both")
        if self.path is None and self.postgres is None:
            self.path = DEFAULT_WAREHOUSE
        return self

    def __str__(self) -> str:
        return self.path if self.path is not None else str(self.postgres)

    def __eq__(self, other: object) -> bool:
        """Equal to its DuckDB path given as text, so ``config.warehouse == ".synth/warehouse.duckdb"`` holds."""
        if isinstance(other, (str, os.PathLike)):
            return self.path is not None and os.fspath(other) == self.path
        return super().__eq__(other)

    def __hash__(self) -> int:
        return hash((self.path, repr(self.postgres), self.lock_timeout_seconds, self.reports_dir))

    def __fspath__(self) -> str:
        """The DuckDB file, so ``Path(config.warehouse)`` keeps working for file warehouses."""
        if self.path is None:
            raise TypeError(f"the warehouse is {self.postgres}, not a file")
        return self.path

    def reports_root(self) -> Path:
        """Where the QA reports of the warehouse's snapshots are written."""
        if self.reports_dir is not None:
            return Path(self.reports_dir)
        return Path(self.path).parent / "reports" if self.path is not None else Path(DEFAULT_POSTGRES_REPORTS)
