"""The warehouse catalog: its columns, the statuses of an attempt, table names, and value checks.

Everything here is pure (no connection): what :class:`synth_pipeline.warehouse.SnapshotStore`
writes into the ``snapshots`` table, in types every backend maps to its own, and how a
publish's inputs are validated before anything is written.

One catalog row per *attempt*: a run claims the next version number (status ``running``)
before it samples, and the row ends ``published`` (a snapshot table exists), ``blocked``
(blocking gates or rules failed; which ones, with values and thresholds) or ``failed``
(the step and the error). Version numbers are never reused.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np
import pandas as pd

from synth_pipeline.columns import json_default, validate_dataset_name
from synth_pipeline.errors import ConfigError, InvalidDataError

CATALOG_TABLE = "snapshots"
META_TABLE = "_warehouse_meta"
CATALOG_VERSION = 2  # 1: one row per published snapshot, JSON as text; 2: one row per attempt with a status

Status = Literal["running", "published", "blocked", "failed"]
STATUSES: tuple[Status, ...] = ("running", "published", "blocked", "failed")

# Portable column types; each backend maps them (DuckDB: VARCHAR, JSON...; PostgreSQL: TEXT, JSONB...).
CATALOG_COLUMNS: dict[str, str] = {
    "dataset": "text NOT NULL",
    "version": "int NOT NULL",
    "status": "text NOT NULL",  # running, published, blocked, failed
    "run_id": "text",  # the run that claimed the version
    "created_at": "timestamp NOT NULL",  # UTC, when the row got its status (a snapshot's publish time)
    "claimed_at": "timestamp",  # UTC, when the run claimed the version
    "row_count": "bigint",
    "table_name": "text",  # the snapshot table; only for published rows
    "source_fingerprint": "text",
    "generator": "text",
    "model_id": "text",
    "config_hash": "text",
    "seed": "bigint",  # the sampling seed, derived from the claimed version
    "accuracy": "double",
    "dcr_share": "double",
    "gates_passed": "bool",
    "gate_results": "json",  # list of gate results: name, value, threshold, blocking, passed
    "qa_summary": "json",  # object
    "report_path": "text",  # absolute path of the HTML QA report
    "failed_step": "text",
    "error": "text",  # why a run was blocked or failed (never a secret)
    "library_version": "text",
    "duckdb_version": "text",  # the DuckDB version that wrote a DuckDB warehouse's row
}
LINEAGE_KEYS = frozenset(
    {
        "source_fingerprint",
        "generator",
        "model_id",
        "config_hash",
        "seed",
        "accuracy",
        "dcr_share",
        "gates_passed",
        "gate_results",
        "qa_summary",
        "report_path",
    }
)
# What a claim records (the rest arrives with the verdict).
CLAIM_KEYS = frozenset({"source_fingerprint", "generator", "model_id", "config_hash", "seed"})


# -- names ---------------------------------------------------------------------------
def quote_identifier(name: str) -> str:
    """Quote an SQL identifier (double quotes, embedded quotes doubled)."""
    return '"' + str(name).replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """Quote an SQL string literal (single quotes, embedded quotes doubled)."""
    return "'" + str(text).replace("'", "''") + "'"


def snapshot_table_name(dataset: str, version: int) -> str:
    """The (unquoted) name of the data table of one snapshot version."""
    return f"{validate_dataset_name(dataset)}__v{int(version)}"


def latest_view_name(dataset: str) -> str:
    """The (unquoted) name of the view on a dataset's newest passing snapshot."""
    return f"{validate_dataset_name(dataset)}_latest"


def utc_naive(value: Any, *, setting: str = "as_of") -> datetime:
    """A timestamp as a naive UTC datetime (the catalog's convention)."""
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as error:
        raise ConfigError(f"{setting}: cannot read {value!r} as a timestamp ({error})") from None
    if pd.isna(stamp):
        raise ConfigError(f"{setting}: {value!r} is not a timestamp")
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp.to_pydatetime()


def now() -> datetime:
    """The current time as a naive UTC datetime."""
    return datetime.now(UTC).replace(tzinfo=None)


def to_json(value: Any, *, setting: str) -> str | None:
    """``value`` as catalog JSON text (None stays None); ``setting`` names it in the error."""
    if value is None:
        return None
    try:
        return json.dumps(value, default=json_default, sort_keys=True)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"lineage {setting!r} cannot be stored as JSON: {error}") from None


def _optional_float(value: Any, *, setting: str) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"lineage {setting!r} must be a number, got {value!r}") from None
    return number if math.isfinite(number) else None


def _optional_text(value: Any) -> str | None:
    return None if value is None else str(value)


