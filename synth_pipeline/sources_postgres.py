"""PostgreSQL sources: a table or one read-only query, read with psycopg 3, and a cheap probe for the drift sensor.

* :func:`read_postgres` reads the whole table (or the query's result) inside a ``READ ONLY`` transaction. A query
  is sent as one prepared statement, so the server itself refuses a second statement (``select 1; drop ...``), and
  the read-only transaction refuses any write the one statement tries (a data-modifying CTE, a function).
* Column types map to the package's kinds: integers → ``Int64``, ``real``/``double``/``numeric`` → ``float64``
  (declared *numeric* unless a ``numeric(p, 0)``), ``boolean``, ``date``/``timestamp``/``timestamptz`` (as UTC)
  → ``datetime64``, ``interval`` → seconds, text types and enums (declared *categorical*) → strings, ``uuid`` →
  strings declared *id*. Other types (json, arrays, bytea, ...) are refused with the column's name: select what
  you need with ``query:`` (a cast to text, say).
* :func:`probe_postgres` is what the drift sensor polls: ``count(*)`` and ``max(<updated_at>)`` when the source
  names an ``updated_at`` column; else, for a plain table, its statistics counters (inserted/updated/deleted
  tuples, and its file node, which TRUNCATE changes), which cost nothing to read. PostgreSQL publishes a writer's
  counters when its transaction ends or, for a connection that stays open and idle, within about 10 s.

Every failure (server unreachable, password refused, table missing, query rejected) is one :class:`SourceError`
naming ``host:port/db`` and the table; the password never appears, and no driver traceback is chained.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd

from synth_pipeline.config import PostgresSource
from synth_pipeline.errors import SourceError
from synth_pipeline.secrets import scrub, server_address

INTEGER_TYPES = {"int2", "int4", "int8", "oid"}
FLOAT_TYPES = {"float4", "float8", "numeric"}
TEXT_TYPES = {"text", "varchar", "bpchar", "char", "name", "citext"}
DATETIME_TYPES = {"date", "timestamp", "timestamptz"}


def _table_sql(table: str) -> Any:
    from psycopg import sql

    return sql.SQL(".").join(sql.Identifier(part) for part in table.split(".", 1))


def _statement(query: str) -> str:
    text = query.strip()
    while text.endswith(";"):
        text = text[:-1].rstrip()
    if not text:
        raise SourceError("the PostgreSQL source's query is empty")
    return text


def _what(source: PostgresSource) -> str:
    where = server_address(source.dsn.get_secret_value())
    return f"table {source.table} at {where}" if source.table else f"query at {where}"


def _explain(error: Exception, source: PostgresSource) -> SourceError:
    """The driver's error as one line naming the server and the table, with the password scrubbed."""
    from psycopg import errors

    dsn = source.dsn.get_secret_value()
    detail = scrub(str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__, dsn)
    what = _what(source)
    if isinstance(error, errors.UndefinedTable):
        return SourceError(f"PostgreSQL source: {what}: {detail} (check the table name and the schema)")
    if isinstance(error, errors.InsufficientPrivilege):
        return SourceError(f"PostgreSQL source: {what}: {detail} (grant SELECT to the source's user)")
    if isinstance(error, errors.ReadOnlySqlTransaction):
        return SourceError(f"PostgreSQL source: {what}: {detail}; a source query must only read")
    if "multiple commands" in detail:
        return SourceError(f"PostgreSQL source: {what}: give exactly one SELECT statement ({detail})")
    if isinstance(error, errors.OperationalError) and not isinstance(error, errors.QueryCanceled):
        return SourceError(f"PostgreSQL source: cannot connect to {server_address(dsn)} for the {what}: {detail}")
    return SourceError(f"PostgreSQL source: {what} failed: {detail}")


