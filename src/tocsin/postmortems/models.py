"""Postmortems, their action items, and the timeline events pinned for them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db import Base, UTCDateTime

#: A postmortem's statuses, in order.
POSTMORTEM_STATUSES = ("draft", "in_review", "final")
#: An action item's statuses; the last two close it.
ACTION_STATUSES = ("open", "in_progress", "done", "wont_do")
OPEN_ACTION_STATUSES = ("open", "in_progress")
CLOSED_ACTION_STATUSES = ("done", "wont_do")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Postmortem(Base):
    """One per incident: a document made from the policy's template, kept as sections."""

    __tablename__ = "postmortems"
    __table_args__ = (CheckConstraint(_one_of("status", POSTMORTEM_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), unique=True)
    status: Mapped[str] = mapped_column(String(12))
    template: Mapped[str] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(300))
    #: The header lines: ``[{"key", "label", "value"}]``; ``status`` and ``reviewers`` are
    #: rendered from the columns, never stored here.
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    #: ``[{"key", "heading", "level", "body"}]`` in document order.
    sections: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    #: ``[{"email", "approved_at"}]``: who reviews it, and when each approved.
    reviewers: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    author: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: When the postmortem meeting is (or was) held.
    meeting_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    #: The policy's deadline for the postmortem (meeting), counted from resolution.
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finalized_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ActionItem(Base):
    """A follow-up task of an incident, tracked to done (or won't do)."""

    __tablename__ = "action_items"
    __table_args__ = (
        UniqueConstraint("incident_id", "number"),
        CheckConstraint(_one_of("status", ACTION_STATUSES), name="status"),
        Index("ix_action_items_status_due_at", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    #: 1, 2, 3 ... within the incident: the ``#`` column of the postmortem's table.
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(12))
    #: A person's handle or e-mail, as the policy knows them.
    owner: Mapped[str] = mapped_column(String(254), index=True)
    team: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    priority: Mapped[str] = mapped_column(String(32))
    #: Link to the item in an external tracker (Jira, GitHub, Linear ...).
    url: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(254))


class TimelinePin(Base):
    """A timeline event chosen for the postmortem (events themselves are append-only)."""

    __tablename__ = "timeline_pins"

    event_id: Mapped[int] = mapped_column(ForeignKey("incident_events.id"), primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    pinned_by: Mapped[str] = mapped_column(String(254))
    pinned_at: Mapped[datetime] = mapped_column(UTCDateTime())
