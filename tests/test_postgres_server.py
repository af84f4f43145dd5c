"""The shared PostgreSQL test server: real, on 127.0.0.1, password-protected, a fresh database per test."""

import psycopg
import pytest


def test_server_listens_on_loopback_and_requires_the_password(postgres_server, postgres_dsn):
    with psycopg.connect(postgres_dsn, connect_timeout=10) as connection:
        address, version = connection.execute(
            "select inet_server_addr()::text, current_setting('server_version')"
        ).fetchone()
    assert address.startswith("127.0.0.1")
    assert int(version.split(".")[0]) >= 13
    wrong = postgres_dsn.replace(postgres_server.password, "not-the-password")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(wrong, connect_timeout=10)


def test_each_test_gets_an_empty_database_of_its_own(postgres_server, postgres_dsn):
    with psycopg.connect(postgres_dsn, autocommit=True, connect_timeout=10) as connection:
        tables = connection.execute("select count(*) from pg_tables where schemaname = 'public'").fetchone()[0]
        connection.execute("create table marker (x int)")
    assert tables == 0
    other = postgres_server.create_database()
    with psycopg.connect(other, connect_timeout=10) as connection:
        assert connection.execute("select to_regclass('public.marker')").fetchone()[0] is None
    postgres_server.drop_database(other.rsplit("/", 1)[1])
