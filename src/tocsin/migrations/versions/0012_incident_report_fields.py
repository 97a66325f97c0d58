"""what reports need of an incident: impact start, service, team, SLA due times as columns

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 14:30:00.000000
"""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

import tocsin.db

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STAGE_TARGETS = ("acknowledge", "identify", "mitigate", "resolve")


def upgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("started_at", tocsin.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("service", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("team", sa.String(length=64), nullable=True))
        for target in STAGE_TARGETS:
            batch_op.add_column(
                sa.Column(
                    f"sla_{target}_due_at", tocsin.db.UTCDateTime(timezone=True), nullable=True
                )
            )
    _copy_due_times()


def _copy_due_times() -> None:
    """The due times of incidents declared before this revision, from ``sla_due``."""
    incidents = sa.table(
        "incidents",
        sa.column("id", sa.Integer()),
        sa.column("sla_due", sa.JSON()),
        *(
            sa.column(f"sla_{t}_due_at", tocsin.db.UTCDateTime(timezone=True))
            for t in STAGE_TARGETS
        ),
    )
    bind = op.get_bind()
    rows = bind.execute(sa.select(incidents.c.id, incidents.c.sla_due)).all()
    for incident_id, due in rows:
        values = {
            f"sla_{t}_due_at": datetime.fromisoformat(due[t])
            for t in STAGE_TARGETS
            if isinstance(due, dict) and due.get(t)
        }
        if values:
            bind.execute(incidents.update().where(incidents.c.id == incident_id).values(values))


def downgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        for target in reversed(STAGE_TARGETS):
            batch_op.drop_column(f"sla_{target}_due_at")
        batch_op.drop_column("team")
        batch_op.drop_column("service")
        batch_op.drop_column("started_at")
