import gzip

import pandas as pd
import pytest

from synth_pipeline.config import SourceConfig
from synth_pipeline.errors import InvalidDataError
from synth_pipeline.io import read_table, write_batches, write_table
from synth_pipeline.sources import read_source, source_probe


def test_round_trips_and_sql(tmp_path, churn):
    for name in ("t.parquet", "t.csv", "t.csv.gz"):
        write_table(churn, tmp_path / name)
        back = read_table(tmp_path / name)
        assert back.shape == churn.shape and list(back.columns) == list(churn.columns)
    query = f"select contract, count(*) as n from read_parquet('{tmp_path / 't.parquet'}') group by all"
    source = SourceConfig(sql=query, allowed_paths=[str(tmp_path)])
    counts = read_source(source).set_index("contract").n
    assert counts.sum() == len(churn)
    assert source_probe(source)["rows"] == counts.size


def test_streamed_writes(tmp_path, churn):
    chunks = [churn.iloc[:500], churn.iloc[500:]]
    for name in ("s.parquet", "s.csv"):
        assert write_batches(iter(chunks), tmp_path / name) == len(churn)
        assert len(read_table(tmp_path / name)) == len(churn)


def test_bad_files_get_clear_errors(tmp_path):
    with pytest.raises(InvalidDataError, match="does not exist"):
        read_table(tmp_path / "missing.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(InvalidDataError, match="is empty"):
        read_table(tmp_path / "empty.csv")
    (tmp_path / "broken.csv").write_text('a,b\n1,2\n3,"4\n')
    with pytest.raises(InvalidDataError, match="cannot read csv"):
        read_table(tmp_path / "broken.csv")
    (tmp_path / "noise.csv.gz").write_bytes(b"not gzip at all")
    with pytest.raises(InvalidDataError, match="cannot read csv"):
        read_table(tmp_path / "noise.csv.gz")
    (tmp_path / "table.xlsx").write_bytes(b"")
    with pytest.raises(InvalidDataError, match="cannot tell the format"):
        read_table(tmp_path / "table.xlsx")
    (tmp_path / "fake.parquet").write_text("nope")
    with pytest.raises(InvalidDataError, match="cannot read parquet"):
        read_table(tmp_path / "fake.parquet")
    with pytest.raises(InvalidDataError, match="source query failed: Catalog Error"):
        read_source(SourceConfig(sql="select * from no_such_table"))


def test_probe_changes_when_a_file_changes(tmp_path):
    path = tmp_path / "s.csv.gz"
    with gzip.open(path, "wt") as f:
        f.write("a\n1\n")
    before = source_probe(SourceConfig(path=str(path)))
    pd.DataFrame({"a": [1, 2, 3]}).to_csv(path, index=False)
    assert source_probe(SourceConfig(path=str(path))) != before


def test_csv_types_like_pandas_but_codes_keep_leading_zeros(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("zip,n,x,flag,gap,name\n02134,1,1.5,True,,a\n10001,2,,False,3,b\n")
    table = read_table(path)
    assert table.zip.tolist() == ["02134", "10001"]
    assert table.n.dtype == "int64" and table.x.dtype == "float64" and table.flag.dtype == bool
    assert table.gap.isna().iloc[0] and table.gap.iloc[1] == 3
    assert table.name.tolist() == ["a", "b"]
