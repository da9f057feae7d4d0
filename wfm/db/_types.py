"""Column types shared by the tables (private)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

__all__ = ["UtcDateTime"]


class UtcDateTime(sa.TypeDecorator[dt.datetime]):
    """A tz-aware timestamp stored in UTC: ``timestamptz`` on PostgreSQL, naive UTC text on
    SQLite. Binding a naive datetime raises ``ValueError``; reads are tz-aware UTC."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if not isinstance(value, dt.datetime):
            raise TypeError(f"{value!r} is not a datetime")
        if value.utcoffset() is None:
            raise ValueError(f"{value!r} is a naive datetime; expected a tz-aware one")
        # a plain datetime (not a pandas Timestamp) in UTC, which every driver adapts
        utc = dt.datetime(
            value.year,
            value.month,
            value.day,
            value.hour,
            value.minute,
            value.second,
            value.microsecond,
            tzinfo=value.tzinfo,
            fold=value.fold,
        ).astimezone(dt.UTC)
        return utc if dialect.name != "sqlite" else utc.replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if not isinstance(value, dt.datetime):
            raise TypeError(f"{value!r} is not a datetime")
        if value.utcoffset() is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)
