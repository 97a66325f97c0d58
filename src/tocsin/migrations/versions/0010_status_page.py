"""status page: components and their status history, public incidents and maintenance,
updates, subscribers, and the public surface's version counter

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 14:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tocsin.db
from tocsin.migrations.append_only import append_only, drop_append_only

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "statuspage_components",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("is_group", sa.Boolean(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("only_show_if_degraded", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("created_at", tocsin.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tocsin.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("removed_at", tocsin.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["statuspage_components.id"],
            name=op.f("fk_statuspage_components_group_id_statuspage_components"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statuspage_components")),
        sa.UniqueConstraint("key", name=op.f("uq_statuspage_components_key")),
    )
    op.create_table(
        "statuspage_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", tocsin.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("policy_version_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statuspage_state")),
    )
    op.create_table(
        "statuspage_subscribers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("address", sa.String(length=500), nullable=False),
        sa.Column("components", sa.JSON(), nullable=False),
        sa.Column("created_at", tocsin.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", tocsin.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("unsubscribed_at", tocsin.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statuspage_subscribers")),
        sa.UniqueConstraint("kind", "address", name=op.f("uq_statuspage_subscribers_kind")),
    )
    op.create_table(
        "statuspage_incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("impact", sa.String(length=12), nullable=False),
        sa.Column("impact_override", sa.String(length=12), nullable=True),
        sa.Column("components", sa.JSON(), nullable=False),
        sa.Column("created_at", tocsin.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tocsin.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", tocsin.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("monitoring_at", tocsin.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", tocsin.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("scheduled_for", tocsin.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("scheduled_until", tocsin.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("auto_transition", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=254), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_statuspage_incidents_incident_id_incidents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statuspage_incidents")),
        sa.UniqueConstraint("public_id", name=op.f("uq_statuspage_incidents_public_id")),
    )
    with op.batch_alter_table("statuspage_incidents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_statuspage_incidents_incident_id"), ["incident_id"], unique=False
        )
        batch_op.create_index(
            "ix_statuspage_incidents_kind_created_at", ["kind", "created_at"], unique=False
        )

    op.create_table(
        "statuspage_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("component_id", sa.Integer(), nullable=False),
        sa.Column("at", tocsin.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("old_status", sa.String(length=24), nullable=True),
        sa.Column("new_status", sa.String(length=24), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=254), nullable=False),
        sa.ForeignKeyConstraint(
            ["component_id"],
            ["statuspage_components.id"],
            name=op.f("fk_statuspage_changes_component_id_statuspage_components"),
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["statuspage_incidents.id"],
            name=op.f("fk_statuspage_changes_incident_id_statuspage_incidents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statuspage_changes")),
    )
    with op.batch_alter_table("statuspage_changes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_statuspage_changes_component_at", ["component_id", "at"], unique=False
        )

    op.create_table(
        "statuspage_updates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=16), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", tocsin.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("display_at", tocsin.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("affected_components", sa.JSON(), nullable=False),
        sa.Column("deliver_notifications", sa.Boolean(), nullable=False),
        sa.Column("posted_by", sa.String(length=254), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["statuspage_incidents.id"],
            name=op.f("fk_statuspage_updates_incident_id_statuspage_incidents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statuspage_updates")),
        sa.UniqueConstraint("public_id", name=op.f("uq_statuspage_updates_public_id")),
    )
    with op.batch_alter_table("statuspage_updates", schema=None) as batch_op:
        batch_op.create_index("ix_statuspage_updates_incident_id", ["incident_id"], unique=False)

    append_only("statuspage_changes")


def downgrade() -> None:
    drop_append_only("statuspage_changes")
    with op.batch_alter_table("statuspage_updates", schema=None) as batch_op:
        batch_op.drop_index("ix_statuspage_updates_incident_id")

    op.drop_table("statuspage_updates")
    with op.batch_alter_table("statuspage_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_statuspage_changes_component_at")

    op.drop_table("statuspage_changes")
    with op.batch_alter_table("statuspage_incidents", schema=None) as batch_op:
        batch_op.drop_index("ix_statuspage_incidents_kind_created_at")
        batch_op.drop_index(batch_op.f("ix_statuspage_incidents_incident_id"))

    op.drop_table("statuspage_incidents")
    op.drop_table("statuspage_subscribers")
    op.drop_table("statuspage_state")
    op.drop_table("statuspage_components")
