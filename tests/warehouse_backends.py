"""The warehouse backends the store tests run against: a DuckDB file, and a PostgreSQL schema on a real server."""

from pathlib import Path
from typing import Any

import pytest

from synth_pipeline.warehouse import SnapshotStore
from synth_pipeline.warehouse_backend import Session
from synth_pipeline.warehouse_config import WarehouseConfig

BACKENDS = ["duckdb", "postgres"]


def warehouse_settings_for(request: pytest.FixtureRequest, tmp_path: Path) -> WarehouseConfig:
    """The ``warehouse:`` setting of the backend the test is parametrized with."""
    if request.param == "duckdb":
        return WarehouseConfig(path=str(tmp_path / "wh.duckdb"))
    dsn = request.getfixturevalue("postgres_dsn")
    return WarehouseConfig(postgres={"dsn": dsn, "schema": "synthetic"}, reports_dir=str(tmp_path / "reports"))


def raw_rows(store: SnapshotStore, sql: str, params: list[Any] | None = None, *, write: bool = False) -> list[tuple]:
    """Run SQL straight on the store's database (``?`` placeholders), as a consumer or an operator would."""
    return store.backend.run("test", lambda session: session.rows(sql, params or []), write=write)


def has_table(store: SnapshotStore, name: str) -> bool:
    """Whether the warehouse holds table ``name``."""
    return store.backend.run("test", lambda session: session.has_table(name), write=False)


def quoted(store: SnapshotStore, name: str) -> str:
    """``name`` as the backend writes it in SQL (quoted, schema-qualified)."""

    def work(session: Session) -> str:
        return session.name(name)

    return store.backend.run("test", work, write=False)
