"""A table stored as Parquet files in the private store: a small handle that never holds the rows itself.

:class:`TableFiles` names the files of one table (one file, or the shards of a snapshot, in order) and reads
them in bounded pieces: the row count and the Arrow schema come from the Parquet footers, :meth:`TableFiles.batches`
streams record batches, :meth:`TableFiles.sample` draws a reproducible row subsample (seeded) one row group at a
time, and :meth:`TableFiles.read` / :meth:`TableFiles.to_pandas` read all rows or selected columns.
:func:`write_table_files` writes Arrow batches (or pandas chunks) as one Parquet file, atomically.
A handle travels between steps as a plain dict (:meth:`TableFiles.to_record`).

>>> files = write_table_files([batch_1, batch_2], run_dir / "training.parquet")   # doctest: +SKIP
>>> files.rows, files.schema.names                                                # doctest: +SKIP
>>> subsample = files.sample(50_000, seed=0)                                      # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from synth_pipeline.errors import InvalidDataError
from synth_pipeline.io import atomic_path

DEFAULT_BATCH_ROWS = 65_536
#: rows per Parquet row group written here: the unit a subsample or a streamed read holds at once
ROW_GROUP_ROWS = 131_072


@dataclass(frozen=True)
class TableFiles:
    """One table as an ordered list of Parquet files with the same columns (rows: file by file, in order)."""

    paths: tuple[Path, ...]

    @classmethod
    def of(cls, paths: str | Path | Sequence[str | Path]) -> TableFiles:
        """A handle on one file or on several (in the order given); each must exist."""
        listed = [paths] if isinstance(paths, (str, Path)) else list(paths)
        if not listed:
            raise InvalidDataError("a table needs at least one Parquet file; none was given")
        missing = [str(p) for p in listed if not Path(p).is_file()]
        if missing:
            raise InvalidDataError(f"Parquet file {missing[0]!r} does not exist")
        return cls(tuple(Path(p) for p in listed))

    @classmethod
    def in_directory(cls, directory: str | Path, pattern: str = "*.parquet") -> TableFiles:
        """The Parquet files of ``directory`` matching ``pattern``, in name order (shards named to sort)."""
        found = sorted(Path(directory).glob(pattern))
        if not found:
            raise InvalidDataError(f"no Parquet files match {pattern!r} in {str(directory)!r}")
        return cls(tuple(found))

    # -- metadata (footers only) -----------------------------------------------------------
    @cached_property
    def _files(self) -> list[pq.ParquetFile]:
        opened = []
        for path in self.paths:
            try:
                # pre_buffer=False: with it, pyarrow keeps every row group it read buffered until the file is closed
                opened.append(pq.ParquetFile(path, pre_buffer=False))
            except (pa.ArrowInvalid, OSError) as error:
                first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
                raise InvalidDataError(f"cannot read parquet file {str(path)!r}: {first_line}") from None
        return opened

    @property
    def rows(self) -> int:
        """Number of rows, from the files' footers."""
        return sum(f.metadata.num_rows for f in self._files)

    def __len__(self) -> int:
        """Number of rows (as for a DataFrame)."""
        return self.rows

    @property
    def file_rows(self) -> list[int]:
        """Rows per file, in order."""
        return [f.metadata.num_rows for f in self._files]

    @property
    def schema(self) -> pa.Schema:
        """The Arrow schema of the first file (with its pandas metadata); the others must have the same names."""
        schema = self._files[0].schema_arrow
        for path, other in zip(self.paths[1:], self._files[1:], strict=True):
            if other.schema_arrow.names != schema.names:
                raise InvalidDataError(
                    f"Parquet file {str(path)!r} has columns {other.schema_arrow.names}, not {schema.names}"
                )
        return schema

    @property
    def columns(self) -> list[str]:
        """Column names, in order."""
        return list(self.schema.names)

    @property
    def bytes(self) -> int:
        """Size of the files on disk."""
        return sum(path.stat().st_size for path in self.paths)

    def key_value(self, key: str) -> str | None:
        """The first file's key-value metadata entry ``key`` (see ``write_table_files(key_value=...)``), or None."""
        raw = (self._files[0].metadata.metadata or {}).get(key.encode())
        return raw.decode() if raw is not None else None

    def null_counts(self) -> dict[str, int]:
        """Missing values per column, from the row-group statistics (read from the data where a file has none)."""
        counts = dict.fromkeys(self.columns, 0)
        for file in self._files:
            meta = file.metadata
            for g in range(meta.num_row_groups):
                group = meta.row_group(g)
                for c in range(group.num_columns):
                    column = group.column(c)
                    name = column.path_in_schema.split(".")[0]
                    if name not in counts:
                        continue
                    stats = column.statistics
                    if stats is not None and stats.has_null_count:
                        counts[name] += stats.null_count
                    else:
                        counts[name] += file.read_row_group(g, columns=[name]).column(0).null_count
        return counts

    # -- reading ------------------------------------------------------------------------------
    def read(self, columns: Sequence[str] | None = None) -> pa.Table:
        """All rows (of ``columns``, default all) as one Arrow table."""
        self._check_columns(columns)
        cols = list(columns) if columns is not None else None
        tables = [f.read(columns=cols) for f in self._files]
        return pa.concat_tables(tables, promote_options="permissive") if len(tables) > 1 else tables[0]

    def to_pandas(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """All rows (of ``columns``) as a DataFrame with a 0..n-1 index, dtypes as pandas reads the files."""
        return self.read(columns).to_pandas()

    def batches(
        self, batch_rows: int = DEFAULT_BATCH_ROWS, columns: Sequence[str] | None = None
    ) -> Iterator[pa.RecordBatch]:
        """Record batches of at most ``batch_rows`` rows, file by file, in row order."""
        self._check_columns(columns)
        cols = list(columns) if columns is not None else None
        for file in self._files:
            yield from file.iter_batches(batch_size=batch_rows, columns=cols, use_threads=False)

    def pandas_batches(
        self, batch_rows: int = DEFAULT_BATCH_ROWS, columns: Sequence[str] | None = None
    ) -> Iterator[pd.DataFrame]:
        """:meth:`batches` as DataFrames (each with its own 0-based index)."""
        for batch in self.batches(batch_rows, columns):
            yield pa.Table.from_batches([batch]).to_pandas()

    def take(self, rows: np.ndarray, columns: Sequence[str] | None = None) -> pa.Table:
        """The rows at positions ``rows`` (ints in ``range(self.rows)``, any order, repeats allowed), in that order.

        Reads one row group at a time: memory holds one row group plus the rows taken.
        """
        self._check_columns(columns)
        rows = np.asarray(rows, dtype=np.int64)
        if len(rows) and (rows.min() < 0 or rows.max() >= self.rows):
            raise InvalidDataError(f"row positions must lie in 0..{self.rows - 1}")
        order = np.argsort(rows, kind="stable")
        wanted = rows[order]
        pieces, start = [], 0
        cols = list(columns) if columns is not None else None
        for file in self._files:
            meta = file.metadata
            for g in range(meta.num_row_groups):
                stop = start + meta.row_group(g).num_rows
                lo, hi = np.searchsorted(wanted, [start, stop])
                if hi > lo:
                    group = file.read_row_group(g, columns=cols)
                    pieces.append(group.take(pa.array(wanted[lo:hi] - start)))
                start = stop
        if not pieces:
            return self.schema.empty_table() if cols is None else self.schema.empty_table().select(cols)
        taken = pa.concat_tables(pieces, promote_options="permissive")
        return taken.take(pa.array(np.argsort(order, kind="stable")))

    def sample(self, n: int, *, seed: int, columns: Sequence[str] | None = None) -> pa.Table:
        """A reproducible subsample of ``n`` distinct rows (all rows when the table has fewer), in row order.

        The same files and ``seed`` always give the same rows.
        """
        if n < 0:
            raise InvalidDataError(f"a subsample needs a row count >= 0, got {n}")
        total = self.rows
        if n >= total:
            return self.read(columns)
        chosen = np.sort(np.random.default_rng(seed).choice(total, size=n, replace=False))
        return self.take(chosen, columns)

    def _check_columns(self, columns: Sequence[str] | None) -> None:
        if columns is None:
            return
        unknown = [c for c in columns if c not in self.columns]
        if unknown:
            raise InvalidDataError(f"column {unknown[0]!r} is not in the table; its columns are {self.columns}")

    # -- travelling between steps ----------------------------------------------------------------
    def to_record(self) -> dict[str, Any]:
        """A plain dict (JSON) naming the files and the row count."""
        return {"table_files": [str(p) for p in self.paths], "rows": self.rows}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> TableFiles:
        """Read :meth:`to_record` back (the files must still exist)."""
        return cls.of(record["table_files"])

    @staticmethod
    def is_record(value: Any) -> bool:
        """Whether ``value`` is a :meth:`to_record` dict."""
        return isinstance(value, dict) and isinstance(value.get("table_files"), list)


def _as_arrow(batch: pa.RecordBatch | pa.Table | pd.DataFrame) -> pa.Table:
    if isinstance(batch, pd.DataFrame):
        return pa.Table.from_pandas(batch, preserve_index=False)
    if isinstance(batch, pa.RecordBatch):
        return pa.Table.from_batches([batch])
    return batch


def write_table_files(
    batches: Iterable[pa.RecordBatch | pa.Table | pd.DataFrame],
    path: str | Path,
    *,
    schema: pa.Schema | None = None,
    row_group_rows: int = ROW_GROUP_ROWS,
    key_value: Callable[[], Mapping[str, str]] | None = None,
) -> TableFiles:
    """Write batches (Arrow or pandas, same columns) as one Parquet file at ``path``, atomically.

    The file's schema is ``schema`` or the first batch's; later batches are cast to it. Nothing is
    held beyond one batch; a failure leaves no file. Without any batch, ``schema`` is required
    and an empty file is written. ``key_value`` is called once every batch is written; its entries go into the
    file's key-value metadata (say, a fingerprint computed while the batches streamed by).
    """
    writer: pq.ParquetWriter | None = None
    with atomic_path(path) as tmp:
        try:
            for batch in batches:
                table = _as_arrow(batch)
                if writer is None:
                    writer = pq.ParquetWriter(tmp, schema or table.schema)
                try:
                    table = table.select(writer.schema.names).cast(writer.schema)
                except (KeyError, pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
                    raise InvalidDataError(f"a batch for {str(path)!r} does not fit its schema: {error}") from None
                writer.write_table(table, row_group_size=row_group_rows)
            if writer is None:
                if schema is None:
                    raise InvalidDataError(f"no rows to write to {str(path)!r} and no schema to write an empty file")
                writer = pq.ParquetWriter(tmp, schema)
                writer.write_table(schema.empty_table())
            if key_value is not None:
                writer.add_key_value_metadata(dict(key_value()))
        finally:
            if writer is not None:
                writer.close()
    return TableFiles.of(path)


__all__ = ["DEFAULT_BATCH_ROWS", "ROW_GROUP_ROWS", "TableFiles", "write_table_files"]