def _optional_int(value: Any, *, setting: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ConfigError(f"lineage {setting!r} must be an integer, got {value!r}")
    return int(value)


def empty_catalog() -> pd.DataFrame:
    """A catalog frame with no rows and the catalog's column types."""
    dtypes = {
        "text": "object",
        "json": "object",
        "int": "int32",
        "bigint": "Int64",
        "double": "float64",
        "bool": "object",
        "timestamp": "datetime64[us]",
    }
    return pd.DataFrame({n: pd.Series([], dtype=dtypes[t.split()[0]]) for n, t in CATALOG_COLUMNS.items()})


def _date_only(column: pd.Series) -> bool:
    """A naive datetime column whose every value is a midnight: it holds dates (published as DATE)."""
    if not pd.api.types.is_datetime64_dtype(column.dtype):  # tz-aware columns are instants, not dates
        return False
    present = column.dropna()
    return len(present) > 0 and bool((present.dt.normalize() == present).all())


def to_arrow(synthetic: pd.DataFrame, dataset: str) -> Any:
    """``synthetic`` as an Arrow table ready for a warehouse, refusing what cannot be stored.

    A datetime column whose values are all midnights (a date in the source) becomes ``date32``,
    so the warehouse types it DATE rather than a timestamp.
    """
    import pyarrow as pa

    if not isinstance(synthetic, pd.DataFrame):
        raise InvalidDataError(f"publish({dataset!r}) expects a pandas DataFrame, got {type(synthetic).__name__}")
    if synthetic.shape[1] == 0:
        raise InvalidDataError(f"the synthetic table for {dataset!r} has no columns")
    names = [str(c) for c in synthetic.columns]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise InvalidDataError(
            f"the synthetic table for {dataset!r} has duplicated column names: {', '.join(duplicated)}"
        )
    frame = synthetic.reset_index(drop=True)
    frame.columns = names
    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowException, TypeError, ValueError) as error:
        raise InvalidDataError(
            f"the synthetic table for {dataset!r} cannot be stored (a column mixes types?): {error}"
        ) from None
    for position, name in enumerate(names):
        if _date_only(frame[name]):
            table = table.set_column(position, name, table.column(position).cast(pa.date32()))
    return table


def _check_keys(lineage: Mapping[str, Any], allowed: frozenset[str]) -> None:
    if not isinstance(lineage, Mapping):
        raise ConfigError(f"lineage must be a mapping, got {type(lineage).__name__}")
    unknown = sorted(set(lineage) - allowed)
    if unknown:
        raise ConfigError(
            f"unknown lineage key(s) {', '.join(map(repr, unknown))}; known keys: {', '.join(sorted(allowed))}"
        )


def claim_row(lineage: Mapping[str, Any]) -> dict[str, Any]:
    """The catalog values a claim records (validated): what produces the snapshot."""
    _check_keys(lineage, CLAIM_KEYS)
    fingerprint = lineage.get("source_fingerprint")
    if isinstance(fingerprint, Mapping):  # a full fingerprint_table() dict: keep its hash
        fingerprint = fingerprint.get("content_hash") or to_json(fingerprint, setting="source_fingerprint")
    return {
        "source_fingerprint": _optional_text(fingerprint),
        "generator": _optional_text(lineage.get("generator")),
        "model_id": _optional_text(lineage.get("model_id")),
        "config_hash": _optional_text(lineage.get("config_hash")),
        "seed": _optional_int(lineage.get("seed"), setting="seed"),
    }


def lineage_row(lineage: Mapping[str, Any]) -> dict[str, Any]:
    """The catalog values of a publish's (or a verdict's) ``lineage``, validated; JSON fields as text.

    Only the keys given are returned (besides ``gates_passed``, default True), so a
    verdict never blanks out what the claim recorded.
    """
    _check_keys(lineage, LINEAGE_KEYS)
    gates_passed = lineage.get("gates_passed", True)
    if not isinstance(gates_passed, (bool, np.bool_)):
        raise ConfigError(f"lineage 'gates_passed' must be true or false, got {gates_passed!r}")
    gate_results = lineage.get("gate_results")
    if gate_results is not None and not isinstance(gate_results, (list, tuple)):
        raise ConfigError("lineage 'gate_results' must be a list of gate results")
    qa_summary = lineage.get("qa_summary")
    if qa_summary is not None and not (isinstance(qa_summary, Mapping) or hasattr(qa_summary, "model_dump")):
        raise ConfigError("lineage 'qa_summary' must be a mapping")
    values = claim_row({k: v for k, v in lineage.items() if k in CLAIM_KEYS})
    values.update(
        {
            "accuracy": _optional_float(lineage.get("accuracy"), setting="accuracy"),
            "dcr_share": _optional_float(lineage.get("dcr_share"), setting="dcr_share"),
            "gates_passed": bool(gates_passed),
            "gate_results": to_json(list(gate_results) if gate_results is not None else None, setting="gate_results"),
            "qa_summary": to_json(qa_summary, setting="qa_summary"),
            "report_path": _optional_text(lineage.get("report_path")),
        }
    )
    return {k: v for k, v in values.items() if k in lineage or k == "gates_passed"}
