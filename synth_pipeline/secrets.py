"""Keeping credentials out of everything the pipeline shows or stores.

A PostgreSQL DSN carries a password. Wherever a DSN could be shown (an error message, a log line, asset
metadata, the catalog, a report) it goes through :func:`redact_dsn` first, which keeps what an on-call engineer
needs (user, host, port, database) and drops the password and every query parameter (``?password=...``,
``sslkey=...``). :func:`scrub` removes a DSN's password from any other text, such as a driver's error message.
"""

import re
from urllib.parse import unquote, urlsplit

_KEY_VALUE = re.compile(r"(\w+)\s*=\s*('(?:[^'\\]|\\.)*'|\S+)")
_URL_SCHEMES = ("postgresql://", "postgres://")


def _is_url(dsn: str) -> bool:
    return str(dsn).strip().lower().startswith(_URL_SCHEMES)


def _url_parts(dsn: str) -> dict[str, str]:
    parts = urlsplit(dsn)
    netloc = parts.netloc.rpartition("@")
    userinfo, hostport = (netloc[0], netloc[2]) if netloc[1] else ("", netloc[2])
    user, _, password = userinfo.partition(":")
    host, port = hostport, ""
    if hostport.startswith("["):  # an IPv6 literal: [::1]:5432
        host, _, rest = hostport.partition("]")
        host, port = host + "]", rest.lstrip(":")
    elif ":" in hostport:
        host, _, port = hostport.rpartition(":")
    return {"user": unquote(user), "password": unquote(password), "host": unquote(host), "port": port,
            "dbname": unquote(parts.path.lstrip("/"))}


def _key_value_parts(dsn: str) -> dict[str, str]:
    found = {}
    for key, value in _KEY_VALUE.findall(dsn):
        if value.startswith("'") and value.endswith("'"):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        found[key.lower()] = value
    return found


def dsn_parts(dsn: str) -> dict[str, str]:
    """user, password, host, port and dbname of a URL (``postgresql://...``) or key=value DSN (missing → "")."""
    text = str(dsn).strip()
    parts = _url_parts(text) if _is_url(text) else _key_value_parts(text)
    return {key: parts.get(key, "") for key in ("user", "password", "host", "port", "dbname")}


def redact_dsn(dsn: str) -> str:
    """The DSN without its password or parameters: ``postgresql://user@host:port/db``.

    >>> redact_dsn("postgresql://app:s3cret@db.internal:5433/sales?sslmode=require")
    'postgresql://app@db.internal:5433/sales'
    >>> redact_dsn("host=db.internal port=5433 dbname=sales user=app password=s3cret")
    'postgresql://app@db.internal:5433/sales'
    """
    parts = dsn_parts(dsn)
    user = f"{parts['user']}@" if parts["user"] else ""
    host = parts["host"] or "localhost"
    return f"postgresql://{user}{host}:{parts['port'] or '5432'}/{parts['dbname']}"


def server_address(dsn: str) -> str:
    """``host:port/db`` of a DSN, for error messages."""
    return redact_dsn(dsn).rpartition("@")[2].removeprefix("postgresql://")


def scrub(text: str, dsn: str) -> str:
    """``text`` with the DSN itself and its password (as written and URL-decoded) replaced.

    >>> scrub("failed: postgresql://app:s3cret@db:5432/sales", "postgresql://app:s3cret@db:5432/sales")
    'failed: postgresql://app@db:5432/sales'
    """
    text = str(text).replace(str(dsn), redact_dsn(dsn))
    written = urlsplit(str(dsn)).netloc.rpartition("@")[0].partition(":")[2] if _is_url(dsn) else ""
    for secret in {dsn_parts(dsn)["password"], written} - {""}:
        text = text.replace(secret, "***")
    return text


_URL_PASSWORD = re.compile(r"(?i)\b(postgres(?:ql)?://[^\s:/@]*):[^\s@/]*@")
_KEY_PASSWORD = re.compile(r"(?i)\bpassword\s*=\s*('(?:[^'\\]|\\.)*'|[^\s),;]+)")


def scrub_any(text: str) -> str:
    """``text`` with the password of every PostgreSQL URL or ``password=`` setting in it replaced.

    For messages whose DSN is not known (an error raised anywhere in a run):

    >>> scrub_any("cannot connect to postgresql://app:s3cret@db:5432/sales (password=s3cret)")
    'cannot connect to postgresql://app@db:5432/sales (password=***)'
    """
    return _KEY_PASSWORD.sub("password=***", _URL_PASSWORD.sub(r"\1@", str(text)))
