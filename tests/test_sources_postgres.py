"""PostgreSQL sources against a real server: type mapping, read-only queries, the cheap probe, clear errors."""

import pandas as pd
import psycopg
import pytest

from synth_pipeline.config import SourceConfig
from synth_pipeline.errors import SourceError
from synth_pipeline.io import write_table
from synth_pipeline.profile import fingerprint_table
from synth_pipeline.schema import infer_schema
from synth_pipeline.sources import ConfiguredSource, source_probe

TYPED_TABLE = """
create type plan as enum ('basic', 'plus', 'pro');
create table public.accounts (
    account_id uuid primary key default gen_random_uuid(),
    plan plan not null,
    amount numeric(10, 2),
    whole numeric(10, 0),
    visits integer,
    active boolean,
    born date,
    seen timestamptz,
    note varchar(20),
    waited interval
);
insert into public.accounts (plan, amount, whole, visits, active, born, seen, note, waited)
select (array['basic', 'plus', 'pro'])[1 + i % 3]::plan, (i * 1.5)::numeric(10, 2), i, i % 7, i % 2 = 0,
       date '2020-01-01' + i, timestamptz '2024-03-01 12:00:00+02' + i * interval '1 hour',
       case when i % 5 = 0 then null else 'note ' || (i % 4) end, i * interval '1 minute'
from generate_series(1, 80) as i;
"""


@pytest.fixture
def accounts(postgres_dsn):
    with psycopg.connect(postgres_dsn) as connection:
        connection.execute(TYPED_TABLE)
    return postgres_dsn


def source(dsn, **settings):
    return ConfiguredSource(SourceConfig(postgres={"dsn": dsn, **settings}))


def test_column_types_map_to_kinds(accounts, tmp_path):
    reader = source(accounts, table="public.accounts")
    table = reader.read()
    assert len(table) == 80
    # the private store keeps tables as Parquet: the round trip must not change the fingerprint (dtypes included),
    # or the drift sensor would see a changed source where there is none
    write_table(table, tmp_path / "source.parquet")
    assert fingerprint_table(pd.read_parquet(tmp_path / "source.parquet")) == fingerprint_table(table)
    dtypes = {c: str(t) for c, t in table.dtypes.items()}
    assert dtypes["amount"] == "float64" and dtypes["visits"] == "Int64" and dtypes["active"] == "boolean"
    assert dtypes["born"].startswith("datetime64") and dtypes["seen"].startswith("datetime64")
    assert table["seen"].iloc[0].isoformat() == "2024-03-01T11:00:00"  # timestamptz as naive UTC
    assert table["waited"].iloc[0] == 60.0  # interval in seconds
    assert table["note"].isna().sum() == 16
    kinds = reader.column_kinds()
    assert kinds == {"account_id": "id", "plan": "categorical", "amount": "numeric", "waited": "numeric"}
    schema = infer_schema(table, kinds)
    assert schema.kind("account_id").value == "id" and schema.kind("visits").value == "integer"
    assert schema.kind("active").value == "boolean" and schema.kind("seen").value == "datetime"


def test_a_query_source_reads_one_statement_in_a_read_only_transaction(accounts):
    table = source(accounts, query="select plan, amount from accounts where visits > 2;").read()
    assert list(table.columns) == ["plan", "amount"] and 0 < len(table) < 80
    with pytest.raises(SourceError, match="exactly one SELECT"):
        source(accounts, query="select 1; drop table accounts").read()
    with pytest.raises(SourceError, match="read-only transaction"):
        source(accounts, query="with gone as (delete from accounts returning *) select * from gone").read()
    with psycopg.connect(accounts) as connection:
        assert connection.execute("select count(*) from accounts").fetchone()[0] == 80


def test_unsupported_types_are_refused_by_name(accounts):
    with psycopg.connect(accounts) as connection:
        connection.execute("alter table accounts add column extra jsonb")
    with pytest.raises(SourceError, match=r"'extra' \(jsonb\).*query:"):
        source(accounts, table="accounts").read()
    cast = source(accounts, query="select plan, extra::text as extra from accounts").read()
    assert list(cast.columns) == ["plan", "extra"]


def test_the_statistics_probe_moves_with_writes_and_not_with_reads(accounts):
    reader = source(accounts, table="public.accounts")
    first = reader.probe()
    assert first["kind"] == "postgres" and "statistics" in first and "rows" not in first
    reader.read()
    assert reader.probe() == first
    with psycopg.connect(accounts) as connection:
        connection.execute("update accounts set visits = visits + 1 where visits = 3")
    assert reader.probe() != first
    second = reader.probe()
    with psycopg.connect(accounts) as connection:
        connection.execute("truncate accounts")
    assert reader.probe()["statistics"]["filenode"] != second["statistics"]["filenode"]


def test_updated_at_probe_counts_rows_and_takes_the_latest_timestamp(accounts):
    reader = source(accounts, table="accounts", updated_at="seen")
    probe = reader.probe()
    assert probe["rows"] == 80 and probe["max_updated_at"].startswith("2024-03-04")
    with psycopg.connect(accounts) as connection:
        connection.execute("update accounts set seen = seen + interval '30 days' where visits = 1")
    assert reader.probe()["max_updated_at"] > probe["max_updated_at"]
    query_probe = source(accounts, query="select * from accounts where active").probe()
    assert query_probe["rows"] == 40 and source_probe(SourceConfig(postgres={"dsn": accounts, "query": "select 1"}))


def test_failures_name_the_server_and_table_never_the_password(postgres_server, accounts):
    password = postgres_server.password
    cases = {
        "does not exist": source(accounts, table="public.nowhere"),
        "password authentication failed": source(accounts.replace(password, "wrong-" + password), table="accounts"),
        "cannot connect to 127.0.0.1:1/": source(
            accounts.replace(f":{postgres_server.port}/", ":1/"), table="accounts", connect_timeout_seconds=2
        ),
    }
    for expected, reader in cases.items():
        for call in (reader.read, reader.probe):
            with pytest.raises(SourceError) as caught:
                call()
            message = str(caught.value)
            assert expected in message and password not in message
            error = caught.value  # no driver traceback chained to it
            assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)
    assert "table public.nowhere at 127.0.0.1" in str(pytest.raises(SourceError, cases["does not exist"].read).value)


def test_the_dsn_is_a_secret_in_the_config(accounts, postgres_server):
    config = SourceConfig(postgres={"dsn": accounts, "table": "accounts"})
    shown = f"{config!r} {config.model_dump(mode='json')} {config.describe()}"
    assert postgres_server.password not in shown
    database = accounts.rsplit("/", 1)[1]
    assert config.describe() == f"PostgreSQL table accounts at 127.0.0.1:{postgres_server.port}/{database}"


def test_a_dsn_from_the_environment_reaches_dagster_as_an_env_var_reference(monkeypatch):
    from dagster import EnvVar

    from resources import source_resource

    monkeypatch.setenv("PG_DSN", "postgresql://app:s3cret@db.internal:5432/sales")
    from_env = source_resource(SourceConfig(postgres={"dsn": "postgresql://app:s3cret@db.internal:5432/sales",
                                                      "table": "customers"}))
    assert isinstance(from_env.dsn, EnvVar) and from_env.dsn.env_var_name == "PG_DSN"
    assert from_env.source_config().postgres.dsn.get_secret_value().endswith("@db.internal:5432/sales")
    literal = source_resource(SourceConfig(postgres={"dsn": "postgresql://app:other@db:5432/x", "table": "t"}))
    assert not isinstance(literal.dsn, EnvVar)
