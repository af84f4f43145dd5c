"""The holdout protocol: a reproducible split of the source into training and holdout, and the training-row cap.

One rule decides which rows go where (:func:`holdout_order`), from the row count and (with ``stratify``) the
stratifying column's labels only; :func:`split_holdout` applies it to a table in memory, :func:`split_files` to
a table in Parquet files, streaming the rows through DuckDB (an external sort under a memory limit): the same
rows in the same order either way. :func:`capped_positions` draws the stratified, reproducible sample of at most
``max_training_rows`` rows a generator learns from.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from synth_pipeline.columns import did_you_mean
from synth_pipeline.errors import ConfigError, InvalidDataError
from synth_pipeline.schema import check_table
from synth_pipeline.table_files import DEFAULT_BATCH_ROWS, TableFiles, write_table_files

#: DuckDB's memory for the split's sort (it spills to disk beyond it; one thread, so the limit holds: at 64 MB the
#: split of 300,000 to 1,200,000 rows x 32 grew the process by 154-192 MB, 256 MB grew it by 220 MB at 600,000)
SPLIT_MEMORY_LIMIT = "64MB"
SPLIT_SORT_ROWS = 500_000  # output rows sorted per query: 600,000 sorted within 64 MB, 5,000,000 did not


def _groups(labels: pd.Series | None, n_rows: int) -> list[np.ndarray]:
    """Row positions per stratum (labels as text, in sorted order); one stratum without ``labels``."""
    if labels is None:
        return [np.arange(n_rows)]
    codes = pd.factorize(labels.astype(str), sort=True)[0]
    order = np.argsort(codes, kind="stable")
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    return np.split(order, bounds)


def holdout_order(
    n_rows: int, labels: pd.Series | None, *, fraction: float, random_state: int
) -> tuple[np.ndarray, np.ndarray]:
    """Row positions of (training, holdout), each in the order its half lists them.

    ``fraction`` of the rows (of each stratum of ``labels``) go to holdout; the same inputs always give the
    same positions.
    """
    if not 0 < fraction < 1:
        raise ConfigError(f"holdout fraction must be between 0 and 1 (exclusive), got {fraction}")
    if n_rows < 2:
        raise InvalidDataError(f"the source has {n_rows} row(s); a training/holdout split needs at least 2")
    rng = np.random.default_rng(random_state)
    holdout_mask = np.zeros(n_rows, dtype=bool)
    for positions in _groups(labels, n_rows):
        shuffled = rng.permutation(positions)
        holdout_mask[shuffled[: int(round(fraction * len(shuffled)))]] = True
    if holdout_mask.all() or not holdout_mask.any():
        raise InvalidDataError(f"a holdout fraction of {fraction} leaves one half of the {n_rows} source rows empty")
    order = rng.permutation(n_rows)
    return order[~holdout_mask[order]], order[holdout_mask[order]]


def _check_stratify(stratify: str | None, columns: list[str]) -> None:
    if stratify is not None and stratify not in columns:
        raise ConfigError(
            f"holdout.stratify: column {stratify!r} is not in the source{did_you_mean(stratify, columns)}; "
            f"its columns are: {', '.join(map(str, columns))}"
        )


def split_holdout(
    source: pd.DataFrame,
    *,
    fraction: float = 0.5,
    random_state: int = 0,
    stratify: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split ``source`` into (training, holdout); ``fraction`` of the rows go to holdout.

    The same data and ``random_state`` always give the same split. With
    ``stratify``, each value of that column is split in the same proportion.
    Both halves get a fresh 0..n-1 index.
    """
    check_table(source, what="source")
    _check_stratify(stratify, [str(c) for c in source.columns])
    labels = source[stratify] if stratify is not None else None
    training, holdout = holdout_order(len(source), labels, fraction=fraction, random_state=random_state)
    return source.iloc[training].reset_index(drop=True), source.iloc[holdout].reset_index(drop=True)


def split_files(
    source: TableFiles,
    directory: str | Path,
    *,
    fraction: float = 0.5,
    random_state: int = 0,
    stratify: str | None = None,
) -> tuple[TableFiles, TableFiles]:
    """:func:`split_holdout` of a single Parquet file: ``training.parquet`` and ``holdout.parquet`` in ``directory``.

    Reads only the stratifying column into memory; the rows stream through DuckDB.
    """
    if not source.columns:
        raise InvalidDataError("source has no columns")
    if source.rows == 0:
        raise InvalidDataError("source is empty (0 rows); a generator needs rows to learn from")
    _check_stratify(stratify, source.columns)
    labels = source.read([stratify]).column(0).to_pandas() if stratify is not None else None
    training, holdout = holdout_order(source.rows, labels, fraction=fraction, random_state=random_state)
    directory = Path(directory)
    return (
        write_rows(source, training, directory / "training.parquet"),
        write_rows(source, holdout, directory / "holdout.parquet"),
    )


def write_rows(source: TableFiles, positions: np.ndarray, target: Path) -> TableFiles:
    """The rows of a single-file ``source`` at ``positions``, in that order, as a Parquet file (via DuckDB)."""
    import duckdb

    if len(source.paths) != 1:
        raise InvalidDataError("write_rows takes a table stored as one Parquet file")
    key = np.full(source.rows, -1, dtype=np.int64)  # each source row's place in the output (-1: not wanted)
    key[positions] = np.arange(len(positions))
    wanted = pa.table({"__key": key})
    schema = source.schema
    names = ", ".join('"' + name.replace('"', '""') + '"' for name in schema.names)
    # rows and keys line up (a positional join, no hash table). The output is sorted a range of keys at a time:
    # DuckDB's external sort under the memory limit could not merge 5M rows at once ("failed to pin block")
    query = (f"SELECT {names} FROM read_parquet(?) POSITIONAL JOIN wanted WHERE __key >= ? AND __key < ? "
             "ORDER BY __key")
    spill = str(target.parent / ".duckdb-tmp").replace("'", "''")
    with duckdb.connect() as connection:
        connection.execute(f"SET threads = 1; SET memory_limit = '{SPLIT_MEMORY_LIMIT}'")
        connection.execute("SET preserve_insertion_order = false")  # the ORDER BY gives the order
        connection.execute(f"SET enable_progress_bar = false; SET temp_directory = '{spill}'")
        connection.register("wanted", wanted)

        def batches() -> Iterator[pa.Table]:
            for start in range(0, max(len(positions), 1), SPLIT_SORT_ROWS):
                params = [str(source.paths[0]), start, start + SPLIT_SORT_ROWS]
                for batch in connection.sql(query, params=params).to_arrow_reader(DEFAULT_BATCH_ROWS):
                    yield pa.Table.from_batches([batch]).cast(schema)

        return write_table_files(batches(), target, schema=schema)


def capped_positions(
    n_rows: int, cap: int | None, labels: pd.Series | None, *, random_state: int
) -> np.ndarray | None:
    """Sorted positions of a stratified, reproducible sample of about ``cap`` of ``n_rows`` rows (None: keep all).

    Each stratum of ``labels`` keeps its share of the rows (at least one row each), so rare classes stay.
    """
    if cap is None or n_rows <= cap:
        return None
    rng = np.random.default_rng(random_state)
    kept = []
    for positions in _groups(labels, n_rows):
        take = max(1, int(round(cap * len(positions) / n_rows)))
        kept.append(rng.choice(positions, size=min(take, len(positions)), replace=False))
    return np.sort(np.concatenate(kept))
