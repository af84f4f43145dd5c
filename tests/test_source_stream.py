"""CSV files, DuckDB queries and PostgreSQL tables stream into the private store: never read whole, same rows."""

import numpy as np
import pandas as pd
import psycopg
import pytest

from synth_pipeline import io, lifecycle, source_stream
from synth_pipeline.config import PipelineConfig
from synth_pipeline.drift_decision import check_source
from synth_pipeline.errors import InvalidDataError, SourceError
from synth_pipeline.io import read_csv_chunks, read_table
from synth_pipeline.model_store import ModelStore
from synth_pipeline.sources import ConfiguredSource, read_source


def _dataset(tmp_path, source):
    config = PipelineConfig.model_validate({
        "warehouse": str(tmp_path / "w.duckdb"), "private_dir": str(tmp_path / "private"),
        "datasets": {"t": {"source": source, "generator": {"name": "copula"}, "min_training_rows": 10}},
    })
    return config.datasets["t"]


def _awkward_csv(path, rows=300):
    """Columns whose type only the whole file tells: a fraction, a gap or a leading zero late in the file."""
    rng = np.random.default_rng(0)
    count = rng.integers(0, 50, rows).astype(str)
    late_fraction = count.copy()
    late_fraction[-1] = "2.5"
    gappy = count.astype(object)
    gappy[rows - 3] = None
    zip_code = rng.integers(10000, 99999, rows).astype(str).astype(object)
    zip_code[-1] = "01234"  # only the last row has a leading zero
    flag = np.where(rng.random(rows) < 0.5, "True", "False").astype(object)
    flag[rows // 2] = None
    pd.DataFrame({
        "count": count, "late_fraction": late_fraction, "gappy": gappy, "zip": zip_code, "flag": flag,
        "plan": rng.choice(["basic", "pro", "team"], rows), "when": ["2024-01-0" + str(1 + i % 9) for i in range(rows)],
    }).to_csv(path, index=False)


def test_csv_chunks_give_the_whole_read(tmp_path):
    path = tmp_path / "t.csv"
    _awkward_csv(path)
    whole = read_table(path)
    types, chunks = read_csv_chunks(path, chunk_rows=32)
    streamed = pd.concat(list(chunks), ignore_index=True)
    pd.testing.assert_frame_equal(streamed, whole)
    kinds = {name: types.kind(name) for name in whole.columns}
    assert kinds == {"count": "int", "late_fraction": "float", "gappy": "float", "zip": "text", "flag": "boolean",
                     "plan": "text", "when": "text"}


def test_a_csv_source_streams_into_the_store_and_the_drift_sensor_agrees(tmp_path, monkeypatch):
    monkeypatch.setattr(io, "CSV_CHUNK_ROWS", 40)
    path = tmp_path / "t.csv"
    _awkward_csv(path)
    dataset = _dataset(tmp_path, {"path": str(path)})
    models = ModelStore(tmp_path / "models")
    ingested = lifecycle.ingest(dataset, ConfiguredSource(dataset.source), tmp_path / "run")
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["source.parquet"]  # no copy left behind
    stored = ingested.table
    whole = read_table(path)
    assert len(stored) == 300 and stored["zip"].iloc[-1].startswith("0")
    for name in whole.columns:  # the same values (the store's dtypes are compact)
        assert stored[name].astype(str).tolist() == whole[name].astype(str).tolist(), name
    assert ingested.fingerprint["row_count"] == 300 and ingested.probe["kind"] == "file"
    lifecycle.train(dataset, lifecycle.split(dataset, ingested.files).training, ingested.files, models)
    assert "identical" in check_source(dataset, models, None).message
    _awkward_csv(path, rows=320)
    moved = check_source(dataset, models, None)
    assert moved.report is not None and moved.report.n_rows_current == 320


def test_a_malformed_csv_names_the_file_and_the_line(tmp_path, monkeypatch):
    monkeypatch.setattr(io, "CSV_CHUNK_ROWS", 50)
    path = tmp_path / "bad.csv"
    lines = ["a,b"] + [f"{i},{i}" for i in range(200)]
    lines[150] = "1,2,3"
    path.write_text("\n".join(lines) + "\n")
    dataset = _dataset(tmp_path, {"path": str(path)})
    with pytest.raises(InvalidDataError, match=r"bad\.csv.*line 151") as caught:
        lifecycle.ingest(dataset, ConfiguredSource(dataset.source), tmp_path / "run")
    assert caught.value.__cause__ is None and not (tmp_path / "run" / "source.parquet").exists()
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(InvalidDataError, match="empty"):
        lifecycle.ingest(_dataset(tmp_path, {"path": str(tmp_path / "empty.csv")}),
                         ConfiguredSource(_dataset(tmp_path, {"path": str(tmp_path / "empty.csv")}).source))


ACCOUNTS = """
create table public.accounts (id integer, amount double precision, active boolean, note text, seen timestamptz);
insert into public.accounts
select i, i * 1.5, case when i % 11 = 0 then null else i % 2 = 0 end,
       case when i % 5 = 0 then null else 'n' || i % 4 end,
       timestamptz '2024-03-01 12:00:00+02' + i * interval '1 hour'
from generate_series(1, 230) as i;
"""


def test_a_postgres_source_streams_through_a_server_side_cursor(postgres_dsn, tmp_path, monkeypatch):
    with psycopg.connect(postgres_dsn) as connection:
        connection.execute(ACCOUNTS)
    monkeypatch.setattr(source_stream, "POSTGRES_BATCH_ROWS", 17)
    dataset = _dataset(tmp_path, {"postgres": {"dsn": postgres_dsn, "table": "public.accounts"}})
    ingested = lifecycle.ingest(dataset, ConfiguredSource(dataset.source), tmp_path / "run")
    whole = read_source(dataset.source)
    stored = ingested.table
    assert len(stored) == 230 and list(stored.columns) == list(whole.columns)
    for name in whole.columns:
        assert stored[name].astype(str).tolist() == whole[name].astype(str).tolist(), name
    assert ingested.probe["kind"] == "postgres"
    models = ModelStore(tmp_path / "models")
    lifecycle.train(dataset, lifecycle.split(dataset, ingested.files).training, ingested.files, models)
    assert "identical" in check_source(dataset, models, None).message


def test_a_postgres_query_streams_one_statement_and_an_unreachable_server_is_named(postgres_dsn, tmp_path):
    with psycopg.connect(postgres_dsn) as connection:
        connection.execute(ACCOUNTS)
    two = _dataset(tmp_path, {"postgres": {"dsn": postgres_dsn, "query": "select 1; drop table public.accounts"}})
    with pytest.raises(SourceError) as caught:
        lifecycle.ingest(two, ConfiguredSource(two.source), tmp_path / "run")
    assert caught.value.__cause__ is None
    with psycopg.connect(postgres_dsn) as connection:  # still there
        assert connection.execute("select count(*) from public.accounts").fetchone()[0] == 230
    gone = _dataset(tmp_path, {"postgres": {"dsn": "postgresql://u:secret@127.0.0.1:1/db", "table": "accounts",
                                            "connect_timeout_seconds": 2}})
    with pytest.raises(SourceError, match="127.0.0.1:1") as caught:
        lifecycle.ingest(gone, ConfiguredSource(gone.source), tmp_path / "run2")
    assert "secret" not in str(caught.value) and caught.value.__cause__ is None
