"""The warehouse catalog: its columns, the lineage a snapshot records, table names, and value checks.

Everything here is pure (no connection): what :class:`synth_pipeline.warehouse.SnapshotStore`
writes into the ``snapshots`` table and how a publish's inputs are validated before
anything is written.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from synth_pipeline.columns import json_default, validate_dataset_name
from synth_pipeline.errors import ConfigError, InvalidDataError

CATALOG_TABLE = "snapshots"
META_TABLE = "_warehouse_meta"

CATALOG_COLUMNS: dict[str, str] = {
    "dataset": "VARCHAR NOT NULL",
    "version": "INTEGER NOT NULL",
    "created_at": "TIMESTAMP NOT NULL",  # UTC
    "row_count": "BIGINT NOT NULL",
    "table_name": "VARCHAR NOT NULL",
    "source_fingerprint": "VARCHAR",
    "generator": "VARCHAR",
    "model_id": "VARCHAR",
    "config_hash": "VARCHAR",
    "accuracy": "DOUBLE",
    "dcr_share": "DOUBLE",
    "gates_passed": "BOOLEAN NOT NULL",
    "gate_results": "VARCHAR",  # JSON list of gate results
    "qa_summary": "VARCHAR",  # JSON object
    "report_path": "VARCHAR",
    "library_version": "VARCHAR",
    "duckdb_version": "VARCHAR",
}
LINEAGE_KEYS = frozenset(
    {
        "source_fingerprint",
        "generator",
        "model_id",
        "config_hash",
        "accuracy",
        "dcr_share",
        "gates_passed",
        "gate_results",
        "qa_summary",
        "report_path",
    }
)


# -- names ---------------------------------------------------------------------------
def quote_identifier(name: str) -> str:
    """Quote an SQL identifier for DuckDB (double quotes, embedded quotes doubled)."""
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


def catalog_exists(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the connected database has the catalog table."""
    return bool(
        con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main' AND table_name = ?", [CATALOG_TABLE]
        ).fetchall()[0][0]
    )


def empty_catalog() -> pd.DataFrame:
    """A catalog frame with no rows and the catalog's column types."""
    dtypes = {
        "VARCHAR": "object",
        "INTEGER": "int32",
        "BIGINT": "int64",
        "DOUBLE": "float64",
        "BOOLEAN": "bool",
        "TIMESTAMP": "datetime64[us]",
    }
    return pd.DataFrame({n: pd.Series([], dtype=dtypes[t.split()[0]]) for n, t in CATALOG_COLUMNS.items()})


def to_arrow(synthetic: pd.DataFrame, dataset: str) -> Any:
    """``synthetic`` as an Arrow table ready for DuckDB, refusing what cannot be stored."""
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
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowException, TypeError, ValueError) as error:
        raise InvalidDataError(
            f"the synthetic table for {dataset!r} cannot be stored (a column mixes types?): {error}"
        ) from None


def lineage_row(lineage: Mapping[str, Any]) -> dict[str, Any]:
    """The catalog values of a publish's ``lineage`` (validated; JSON fields as text)."""
    if not isinstance(lineage, Mapping):
        raise ConfigError(f"lineage must be a mapping, got {type(lineage).__name__}")
    unknown = sorted(set(lineage) - LINEAGE_KEYS)
    if unknown:
        raise ConfigError(
            f"unknown lineage key(s) {', '.join(map(repr, unknown))}; known keys: {', '.join(sorted(LINEAGE_KEYS))}"
        )
    gates_passed = lineage.get("gates_passed", True)
    if not isinstance(gates_passed, (bool, np.bool_)):
        raise ConfigError(f"lineage 'gates_passed' must be true or false, got {gates_passed!r}")
    fingerprint = lineage.get("source_fingerprint")
    if isinstance(fingerprint, Mapping):  # a full fingerprint_table() dict: keep its hash
        fingerprint = fingerprint.get("content_hash") or to_json(fingerprint, setting="source_fingerprint")
    gate_results = lineage.get("gate_results")
    if gate_results is not None and not isinstance(gate_results, (list, tuple)):
        raise ConfigError("lineage 'gate_results' must be a list of gate results")
    qa_summary = lineage.get("qa_summary")
    if qa_summary is not None and not (isinstance(qa_summary, Mapping) or hasattr(qa_summary, "model_dump")):
        raise ConfigError("lineage 'qa_summary' must be a mapping")
    return {
        "source_fingerprint": _optional_text(fingerprint),
        "generator": _optional_text(lineage.get("generator")),
        "model_id": _optional_text(lineage.get("model_id")),
        "config_hash": _optional_text(lineage.get("config_hash")),
        "accuracy": _optional_float(lineage.get("accuracy"), setting="accuracy"),
        "dcr_share": _optional_float(lineage.get("dcr_share"), setting="dcr_share"),
        "gates_passed": bool(gates_passed),
        "gate_results": to_json(list(gate_results) if gate_results is not None else None, setting="gate_results"),
        "qa_summary": to_json(qa_summary, setting="qa_summary"),
        "report_path": _optional_text(lineage.get("report_path")),
    }
