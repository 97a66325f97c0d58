"""Writing and reading the audit log. Every write in Tocsin records one entry here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.audit.models import AuditEntry
from tocsin.auth.actor import Actor
from tocsin.auth.permissions import require_admin
from tocsin.clock import Clock


async def record(
    session: AsyncSession,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: str | int,
    *,
    clock: Clock,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        at=clock.now(),
        actor_id=actor.user_id,
        actor=actor.label,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        before=before,
        after=after,
    )
    session.add(entry)
    await session.flush()
    return entry


async def entries(
    session: AsyncSession,
    actor: Actor,
    *,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
    by: str | None = None,
    before_id: int | None = None,
) -> list[AuditEntry]:
    """The newest entries first; admins only. ``by``: one actor's entries (their label);
    ``before_id``: older than that entry (the next page)."""
    require_admin(actor, "reading the audit log")
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if action:
        query = query.where(AuditEntry.action == action)
    if object_type:
        query = query.where(AuditEntry.object_type == object_type)
    if object_id:
        query = query.where(AuditEntry.object_id == object_id)
    if since:
        query = query.where(AuditEntry.at >= since)
    if by:
        query = query.where(AuditEntry.actor == by)
    if before_id:
        query = query.where(AuditEntry.id < before_id)
    return list((await session.scalars(query)).all())
