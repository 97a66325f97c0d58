"""The status page's tables: what the public sees, kept apart from internal incidents.

A public incident carries its own reviewed wording and only a link to the internal
incident; nothing else of it is stored here. Scheduled maintenance is a public incident
of kind ``maintenance`` (as in Atlassian Statuspage). Every change of a component's status
is kept (``statuspage_changes``, append-only): the uptime bars are computed from
it. ``statuspage_state`` holds one row whose ``version`` goes up with every public change,
in the transaction of that change: the cache key of the rendered page.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db import Base, UTCDateTime


class StatusPageState(Base):
    """One row (id 1): the public surface's version and when it last changed."""

    __tablename__ = "statuspage_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    #: The policy version whose ``components:`` were last brought into the table.
    policy_version_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class StatusComponent(Base):
    """A component or a group of components (``is_group``), from the policy or the API."""

    __tablename__ = "statuspage_components"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The public id (a slug): the policy's key, or ``group-<name>`` for a group.
    key: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    is_group: Mapped[bool] = mapped_column(Boolean, default=False)
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("statuspage_components.id"), nullable=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(24))
    only_show_if_degraded: Mapped[bool] = mapped_column(Boolean, default=False)
    #: ``policy`` (kept in step with the policy's ``components:``) or ``api``.
    source: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: Taken off the page (the policy no longer names it); its history stays.
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ComponentChange(Base):
    """One change of a component's status (append-only)."""

    __tablename__ = "statuspage_changes"
    __table_args__ = (Index("ix_statuspage_changes_component_at", "component_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    component_id: Mapped[int] = mapped_column(ForeignKey("statuspage_components.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    old_status: Mapped[str | None] = mapped_column(String(24), nullable=True)
    new_status: Mapped[str] = mapped_column(String(24))
    #: The public incident or maintenance that changed it, if any.
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("statuspage_incidents.id"), nullable=True
    )
    #: Who changed it (internal: never shown publicly).
    actor: Mapped[str] = mapped_column(String(254))


class PublicIncident(Base):
    """A public incident (``kind`` incident) or a scheduled maintenance (``maintenance``)."""

    __tablename__ = "statuspage_incidents"
    __table_args__ = (Index("ix_statuspage_incidents_kind_created_at", "kind", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: What the public JSON calls it: 12 random lower-case letters and digits.
    public_id: Mapped[str] = mapped_column(String(16), unique=True)
    kind: Mapped[str] = mapped_column(String(12))
    #: The internal incident it reports on (internal: never shown publicly).
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.id"), nullable=True, index=True
    )
    name: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16))
    #: none | minor | major | critical | maintenance; ``impact_override`` wins over the
    #: impact computed from the affected components' statuses.
    impact: Mapped[str] = mapped_column(String(12))
    impact_override: Mapped[str | None] = mapped_column(String(12), nullable=True)
    #: The component keys this incident affects (in the order given).
    components: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    monitoring_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    scheduled_for: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    scheduled_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    #: Maintenance: moves to in progress and completed by itself at its times.
    auto_transition: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Who published it (internal).
    created_by: Mapped[str] = mapped_column(String(254))


class PublicUpdate(Base):
    """One public update of an incident or maintenance, with the component changes it made."""

    __tablename__ = "statuspage_updates"
    __table_args__ = (Index("ix_statuspage_updates_incident_id", "incident_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(16), unique=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("statuspage_incidents.id"))
    status: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    display_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: ``[{code, name, old_status, new_status}]`` as Statuspage shows them.
    affected_components: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    deliver_notifications: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Who posted it (internal).
    posted_by: Mapped[str] = mapped_column(String(254))


class Subscriber(Base):
    """An e-mail address or webhook URL that hears of public changes once confirmed."""

    __tablename__ = "statuspage_subscribers"
    __table_args__ = (UniqueConstraint("kind", "address"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: ``email`` or ``webhook``.
    kind: Mapped[str] = mapped_column(String(10))
    address: Mapped[str] = mapped_column(String(500))
    #: Component keys to hear about; empty means every component.
    components: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    #: Counts sign-ups of this address: a confirmation link names the one it was sent for.
    generation: Mapped[int] = mapped_column(Integer, default=1)
