"""A real PostgreSQL server for the tests: ``initdb`` + ``pg_ctl start`` on 127.0.0.1, a free port, a temp data dir.

Used through the fixtures in ``conftest.py`` (``postgres_server`` for the session, ``postgres_dsn`` for a fresh
database per test). Verified facts this follows (FIELD-NOTES.md): ``initdb`` refuses to run as root, so under root
every server command runs as the ``postgres`` user (``runuser -u postgres``) on a data directory owned by it; the
password file is a real file that user can read (a process substitution is not); the server listens on 127.0.0.1
only and puts its socket in its own directory; ``pg_ctl -m fast stop`` stops it. Every step has a time limit.
"""

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STEP_TIMEOUT_S = 60
SERVER_USER = "postgres"  # the OS account that owns and runs the server when the tests run as root
DB_USER = "synth"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL binaries on this machine (the only reason a PostgreSQL test may be skipped)."""


def postgres_bin_dir() -> Path:
    """The directory holding ``initdb`` and ``pg_ctl``: PATH first, then Debian's ``/usr/lib/postgresql/N/bin``."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]), reverse=True)
    if versions:
        return versions[0].parent
    raise PostgresUnavailable(
        "no PostgreSQL server binaries (initdb, pg_ctl) on PATH or under /usr/lib/postgresql/*/bin; "
        "install them with `apt-get install -y postgresql` (.ci/run does)"
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class PostgresServer:
    """A running server: where it listens, the superuser it was initialised with, and its data directory."""

    bin_dir: Path
    root: Path
    port: int
    user: str
    password: str
    host: str = "127.0.0.1"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def dsn(self, dbname: str = "postgres") -> str:
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{dbname}"

    def create_database(self, name: str | None = None) -> str:
        """A new empty database; returns its DSN."""
        import psycopg

        name = name or f"test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.dsn(), autocommit=True, connect_timeout=10) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.dsn(name)

    def drop_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.dsn(), autocommit=True, connect_timeout=10) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        """Fast shutdown (disconnects clients), then remove the data directory."""
        try:
            _run_as_server_user([str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast",
                                 "-w", "-t", "30", "stop"], cwd=self.root)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def _as_root() -> bool:
    return os.geteuid() == 0


def _run_as_server_user(command: list[str], cwd: Path) -> subprocess.CompletedProcess:
    if _as_root():
        command = ["runuser", "-u", SERVER_USER, "--", *command]
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=STEP_TIMEOUT_S)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def _make_root() -> Path:
    """A temp directory the server user owns (pytest's tmp dirs are private to root, so not those)."""
    root = Path(tempfile.mkdtemp(prefix="synth-pg-"))
    if _as_root():
        shutil.chown(root, user=SERVER_USER, group=SERVER_USER)
    root.chmod(0o700)
    return root


def _initdb(bin_dir: Path, root: Path, user: str, password: str) -> None:
    pwfile = root / "pwfile"
    pwfile.write_text(password + "\n")
    if _as_root():
        shutil.chown(pwfile, user=SERVER_USER, group=SERVER_USER)
    try:
        _run_as_server_user([str(bin_dir / "initdb"), "-D", str(root / "data"), "-A", "md5", f"--pwfile={pwfile}",
                             "-U", user, "-E", "UTF8", "--locale=C", "--no-sync"], cwd=root)
    finally:
        pwfile.unlink(missing_ok=True)


def start_postgres_server(attempts: int = 3) -> PostgresServer:
    """initdb a fresh cluster and start it on a free 127.0.0.1 port (retried if another process took the port)."""
    bin_dir = postgres_bin_dir()
    if _as_root() and shutil.which("runuser") is None:
        raise RuntimeError("running as root needs `runuser` to start PostgreSQL as the postgres user")
    root = _make_root()
    password = "pw-" + secrets.token_hex(12)  # distinctive, so leak tests can grep for it
    try:
        _initdb(bin_dir, root, DB_USER, password)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    last_error: Exception | None = None
    for _ in range(attempts):
        server = PostgresServer(bin_dir=bin_dir, root=root, port=free_port(), user=DB_USER, password=password)
        options = (f"-h 127.0.0.1 -p {server.port} -k {root} -c fsync=off -c synchronous_commit=off "
                   "-c full_page_writes=off")
        try:
            _run_as_server_user([str(bin_dir / "pg_ctl"), "-D", str(server.data_dir), "-o", options,
                                 "-l", str(root / "server.log"), "-w", "-t", "30", "start"], cwd=root)
            return server
        except (RuntimeError, subprocess.TimeoutExpired) as error:
            last_error = error
            subprocess.run(["runuser", "-u", SERVER_USER, "--"] * _as_root()
                           + [str(bin_dir / "pg_ctl"), "-D", str(server.data_dir), "-m", "immediate", "stop"],
                           cwd=root, capture_output=True, timeout=STEP_TIMEOUT_S)
    shutil.rmtree(root, ignore_errors=True)
    raise RuntimeError(f"PostgreSQL did not start after {attempts} attempts: {last_error}")


def _column_type(series: Any) -> str:
    import pandas as pd

    if pd.api.types.is_bool_dtype(series.dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(series.dtype):
        return "bigint"
    if pd.api.types.is_float_dtype(series.dtype):
        return "double precision"
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return "timestamp"
    return "text"


def load_table(dsn: str, table: str, frame: Any, *, types: dict[str, str] | None = None, replace: bool = True) -> None:
    """Write a DataFrame to a PostgreSQL table with COPY (column types from the dtypes, or ``types``)."""
    import pandas as pd
    import psycopg
    from psycopg import sql

    types = {**{str(c): _column_type(frame[c]) for c in frame.columns}, **(types or {})}
    name = sql.SQL(".").join(sql.Identifier(part) for part in table.split(".", 1))
    columns = sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(t)) for c, t in types.items())
    with psycopg.connect(dsn, connect_timeout=10) as connection:
        if replace:
            connection.execute(sql.SQL("drop table if exists {}").format(name))
            connection.execute(sql.SQL("create table {} ({})").format(name, columns))
        with connection.cursor().copy(sql.SQL("copy {} from stdin").format(name)) as copy:
            for row in frame.itertuples(index=False, name=None):
                copy.write_row([None if pd.isna(v) else v for v in row])
