"""Schema migrations: ``upgrade(url)`` runs ``alembic upgrade head`` in code."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from wfm.db.engine import database_url, make_engine

__all__ = ["MIGRATIONS", "alembic_config", "upgrade"]

MIGRATIONS = Path(__file__).resolve().with_name("migrations")
"""The folder with ``env.py`` and ``versions/``."""


def alembic_config(url: str | sa.URL | None = None) -> Config:
    """An alembic configuration for wfm's migrations (no alembic.ini), optionally with a
    database URL (for ``alembic`` commands that open their own connection)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    if url is not None:
        text = database_url(url).render_as_string(hide_password=False)
        config.set_main_option("sqlalchemy.url", text.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at ``url`` to ``revision`` (the latest by default), in one
    transaction where the back end allows (PostgreSQL).

    On SQLite, foreign keys are off while migrating (a batch migration copies a table and
    drops the old one) and checked afterwards: a dangling reference raises ``RuntimeError``."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            sqlite = connection.dialect.name == "sqlite"
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
                connection.commit()
            with connection.begin():
                config = alembic_config()
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
                if sqlite:
                    dangling = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if dangling:
                        table, rowid, parent, _ = dangling[0]
                        raise RuntimeError(
                            f"migration to {revision} left {len(dangling)} dangling references, "
                            f"e.g. {table} row {rowid} -> {parent}"
                        )
    finally:
        engine.dispose()  # the connection with foreign keys off is not reused
