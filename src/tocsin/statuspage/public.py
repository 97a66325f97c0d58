"""What the public sees, as plain data: :class:`PublicView`, and the Statuspage-compatible
JSON documents built from it.

Everything public is built here and only from the status page's own tables (its reviewed
wording) and the policy's page settings: never from internal incidents, notes or people.
The live app and the static export both call :func:`public_view` and the ``*_json``
functions, so they serve identical documents. :func:`public_version` is one cheap query
for the page's version, which goes up with every public change: the cache key.

The field names and value sets are Atlassian Statuspage's (``/api/v2/summary.json``
and friends), so aggregators and widgets that read Statuspage pages read Tocsin's.
Times are ISO 8601 in the page's time zone, with milliseconds, as Statuspage writes them.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.clock import Clock
from tocsin.errors import NotFound
from tocsin.notify.pages import public_url
from tocsin.policy import service as policies
from tocsin.policy.schema import Policy
from tocsin.statuspage import rules, uptime
from tocsin.statuspage.models import (
    ComponentChange,
    PublicIncident,
    PublicUpdate,
    StatusComponent,
    StatusPageState,
)

#: How many incidents and maintenances the list documents hold (Statuspage: 50).
LIST_LIMIT = 50
MAINTENANCE_LISTS = ("all", "upcoming", "active")
#: An update as read for the page: the ORM object or its plain row (the same fields).
Update = PublicUpdate | Row[Any]
#: A status change as read for uptime: (component id, when, new status).
Change = tuple[int, datetime, str]


@dataclass(frozen=True)
class DayUptime:
    """One day of one component, in the page's time zone."""

    day: date
    #: 0..1: the share of the day operational (``under_maintenance`` counts as up).
    uptime: float
    #: The worst component status seen that day.
    worst: str
    #: The names of the public incidents that touched it that day.
    incidents: list[str]


@dataclass(frozen=True)
class PublicView:
    #: Changes with every public change (a cache key).
    version: int
    #: Statuspage's ``page`` object: id, name, url, time_zone, updated_at.
    page: dict[str, Any]
    #: ``{"indicator": none|minor|major|critical|maintenance, "description"}``.
    status: dict[str, Any]
    #: Statuspage component objects, groups included (``group: true``, ``components:
    #: [ids]``), ``group_id`` on their members; in page order.
    components: list[dict[str, Any]]
    #: Every public incident, newest first, with ``incident_updates`` (newest first).
    incidents: list[dict[str, Any]]
    #: Every scheduled maintenance, latest ``scheduled_for`` first.
    scheduled_maintenances: list[dict[str, Any]]
    #: Component id -> the last days (the policy's ``uptime_days``, 90), oldest first.
    uptime: dict[str, list[DayUptime]]
    #: Component id -> uptime over those days, in percent.
    uptime_percent: dict[str, float]
    #: ``en`` or ``nl``, from the policy.
    locale: str
    generated_at: datetime


# --- the page's settings -----------------------------------------------------------------


@dataclass(frozen=True)
class PageSettings:
    id: str
    name: str
    url: str
    time_zone: str
    locale: str
    uptime_days: int

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


def page_settings(policy: Policy | None) -> PageSettings:
    """The page's name, address, zone and language: ``status_page:``, else the
    organisation's, else neutral defaults (no policy applied yet)."""
    if policy is None:
        name, zone, locale, url, days, page_id = "Status", "UTC", "en", "", 90, None
    else:
        settings, org = policy.status_page, policy.organization
        name = settings.name or org.name
        zone = settings.timezone or org.timezone
        locale = settings.locale or org.locale
        url, days, page_id = settings.url, settings.uptime_days, settings.page_id
    return PageSettings(
        id=page_id or hashlib.sha256(name.encode()).hexdigest()[:12],
        name=name,
        url=(url or public_url().rstrip("/") + "/status").rstrip("/"),
        time_zone=zone,
        locale=locale,
        uptime_days=days,
    )


async def _policy(session: AsyncSession) -> Policy | None:
    try:
        return await policies.current_policy(session)
    except NotFound:
        return None


# --- Statuspage objects ------------------------------------------------------------------


def stamp(value: datetime | None, zone: ZoneInfo) -> str | None:
    """``2026-01-15T10:00:00.000+01:00``: Statuspage's way of writing a time."""
    return None if value is None else value.astimezone(zone).isoformat(timespec="milliseconds")


