"""Which versions retention removes: published snapshots beyond what keep_last/keep_days keep, and old attempts.

Pure functions over the catalog rows of one dataset; the store runs them inside its transaction.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from synth_pipeline.errors import ConfigError
from synth_pipeline.warehouse_catalog import now


def check_retention(keep_last: Any, keep_days: Any) -> None:
    """Refuse retention settings that keep nothing meaningful."""
    if keep_last is None and keep_days is None:
        raise ConfigError("apply_retention needs keep_last and/or keep_days")
    if keep_last is not None and (not isinstance(keep_last, int) or isinstance(keep_last, bool) or keep_last < 1):
        raise ConfigError(f"keep_last must be a positive integer, got {keep_last!r}")
    if keep_days is not None and (
        not isinstance(keep_days, (int, float)) or isinstance(keep_days, bool) or not keep_days >= 0
    ):
        raise ConfigError(f"keep_days must be a non-negative number, got {keep_days!r}")


def retention_plan(rows: list[tuple], keep_last: int | None, keep_days: float | None) -> tuple[list[int], list[int]]:
    """(published versions to remove, blocked/failed attempts to remove) from catalog rows of one dataset."""
    cutoff = now() - timedelta(days=float(keep_days)) if keep_days is not None else None
    published = [(int(v), created, passed) for v, created, passed, status in rows if status == "published"]
    versions = [v for v, _, _ in published]
    keep: set[int] = set(versions[-keep_last:]) if keep_last is not None else set()
    if cutoff is not None:
        keep.update(v for v, created, _ in published if created >= cutoff)
    passing = [v for v, _, passed in published if passed]
    if passing:
        keep.add(max(passing))
    if not keep:
        return [], []
    oldest = min(keep)
    attempts = [
        int(v)
        for v, created, _, status in rows
        if status in ("blocked", "failed") and int(v) < oldest and (cutoff is None or created < cutoff)
    ]
    return [v for v in versions if v not in keep], attempts
