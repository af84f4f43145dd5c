"""Reading sources and writing tables: the file and DuckDB edge of the core library."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from synth_pipeline.config import SourceConfig
from synth_pipeline.errors import InvalidDataError

TABLE_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".pq")


def _format_of(path: Path, explicit: str | None = None) -> str:
    if explicit:
        return explicit
    name = path.name.lower()
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith((".csv", ".csv.gz", ".csv.bz2", ".csv.zip", ".csv.xz", ".txt", ".tsv")):
        return "csv"
    raise InvalidDataError(f"cannot tell the format of {str(path)!r}: use a .csv(.gz) or .parquet file")


def read_table(path: str | Path, *, format: str | None = None) -> pd.DataFrame:
    """Read a CSV (optionally compressed) or Parquet file, with clear errors."""
    path = Path(path)
    if not path.is_file():
        raise InvalidDataError(f"file {str(path)!r} does not exist")
    kind = _format_of(path, format)
    try:
        if kind == "parquet":
            return pd.read_parquet(path)
        sep = "\t" if path.name.lower().endswith(".tsv") else ","
        return _typed_columns(pd.read_csv(path, sep=sep, dtype=str, keep_default_na=True))
    except pd.errors.EmptyDataError:
        raise InvalidDataError(f"file {str(path)!r} is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise InvalidDataError(f"cannot read {kind} file {str(path)!r}: {first_line}") from None


def _typed_columns(text: pd.DataFrame) -> pd.DataFrame:
    """Numbers and booleans from CSV text, like pandas would, except codes with leading zeros ("02134") stay text."""
    out = {}
    for name in text.columns:
        column = text[name]
        values = column.dropna().str.strip()
        if len(values) and values.isin(["True", "False"]).all():
            out[name] = column.map({"True": True, "False": False}).astype("boolean" if column.isna().any() else bool)
            continue
        numbers = pd.to_numeric(values, errors="coerce")
        if len(values) and numbers.notna().all() and not values.str.match(r"^[+-]?0\d").any():
            numbers = pd.to_numeric(column.str.strip(), errors="coerce")
            if not column.isna().any() and not values.str.contains(r"[.eE]|inf|nan", case=False).any():
                numbers = numbers.astype("int64")
            out[name] = numbers
        else:
            out[name] = column
    return pd.DataFrame(out, index=text.index)


def read_sql(query: str) -> pd.DataFrame:
    """Run a DuckDB query (e.g. over read_csv/read_parquet) and return its result."""
    import duckdb

    try:
        with duckdb.connect() as connection:
            return connection.sql(query).df()
    except duckdb.Error as error:
        raise InvalidDataError(f"source query failed: {str(error).splitlines()[0]}") from None


def read_source(source: SourceConfig) -> pd.DataFrame:
    """Load the real table a dataset config points at."""
    if source.path is not None:
        return read_table(source.path, format=source.format)
    if source.sql is not None:
        return read_sql(source.sql)
    from synth_pipeline.simulate import simulate_churn

    return simulate_churn(source.simulate.rows, random_state=source.simulate.seed)


def source_probe(source: SourceConfig) -> dict[str, Any]:
    """A cheap signature of the source that changes when its content may have changed.

    Files: size and modification time. Queries: row count of the query. Simulated
    sources never change.
    """
    if source.path is not None:
        path = Path(source.path)
        if not path.is_file():
            raise InvalidDataError(f"source file {str(path)!r} does not exist")
        stat = path.stat()
        return {"kind": "file", "path": str(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    if source.sql is not None:
        count = read_sql(f"select count(*) as n from ({source.sql})")["n"].iloc[0]
        return {"kind": "sql", "sql_hash": hashlib.sha256(source.sql.encode()).hexdigest()[:16], "rows": int(count)}
    return {"kind": "simulate", **source.simulate.model_dump()}


def write_table(data: pd.DataFrame, path: str | Path) -> Path:
    """Write ``data`` as CSV or Parquet by extension, atomically (temp file, then rename)."""
    path = Path(path)
    kind = _format_of(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    if kind == "parquet":
        data.to_parquet(tmp, index=False)
    else:
        data.to_csv(tmp, index=False, compression="gzip" if path.name.endswith(".gz") else None)
    tmp.replace(path)
    return path


def write_batches(batches: Iterable[pd.DataFrame], path: str | Path) -> int:
    """Stream chunks of one table into CSV or Parquet without holding them all; returns rows written."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    kind = _format_of(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    rows = 0
    writer = None
    try:
        for index, batch in enumerate(batches):
            if kind == "parquet":
                table = pa.Table.from_pandas(batch, preserve_index=False)
                if writer is None:
                    writer = pq.ParquetWriter(tmp, table.schema)
                writer.write_table(table.cast(writer.schema))
            else:
                batch.to_csv(tmp, index=False, mode="w" if index == 0 else "a", header=index == 0)
            rows += len(batch)
    finally:
        if writer is not None:
            writer.close()
    tmp.replace(path)
    return rows
