"""Incidents, their roles, timeline, checklists and the per-day number counter."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db import Base, UTCDateTime


class IncidentCounter(Base):
    """One row per local day; incremented inside the declaring transaction (gap-free)."""

    __tablename__ = "incident_counters"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class Incident(Base):
    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ref: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text, default="")
    severity: Mapped[str] = mapped_column(String(64))
    type: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    restricted: Mapped[bool] = mapped_column(Boolean, default=False)
    policy_version_id: Mapped[int] = mapped_column(ForeignKey("policy_versions.id"))
    components: Mapped[list[str]] = mapped_column(JSON, default=list)
    users_affected: Mapped[int | None] = mapped_column(Integer, nullable=True)
    users_affected_pct: Mapped[float | None] = mapped_column(Float, nullable=True)
    business_impact: Mapped[str] = mapped_column(Text, default="")
    declared_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime())
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    identified_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    mitigated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    #: Due time per SLA target (stage or ``role:<key>``), ISO text or null; frozen once reached.
    sla_due: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: The escalation ladder chosen at declaration (an alert route's ``escalation``); None
    #: follows the policy's ladders by severity and type.
    ladder_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: The policy's root cause category (``root_causes:``), set from the postmortem.
    root_cause: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: When the impact began, if known (before detection): time to detect counts from it.
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    #: The service and team it is about (reports group by them): given at declaration,
    #: else those of the alert route that opened it; the service defaults to the first
    #: component.
    service: Mapped[str | None] = mapped_column(String(64), nullable=True)
    team: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: ``sla_due``'s stage targets as columns, kept with it, so reports compare in SQL.
    sla_acknowledge_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    sla_identify_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    sla_mitigate_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    sla_resolve_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class IncidentRole(Base):
    __tablename__ = "incident_roles"
    __table_args__ = (
        # One holder at a time of an exclusive role (the incident commander): the database
        # enforces it, so two concurrent assignments cannot both win.
        Index(
            "uq_incident_roles_one_holder",
            "incident_id",
            "role",
            unique=True,
            sqlite_where=text("exclusive AND relieved_at IS NULL"),
            postgresql_where=text("exclusive AND relieved_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    role: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    exclusive: Mapped[bool] = mapped_column(Boolean)
    assumed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    relieved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    assigned_by: Mapped[str] = mapped_column(String(254))


class IncidentParticipant(Base):
    """Who may see a restricted incident (besides admins)."""

    __tablename__ = "incident_participants"

    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())


class IncidentEvent(Base):
    """A timeline entry. Append-only: nothing updates or deletes these rows."""

    __tablename__ = "incident_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    actor: Mapped[str] = mapped_column(String(254))
    kind: Mapped[str] = mapped_column(String(40))
    summary: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ChecklistItem(Base):
    __tablename__ = "checklist_items"
    __table_args__ = (UniqueConstraint("incident_id", "checklist", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    checklist: Mapped[str] = mapped_column(String(64))
    checklist_name: Mapped[str] = mapped_column(String(200))
    phase: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    checked_by: Mapped[str | None] = mapped_column(String(254), nullable=True)
