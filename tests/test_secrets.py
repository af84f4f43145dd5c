"""redact_dsn and scrub: a DSN's password never survives being shown."""

import pytest

from synth_pipeline.secrets import dsn_parts, redact_dsn, scrub, server_address


@pytest.mark.parametrize(
    ("dsn", "shown"),
    [
        ("postgresql://app:s3cret@db.internal:5433/sales", "postgresql://app@db.internal:5433/sales"),
        ("postgres://app:s3cret@db.internal/sales?sslmode=require&password=s3cret", "postgresql://app@db.internal:5432/sales"),
        ("postgresql://app:p%40ss%3Aword@[::1]:6000/x", "postgresql://app@[::1]:6000/x"),
        ("postgresql://app@db/sales", "postgresql://app@db:5432/sales"),
        ("host=db.internal port=5433 dbname=sales user=app password=s3cret", "postgresql://app@db.internal:5433/sales"),
        ("host=db dbname=sales user=app password='with space\\'q'", "postgresql://app@db:5432/sales"),
    ],
)
def test_redact_dsn_keeps_the_address_and_user_and_drops_the_password(dsn, shown):
    assert redact_dsn(dsn) == shown
    password = dsn_parts(dsn)["password"]
    if password:
        assert password not in redact_dsn(dsn)


def test_dsn_parts_decodes_url_escapes_and_quoted_values():
    assert dsn_parts("postgresql://app:p%40ss%3Aword@db:1/x")["password"] == "p@ss:word"
    assert dsn_parts("user=app password='with space\\'q'")["password"] == "with space'q"


def test_scrub_removes_the_password_as_written_and_decoded():
    dsn = "postgresql://app:p%40ss@db:5432/sales"
    text = f"could not connect to {dsn}; password p@ss rejected; raw p%40ss"
    cleaned = scrub(text, dsn)
    assert "p@ss" not in cleaned and "p%40ss" not in cleaned
    assert "postgresql://app@db:5432/sales" in cleaned


def test_server_address_names_host_port_and_database():
    assert server_address("postgresql://app:s3cret@db.internal:5433/sales") == "db.internal:5433/sales"
