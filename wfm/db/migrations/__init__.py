"""Alembic migrations of the wfm database (run by ``wfm.db.upgrade``; no alembic.ini)."""
