"""A config's SQL source runs one read-only SELECT in a sandbox (issue 18, §2)."""

import pandas as pd
import pytest

from synth_pipeline import lifecycle, sources
from synth_pipeline.config import SourceConfig, load_config, parse_config
from synth_pipeline.errors import ConfigError, InvalidDataError
from synth_pipeline.sources import ConfiguredSource, read_source, read_sql, source_probe
from synth_pipeline.sql_source import check_query
from synth_pipeline.warehouse import SnapshotStore


@pytest.fixture
def data_dir(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    pd.DataFrame({"a": range(10), "b": list("xyxyxyxyxy")}).to_csv(folder / "t.csv", index=False)
    return folder


@pytest.fixture
def warehouse(tmp_path):
    store = SnapshotStore(tmp_path / "warehouse.duckdb")
    store.publish("churn", pd.DataFrame({"x": [1, 2, 3]}))
    return store


def _config(tmp_path, sql, **source):
    return parse_config({"datasets": {"churn": {"source": {"sql": sql, **source}}}}).datasets["churn"]


def _intact(store: SnapshotStore) -> None:
    assert store.read("churn")["x"].tolist() == [1, 2, 3]
    assert store.snapshots("churn")["version"].tolist() == [1]


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("ATTACH '{warehouse}' AS w", "got ATTACH"),
        ("select 1; ATTACH '{warehouse}' AS w; DROP VIEW w.churn_latest", "exactly one SELECT statement, got 3"),
        ("COPY (select 42) TO '{tmp}/overwritten.csv'", "got COPY"),
        ("INSTALL httpfs", "got LOAD"),
        ("LOAD httpfs", "got LOAD"),
        ("SET enable_external_access = true", "got SET"),
        ("CREATE TABLE t AS SELECT 1", "got CREATE"),
        ("PRAGMA version", "got PRAGMA"),
        ("selec 1", "not a valid DuckDB query"),
        ("-- nothing but a comment", "exactly one SELECT statement, got 0"),
    ],
)
def test_only_one_select_is_accepted_when_the_config_loads(tmp_path, warehouse, sql, message):
    sql = sql.format(warehouse=tmp_path / "warehouse.duckdb", tmp=tmp_path)
    with pytest.raises(ConfigError, match=rf"datasets\.churn\.source\.sql: .*{message}"):
        _config(tmp_path, sql)
    with pytest.raises(ConfigError, match=message):  # the Python API checks the same way
        read_sql(sql, [tmp_path])
    _intact(warehouse)
    assert not (tmp_path / "overwritten.csv").exists()


@pytest.mark.parametrize(
    "sql",
    [
        "select * from read_csv('/etc/passwd')",
        "select * from read_text('/etc/passwd')",
        "select * from read_blob('{warehouse}')",
        "select * from glob('/etc/*')",
        "select * from read_csv('{data}/../outside.csv')",
        "select * from read_csv('https://example.com/t.csv')",
        "select * from query('attach ''{warehouse}''')",
    ],
)
def test_a_select_reads_only_allowed_paths(tmp_path, data_dir, warehouse, sql):
    (tmp_path / "outside.csv").write_text("a\n1\n")
    sql = sql.format(warehouse=tmp_path / "warehouse.duckdb", data=data_dir)
    with pytest.raises((InvalidDataError, ConfigError), match=r"source query failed|SELECT"):
        read_source(_config(tmp_path, sql, allowed_paths=[str(data_dir)]).source)
    _intact(warehouse)


def test_the_sandbox_cannot_be_widened_from_inside(data_dir):
    settings = read_sql(
        "select name, value from duckdb_settings() where name in "
        "('enable_external_access', 'lock_configuration', 'autoinstall_known_extensions', "
        "'autoload_known_extensions', 'temp_directory') order by name",
        [data_dir],
    )
    assert dict(zip(settings.name, settings.value, strict=True)) == {
        "autoinstall_known_extensions": "false",
        "autoload_known_extensions": "false",
        "enable_external_access": "false",
        "lock_configuration": "true",
        "temp_directory": "",
    }
    attached = read_sql("select database_name from duckdb_databases() where not internal", [data_dir])
    assert attached.database_name.tolist() == ["memory"]  # no warehouse, no other database