@contextmanager
def read_only_transaction(source: PostgresSource) -> Iterator[Any]:
    """A connection inside a READ ONLY transaction (rolled back at the end); driver errors become SourceError."""
    import psycopg
    from psycopg.types.numeric import FloatLoader

    try:
        with psycopg.connect(
            source.dsn.get_secret_value(), connect_timeout=source.connect_timeout_seconds, autocommit=False
        ) as connection:
            connection.read_only = True
            connection.adapters.register_loader("numeric", FloatLoader)
            try:
                yield connection
            finally:
                connection.rollback()
    except psycopg.Error as error:
        raise _explain(error, source) from None


def _select(source: PostgresSource) -> Any:
    from psycopg import sql

    if source.table:
        return sql.SQL("select * from {}").format(_table_sql(source.table))
    return sql.SQL(_statement(source.query))  # the user's one statement, as written


def _column_types(connection: Any, description: list[Any]) -> list[tuple[str, str, str]]:
    """(name, type name, type category) of each result column."""
    oids = sorted({column.type_code for column in description})
    found = dict(
        (oid, (name, category))
        for oid, name, category in connection.execute(
            "select oid::int, typname::text, typcategory::text from pg_type where oid = any(%s)", [oids]
        ).fetchall()
    )
    return [(column.name, *found.get(column.type_code, (f"oid {column.type_code}", "?"))) for column in description]


def _conversion(type_name: str, category: str, scale: int | None) -> tuple[str, str | None]:
    """How to convert a column of this type, and the kind it declares (None: let inference decide)."""
    if type_name in INTEGER_TYPES:
        return "int", None
    if type_name in FLOAT_TYPES:
        return "float", None if type_name == "numeric" and scale == 0 else "numeric"
    if type_name == "bool":
        return "bool", None
    if type_name in DATETIME_TYPES:
        return type_name, None
    if type_name == "interval":
        return "interval", "numeric"
    if type_name == "uuid":
        return "text", "id"
    if category == "E":
        return "text", "categorical"
    if type_name in TEXT_TYPES:
        return "text", None
    return "unsupported", None


def _plan(connection: Any, cursor: Any, source: PostgresSource) -> list[tuple[str, str, str | None]]:
    """(column, conversion, declared kind) for each column of the result, refusing types we cannot learn."""
    plan, refused = [], []
    types = _column_types(connection, cursor.description)
    for column, (name, type_name, category) in zip(cursor.description, types, strict=True):
        conversion, kind = _conversion(type_name, category, getattr(column, "scale", None))
        if conversion == "unsupported":
            refused.append(f"{name!r} ({type_name})")
        plan.append((name, conversion, kind))
    if refused:
        raise SourceError(
            f"PostgreSQL source: {_what(source)}: column(s) {', '.join(refused)} have a type synth_pipeline cannot "
            "learn; read the columns you need with `query:` (for example cast them to text or a number)"
        )
    return plan


def _convert(values: list[Any], conversion: str) -> Any:
    if conversion == "int":
        return pd.array(values, dtype="Int64")
    if conversion == "float":
        return pd.Series(values, dtype="float64")
    if conversion == "interval":
        return pd.Series([None if v is None else v.total_seconds() for v in values], dtype="float64")
    if conversion == "bool":
        return pd.array(values, dtype="boolean")
    if conversion == "timestamptz":
        return pd.Series(pd.to_datetime(pd.Series(values, dtype=object), utc=True)).dt.tz_localize(None)
    if conversion in ("date", "timestamp"):
        return pd.Series(pd.to_datetime(pd.Series(values, dtype=object))).astype("datetime64[ns]")
    # pandas' own text dtype, which a Parquet round trip (the private store) gives back unchanged
    return pd.Series([None if v is None else str(v) for v in values], dtype="str")


def _fetch(source: PostgresSource, limit_zero: bool = False) -> tuple[pd.DataFrame, dict[str, str]]:
    from psycopg import sql

    with read_only_transaction(source) as connection, connection.cursor() as cursor:
        query = _select(source)
        if limit_zero:
            query = sql.SQL("select * from (\n{}\n) as synth_source limit 0").format(query)
        cursor.execute(query, prepare=True)  # prepared: the server refuses more than one statement
        plan = _plan(connection, cursor, source)
        rows = cursor.fetchall()
    values = list(zip(*rows, strict=True)) if rows else [[] for _ in plan]
    table = pd.DataFrame(
        {name: _convert(list(column), conversion) for (name, conversion, _), column in zip(plan, values, strict=True)}
    )
    return table, {name: kind for name, _, kind in plan if kind is not None}


