"""Database settings from the environment (pydantic-settings); read when constructed,
never at import."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DEFAULT_DATABASE_URL", "DbSettings"]

DEFAULT_DATABASE_URL = "sqlite:///./wfm.db"


class DbSettings(BaseSettings):
    """``database_url`` from ``WFM_DATABASE_URL``; default a SQLite file ``wfm.db`` in the
    working directory. PostgreSQL URLs (``postgresql://…``) run on psycopg 3."""

    model_config = SettingsConfigDict(env_prefix="WFM_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