@pytest.mark.parametrize(
    "tail",
    [";", " ;\n", " -- the whole table", "; -- the whole table", "\n-- a comment\n;", " /* block */ ;"],
)
def test_valid_queries_with_a_trailing_semicolon_or_comment_run(tmp_path, data_dir, tail):
    dataset = _config(tmp_path, f"select * from read_csv('{data_dir}/t.csv') where a < 7{tail}",
                      allowed_paths=[str(data_dir / "t.csv")])
    assert len(read_source(dataset.source)) == 7
    assert source_probe(dataset.source)["rows"] == 7
    assert check_query("with t as (select 1 as a) select * from t; -- done").type.name == "SELECT"


def test_the_query_runs_once_per_ingest_and_streams(tmp_path, data_dir, monkeypatch):
    from synth_pipeline import sql_source

    dataset = _config(tmp_path, f"from read_csv('{data_dir}/t.csv')", allowed_paths=[str(data_dir)])
    runs = []
    real_batches = sql_source.query_batches
    monkeypatch.setattr(sql_source, "query_batches", lambda *a: runs.append("stream") or real_batches(*a))
    monkeypatch.setattr(sources, "read_query", lambda *a: runs.append("read"))
    monkeypatch.setattr(sources, "count_query", lambda *a: runs.append("count"))
    ingested = lifecycle.ingest(dataset, ConfiguredSource(dataset.source), tmp_path / "run")
    assert runs == ["stream"] and ingested.probe["rows"] == 10 and len(ingested.table) == 10
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["source.parquet"]  # the streamed copy is gone


def test_a_query_that_fails_while_streaming_is_one_clear_error(tmp_path, data_dir):
    # the error comes while the rows stream (the cast fails on row 6), not when the query starts
    query = f"select case when a < 6 then a::varchar else 'x' end::int as a from read_csv('{data_dir}/t.csv')"
    dataset = _config(tmp_path, query, allowed_paths=[str(data_dir)])
    with pytest.raises(InvalidDataError, match="source query failed") as caught:
        lifecycle.ingest(dataset, ConfiguredSource(dataset.source), tmp_path / "run")
    assert caught.value.__cause__ is None and not (tmp_path / "run" / "source.parquet").exists()


def test_only_declared_paths_are_readable_and_never_the_private_area_or_the_warehouse(tmp_path, data_dir):
    (data_dir / "pipeline.yaml").write_text(
        f"datasets:\n  churn:\n    source: {{sql: \"from read_csv('{data_dir}/t.csv')\"}}\n"
    )
    with pytest.raises(InvalidDataError, match=r"t\.csv.*may read only the files and directories in source\.allowed"):
        read_source(load_config(data_dir / "pipeline.yaml").datasets["churn"].source)  # not even the config's dir
    (data_dir / "pipeline.yaml").write_text(
        f"datasets:\n  churn:\n    source: {{sql: \"from read_csv('{data_dir}/t.csv')\", "
        f"allowed_paths: [{data_dir}]}}\n"
    )
    assert len(read_source(load_config(data_dir / "pipeline.yaml").datasets["churn"].source)) == 10
    for top, allowed in (
        ({"private_dir": str(data_dir / "private")}, data_dir),
        ({"private_dir": str(tmp_path / "private")}, tmp_path / "private" / "models"),
        ({"warehouse": str(data_dir / "w.duckdb")}, data_dir),
        ({"warehouse": str(tmp_path / "w.duckdb")}, tmp_path / "w.duckdb"),
    ):
        data = {**top, "datasets": {"churn": {"source": {"sql": "select 1 as a", "allowed_paths": [str(allowed)]}}}}
        refused = r"^config is invalid: datasets\.churn\.source\.allowed_paths\[0\]: .* would let the query read"
        with pytest.raises(ConfigError, match=refused):
            parse_config(data)


def test_allowed_paths_belong_to_sql_sources_and_leave_the_config_hash_alone(tmp_path, data_dir):
    with pytest.raises(ConfigError, match=r"datasets\.churn\.source: allowed_paths applies to a sql source only"):
        parse_config({"datasets": {"churn": {"source": {"path": "a.csv", "allowed_paths": ["/"]}}}})
    a = _config(tmp_path, "select 1 as a")
    b = _config(tmp_path, "select 1 as a", allowed_paths=[str(data_dir)])
    assert a.config_hash() == b.config_hash()
    assert SourceConfig(sql="select 1 as a").allowed_paths == []
