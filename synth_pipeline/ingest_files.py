"""A source into the private store: streamed into one compact Parquet file and fingerprinted as it is read.

A source's Parquet file (the source itself, or the copy :mod:`synth_pipeline.source_stream` streamed a CSV file,
a query or a PostgreSQL table into) is read one record batch at a time (never whole); a simulated table (or a
table in memory) is written out in chunks. The copy is *compact*: text columns with repeated
values are dictionary-encoded (one code per row, each label stored once) and whole numbers take the narrowest
integer type that holds them; the plan comes from one DuckDB pass over a Parquet source (min, max and approximate
distinct counts) or from the table in memory.

The fingerprint is that of the table *as read* (:func:`synth_pipeline.profile.fingerprint_table` of what
``read_source`` returns, dtypes included), computed batch by batch, so it equals the one the drift sensor takes; it
is stored, with the probe taken before reading, in the copy's Parquet metadata (:func:`ingest_record`): a source
that grows while it is read keeps the fingerprint taken at ingest.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from synth_pipeline.errors import InvalidDataError
from synth_pipeline.table_files import DEFAULT_BATCH_ROWS, TableFiles, write_table_files

#: key of the ingest record (fingerprint, probe) in the Parquet file's key-value metadata
INGEST_METADATA_KEY = "synth_pipeline.ingest"
#: a text column is dictionary-encoded when it has at most this share of distinct values
DICTIONARY_MAX_DISTINCT_SHARE = 0.5


class Fingerprinter:
    """:func:`synth_pipeline.profile.fingerprint_table` of a table fed in consecutive chunks (same result)."""

    def __init__(self, dtypes: dict[str, Any]) -> None:
        self.dtypes = dtypes
        self.columns = [{"name": str(name), "dtype": str(dtype)} for name, dtype in dtypes.items()]
        self.digest = hashlib.sha256(json.dumps(self.columns, sort_keys=True).encode())
        self.rows = 0

    def update(self, chunk: pd.DataFrame) -> None:
        """Add the next rows (columns and dtypes as given at the start)."""
        if not len(chunk) or not chunk.shape[1]:
            self.rows += len(chunk)
            return
        try:
            hashes = pd.util.hash_pandas_object(chunk, index=False)
        except TypeError:  # unhashable cells (lists, dicts): hash their text
            hashes = pd.util.hash_pandas_object(chunk.astype(str), index=False)
        self.digest.update(hashes.to_numpy().tobytes())
        self.rows += len(chunk)

    def result(self) -> dict[str, Any]:
        """The fingerprint: content hash, row count, column names and dtypes."""
        return {"content_hash": self.digest.hexdigest(), "row_count": self.rows, "columns": self.columns}


def pandas_dtypes(files: TableFiles) -> dict[str, Any]:
    """The dtypes ``pandas.read_parquet`` gives the whole of ``files`` (a batch alone may differ: ints with nulls)."""
    dtypes = dict(files.schema.empty_table().to_pandas().dtypes.items())
    nulls = files.null_counts()
    for field in files.schema:
        if nulls.get(field.name) and str(dtypes[field.name]) in {"int8", "int16", "int32", "int64", "uint8",
                                                                  "uint16", "uint32", "uint64"}:
            dtypes[field.name] = np.dtype("float64")
        elif nulls.get(field.name) and str(dtypes[field.name]) == "bool":
            dtypes[field.name] = np.dtype("object")
    return dtypes


def as_read(batch: pa.RecordBatch, dtypes: dict[str, Any]) -> pd.DataFrame:
    """One batch as the whole table's read gives its rows (``dtypes`` from :func:`pandas_dtypes`)."""
    frame = pa.Table.from_batches([batch]).to_pandas()
    for name, dtype in dtypes.items():
        if str(frame[name].dtype) != str(dtype):
            frame[name] = frame[name].astype(dtype)
    return frame


