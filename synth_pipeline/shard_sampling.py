"""Sampling one shard: generate chunk by chunk (rules enforced inside the generator), write Parquet row groups.

The same function runs in every engine (in-process, a Ray worker), so a shard's bytes only
depend on the model, the shard's :class:`~synth_pipeline.shards.ShardSpec` and the chunk size.
Memory follows one chunk of rows plus the shard's compressed Parquet bytes.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import pandas as pd

from synth_pipeline.constraints.enforcement import SampleReport
from synth_pipeline.errors import InvalidDataError
from synth_pipeline.generators.base import Generator
from synth_pipeline.shards import ShardOutput, ShardSpec

#: rows generated and written per Parquet row group inside a shard
DEFAULT_CHUNK_ROWS = 50_000
#: Parquet settings every shard is written with (part of what makes two engines write the same bytes)
PARQUET_OPTIONS: dict[str, Any] = {"compression": "zstd", "write_statistics": True}


def arrow_schema(generator: Generator) -> Any:
    """The Arrow schema of a model's rows, from its schema alone (never from the rows a shard drew).

    Text columns (labels, string ids) hold strings even in a shard where every value is missing; ids
    regenerated as numbers are integers.
    """
    import pyarrow as pa

    empty = pa.Table.from_pandas(generator._empty(), preserve_index=False)
    numbered = {name for name, fmt in generator.id_columns_.items() if fmt.get("type") == "number"}
    fields = [
        pa.field(f.name, pa.int64() if f.name in numbered else pa.string()) if pa.types.is_null(f.type) else f
        for f in empty.schema
    ]
    return pa.schema(fields, metadata=empty.schema.metadata)


def _date_only(frame: pd.DataFrame, flags: dict[str, bool | None]) -> None:
    """Fold one chunk into ``flags``: per naive datetime column, whether every value so far is a midnight."""
    for name in frame.columns:
        column = frame[name]
        if not pd.api.types.is_datetime64_dtype(column.dtype):
            continue
        present = column.dropna()
        flags.setdefault(name, None)
        if len(present):
            chunk = bool((present.dt.normalize() == present).all())
            flags[name] = chunk if flags[name] is None else flags[name] and chunk


def render_shard(generator: Generator, spec: ShardSpec, *, chunk_rows: int) -> ShardOutput:
    """Sample shard ``spec`` from ``generator`` and return it as Parquet bytes (one row group per chunk)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    started = time.perf_counter()
    schema = arrow_schema(generator)
    report = SampleReport()
    flags: dict[str, bool | None] = {}
    sink = pa.BufferOutputStream()
    with pq.ParquetWriter(sink, schema, **PARQUET_OPTIONS) as writer:
        batches = generator.sample_batches(
            spec.rows, random_state=spec.seed, batch_rows=chunk_rows, report=report, row_offset=spec.offset
        )
        for frame in batches:
            _date_only(frame, flags)
            try:
                chunk = pa.Table.from_pandas(frame.reset_index(drop=True), schema=schema, preserve_index=False)
            except (pa.ArrowException, TypeError, ValueError) as error:
                raise InvalidDataError(f"shard {spec.index}: the sampled rows do not fit the model's columns: "
                                       f"{error}") from None
            writer.write_table(chunk, row_group_size=chunk_rows)
    data = sink.getvalue().to_pybytes()
    return ShardOutput(
        index=spec.index,
        rows=spec.rows,
        data=data,
        sha256=hashlib.sha256(data).hexdigest(),
        date_only=flags,
        rule_report=report.to_dict() if generator.enforcer_ is not None else None,
        seconds=time.perf_counter() - started,
    )


__all__ = ["DEFAULT_CHUNK_ROWS", "PARQUET_OPTIONS", "arrow_schema", "render_shard"]