_ARROW_TYPES = {"int": "int64", "float": "float64", "interval": "float64", "bool": "bool", "text": "string"}


@contextmanager
def postgres_batches(source: PostgresSource, batch_rows: int) -> Iterator[tuple[Any, Iterator[pd.DataFrame]]]:
    """The table (or the query's result) as an Arrow schema and DataFrame batches of ``batch_rows`` rows.

    Read through a server-side cursor inside the read-only transaction, so neither side holds the whole
    result; each batch is converted as :func:`read_postgres` converts the whole (the same dtypes).
    """
    import pyarrow as pa

    with read_only_transaction(source) as connection, connection.cursor(name="synth_source") as cursor:
        cursor.execute(_select(source))  # DECLARE ... CURSOR FOR: the server accepts exactly one statement
        plan = _plan(connection, cursor, source)
        schema = pa.schema(
            [(name, pa.timestamp("ns") if conversion in DATETIME_TYPES else pa.type_for_alias(_ARROW_TYPES[conversion]))
             for name, conversion, _ in plan]
        )

        def batches() -> Iterator[pd.DataFrame]:
            while rows := cursor.fetchmany(batch_rows):
                values = list(zip(*rows, strict=True))
                yield pd.DataFrame(
                    {name: _convert(list(column), conversion)
                     for (name, conversion, _), column in zip(plan, values, strict=True)}
                )

        yield schema, batches()


def read_postgres(source: PostgresSource) -> pd.DataFrame:
    """The whole table (or the query's result), with the column types mapped to pandas dtypes."""
    return _fetch(source)[0]


def postgres_column_kinds(source: PostgresSource) -> dict[str, str]:
    """The kinds the source's column types declare (uuid → id, enums → categorical, numeric → numeric)."""
    return _fetch(source, limit_zero=True)[1]


def _statistics_probe(connection: Any, source: PostgresSource) -> dict[str, Any] | None:
    """A plain table's statistics counters; None for a view or another relation without them."""
    row = connection.execute(
        "select c.relkind::text, c.oid::bigint, c.relfilenode::bigint, s.n_tup_ins, s.n_tup_upd, s.n_tup_del "
        "from pg_class c left join pg_stat_all_tables s on s.relid = c.oid where c.oid = to_regclass(%s)",
        [_table_sql(source.table).as_string(connection)],
    ).fetchone()
    if row is None:
        raise SourceError(f"PostgreSQL source: {_what(source)}: the table does not exist (check the name and schema)")
    kind, oid, filenode, inserted, updated, deleted = row
    if kind != "r":
        return None
    return {"oid": oid, "filenode": filenode, "inserted": inserted, "updated": updated, "deleted": deleted}


def probe_postgres(source: PostgresSource) -> dict[str, Any]:
    """A cheap signature of the source that changes when its content may have changed (see the module notes)."""
    from psycopg import sql

    probe: dict[str, Any] = {"kind": "postgres", "at": server_address(source.dsn.get_secret_value())}
    probe.update({"table": source.table} if source.table else {"query": _statement(source.query)})
    with read_only_transaction(source) as connection:
        statistics = _statistics_probe(connection, source) if source.table and not source.updated_at else None
        if statistics is not None:
            return {**probe, "statistics": statistics}
        latest = sql.SQL("")
        if source.updated_at:
            latest = sql.SQL(", max({})::text").format(sql.Identifier(source.updated_at))
        query = sql.SQL("select count(*){} from (\n{}\n) as synth_source").format(latest, _select(source))
        row = connection.execute(query, prepare=True).fetchone()
    probe["rows"] = int(row[0])
    if source.updated_at:
        probe["max_updated_at"] = row[1]
    return probe


__all__ = ["postgres_batches", "postgres_column_kinds", "probe_postgres", "read_only_transaction", "read_postgres"]