def component_objects(rows: Sequence[StatusComponent], page: PageSettings) -> list[dict[str, Any]]:
    zone = page.zone
    keys = {row.id: row.key for row in rows}
    members: dict[int, list[StatusComponent]] = {}
    for row in rows:
        if row.group_id is not None and row.group_id in keys:
            members.setdefault(row.group_id, []).append(row)
    out = []
    for row in rows:
        if row.is_group and row.id not in members:
            continue  # a group whose components all left the page
        status = row.status
        if row.is_group:
            status = rules.worst_status(m.status for m in members[row.id])
        entry: dict[str, Any] = {
            "id": row.key,
            "name": row.name,
            "status": status,
            "created_at": stamp(row.created_at, zone),
            "updated_at": stamp(row.updated_at, zone),
            "position": row.position,
            "description": row.description or None,
            "showcase": not row.is_group,
            "start_date": row.created_at.astimezone(zone).date().isoformat(),
            "group_id": keys.get(row.group_id) if row.group_id is not None else None,
            "page_id": page.id,
            "group": row.is_group,
            "only_show_if_degraded": row.only_show_if_degraded,
        }
        if row.is_group:
            entry["components"] = [m.key for m in members[row.id]]
        out.append(entry)
    return out


def _update_object(item: Update, incident_id: str, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "id": item.public_id,
        "status": item.status,
        "body": item.body,
        "incident_id": incident_id,
        "created_at": stamp(item.created_at, zone),
        "updated_at": stamp(item.created_at, zone),
        "display_at": stamp(item.display_at, zone),
        "affected_components": [dict(a) for a in item.affected_components] or None,
        "deliver_notifications": item.deliver_notifications,
        "custom_tweet": None,
        "tweet_id": None,
    }


def incident_object(
    row: PublicIncident,
    updates: Sequence[Update],
    components: dict[str, dict[str, Any]],
    page: PageSettings,
) -> dict[str, Any]:
    """A Statuspage incident (or scheduled maintenance) object; ``updates`` newest first,
    ``components``: component objects by id."""
    zone = page.zone
    entry: dict[str, Any] = {
        "id": row.public_id,
        "name": row.name,
        "status": row.status,
        "created_at": stamp(row.created_at, zone),
        "updated_at": stamp(row.updated_at, zone),
        "monitoring_at": stamp(row.monitoring_at, zone),
        "resolved_at": stamp(row.resolved_at, zone),
        "impact": row.impact,
        "shortlink": f"{page.url}/incidents/{row.public_id}",
        "started_at": stamp(row.started_at, zone),
        "page_id": page.id,
        "incident_updates": [_update_object(u, row.public_id, zone) for u in updates],
        "components": [components[key] for key in row.components if key in components],
    }
    if row.kind == "maintenance":
        entry["scheduled_for"] = stamp(row.scheduled_for, zone)
        entry["scheduled_until"] = stamp(row.scheduled_until, zone)
    return entry


def status_of(
    components: Iterable[dict[str, Any]],
    incidents: Iterable[dict[str, Any]],
    maintenances: Iterable[dict[str, Any]],
) -> dict[str, Any]:
    """The page's overall ``status``: indicator and Statuspage's description of it."""
    value = rules.indicator(
        [c["status"] for c in components if not c["group"]],
        [i["impact"] for i in incidents if i["status"] in rules.UNRESOLVED],
        any(m["status"] in rules.ACTIVE_MAINTENANCE for m in maintenances),
    )
    return {"indicator": value, "description": rules.DESCRIPTIONS[value]}


# --- uptime ------------------------------------------------------------------------------


def _incident_days(
    rows: Sequence[PublicIncident], days: Sequence[date], zone: ZoneInfo, now: datetime
) -> dict[str, dict[date, list[str]]]:
    """Component key -> day -> names of the public incidents that touched it that day."""
    wanted = set(days)
    out: dict[str, dict[date, list[str]]] = {}
    for row in rows:
        if row.kind != "incident":
            continue
        first = row.started_at.astimezone(zone).date()
        last = (row.resolved_at or now).astimezone(zone).date()
        day = max(first, days[0])
        while day <= last and day in wanted:
            for key in row.components:
                names = out.setdefault(key, {}).setdefault(day, [])
                if row.name not in names:
                    names.append(row.name)
            day += timedelta(days=1)
    return out


