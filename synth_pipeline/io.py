"""Reading and writing table files, and the one atomic-write helper every write site uses.

A file is written to a temporary name beside its target and renamed into place, so a reader
(or a crash) never sees half a file.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

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


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; renamed onto ``path`` when the block succeeds.

    On an error the temporary file (or directory) is removed and ``path`` is untouched.

    >>> with atomic_path("out/report.json") as tmp:      # doctest: +SKIP
    ...     tmp.write_text("{}")
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = "".join(path.suffixes[-2:]) if path.name.endswith(".gz") else path.suffix
    tmp = path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}.tmp{suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        raise


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically, as UTF-8."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_table(data: pd.DataFrame, path: str | Path) -> Path:
    """Write ``data`` as CSV or Parquet by extension, atomically (temp file, then rename)."""
    path = Path(path)
    kind = _format_of(path)
    with atomic_path(path) as tmp:
        if kind == "parquet":
            data.to_parquet(tmp, index=False)
        else:
            data.to_csv(tmp, index=False, compression="gzip" if path.name.endswith(".gz") else None)
    return path


def write_batches(batches: Iterable[pd.DataFrame], path: str | Path) -> int:
    """Stream chunks of one table into CSV or Parquet without holding them all; returns rows written."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    kind = _format_of(path)
    rows = 0
    writer = None
    with atomic_path(path) as tmp:
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
    return rows
