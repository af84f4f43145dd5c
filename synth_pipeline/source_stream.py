"""Every file, query and database source streams into one Parquet file, a batch at a time, never read whole.

:func:`streamed_parquet` gives the Parquet file the ingest step (and the drift sensor) reads a source from: a
Parquet file source is that file itself; a CSV file, a DuckDB query and a PostgreSQL table or query are streamed
into a plain Parquet copy first (the *source as read*), whose fingerprint and compact copy are then taken batch by
batch (:mod:`synth_pipeline.ingest_files`), so the fingerprint of what ingest read and what the drift sensor
reads are taken the same way:

* CSV: pandas' parser in chunks of :data:`~synth_pipeline.io.CSV_CHUNK_ROWS` rows, twice: the first pass decides
  each column's type (:class:`~synth_pipeline.io.CsvTypes`, as a whole read would), the second writes typed chunks;
* a DuckDB query (``source.sql``): its result as Arrow record batches, in the query's sandbox;
* PostgreSQL: a server-side cursor (``DECLARE ... CURSOR``) fetched :data:`POSTGRES_BATCH_ROWS` rows at a time,
  inside the read-only transaction, each batch converted as a whole read converts it.

A simulated source (or a reader that is not a configured source) does not stream: None.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synth_pipeline.config import SourceConfig
from synth_pipeline.errors import InvalidDataError
from synth_pipeline.io import _format_of, read_csv_chunks
from synth_pipeline.table_files import DEFAULT_BATCH_ROWS, write_table_files

#: rows per batch fetched from a PostgreSQL server-side cursor
POSTGRES_BATCH_ROWS = 50_000


@dataclass(frozen=True)
class Streamed:
    """A source's rows in one Parquet file; ``copy`` says whether that file is a copy made here (to remove)."""

    path: Path
    copy: bool
    rows: int | None = None


def streams(source: Any) -> bool:
    """Whether ``source`` streams (a configured file, query or PostgreSQL source), rather than being read whole."""
    from synth_pipeline.sources import ConfiguredSource

    return isinstance(source, ConfiguredSource) and source.config.simulate is None


def streamed_parquet(source: Any, directory: str | Path) -> Streamed | None:
    """The Parquet file ``source`` (a :class:`~synth_pipeline.sources.ConfiguredSource`) streams into.

    Without a copy for a Parquet file source; else written to ``directory`` as ``.source-as-read.parquet``.
    None for a simulated source or any other reader (those are read whole).
    """
    if not streams(source):
        return None
    config: SourceConfig = source.config
    target = Path(directory) / ".source-as-read.parquet"
    if config.path is not None:
        path = Path(config.path)
        if not path.is_file():
            raise InvalidDataError(f"file {str(path)!r} does not exist")
        if _format_of(path, config.format) == "parquet":
            return Streamed(path, copy=False)
        types, chunks = read_csv_chunks(path)
        files = write_table_files(chunks, target, schema=types.arrow_schema())
        return Streamed(files.paths[0], copy=True, rows=files.rows)
    if config.sql is not None:
        from synth_pipeline.sql_source import query_batches

        with query_batches(config.sql, config.allowed_paths, DEFAULT_BATCH_ROWS) as (schema, batches):
            files = write_table_files(batches, target, schema=schema)
        return Streamed(files.paths[0], copy=True, rows=files.rows)
    if config.postgres is not None:
        from synth_pipeline.sources_postgres import postgres_batches

        with postgres_batches(config.postgres, POSTGRES_BATCH_ROWS) as (schema, batches):
            files = write_table_files(batches, target, schema=schema)
        return Streamed(files.paths[0], copy=True, rows=files.rows)
    return None


def remove_copy(streamed: Streamed | None) -> None:
    """Remove the copy :func:`streamed_parquet` made (never a source file itself)."""
    if streamed is not None and streamed.copy:
        streamed.path.unlink(missing_ok=True)


__all__ = ["POSTGRES_BATCH_ROWS", "Streamed", "remove_copy", "streamed_parquet", "streams"]
