"""The database helpers the services share (private): one transaction per service call."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlmodel import Session

from wfm.db import make_engine, upgrade

__all__ = ["open_database", "read_only", "transaction"]


def open_database(url: str, *, migrate: bool = True) -> sa.Engine:
    """An engine for ``url``, after migrating the database to the latest revision."""
    if migrate:
        upgrade(url)
    return make_engine(url)


@contextmanager
def transaction(engine: sa.Engine) -> Iterator[Session]:
    """A session inside one transaction: committed when the block ends, rolled back (and
    the exception re-raised) when it raises. Objects stay readable after the commit."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        yield session


@contextmanager
def read_only(engine: sa.Engine) -> Iterator[Session]:
    """A session for reads; whatever it did is rolled back at the end."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
        finally:
            session.rollback()