def _uptimes(
    rows: Sequence[StatusComponent],
    changes: Sequence[Change],
    incidents: Sequence[PublicIncident],
    page: PageSettings,
    now: datetime,
) -> dict[str, list[DayUptime]]:
    zone = page.zone
    days = uptime.last_days(now, zone, page.uptime_days)
    history: dict[int, list[tuple[datetime, str]]] = {}
    for component_id, at, status in changes:
        history.setdefault(component_id, []).append((at, status))
    touched = _incident_days(incidents, days, zone, now)
    out: dict[str, list[DayUptime]] = {}
    for row in rows:
        if row.is_group:
            continue
        named = touched.get(row.key, {})
        out[row.key] = [
            DayUptime(d.day, d.uptime, d.worst, list(named.get(d.day, [])))
            for d in uptime.uptime_days(history.get(row.id, []), days, zone, now)
        ]
    for group in (r for r in rows if r.is_group):
        members = [out[r.key] for r in rows if r.group_id == group.id and r.key in out]
        if not members:
            continue
        out[group.key] = [
            DayUptime(
                day=series[0].day,
                uptime=min(d.uptime for d in series),
                worst=rules.worst_status(d.worst for d in series),
                incidents=list(dict.fromkeys(n for d in series for n in d.incidents)),
            )
            for series in zip(*members, strict=True)
        ]
    return out


# --- the view ----------------------------------------------------------------------------


async def public_version(session: AsyncSession) -> int:
    """The page's current version (0 before anything was published): one query."""
    value = await session.scalar(select(StatusPageState.version).where(StatusPageState.id == 1))
    return int(value or 0)


async def public_view(session: AsyncSession, *, clock: Clock) -> PublicView:
    """Everything the public page, its JSON and its feeds show, as of now."""
    now = clock.now()
    policy = await _policy(session)
    page = page_settings(policy)
    zone = page.zone
    state = await session.scalar(select(StatusPageState).where(StatusPageState.id == 1))
    rows = await on_the_page(session)
    components = component_objects(rows, page)
    by_key = {c["id"]: c for c in components}
    published = list(
        (
            await session.scalars(
                select(PublicIncident).order_by(
                    PublicIncident.created_at.desc(), PublicIncident.id.desc()
                )
            )
        ).all()
    )
    updates = await updates_of(session)
    incidents = [
        incident_object(row, updates[row.id], by_key, page)
        for row in published
        if row.kind == "incident"
    ]
    maintenance_rows = sorted(
        (row for row in published if row.kind == "maintenance"),
        key=lambda row: (row.scheduled_for or row.created_at, row.id),
        reverse=True,
    )
    maintenances = [incident_object(row, updates[row.id], by_key, page) for row in maintenance_rows]
    since = uptime.day_bounds(uptime.last_days(now, zone, page.uptime_days)[0], zone)[0]
    changes = await _changes(session, [r.id for r in rows], since)
    days = _uptimes(rows, changes, published, page, now)
    updated_at = state.updated_at if state is not None and state.updated_at else now
    return PublicView(
        version=state.version if state is not None else 0,
        page={
            "id": page.id,
            "name": page.name,
            "url": page.url,
            "time_zone": page.time_zone,
            "updated_at": stamp(updated_at, zone),
        },
        status=status_of(components, incidents, maintenances),
        components=components,
        incidents=incidents,
        scheduled_maintenances=maintenances,
        uptime=days,
        uptime_percent={
            key: uptime.percent([d.uptime for d in series]) for key, series in days.items()
        },
        locale=page.locale,
        generated_at=now,
    )


async def on_the_page(session: AsyncSession) -> list[StatusComponent]:
    """The components and groups on the page, in page order (a group before its first
    component)."""
    query = (
        select(StatusComponent)
        .where(StatusComponent.removed_at.is_(None))
        .order_by(StatusComponent.position, StatusComponent.is_group.desc(), StatusComponent.id)
    )
    return list((await session.scalars(query)).all())


