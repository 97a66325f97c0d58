"""On-call tables: overrides on top of the policy's schedules, and iCal feed tokens.

The schedules themselves are policy (``schedules:``); only what people change at run time
lives here. People are named by their policy handle (``dana``), schedules by their key.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db import Base, UTCDateTime

OVERRIDE_ACTIONS = ("replace", "add", "remove")
FEED_KINDS = ("schedule", "person")


class ScheduleOverride(Base):
    """Someone on call instead of, besides, or no longer, between two instants."""

    __tablename__ = "oncall_overrides"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("action IN ('replace', 'add', 'remove')", name="action"),
        CheckConstraint("replaces IS NULL OR action = 'replace'", name="replaces_only_replace"),
        Index("ix_oncall_overrides_schedule_key_ends_at", "schedule_key", "ends_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    schedule_key: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: replace | add | remove
    action: Mapped[str] = mapped_column(String(10))
    #: The person's policy handle.
    person: Mapped[str] = mapped_column(String(64))
    #: For ``replace``: only this person is replaced (everyone on call when empty).
    replaces: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reason: Mapped[str] = mapped_column(String(2000), default="")
    created_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    cancelled_by: Mapped[str | None] = mapped_column(String(254), nullable=True)


class FeedToken(Base):
    """A secret calendar URL for a schedule or a person; only the secret's hash is kept."""

    __tablename__ = "oncall_feed_tokens"
    __table_args__ = (CheckConstraint("kind IN ('schedule', 'person')", name="kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: SHA-256 of the secret in the URL.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: schedule | person
    kind: Mapped[str] = mapped_column(String(10))
    #: The schedule key or the person's handle.
    subject: Mapped[str] = mapped_column(String(254))
    created_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
