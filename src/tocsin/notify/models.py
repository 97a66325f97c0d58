"""The outbox: one row per message, and one row per delivery attempt."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db import Base, UTCDateTime

#: pending → sending → delivered | failed (sending → pending again after a temporary error);
#: ``held`` waits out a throttle, ``bundled`` went out inside a later message to the same
#: contact method (``bundled_into_id``).
STATUSES = ("pending", "held", "sending", "delivered", "failed", "bundled")
OUTCOMES = ("ok", "temporary", "permanent")


class Notification(Base):
    """A message accepted for delivery, written in the transaction of its cause.

    The content is rendered when queued, so a later policy or template change never
    rewrites what was sent. No secret is ever stored here: channels name environment
    variables, read at send time.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_incident_id", "incident_id"),
        Index("ix_notifications_contact", "channel_key", "recipient", "delivered_at"),
    )

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
    #: The person (handle) this message pages through one of their contact methods; such
    #: messages are throttled per (channel, recipient).
    person: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: While ``sending``: when the sender's claim runs out and another worker may try.
    sending_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    #: A throttled message that went out inside this later one.
    bundled_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("notifications.id"), nullable=True
    )


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


class AckToken(Base):
    """What a page carries so its recipient can acknowledge from it: a signed link (the
    signature covers this row's id and expiry) and a short SMS reply code. Single use:
    ``used_at`` is set by one conditional UPDATE, so a reused link changes nothing."""

    __tablename__ = "ack_tokens"
    __table_args__ = (Index("ix_ack_tokens_recipient_code", "recipient", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    #: The person paged (handle) and the address the page went to (a phone for SMS codes).
    person: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str] = mapped_column(String(500))
    code: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    #: ``link`` or ``sms``.
    used_via: Mapped[str | None] = mapped_column(String(20), nullable=True)
