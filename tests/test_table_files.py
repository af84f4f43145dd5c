"""The Parquet table handle: footers, streamed reads, reproducible subsamples, atomic writes."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from synth_pipeline.errors import InvalidDataError
from synth_pipeline.table_files import TableFiles, write_table_files


def _frame(start: int, rows: int) -> pd.DataFrame:
    ids = np.arange(start, start + rows)
    return pd.DataFrame(
        {
            "id": ids,
            "amount": np.where(ids % 7 == 0, np.nan, ids / 3),
            "plan": pd.Categorical(np.array(["basic", "pro", "team"])[ids % 3]),
        }
    )


@pytest.fixture
def two_files(tmp_path):
    first = write_table_files([_frame(0, 500), _frame(500, 500)], tmp_path / "part-0.parquet", row_group_rows=300)
    second = write_table_files([_frame(1000, 700)], tmp_path / "part-1.parquet", row_group_rows=300)
    return TableFiles.of([first.paths[0], second.paths[0]])


def test_footer_metadata_and_full_reads(two_files):
    assert two_files.rows == 1700 and two_files.file_rows == [1000, 700]
    assert two_files.columns == ["id", "amount", "plan"]
    assert pa.types.is_dictionary(two_files.schema.field("plan").type)
    expected = pd.concat([_frame(0, 1000), _frame(1000, 700)], ignore_index=True)
    pd.testing.assert_frame_equal(two_files.to_pandas(), expected)
    assert two_files.read(["amount"]).column_names == ["amount"]
    assert two_files.null_counts() == {"id": 0, "amount": len(range(0, 1700, 7)), "plan": 0}


def test_batches_stream_every_row_in_order(two_files):
    sizes, ids = [], []
    for batch in two_files.batches(batch_rows=256, columns=["id"]):
        sizes.append(batch.num_rows)
        ids.extend(batch.column("id").to_pylist())
    assert max(sizes) <= 256 and ids == list(range(1700))
    frames = list(two_files.pandas_batches(batch_rows=1000))
    assert sum(len(f) for f in frames) == 1700 and isinstance(frames[0]["plan"].dtype, pd.CategoricalDtype)


def test_subsample_is_reproducible_distinct_and_in_row_order(two_files):
    first = two_files.sample(250, seed=3).column("id").to_numpy()
    again = two_files.sample(250, seed=3).column("id").to_numpy()
    other = two_files.sample(250, seed=4).column("id").to_numpy()
    assert np.array_equal(first, again) and not np.array_equal(first, other)
    assert len(set(first)) == 250 and np.all(np.diff(first) > 0)
    assert first.max() >= 1000  # draws from both files
    assert two_files.sample(5000, seed=0).num_rows == 1700


def test_take_keeps_the_order_asked(two_files):
    taken = two_files.take(np.array([1699, 3, 1000, 3]), columns=["id", "plan"])
    assert taken.column("id").to_pylist() == [1699, 3, 1000, 3]
    with pytest.raises(InvalidDataError, match="0..1699"):
        two_files.take(np.array([1700]))


def test_handle_round_trips_as_a_record(two_files):
    record = two_files.to_record()
    assert TableFiles.is_record(record) and record["rows"] == 1700
    assert TableFiles.from_record(record) == two_files


def test_bad_input_is_one_clear_error(tmp_path):
    with pytest.raises(InvalidDataError, match="does not exist"):
        TableFiles.of(tmp_path / "nope.parquet")
    with pytest.raises(InvalidDataError, match="no Parquet files"):
        TableFiles.in_directory(tmp_path)
    with pytest.raises(InvalidDataError, match="'nope' is not in the table"):
        write_table_files([_frame(0, 10)], tmp_path / "t.parquet").read(["nope"])
    with pytest.raises(InvalidDataError, match="does not fit its schema"):
        write_table_files([_frame(0, 10), pd.DataFrame({"other": [1]})], tmp_path / "bad.parquet")
    assert not (tmp_path / "bad.parquet").exists() and list(tmp_path.glob(".*tmp*")) == []
    (tmp_path / "junk.parquet").write_text("not parquet")
    with pytest.raises(InvalidDataError, match="cannot read parquet file .*junk.parquet"):
        _ = TableFiles.of(tmp_path / "junk.parquet").rows


def test_empty_write_needs_a_schema(tmp_path):
    schema = pa.schema([("x", pa.int64())])
    empty = write_table_files([], tmp_path / "empty.parquet", schema=schema)
    assert empty.rows == 0 and empty.sample(10, seed=0).num_rows == 0 and empty.take(np.array([])).num_rows == 0
    with pytest.raises(InvalidDataError, match="no schema"):
        write_table_files([], tmp_path / "none.parquet")
