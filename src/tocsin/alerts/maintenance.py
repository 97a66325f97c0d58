"""Maintenance windows: while a service is in maintenance its alerts are kept and
de-duplicated, but open no incident, so nobody is paged.

Windows come from the policy (``alerts: maintenance:``, reviewed like the rest of the
process) and from the API and CLI (a table, for the planned change announced this morning).
Times a person gives without a zone are in the policy's time zone. Like every service,
these flush and never commit.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.alerts.models import MaintenanceWindow
from tocsin.alerts.schemas import MaintenanceIn, MaintenanceWindowOut
from tocsin.audit import service as audit
from tocsin.auth.actor import Actor
from tocsin.auth.permissions import require
from tocsin.clock import Clock, as_utc, to_utc
from tocsin.db import MAX_INT
from tocsin.errors import Conflict, InvalidInput, NotFound
from tocsin.policy import service as policies
from tocsin.policy.schema import Policy
from tocsin.policy.spans import parse_span

PERMISSION = "manage-maintenance"
POLICY_PREFIX = "policy:"


def _window(
    ident: str,
    service: str,
    span: tuple[datetime, datetime],
    reason: str,
    now: datetime,
    **made: Any,
) -> MaintenanceWindowOut:
    starts, ends = span
    origin = "policy" if ident.startswith(POLICY_PREFIX) else "api"
    return MaintenanceWindowOut(
        id=ident,
        service=service,
        starts_at=starts,
        ends_at=ends,
        reason=reason,
        origin=origin,
        active=starts <= now < ends,
        **made,
    )


def _policy_windows(policy: Policy, now: datetime) -> list[MaintenanceWindowOut]:
    zone = ZoneInfo(policy.organization.timezone)
    return [
        _window(
            POLICY_PREFIX + (spec.key or str(i + 1)),
            spec.service,
            spec.span(zone),
            spec.reason,
            now,
        )
        for i, spec in enumerate(policy.alerts.maintenance)
    ]


def _out(row: MaintenanceWindow, now: datetime) -> MaintenanceWindowOut:
    span = as_utc(row.starts_at), as_utc(row.ends_at)
    made = {"created_at": row.created_at, "created_by": row.created_by}
    ended = {"ended_at": row.ended_at, "ended_by": row.ended_by}
    return _window(str(row.id), row.service, span, row.reason, now, **made, **ended)


#: ``session.info`` key of the stored windows not ended when this transaction first asked:
#: a declaration shows them twice (its message, its answer). Forgotten by add and end.
_OPEN = "tocsin.maintenance.open"


async def _open_rows(session: AsyncSession, now: datetime) -> list[MaintenanceWindow]:
    rows: list[MaintenanceWindow] | None = session.info.get(_OPEN)
    if rows is None:
        query = select(MaintenanceWindow).where(
            MaintenanceWindow.ends_at > now, MaintenanceWindow.ended_at.is_(None)
        )
        rows = session.info[_OPEN] = list((await session.scalars(query)).all())
    return [r for r in rows if as_utc(r.ends_at) > now]


async def windows(
    session: AsyncSession, *, now: datetime, past: bool = False
) -> list[MaintenanceWindowOut]:
    """Windows that have not ended (with ``past``, every one), soonest first."""
    policy = await policies.current_policy(session)
    if past:
        query = select(MaintenanceWindow)
        rows = list((await session.scalars(query)).all())
    else:
        rows = await _open_rows(session, now)
    found = [_out(r, now) for r in rows]
    found += [w for w in _policy_windows(policy, now) if past or w.ends_at > now]
    return sorted(found, key=lambda w: (w.starts_at, w.ends_at, w.id))


async def active(session: AsyncSession, *, now: datetime) -> list[MaintenanceWindowOut]:
    """The windows in force at ``now``."""
    return [w for w in await windows(session, now=now) if w.active]


async def holding(
    session: AsyncSession, policy: Policy, service: str | None, *, now: datetime
) -> MaintenanceWindowOut | None:
    """The window that holds ``service``'s alerts at ``now``, if any."""
    if service is None:
        return None
    for window in _policy_windows(policy, now):
        if window.active and window.service == service:
            return window
    row = await session.scalar(
        select(MaintenanceWindow)
        .where(
            MaintenanceWindow.service == service,
            MaintenanceWindow.starts_at <= now,
            MaintenanceWindow.ends_at > now,
        )
        .order_by(MaintenanceWindow.ends_at.desc())
        .limit(1)
    )
    return None if row is None else _out(row, now)


