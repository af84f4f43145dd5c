"""What ``snapshots query`` accepts: exactly one read-only SELECT (or WITH ... SELECT) statement.

The statement type comes from DuckDB's parser, not from a pattern over the text, so a
trailing ``;`` or a ``--`` comment is fine and ``SELECT 1; DROP TABLE snapshots`` is two
statements and refused. The warehouse is opened read-only for the query as well.
"""

from __future__ import annotations

import duckdb

from synth_pipeline.errors import ConfigError


def check_select(sql: str) -> None:
    """Raise :class:`ConfigError` unless ``sql`` is exactly one SELECT statement."""
    if not isinstance(sql, str) or not sql.strip():
        raise ConfigError("give one SELECT statement, e.g. \"SELECT * FROM snapshots\"")
    with duckdb.connect(":memory:") as parser:
        try:
            statements = parser.extract_statements(sql)
        except duckdb.Error as error:
            raise ConfigError(f"the query is not valid SQL: {str(error).splitlines()[0]}") from None
    if len(statements) != 1:
        raise ConfigError(f"give exactly one SELECT statement; the query holds {len(statements)}")
    kind = statements[0].type
    if kind != duckdb.StatementType.SELECT:
        raise ConfigError(f"only a read-only SELECT (or WITH ... SELECT) is accepted, not {kind.name}")
