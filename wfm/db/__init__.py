"""The wfm database (services layer): SQLModel tables, migrations and repositories.

- ``wfm.db.settings``: ``DbSettings`` (``WFM_DATABASE_URL``, default ``sqlite:///./wfm.db``);
- ``wfm.db.engine``: ``make_engine(url)`` for SQLite (WAL, foreign keys) and PostgreSQL
  (psycopg 3);
- ``wfm.db.migrate``: ``upgrade(url)`` runs the alembic migrations in
  ``wfm/db/migrations`` up to the latest;
- ``wfm.db.tables``: the tables, mapped to ``wfm.domain``'s value objects;
- ``wfm.db.repositories``: typed functions over a ``Session`` that never commit.

Nothing connects or reads the environment at import. A service runs::

    engine = make_engine(DbSettings().database_url)
    with Session(engine, expire_on_commit=False) as session, session.begin():
        version = repositories.publish(session, draft_id=7, idempotency_key=key)
"""

from __future__ import annotations

from wfm.db import repositories
from wfm.db.engine import database_url, make_engine
from wfm.db.migrate import upgrade
from wfm.db.settings import DbSettings

__all__ = ["DbSettings", "database_url", "make_engine", "repositories", "upgrade"]
