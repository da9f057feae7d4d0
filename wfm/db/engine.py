"""Engines for SQLite and PostgreSQL (nothing is created at import)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import StaticPool

from wfm.errors import InputError

__all__ = ["database_url", "make_engine"]

_EXPECTED = "sqlite:///path/to/wfm.db or postgresql://user:password@host:port/database"
SQLITE_BUSY_TIMEOUT_S = 30.0


def database_url(url: str | sa.URL) -> sa.URL:
    """``url`` parsed, with ``postgresql://`` (and ``postgres://``) rewritten to psycopg 3
    (``postgresql+psycopg://``). Other back ends than SQLite and PostgreSQL raise
    ``InputError`` (field ``database_url``)."""
    try:
        parsed = sa.make_url(url)
    except ArgumentError as exc:
        raise InputError(
            f"database_url: {str(url)!r} is not a database URL",
            field="database_url",
            expected=_EXPECTED,
        ) from exc
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise InputError(
            f"database_url: back end {parsed.get_backend_name()!r} is not supported",
            field="database_url",
            expected=_EXPECTED,
        )
    return parsed


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
        cursor.execute("PRAGMA foreign_keys=ON")  # SQLite leaves them off by default
    finally:
        cursor.close()


def make_engine(url: str | sa.URL) -> sa.Engine:
    """An engine for ``url``.

    SQLite: WAL journal, foreign keys on (for every new connection), usable from several
    threads, writers wait up to 30 s for the lock; an in-memory database is one shared
    connection. PostgreSQL: psycopg 3, connections checked before use."""
    parsed = database_url(url)
    if parsed.get_backend_name() == "sqlite":
        memory = parsed.database in (None, "", ":memory:")
        engine = sa.create_engine(
            parsed,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_S},
            poolclass=StaticPool if memory else None,
        )
        sa.event.listen(engine, "connect", _sqlite_on_connect)
        return engine
    return sa.create_engine(parsed, pool_pre_ping=True)
