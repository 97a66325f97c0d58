"""Integrations (where alerts come from), alerts, and every event received.

One open alert per (integration, dedup key) is the database's to keep: a partial unique
index over the alerts that are not resolved. An event is stored as received (its secret
routing key taken out) before the sender hears "accepted"; processing it is a job.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db import Base, UTCDateTime

#: An alert is triggered, then perhaps acknowledged, then resolved (for good: the same
#: dedup key afterwards opens a new alert).
ALERT_STATUSES = ("triggered", "acknowledged", "resolved")
#: What processing an event did: opened a new alert, updated (de-duplicated into) the open
#: one, acknowledged or resolved it, changed nothing (acknowledged twice) or dropped it (an
#: acknowledge or resolve with no open alert). ``None`` while the event waits for its job.
EVENT_OUTCOMES = ("opened", "updated", "acknowledged", "resolved", "unchanged", "dropped")
#: The partial index's condition; ``ON CONFLICT`` names the same text.
OPEN_ALERT = "status <> 'resolved'"
#: What routing did with a new alert: opened an incident, joined (grouped into) an open
#: one, ignored it (a route's ``action: ignore``), or held it (its service in maintenance).
ROUTINGS = ("opened", "grouped", "ignored", "maintenance")


class Integration(Base):
    """A source of alerts with its own secret key (stored as a SHA-256 hash only)."""

    __tablename__ = "integrations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The integration's name in the policy, the API and the CLI (a slug).
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(20))
    service: Mapped[str | None] = mapped_column(String(64), nullable=True)
    team: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: ``policy`` (declared under ``integrations:``) or ``api`` (made with the API or CLI).
    origin: Mapped[str] = mapped_column(String(10))
    #: SHA-256 of the secret key (PagerDuty's ``routing_key``); null until it has one.
    key_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    #: The key's first characters, to tell keys apart in lists and logs.
    key_prefix: Mapped[str | None] = mapped_column(String(8), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(254))
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Alert(Base):
    """A problem a source reported, de-duplicated by its dedup key while open."""

    __tablename__ = "alerts"
    __table_args__ = (
        # One open alert per (integration, dedup key): concurrent identical triggers bump
        # its count (INSERT ... ON CONFLICT DO UPDATE) instead of opening a second one.
        Index(
            "uq_alerts_open_dedup_key",
            "integration_id",
            "dedup_key",
            unique=True,
            sqlite_where=text(OPEN_ALERT),
            postgresql_where=text(OPEN_ALERT),
        ),
        Index("ix_alerts_status_created_at", "status", "created_at"),
        Index("ix_alerts_integration_id_dedup_key", "integration_id", "dedup_key"),
        # Grouping looks up the latest alert of a group (alerts/routing.py).
        Index("ix_alerts_group_key_last_seen_at", "group_key", "last_seen_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("integrations.id"))
    dedup_key: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(12))
    #: The latest trigger's summary, severity and details.
    summary: Mapped[str] = mapped_column(String(1024))
    severity: Mapped[str] = mapped_column(String(10))
    source: Mapped[str] = mapped_column(Text)
    component: Mapped[str | None] = mapped_column(Text, nullable=True)
    group: Mapped[str | None] = mapped_column(Text, nullable=True)
    class_: Mapped[str | None] = mapped_column("class", Text, nullable=True)
    details: Mapped[Any] = mapped_column(JSON, nullable=True)
    #: How many triggers this alert took (the first one included).
    count: Mapped[int] = mapped_column(Integer)
    #: When the source says the problem was first detected (its timestamp, else receipt).
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.id"), nullable=True, index=True
    )
    #: What routing decided when the alert opened (see :mod:`tocsin.alerts.routing`): the
    #: service and team it is about, the route it took, the key of its group, and what
    #: became of it (:data:`ROUTINGS`); null before routing.
    service: Mapped[str | None] = mapped_column(String(64), nullable=True)
    team: Mapped[str | None] = mapped_column(String(64), nullable=True)
    route: Mapped[str | None] = mapped_column(String(80), nullable=True)
    group_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    routing: Mapped[str | None] = mapped_column(String(12), nullable=True)


class AlertEvent(Base):
    """One event as a source sent it, and what processing it did."""

    __tablename__ = "alert_events"
    __table_args__ = (
        Index("ix_alert_events_pending", "integration_id", "dedup_key", "outcome"),
        Index("ix_alert_events_alert_id", "alert_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("integrations.id"))
    #: trigger, acknowledge or resolve.
    action: Mapped[str] = mapped_column(String(12))
    dedup_key: Mapped[str] = mapped_column(String(255))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: The body as received, with the secret key replaced by its prefix.
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: The normalised fields processing uses (summary, severity, source, timestamp, ...).
    fields: Mapped[dict[str, Any]] = mapped_column(JSON)
    outcome: Mapped[str | None] = mapped_column(String(12), nullable=True)
    reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"), nullable=True)


class MaintenanceWindow(Base):
    """A service in maintenance, made through the API or the CLI (the policy's windows
    are read from the policy): its alerts are kept, but open no incident."""

    __tablename__ = "maintenance_windows"
    __table_args__ = (Index("ix_maintenance_windows_ends_at", "ends_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: Moved to the moment it was ended early (to its start, if it had not started).
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(254))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    ended_by: Mapped[str | None] = mapped_column(String(254), nullable=True)
