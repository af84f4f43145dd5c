"""The first lifecycle steps: ingest the source into the private store, split it, pick the rows a generator learns.

Tables stay on disk between the steps, as compact Parquet files (:mod:`synth_pipeline.ingest_files`) behind a
:class:`~synth_pipeline.table_files.TableFiles` handle; only the stratifying column and the (capped) training
rows are ever read into memory. The steps also take a DataFrame (a notebook's table): then they work in memory,
with the same rows as the files would give.

    source = ingest(dataset, ConfiguredSource(dataset.source), run_dir)      # run_dir/source.parquet
    halves = split(dataset, source.files, run_dir)                           # training.parquet, holdout.parquet
    learned = training_sample(dataset, halves.training)                      # at most max_training_rows rows
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from synth_pipeline.config import DatasetConfig
from synth_pipeline.errors import InvalidDataError
from synth_pipeline.ingest_files import copy_frame, copy_parquet, ingest_record
from synth_pipeline.profile import fingerprint_table
from synth_pipeline.schema import Schema, infer_schema
from synth_pipeline.source_stream import remove_copy, streamed_parquet, streams
from synth_pipeline.sources import SourceReader, declared_kinds, read_and_probe, source_probe
from synth_pipeline.split import capped_positions, split_files, split_holdout
from synth_pipeline.table_files import TableFiles

#: rows the ingest step infers the source's column kinds from (a seeded sample of a larger source)
SCHEMA_SAMPLE_ROWS = 50_000

Table = pd.DataFrame | TableFiles


@dataclass(frozen=True)
class Ingested:
    """The real table as stored in the private store, with its inferred schema, fingerprint and probe.

    ``fingerprint`` is that of the source as read, taken while it was read; ``probe`` was taken before.
    """

    files: TableFiles
    schema: Schema
    fingerprint: dict[str, Any]
    probe: dict[str, Any]
    seconds: float

    @property
    def table(self) -> pd.DataFrame:
        """The whole stored table as a DataFrame (compact dtypes): for a table that fits in memory."""
        return self.files.to_pandas()


def ingest(dataset: DatasetConfig, source: SourceReader, directory: str | Path | None = None) -> Ingested:
    """Read a dataset's source into ``directory/source.parquet``, check it against the config, fingerprint it.

    A file, query or PostgreSQL source streams batch by batch (:mod:`synth_pipeline.source_stream`; its probe is
    taken first, a query's from the rows it returned); a simulated source or another reader is read whole.
    Without ``directory`` the copy goes to a new temporary directory.
    """
    started = time.perf_counter()
    target = Path(directory or tempfile.mkdtemp(prefix="synth-ingest-")) / "source.parquet"
    kinds = column_kinds(dataset, declared_kinds(source))
    what = f"source of {dataset.name!r} ({dataset.source.describe()})"
    # taken before reading (a source that grows meanwhile keeps this probe); a query's from the rows it returned
    probe = source.probe() if streams(source) and source.config.sql is None else None
    streamed = streamed_parquet(source, target.parent)
    if streamed is None:
        table, probe = read_and_probe(source)
        dataset.check_columns([str(c) for c in table.columns])
        schema = infer_schema(table, kinds, what=what)
        files = copy_frame(table, target, probe, fingerprint_table(table))
        del table
    else:
        if probe is None:
            probe = source_probe(source.config, rows=streamed.rows)
        try:
            files = copy_parquet(streamed.path, target, probe)
        finally:
            remove_copy(streamed)
        dataset.check_columns(files.columns)
        sample = files.sample(SCHEMA_SAMPLE_ROWS, seed=dataset.seed).to_pandas()
        schema = infer_schema(sample, kinds, what=what)
        nulls = files.null_counts()
        for spec in schema.columns:
            spec.has_missing = nulls.get(spec.name, 0) > 0
    record = ingest_record(files)
    return Ingested(files, schema, record["fingerprint"], record["probe"], time.perf_counter() - started)


# -- split ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Halves:
    """The rows a generator learns from, and the rows it never sees (files, or DataFrames when split in memory)."""

    training: Table
    holdout: Table


def rows_of(table: Table) -> int:
    """The row count of a table in memory or in files."""
    return table.rows if isinstance(table, TableFiles) else len(table)


def split(dataset: DatasetConfig, source: Table, directory: str | Path | None = None) -> Halves:
    """The reproducible training/holdout split the dataset's ``holdout`` settings ask for.

    Files are split into ``directory`` (default: beside the source) as ``training.parquet`` and ``holdout.parquet``;
    a DataFrame is split in memory. Both give the same rows in the same order.
    """
    settings = dataset.holdout
    if isinstance(source, TableFiles):
        training, holdout = split_files(
            source, Path(directory) if directory is not None else source.paths[0].parent,
            fraction=settings.fraction, random_state=settings.seed, stratify=settings.stratify,
        )
    else:
        training, holdout = split_holdout(
            source, fraction=settings.fraction, random_state=settings.seed, stratify=settings.stratify
        )
    check_training_size(dataset, rows_of(training), source_rows=rows_of(source))
    return Halves(training, holdout)


def check_training_size(dataset: DatasetConfig, rows: int, *, source_rows: int | None = None) -> None:
    """Refuse a training table smaller than ``min_training_rows``: on so few rows the gates cannot tell a copy
    of the real rows from a faithful table (``benchmarks/small_tables.py``)."""
    if rows < dataset.min_training_rows:
        of = f" of the source's {source_rows}" if source_rows is not None else ""
        raise InvalidDataError(
            f"datasets.{dataset.name}.min_training_rows: the training half has {rows} rows{of}, fewer than the "
            f"minimum {dataset.min_training_rows}; give the source more rows (or, knowingly, lower min_training_rows)"
        )


# -- the rows a generator learns from -----------------------------------------------------------
def training_sample(dataset: DatasetConfig, training: Table) -> pd.DataFrame:
    """The training rows the generator learns from: all of them, or a stratified reproducible sample of about
    ``max_training_rows`` (strata: ``holdout.stratify``, else ``target``), in training order."""
    columns = training.columns if isinstance(training, TableFiles) else [str(c) for c in training.columns]
    stratify = next((c for c in (dataset.holdout.stratify, dataset.target) if c and c in columns), None)
    labels = None
    if stratify is not None and dataset.max_training_rows is not None and rows_of(training) > dataset.max_training_rows:
        labels = training.read([stratify]).column(0).to_pandas() if isinstance(training, TableFiles) else (
            training[stratify]
        )
    positions = capped_positions(rows_of(training), dataset.max_training_rows, labels, random_state=dataset.seed)
    if isinstance(training, TableFiles):
        return training.to_pandas() if positions is None else training.take(positions).to_pandas()
    return training if positions is None else training.iloc[positions].reset_index(drop=True)


def qa_rows(table: Table, max_rows: int, *, seed: int) -> pd.DataFrame:
    """What the QA report reads of a real table: a table in memory as it is, files as a seeded subsample of
    ``max_rows`` rows (all rows, in order, when they have fewer)."""
    return table.sample(max_rows, seed=seed).to_pandas() if isinstance(table, TableFiles) else table


def source_batches(source: Table) -> Iterable[pd.DataFrame]:
    """The source in DataFrame batches (one batch for a table in memory)."""
    return source.pandas_batches() if isinstance(source, TableFiles) else [source]


def source_identity(
    source: Table, fingerprint: dict[str, Any] | None, probe: dict[str, Any] | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The source's fingerprint and probe: as given, else as taken at ingest (files), else computed (a DataFrame)."""
    record = _ingest_record(source)
    fingerprint = fingerprint or record.get("fingerprint")
    if fingerprint is None:
        if isinstance(source, TableFiles):
            raise InvalidDataError("the source files carry no ingest fingerprint; ingest the source first")
        fingerprint = fingerprint_table(source)
    return fingerprint, probe if probe is not None else record.get("probe", {})


def _ingest_record(source: Table) -> dict[str, Any]:
    return ingest_record(source) if isinstance(source, TableFiles) else {}


def column_kinds(
    dataset: DatasetConfig, source_kinds: dict[str, str] | None = None
) -> dict[str, str | dict[str, str]]:
    """The source's declared kinds (a database's column types), then the config's overrides, which win."""
    return {**(source_kinds or {}), **{column: override.to_setting() for column, override in dataset.columns.items()}}


__all__ = [
    "SCHEMA_SAMPLE_ROWS",
    "Halves",
    "Ingested",
    "check_training_size",
    "column_kinds",
    "ingest",
    "qa_rows",
    "rows_of",
    "source_batches",
    "source_identity",
    "split",
    "training_sample",
]