def covering(
    found: Sequence[MaintenanceWindowOut], services: Collection[str | None]
) -> list[MaintenanceWindowOut]:
    """The windows of ``found`` that cover one of ``services``."""
    return [w for w in found if w.service in services]


async def list_windows(
    session: AsyncSession, actor: Actor, *, clock: Clock, past: bool = False
) -> list[MaintenanceWindowOut]:
    """Anyone signed in may see maintenance windows."""
    return await windows(session, now=clock.now(), past=past)


def _moment(value: datetime, zone: ZoneInfo, field: str) -> datetime:
    try:
        return to_utc(value if value.tzinfo is not None else value.replace(tzinfo=zone))
    except ValueError as exc:
        raise InvalidInput(f"{field} {exc}", details={"field": field}) from exc


def _span(data: MaintenanceIn, zone: ZoneInfo, now: datetime) -> tuple[datetime, datetime]:
    starts = _moment(data.starts_at, zone, "starts_at") if data.starts_at else now
    if (data.ends_at is None) == (data.duration is None):
        raise InvalidInput(
            "give the window's end: ends_at or duration (e.g. '2h'), not both",
            details={"field": "ends_at"},
        )
    if data.duration is not None:
        try:
            span = parse_span(data.duration)
        except ValueError as exc:
            raise InvalidInput(str(exc), details={"field": "duration"}) from exc
        if span.business_days:
            raise InvalidInput(
                "give the duration in clock time, such as '2h'", details={"field": "duration"}
            )
        ends = starts + span.time
    else:
        assert data.ends_at is not None
        ends = _moment(data.ends_at, zone, "ends_at")
    if ends <= starts:
        raise InvalidInput("the window must end after it starts", details={"field": "ends_at"})
    if ends <= now:
        raise InvalidInput("the window lies in the past", details={"field": "ends_at"})
    return starts, ends


async def add(
    session: AsyncSession, actor: Actor, data: MaintenanceIn, *, clock: Clock
) -> MaintenanceWindowOut:
    """A new window (admins or ``manage-maintenance``), in the audit log."""
    policy = await policies.current_policy(session)
    require(policy, actor, PERMISSION)
    now = clock.now()
    starts, ends = _span(data, ZoneInfo(policy.organization.timezone), now)
    row = MaintenanceWindow(
        service=data.service,
        starts_at=starts,
        ends_at=ends,
        reason=data.reason.strip(),
        created_at=now,
        created_by=actor.label,
    )
    session.add(row)
    await session.flush()
    session.info.pop(_OPEN, None)
    after = {"service": row.service, "starts_at": starts.isoformat(), "ends_at": ends.isoformat()}
    await audit.record(
        session, actor, "maintenance.add", "maintenance", str(row.id), clock=clock, after=after
    )
    return _out(row, now)


async def end(
    session: AsyncSession, actor: Actor, ident: str, *, clock: Clock
) -> MaintenanceWindowOut:
    """End a window now (one that has not started is cancelled); admins or
    ``manage-maintenance``. The policy's windows end by changing the policy."""
    policy = await policies.current_policy(session)
    require(policy, actor, PERMISSION)
    if ident.startswith(POLICY_PREFIX):
        raise Conflict(
            f"maintenance window {ident!r} is in the policy; remove it from the policy instead",
            code="maintenance_in_policy",
            details={"window": ident},
        )
    number = int(ident) if ident.isdigit() else 0
    row = await session.get(MaintenanceWindow, number) if 0 < number <= MAX_INT else None
    if row is None:
        raise NotFound(f"no maintenance window {ident!r}", details={"window": ident})
    now = clock.now()
    if as_utc(row.ends_at) <= now:
        raise Conflict(
            f"maintenance window {ident} has already ended",
            code="maintenance_ended",
            details={"window": ident, "ends_at": as_utc(row.ends_at).isoformat()},
        )
    before = {"ends_at": as_utc(row.ends_at).isoformat()}
    row.ends_at = max(now, as_utc(row.starts_at))
    row.ended_at, row.ended_by = now, actor.label
    await session.flush()
    session.info.pop(_OPEN, None)
    await audit.record(
        session,
        actor,
        "maintenance.end",
        "maintenance",
        ident,
        clock=clock,
        before=before,
        after={"ends_at": row.ends_at.isoformat()},
    )
    return _out(row, now)
