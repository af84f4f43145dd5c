"""What :class:`synth_pipeline.warehouse.SnapshotStore` needs from a database: the small backend interface.

The store's logic (claiming versions, publishing, verdicts, retention, reads) is written once
in portable SQL with ``?`` placeholders; a backend (DuckDB file, PostgreSQL schema) supplies
connections with retries and transactions, qualified names, the column types, bulk loading
and export. :func:`catalog_ddl` builds the catalog's tables for a backend's types.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pandas as pd

from synth_pipeline.warehouse_catalog import CATALOG_COLUMNS, CATALOG_TABLE, META_TABLE

T = TypeVar("T")

# Markers of an operating-system refusal to write, in the drivers' error texts.
NOT_WRITABLE_MARKERS = ("Permission denied", "Read-only file system", "Operation not permitted")


class Session(Protocol):
    """One open connection (inside a transaction when writing)."""

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        """Run ``sql`` (``?`` placeholders) and fetch every row."""

    def frame(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        """Run ``sql`` and return the result as a DataFrame (JSON columns as text)."""

    def name(self, name: str) -> str:
        """``name`` quoted (and qualified with the backend's schema)."""

    def has_table(self, name: str) -> bool:
        """Whether the table ``name`` exists."""

    def create_table(self, name: str, table: Any) -> None:
        """Create table ``name`` holding the Arrow ``table`` (bulk load)."""

    def create_table_from_parquet(self, name: str, paths: Sequence[Path], date_columns: Sequence[str]) -> None:
        """Create table ``name`` holding the rows of the Parquet ``paths`` in order, ``date_columns`` as DATE,
        read by the database from the files (never all in memory)."""

    def lock_catalog(self) -> None:
        """Serialize version claims against other writers until the transaction ends."""

    def export(self, select_sql: str, path: Path, file_format: str) -> None:
        """Write the result of ``select_sql`` to ``path`` as ``parquet`` or ``csv``."""


class Backend(Protocol):
    """A database that holds a warehouse."""

    where: str  # how messages name it (never with a password)
    reports_root: Path  # where the QA reports of its snapshots are written

    def exists(self) -> bool:
        """Whether the warehouse may hold a catalog already (readers never create one)."""

    def run(self, operation: str, work: Callable[[Session], T], *, write: bool) -> T:
        """Run ``work`` on a fresh session; a write runs in one transaction, committed only if it returns."""

    def query(self, sql: str, *, max_rows: int) -> pd.DataFrame:
        """One read-only statement (already checked to be a single SELECT), at most ``max_rows`` rows."""


def catalog_ddl(types: Mapping[str, str], name: Callable[[str], str]) -> list[str]:
    """The statements that create the meta and catalog tables with a backend's ``types`` and name quoting."""

    def column(spec: str) -> str:
        kind, _, constraint = spec.partition(" ")
        return f"{types[kind]} {constraint}".strip()

    columns = ", ".join(f'"{n}" {column(spec)}' for n, spec in CATALOG_COLUMNS.items())
    return [
        f"CREATE TABLE IF NOT EXISTS {name(META_TABLE)} (key {types['text']} PRIMARY KEY, value {types['text']})",
        f"CREATE TABLE IF NOT EXISTS {name(CATALOG_TABLE)} ({columns}, PRIMARY KEY (dataset, version))",
    ]


def not_writable(message: str) -> bool:
    """Whether a driver's error says the operating system refused a write."""
    return any(marker in message for marker in NOT_WRITABLE_MARKERS)