async def updates_of(
    session: AsyncSession, incident_ids: Sequence[int] | None = None
) -> defaultdict[int, list[Update]]:
    """The updates of these incidents (of all when ``None``) by incident, newest first."""
    table = PublicUpdate.__table__
    query = select(table).order_by(table.c.created_at.desc(), table.c.id.desc())
    if incident_ids is not None:
        query = query.where(table.c.incident_id.in_(list(incident_ids)))
    out: defaultdict[int, list[Update]] = defaultdict(list)
    for item in (await session.execute(query)).all():  # rows, not objects: a tenth the CPU
        out[item.incident_id].append(item)
    return out


async def incident_document(
    session: AsyncSession, row: PublicIncident, page: PageSettings
) -> dict[str, Any]:
    """One incident's (or maintenance's) Statuspage object as the page shows it now."""
    components = {c["id"]: c for c in component_objects(await on_the_page(session), page)}
    updates = (await updates_of(session, [row.id]))[row.id]
    return incident_object(row, updates, components, page)


async def _changes(
    session: AsyncSession, component_ids: Sequence[int], since: datetime
) -> list[Change]:
    """The status changes inside the window, and each component's last one before it
    (the status it entered the window with)."""
    if not component_ids:
        return []
    query = (
        select(ComponentChange.component_id, ComponentChange.at, ComponentChange.new_status)
        .where(ComponentChange.component_id.in_(component_ids))
        .order_by(ComponentChange.component_id, ComponentChange.at, ComponentChange.id)
    )
    out: list[Change] = []
    before: dict[int, Change] = {}
    for component_id, at, status in (await session.execute(query)).all():
        if at < since:
            before[component_id] = (component_id, at, status)
        else:
            out.append((component_id, at, status))
    return [*before.values(), *out]


# --- the JSON documents ------------------------------------------------------------------


def status_json(view: PublicView) -> dict[str, Any]:
    """``/api/v2/status.json``."""
    return {"page": view.page, "status": view.status}


def components_json(view: PublicView) -> dict[str, Any]:
    """``/api/v2/components.json``."""
    return {"page": view.page, "components": view.components}


def _unresolved(view: PublicView) -> list[dict[str, Any]]:
    return [i for i in view.incidents if i["status"] in rules.UNRESOLVED]


def _maintenances(view: PublicView, which: str) -> list[dict[str, Any]]:
    if which == "upcoming":
        return [m for m in view.scheduled_maintenances if m["status"] == "scheduled"]
    if which == "active":
        return [m for m in view.scheduled_maintenances if m["status"] in rules.ACTIVE_MAINTENANCE]
    if which == "all":
        return view.scheduled_maintenances[:LIST_LIMIT]
    raise ValueError(f"which is one of {', '.join(MAINTENANCE_LISTS)}, not {which!r}")


def summary_json(view: PublicView) -> dict[str, Any]:
    """``/api/v2/summary.json``: page, components, unresolved incidents, upcoming and
    active maintenance, overall status."""
    return {
        "page": view.page,
        "components": view.components,
        "incidents": _unresolved(view),
        "scheduled_maintenances": _maintenances(view, "upcoming") + _maintenances(view, "active"),
        "status": view.status,
    }


def incidents_json(view: PublicView) -> dict[str, Any]:
    """``/api/v2/incidents.json``: the 50 most recent incidents."""
    return {"page": view.page, "incidents": view.incidents[:LIST_LIMIT]}


def unresolved_json(view: PublicView) -> dict[str, Any]:
    """``/api/v2/incidents/unresolved.json``."""
    return {"page": view.page, "incidents": _unresolved(view)}


def maintenances_json(view: PublicView, which: str = "all") -> dict[str, Any]:
    """``/api/v2/scheduled-maintenances.json`` (``all``: the 50 most recent),
    ``.../upcoming.json`` and ``.../active.json``."""
    return {"page": view.page, "scheduled_maintenances": _maintenances(view, which)}


#: Every document by its path under ``/api/v2/``: what the doors and the export serve.
DOCUMENTS: dict[str, Callable[[PublicView], dict[str, Any]]] = {
    "status.json": status_json,
    "summary.json": summary_json,
    "components.json": components_json,
    "incidents.json": incidents_json,
    "incidents/unresolved.json": unresolved_json,
    "scheduled-maintenances.json": lambda view: maintenances_json(view, "all"),
    "scheduled-maintenances/upcoming.json": lambda view: maintenances_json(view, "upcoming"),
    "scheduled-maintenances/active.json": lambda view: maintenances_json(view, "active"),
}
