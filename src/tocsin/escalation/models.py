"""Escalation state per incident: the ladder snapshot, its planned steps, done-once marks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db import Base, UTCDateTime


class Escalation(Base):
    """The ladder an incident escalates on, snapshotted when escalation starts.

    A later policy change never rewrites it; a severity change swaps in the new level's
    ladder but keeps ``started_at``, so the time already elapsed counts.
    """

    __tablename__ = "escalations"

    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    ladder_key: Mapped[str] = mapped_column(String(64))
    ladder: Mapped[dict[str, Any]] = mapped_column(JSON)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: active, or stopped (resolved / no ladder for the new severity).
    status: Mapped[str] = mapped_column(String(10))
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    stop_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class EscalationStep(Base):
    """One planned step of one run (cycle) of a ladder, and what became of it."""

    __tablename__ = "escalation_steps"
    __table_args__ = (
        UniqueConstraint("incident_id", "ladder_key", "cycle", "position"),
        Index("ix_escalation_steps_incident_status", "incident_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    ladder_key: Mapped[str] = mapped_column(String(64))
    cycle: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)
    #: The step as the policy wrote it (action, targets, condition), from the snapshot.
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: pending → fired | cancelled | skipped
    status: Mapped[str] = mapped_column(String(10))
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class EscalationMark(Base):
    """A reminder or warning that has been given: inserted once, so it is given once."""

    __tablename__ = "escalation_marks"

    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
