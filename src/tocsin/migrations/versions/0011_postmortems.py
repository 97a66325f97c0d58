"""postmortems, action items, timeline pins, and the incident's root cause category

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 14:03:48.284698
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tocsin.db

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "action_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("owner", sa.String(length=254), nullable=False),
        sa.Column("team", sa.String(length=64), nullable=True),
        sa.Column("priority", sa.String(length=32), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=True),
        sa.Column("due_at", tocsin.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("done_at", tocsin.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", tocsin.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tocsin.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=254), nullable=False),
        sa.CheckConstraint(
            "status IN ('open', 'in_progress', 'done', 'wont_do')",
            name=op.f("ck_action_items_status"),
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_action_items_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_items")),
        sa.UniqueConstraint("incident_id", "number", name=op.f("uq_action_items_incident_id")),
    )
    with op.batch_alter_table("action_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_action_items_owner"), ["owner"], unique=False)
        batch_op.create_index("ix_action_items_status_due_at", ["status", "due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_action_items_team"), ["team"], unique=False)

    op.create_table(
        "postmortems",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("template", sa.String(length=64), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("sections", sa.JSON(), nullable=False),
        sa.Column("reviewers", sa.JSON(), nullable=False),
        sa.Column("author", sa.String(length=254), nullable=False),
        sa.Column("created_at", tocsin.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tocsin.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("meeting_at", tocsin.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("due_at", tocsin.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finalized_at", tocsin.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('draft', 'in_review', 'final')", name=op.f("ck_postmortems_status")
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_postmortems_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_postmortems")),
        sa.UniqueConstraint("incident_id", name=op.f("uq_postmortems_incident_id")),
    )
    op.create_table(
        "timeline_pins",
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("pinned_by", sa.String(length=254), nullable=False),
        sa.Column("pinned_at", tocsin.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["incident_events.id"],
            name=op.f("fk_timeline_pins_event_id_incident_events"),
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_timeline_pins_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_timeline_pins")),
    )
    with op.batch_alter_table("timeline_pins", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_timeline_pins_incident_id"), ["incident_id"], unique=False
        )

    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("root_cause", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_column("root_cause")

    with op.batch_alter_table("timeline_pins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_timeline_pins_incident_id"))

    op.drop_table("timeline_pins")
    op.drop_table("postmortems")
    with op.batch_alter_table("action_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_action_items_team"))
        batch_op.drop_index("ix_action_items_status_due_at")
        batch_op.drop_index(batch_op.f("ix_action_items_owner"))

    op.drop_table("action_items")
