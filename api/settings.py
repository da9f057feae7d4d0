"""The API's settings (pydantic-settings, ``WFM_`` environment variables), read when an
app is created, never at import."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from wfm.db.settings import DEFAULT_DATABASE_URL

__all__ = ["ApiSettings"]


class ApiSettings(BaseSettings):
    """- ``database_url`` (``WFM_DATABASE_URL``): SQLite file or PostgreSQL URL;
    - ``tz`` (``WFM_TZ``): the site's IANA time zone (local days, CSV times without offset,
      iCalendar events);
    - ``max_upload_bytes`` (``WFM_MAX_UPLOAD_BYTES``): the largest history upload;
    - ``samples_dir`` (``WFM_SAMPLES_DIR``): a site folder (``data/samples``) loaded into
      the database on start when it has no project yet; none by default;
    - ``response_cache_bytes`` (``WFM_RESPONSE_CACHE_BYTES``): memory for rendered
      responses of published schedules (the week's JSON, agents' JSON and iCalendar);
      0 renders every response anew."""

    model_config = SettingsConfigDict(env_prefix="WFM_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    tz: str = "Europe/Berlin"
    max_upload_bytes: int = Field(default=5 * 1024 * 1024, gt=0)
    samples_dir: Path | None = None
    response_cache_bytes: int = Field(default=64 * 1024 * 1024, ge=0)
