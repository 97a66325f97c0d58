"""an index for the reports' action-item counts: an incident's items with status and due date

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 14:45:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("action_items", schema=None) as batch_op:
        batch_op.create_index(
            "ix_action_items_incident_id_status_due_at",
            ["incident_id", "status", "due_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("action_items", schema=None) as batch_op:
        batch_op.drop_index("ix_action_items_incident_id_status_due_at")
