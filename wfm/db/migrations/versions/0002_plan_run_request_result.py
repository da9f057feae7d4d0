"""Plan runs keep their request and a result summary (JSON, NULL until known).

Revision ID: 0002
Revises: 0001
Created: 2026-11-27 (written by hand)
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("plan_run") as batch:
        batch.add_column(sa.Column("request", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("result", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("plan_run") as batch:
        batch.drop_column("result")
        batch.drop_column("request")
