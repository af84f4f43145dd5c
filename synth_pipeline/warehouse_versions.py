"""Version numbers and the ``<dataset>_latest`` view, inside a warehouse transaction (any backend's session)."""

from __future__ import annotations

from synth_pipeline.errors import StoreError
from synth_pipeline.warehouse_backend import Session
from synth_pipeline.warehouse_catalog import CATALOG_TABLE, latest_view_name, snapshot_table_name


def next_version(session: Session, dataset: str, where: str) -> int:
    """The next version number inside the caller's transaction; refuses a name clashing in letter case."""
    catalog = session.name(CATALOG_TABLE)
    clash = session.rows(
        f"SELECT DISTINCT dataset FROM {catalog} WHERE lower(dataset) = lower(?) AND dataset <> ?",
        [dataset, dataset],
    )
    if clash:
        raise StoreError(
            f"dataset {dataset!r} differs only in letter case from {clash[0][0]!r}, which the warehouse "
            f"{where} already holds; table names are case-insensitive, choose another name"
        )
    rows = session.rows(f"SELECT coalesce(max(version), 0) + 1 FROM {catalog} WHERE dataset = ?", [dataset])
    return int(rows[0][0])


def refresh_latest_view(session: Session, dataset: str) -> int | None:
    """Point ``<dataset>_latest`` at the newest published, passing version (or drop it); in the transaction."""
    latest = session.rows(
        f"SELECT max(version) FROM {session.name(CATALOG_TABLE)} "
        "WHERE dataset = ? AND status = 'published' AND gates_passed",
        [dataset],
    )[0][0]
    view = session.name(latest_view_name(dataset))
    session.rows(f"DROP VIEW IF EXISTS {view}")  # not CREATE OR REPLACE: a new version may change columns
    if latest is None:
        return None
    session.rows(f"CREATE VIEW {view} AS SELECT * FROM {session.name(snapshot_table_name(dataset, int(latest)))}")
    return int(latest)


__all__ = ["next_version", "refresh_latest_view"]
