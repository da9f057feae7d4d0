"""The databases the storage and API tests run on: a SQLite file always, and a real PostgreSQL
server when ``WFM_TEST_POSTGRES_URL`` is set (``make test`` sets it when
``scripts/postgres.sh`` can start one)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from wfm.db import database_url, make_engine

PG_URL = os.environ.get("WFM_TEST_POSTGRES_URL") or None
PG_REASON = (
    f"no PostgreSQL server: {os.environ['WFM_TEST_POSTGRES_SKIP']}"
    if os.environ.get("WFM_TEST_POSTGRES_SKIP")
    else "no PostgreSQL server: WFM_TEST_POSTGRES_URL is not set "
    "(`make test` sets it when scripts/postgres.sh can start PostgreSQL)"
)
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param(
        "postgres", id="postgres", marks=pytest.mark.skipif(PG_URL is None, reason=PG_REASON)
    ),
]


def new_database(kind: str, tmp: Path, prefix: str) -> tuple[str, Callable[[], None]]:
    """The URL of an empty database — a new SQLite file, or a new schema on the PostgreSQL
    server — and a function that drops it."""
    if kind == "sqlite":
        return f"sqlite:///{tmp / 'wfm.db'}", lambda: None
    assert PG_URL is not None
    schema = f"{prefix}_{uuid.uuid4().hex[:16]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')

    def drop() -> None:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()

    scoped = database_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    return scoped.render_as_string(hide_password=False), drop
