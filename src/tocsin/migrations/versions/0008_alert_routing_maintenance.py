"""alert routing and maintenance windows

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tocsin.db

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "maintenance_windows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service", sa.String(length=64), nullable=False),
        sa.Column("starts_at", tocsin.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", tocsin.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", tocsin.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=254), nullable=False),
        sa.Column("ended_at", tocsin.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.String(length=254), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maintenance_windows")),
    )
    with op.batch_alter_table("maintenance_windows", schema=None) as batch_op:
        batch_op.create_index("ix_maintenance_windows_ends_at", ["ends_at"], unique=False)

    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("service", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("team", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("route", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("group_key", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("routing", sa.String(length=12), nullable=True))
        batch_op.create_index(
            "ix_alerts_group_key_last_seen_at", ["group_key", "last_seen_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_group_key_last_seen_at")
        batch_op.drop_column("routing")
        batch_op.drop_column("group_key")
        batch_op.drop_column("route")
        batch_op.drop_column("team")
        batch_op.drop_column("service")

    with op.batch_alter_table("maintenance_windows", schema=None) as batch_op:
        batch_op.drop_index("ix_maintenance_windows_ends_at")

    op.drop_table("maintenance_windows")
