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
from typing import Any

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


#: rows of a CSV file parsed at a time when it streams (:func:`read_csv_chunks`)
CSV_CHUNK_ROWS = 100_000


def read_table(path: str | Path, *, format: str | None = None) -> pd.DataFrame:
    """Read a CSV (optionally compressed) or Parquet file, with clear errors."""
    path = Path(path)
    if not path.is_file():
        raise InvalidDataError(f"file {str(path)!r} does not exist")
    kind = _format_of(path, format)
    with _read_errors(path, kind):
        if kind == "parquet":
            return pd.read_parquet(path)
        text = pd.read_csv(path, **_csv_options(path))
        types = CsvTypes()
        types.observe(text)
        return types.apply(text)


def read_csv_chunks(path: str | Path, chunk_rows: int | None = None) -> tuple[CsvTypes, Iterator[pd.DataFrame]]:
    """A CSV file as typed chunks without holding it: one pass decides each column's type, a second yields chunks.

    The chunks (``chunk_rows`` rows, default :data:`CSV_CHUNK_ROWS`) have the dtypes :func:`read_table` gives
    the whole file (same values, same rows, in order).
    """
    path, chunk_rows = Path(path), chunk_rows or CSV_CHUNK_ROWS
    if not path.is_file():
        raise InvalidDataError(f"file {str(path)!r} does not exist")
    types = CsvTypes()
    with _read_errors(path, "csv"):
        for text in pd.read_csv(path, chunksize=chunk_rows, **_csv_options(path)):
            types.observe(text)

    def chunks() -> Iterator[pd.DataFrame]:
        with _read_errors(path, "csv"):
            for text in pd.read_csv(path, chunksize=chunk_rows, **_csv_options(path)):
                yield types.apply(text)

    return types, chunks()


def _csv_options(path: Path) -> dict[str, object]:
    return {"sep": "\t" if path.name.lower().endswith(".tsv") else ",", "dtype": str, "keep_default_na": True}


@contextmanager
def _read_errors(path: Path, kind: str) -> Iterator[None]:
    """A reader's error as one line naming the file (and, for a malformed CSV, the line)."""
    try:
        yield
    except pd.errors.EmptyDataError:
        raise InvalidDataError(f"file {str(path)!r} is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise InvalidDataError(f"cannot read {kind} file {str(path)!r}: {first_line}") from None


class CsvTypes:
    """What a CSV file's text says each column holds, gathered chunk by chunk (:meth:`observe`), then applied.

    Numbers and booleans come from the text like pandas would, except that codes with leading zeros ("02134")
    stay text; whole numbers without a missing cell are ``int64``, other numbers ``float64``; ``True``/``False``
    columns are ``bool`` (``boolean`` with a missing cell).
    """

    def __init__(self) -> None:
        self.columns: dict[str, dict[str, bool | int]] = {}

    def observe(self, text: pd.DataFrame) -> None:
        """Fold the next rows (all text) into what is known of each column."""
        for name in text.columns:
            column = text[name]
            seen = self.columns.setdefault(name, {"values": 0, "missing": False, "bool": True, "number": True,
                                                  "leading_zero": False, "fraction": False})
            values = column.dropna().str.strip()
            seen["missing"] = bool(seen["missing"] or column.isna().any())
            if not len(values):
                continue
            seen["values"] = int(seen["values"]) + len(values)
            seen["bool"] = bool(seen["bool"] and values.isin(["True", "False"]).all())
            if seen["number"]:
                seen["number"] = bool(pd.to_numeric(values, errors="coerce").notna().all())
            if seen["number"]:
                seen["leading_zero"] = bool(seen["leading_zero"] or values.str.match(r"^[+-]?0\d").any())
                seen["fraction"] = bool(seen["fraction"] or values.str.contains(r"[.eE]|inf|nan", case=False).any())

    def kind(self, name: str) -> str:
        """``bool``, ``boolean``, ``int``, ``float`` or ``text``."""
        seen = self.columns[name]
        if seen["values"] and seen["bool"]:
            return "boolean" if seen["missing"] else "bool"
        if seen["values"] and seen["number"] and not seen["leading_zero"]:
            return "float" if seen["missing"] or seen["fraction"] else "int"
        return "text"

    def apply(self, text: pd.DataFrame) -> pd.DataFrame:
        """Rows of text (columns observed) as typed columns."""
        out = {}
        for name in text.columns:
            column, kind = text[name], self.kind(name)
            if kind in ("bool", "boolean"):
                out[name] = column.map({"True": True, "False": False}).astype(kind)
            elif kind in ("int", "float"):
                out[name] = pd.to_numeric(column.str.strip(), errors="coerce").astype(
                    "int64" if kind == "int" else "float64"
                )
            else:
                out[name] = column
        return pd.DataFrame(out, index=text.index)

    def arrow_schema(self) -> Any:
        """The Arrow schema of the typed columns."""
        import pyarrow as pa

        types = {"bool": pa.bool_(), "boolean": pa.bool_(), "int": pa.int64(), "float": pa.float64()}
        return pa.schema([(name, types.get(self.kind(name), pa.string())) for name in self.columns])


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
