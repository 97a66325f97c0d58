"""The outbox: one row per message, and one row per delivery attempt."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db import Base, UTCDateTime

#: pending → sending → delivered | failed (sending → pending again after a temporary error)
STATUSES = ("pending", "sending", "delivered", "failed")
OUTCOMES = ("ok", "temporary", "permanent")


class Notification(Base):
    """A message accepted for delivery, written in the transaction of its cause.

    The content is rendered when queued, so a later policy or template change never
    rewrites what was sent. No secret is ever stored here: channels name environment
    variables, read at send time.
    """

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_incident_id", "incident_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), nullable=True)
    channel_key: Mapped[str] = mapped_column(String(64))
    channel_kind: Mapped[str] = mapped_column(String(20))
    recipient: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(Text)
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: The channel's settings at queue time (never secrets) and any structured data.
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    status: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    provider_reply: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class NotificationAttempt(Base):
    """One try at delivering a notification and how it ended."""

    __tablename__ = "notification_attempts"
    __table_args__ = (Index("ix_notification_attempts_notification_id", "notification_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: ok | temporary | permanent
    outcome: Mapped[str] = mapped_column(String(10))
    detail: Mapped[str] = mapped_column(Text, default="")