def read_batches(path: Path, batch_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[pd.DataFrame]:
    """A Parquet file as DataFrame batches, each as the whole file's read gives its rows."""
    files = TableFiles.of(path)
    dtypes = pandas_dtypes(files)
    for batch in files.batches(batch_rows):
        yield as_read(batch, dtypes)


def fingerprint_parquet(path: Path) -> dict[str, Any]:
    """``fingerprint_table(pandas.read_parquet(path))``, one batch at a time."""
    fingerprint = Fingerprinter(pandas_dtypes(TableFiles.of(path)))
    for frame in read_batches(path):
        fingerprint.update(frame)
    return fingerprint.result()


# -- the compact plan -------------------------------------------------------------------------
def _narrowest_int(lo: int, hi: int) -> pa.DataType | None:
    """The narrowest signed integer type holding ``lo..hi``; None beyond int32 (the column keeps its type)."""
    for candidate in (pa.int8(), pa.int16(), pa.int32()):
        info = np.iinfo(candidate.to_pandas_dtype())
        if info.min <= lo and hi <= info.max:
            return candidate
    return None


def compact_schema(schema: pa.Schema, stats: dict[str, tuple[Any, ...]], rows: int) -> pa.Schema:
    """``schema`` with narrow integers and dictionary-encoded text where ``stats`` allow, without pandas metadata.

    ``stats``: per integer column ``("int", min, max)``, per text column ``("text", distinct)``.
    """
    fields = []
    for field in schema:
        kind = stats.get(field.name, ("",))
        narrow = _narrowest_int(int(kind[1]), int(kind[2])) if kind[0] == "int" and kind[1] is not None else None
        if narrow is not None:
            field = field.with_type(narrow)
        elif kind[0] == "text" and kind[1] <= max(1, DICTIONARY_MAX_DISTINCT_SHARE * rows):
            field = field.with_type(pa.dictionary(pa.int32(), pa.string()))
        fields.append(field)
    return pa.schema(fields)


def _is_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def parquet_stats(path: Path, schema: pa.Schema) -> dict[str, tuple[Any, ...]]:
    """Min/max of integer columns and approximate distinct counts of text columns: one DuckDB pass over ``path``."""
    import duckdb

    parts, plan = [], []
    for field in schema:
        quoted = '"' + field.name.replace('"', '""') + '"'
        if pa.types.is_integer(field.type):
            parts += [f"min({quoted})", f"max({quoted})"]
            plan.append((field.name, "int", 2))
        elif _is_text(field.type):
            parts.append(f"approx_count_distinct({quoted})")
            plan.append((field.name, "text", 1))
    if not parts:
        return {}
    try:
        with duckdb.connect() as connection:
            connection.execute("SET threads = 2; SET memory_limit = '256MB'; SET enable_progress_bar = false")
            values = connection.execute(f"SELECT {', '.join(parts)} FROM read_parquet(?)", [str(path)]).fetchone()
    except duckdb.Error:  # a type DuckDB cannot read: the copy keeps the source's types
        return {}
    stats, at = {}, 0
    for name, kind, width in plan:
        stats[name] = (kind, *values[at : at + width])
        at += width
    return stats


def frame_stats(table: pd.DataFrame) -> dict[str, tuple[Any, ...]]:
    """The same statistics as :func:`parquet_stats`, of a table in memory."""
    stats: dict[str, tuple[Any, ...]] = {}
    for name in table.columns:
        column = table[name]
        if pd.api.types.is_integer_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype):
            present = column.dropna()
            stats[str(name)] = ("int", present.min() if len(present) else None, present.max() if len(present) else None)
        elif pd.api.types.is_string_dtype(column.dtype) or isinstance(column.dtype, pd.CategoricalDtype):
            stats[str(name)] = ("text", int(column.nunique()))
    return stats


# -- writing the copy -----------------------------------------------------------------------
def ingest_record(files: TableFiles) -> dict[str, Any]:
    """The fingerprint and probe stored in an ingested copy ({} for a file written otherwise)."""
    raw = files.key_value(INGEST_METADATA_KEY)
    return json.loads(raw) if raw else {}


def _cast(chunk: pa.Table, schema: pa.Schema, where: str) -> pa.Table:
    try:
        return chunk.select(schema.names).cast(schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as error:
        raise InvalidDataError(f"{where}: cannot store the rows as Parquet: {error}") from None


def copy_parquet(path: Path, target: Path, probe: dict[str, Any], batch_rows: int = DEFAULT_BATCH_ROWS) -> TableFiles:
    """Stream the Parquet file ``path`` into a compact copy at ``target``, fingerprinting it as read."""
    source = TableFiles.of(path)
    schema = compact_schema(source.schema, parquet_stats(path, source.schema), source.rows)
    dtypes = pandas_dtypes(source)
    fingerprint = Fingerprinter(dtypes)

    def chunks() -> Iterator[pa.Table]:
        for batch in source.batches(batch_rows):
            fingerprint.update(as_read(batch, dtypes))
            yield _cast(pa.Table.from_batches([batch]), schema, f"source file {str(path)!r}")

    def record() -> dict[str, str]:
        return {INGEST_METADATA_KEY: json.dumps({"fingerprint": fingerprint.result(), "probe": probe}, default=str)}

    return write_table_files(chunks(), target, schema=schema, key_value=record)


def copy_frame(table: pd.DataFrame, target: Path, probe: dict[str, Any], fingerprint: dict[str, Any],
               batch_rows: int = DEFAULT_BATCH_ROWS) -> TableFiles:
    """Write a table read in memory as a compact copy at ``target`` (in chunks), with its fingerprint."""
    try:
        arrow_schema = pa.Schema.from_pandas(table.head(0), preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as error:
        raise InvalidDataError(f"the source cannot be stored as Parquet: {error}") from None
    schema = compact_schema(arrow_schema, frame_stats(table), len(table))

    def chunks() -> Iterator[pa.Table]:
        for start in range(0, max(len(table), 1), batch_rows):
            try:
                chunk = pa.Table.from_pandas(table.iloc[start : start + batch_rows], preserve_index=False)
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as error:
                raise InvalidDataError(f"the source cannot be stored as Parquet: {error}") from None
            yield _cast(chunk, schema, "the source")

    record = {INGEST_METADATA_KEY: json.dumps({"fingerprint": fingerprint, "probe": probe}, default=str)}
    return write_table_files(chunks(), target, schema=schema, key_value=lambda: record)


__all__ = [
    "DICTIONARY_MAX_DISTINCT_SHARE",
    "Fingerprinter",
    "INGEST_METADATA_KEY",
    "as_read",
    "compact_schema",
    "copy_frame",
    "copy_parquet",
    "fingerprint_parquet",
    "frame_stats",
    "ingest_record",
    "pandas_dtypes",
    "parquet_stats",
    "read_batches",
]
