"""Source resources: where a dataset's real table comes from, chosen per deployment.

Each is a thin wrapper over the core's :class:`synth_pipeline.sources.ConfiguredSource`;
``reader()`` gives the :class:`synth_pipeline.sources.SourceReader` the lifecycle's
``ingest`` and the drift decision read through. :func:`source_resource` builds the
one a dataset's ``source:`` setting names.
"""

import os

from dagster import ConfigurableResource, EnvVar

from synth_pipeline.config import PostgresSource, SimulatedSource, SourceConfig
from synth_pipeline.sources import ConfiguredSource


class SourceResource(ConfigurableResource):
    """A dataset's real table (subclasses say where it lives)."""

    def source_config(self) -> SourceConfig:
        """The core's description of this source."""
        raise NotImplementedError(f"{type(self).__name__} does not say where its table lives")

    def reader(self) -> ConfiguredSource:
        """The reader the lifecycle and the drift decision use."""
        return ConfiguredSource(self.source_config())


class FileSourceResource(SourceResource):
    """A CSV (optionally compressed) or Parquet file."""

    path: str
    format: str | None = None  # "csv" or "parquet"; checked by SourceConfig

    def source_config(self) -> SourceConfig:
        return SourceConfig(path=self.path, format=self.format)


class SqlSourceResource(SourceResource):
    """A DuckDB query, e.g. over ``read_parquet('...')``."""

    sql: str
    allowed_paths: list[str] = []  # what the sandboxed query may read (synth_pipeline.sql_source)

    def source_config(self) -> SourceConfig:
        return SourceConfig(sql=self.sql, allowed_paths=self.allowed_paths)


class PostgresSourceResource(SourceResource):
    """A PostgreSQL table or one read-only query. Give ``dsn`` as ``EnvVar("PG_DSN")`` in Python definitions, so
    the Dagster UI shows the variable's name, not the DSN."""

    dsn: str
    table: str | None = None
    query: str | None = None
    updated_at: str | None = None  # timestamp column the drift probe takes max() of
    connect_timeout_seconds: int = 10

    def source_config(self) -> SourceConfig:
        # outside a Dagster context (a direct call) an EnvVar field still holds the variable's name: resolve it
        dsn = self.dsn.get_value() if isinstance(self.dsn, EnvVar) else self.dsn
        return SourceConfig(
            postgres=PostgresSource(
                dsn=dsn or "",
                table=self.table,
                query=self.query,
                updated_at=self.updated_at,
                connect_timeout_seconds=self.connect_timeout_seconds,
            )
        )


class SimulatedSourceResource(SourceResource):
    """A table simulated from a built-in spec (demo and tests)."""

    spec: str = "churn"  # checked by SourceConfig
    rows: int = 5000
    seed: int = 0

    def source_config(self) -> SourceConfig:
        return SourceConfig(simulate=SimulatedSource(spec=self.spec, rows=self.rows, seed=self.seed))


def source_resource(config: SourceConfig) -> SourceResource:
    """The resource for a dataset's ``source:`` setting."""
    if config.path is not None:
        return FileSourceResource(path=config.path, format=config.format)
    if config.sql is not None:
        return SqlSourceResource(sql=config.sql, allowed_paths=config.allowed_paths)
    if config.postgres is not None:
        settings = config.postgres.model_dump(exclude={"dsn"})
        return PostgresSourceResource(dsn=_secret_reference(config.postgres.dsn.get_secret_value()), **settings)
    return SimulatedSourceResource(**config.simulate.model_dump())


def _secret_reference(value: str) -> str:
    """``EnvVar(NAME)`` when the environment variable NAME holds exactly ``value`` (a config's ``dsn: ${PG_DSN}``),
    so the Dagster UI's resource page shows the variable's name instead of the DSN; else the value itself."""
    names = sorted(name for name, held in os.environ.items() if held == value)
    return EnvVar(names[0]) if value and names else value


def source_resource_key(dataset: str) -> str:
    """The resource key of a dataset's source (one source per dataset)."""
    return f"{dataset}_source"
