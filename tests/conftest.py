"""Shared test set-up: quiet, deterministic numerical libraries and small generated data."""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from synth_pipeline.simulate import simulate_churn  # noqa: E402

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def churn():
    """A small simulated customer-churn table (ids, categories, booleans, numbers, dates, missing values)."""
    return simulate_churn(1200, random_state=3)


def shared_table(name: str) -> Path:
    """A table from ../shared/data, or skip the test when this checkout has none."""
    path = SHARED_DATA / name
    if not path.is_file():
        pytest.skip(f"{path} is not available (integration data lives beside the repo)")
    return path


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL server on 127.0.0.1 for the whole session (skipped only when no binaries exist)."""
    from tests.postgres_server import PostgresUnavailable, start_postgres_server

    try:
        server = start_postgres_server()
    except PostgresUnavailable as missing:
        pytest.skip(str(missing))
    yield server
    server.stop()


@pytest.fixture
def postgres_dsn(postgres_server):
    """A fresh, empty database on the session's server: ``postgresql://user:pw@127.0.0.1:port/db``."""
    dsn = postgres_server.create_database()
    yield dsn
    postgres_server.drop_database(dsn.rsplit("/", 1)[1])


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse_settings(request, tmp_path):
    """A fresh, empty warehouse of each backend: a DuckDB file, and a schema on the test PostgreSQL server."""
    from tests.warehouse_backends import warehouse_settings_for

    return warehouse_settings_for(request, tmp_path)
