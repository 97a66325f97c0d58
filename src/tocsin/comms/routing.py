"""Comms routes: say the right thing in the right places when an incident reaches a stage,
on every update, or once it has lasted too long.

The policy's ``comms: routes:`` (:class:`~tocsin.policy.schema_comms.Route`) decide. Three
ways a route fires, each in the transaction of the change that caused it:

- ``on: <stage>`` (declared, acknowledged, identified, mitigated, resolved): once per
  incident and route, as soon as the stage is reached *and* the route applies to the
  incident's severity and type. :func:`sync` runs on every incident change, so a severity
  change that makes a route apply fires it then. A done-once mark (``comms:<route>``)
  makes sure it fires once, however often :func:`sync` runs.
- ``on: update | severity_changed | mitigation_proposed``: every time it happens
  (:func:`fire_event`), once per triggering timeline event.
- ``after: <duration>``: a durable timer (job ``comms.route``, de-duplication key
  ``comms:<incident id>:<route>``) due ``after`` past the ``from`` stage (detection by
  default); :func:`sync` moves or cancels it as the incident changes, and the handler
  checks again that the route applies and that ``until`` (resolution by default) has not
  been reached before it fires, once.

Firing renders the route's template with :func:`~tocsin.comms.context.incident_context`
in the route's locale (else the organisation's) and queues one message per channel and
recipient in the outbox. Chat channels and webhooks post to their own destination; e-mail,
SMS, voice and Apprise channels go to ``to``: targets (``role:``, ``user:``, ``team:``,
``schedule:``) resolve to people and each person's address of that kind, anything else is
an address as written. Each message has the idempotency key
``route:<incident id>:<route>[:<event id>]:<channel>:<recipient>``, so a retried job never
sends twice. Every firing is a ``comms`` event on the timeline; a template that cannot be
rendered, a channel that is not in the policy or a target that reaches nobody is written
there too, and never fails the incident change that set it off.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import cache
from typing import Any, get_args

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.auth.actor import ENGINE
from tocsin.clock import Clock
from tocsin.comms import service as comms
from tocsin.comms.context import format_time, incident_context
from tocsin.comms.render import Rendered, render
from tocsin.errors import InvalidInput, TocsinError
from tocsin.escalation.effects import once
from tocsin.escalation.models import EscalationMark
from tocsin.escalation.targets import resolve
from tocsin.incidents.models import Incident, IncidentEvent
from tocsin.incidents.timeline import log
from tocsin.jobs import service as jobs
from tocsin.jobs.models import Job
from tocsin.notify import service as notify
from tocsin.policy.schema import Policy
from tocsin.policy.schema_comms import Route
from tocsin.policy.schema_notify import AnyChannel
from tocsin.policy.types import Stage
from tocsin.settings import Settings

ROUTE_JOB = "comms.route"
#: Every stage, in the order an incident reaches them.
ORDER: tuple[str, ...] = get_args(Stage)
#: The stages an ``on:`` route fires at, once per incident.
STAGES = ("declared", "acknowledged", "identified", "mitigated", "resolved")
#: The events an ``on:`` route fires at every time they happen.
REPEATING = ("update", "severity_changed", "mitigation_proposed")
#: Channel kinds that address people (``to``); the others post to their own destination.
PERSONAL_KINDS = frozenset({"email", "sms", "voice", "apprise"})
#: ``to`` entries with these prefixes are targets that resolve to people.
TARGET_KINDS = frozenset({"role", "user", "team", "schedule"})
_NOUN = {
    "detected": "detection",
    "declared": "declaration",
    "acknowledged": "acknowledgement",
    "identified": "identification",
    "mitigated": "mitigation",
    "resolved": "resolution",
}
#: The timeline event kind of each repeating event (its id makes the firing unique).
_EVENT_KIND = {
    "update": "update",
    "severity_changed": "severity",
    "mitigation_proposed": "mitigation_proposed",
}
_MARK = "comms:"
_LATE = timedelta(seconds=5)


@cache
def default_public_url() -> str:
    """Where people reach this Tocsin (``TOCSIN_PUBLIC_URL``), for links in messages."""
    return Settings().public_url


def applies(route: Route, incident: Incident) -> bool:
    """Whether the route is for the incident's severity and type (empty lists: all)."""
    if route.severities and incident.severity not in route.severities:
        return False
    return not route.types or (incident.type is not None and incident.type in route.types)


def stamp(incident: Incident, stage: str) -> datetime | None:
    """When the incident reached ``stage`` (None: not yet)."""
    stamps: dict[str, datetime | None] = {
        "detected": incident.detected_at,
        "declared": incident.declared_at,
        "acknowledged": incident.acknowledged_at,
        "identified": incident.identified_at,
        "mitigated": incident.mitigated_at,
        "resolved": incident.resolved_at,
    }
    return stamps[stage]


def _closed(incident: Incident) -> bool:
    return incident.status in ("resolved", "closed")


def still_open(incident: Incident, route: Route) -> bool:
    """Whether an ``after:`` route's ``until`` stage is still ahead. A route counted from
    resolution (``from: resolved``) has no end but a reopening."""
    if ORDER.index(route.until) <= ORDER.index(route.from_):
        return True
    return stamp(incident, route.until) is None


def due_at(policy: Policy, incident: Incident, route: Route) -> datetime | None:
    """When an ``after:`` route is due: ``after`` past its ``from`` stage (None: not yet)."""
    start = stamp(incident, route.from_)
    if start is None or route.after is None:
        return None
    return policy.organization.calendar().add(start, route.after)


def job_key(incident: Incident, route: Route) -> str:
    return f"comms:{incident.id}:{route.key}"


def mark(route: Route, sequence: int | None = None) -> str:
    """The done-once mark of a route (and of one firing of a repeating route)."""
    return f"{_MARK}{route.key}" + (f":{sequence}" if sequence is not None else "")


def after_reason(route: Route) -> str:
    """``15m since detection, not yet resolved``."""
    assert route.after is not None
    return f"{route.after} since {_NOUN[route.from_]}, not yet {route.until}"


def destination(channel: AnyChannel) -> str:
    """Where a chat channel or webhook posts: the Slack channel's name, else its key."""
    return channel.channel if channel.type == "slack" else channel.key


def idempotency_key(
    incident: Incident, route: Route, sequence: int | None, channel: str, recipient: str
) -> str:
    """``route:<incident id>:<route>[:<event id>]:<channel>:<recipient>`` (a long
    recipient, such as an Apprise URL, by its hash)."""
    seq = f":{sequence}" if sequence is not None else ""
    key = f"route:{incident.id}:{route.key}{seq}:{channel}:{recipient}"
    if len(key) > 255:
        digest = hashlib.sha256(recipient.encode()).hexdigest()[:40]
        key = f"route:{incident.id}:{route.key}{seq}:{channel}:sha256={digest}"
    return key


# --- following the incident --------------------------------------------------------------


async def _marks(session: AsyncSession, incident: Incident) -> set[str]:
    rows = await session.scalars(
        select(EscalationMark.key).where(
            EscalationMark.incident_id == incident.id, EscalationMark.key.like(f"{_MARK}%")
        )
    )
    return set(rows)


async def sync(
    session: AsyncSession,
    policy: Policy,
    incident: Incident,
    *,
    clock: Clock,
    public_url: str | None = None,
    fresh: bool = False,
) -> None:
    """Fire the stage routes that now apply and have not fired; plan, move or cancel the
    timers of ``after:`` routes. Runs in the transaction of every incident change;
    ``fresh``: in the one that declared it (nothing fired or planned yet)."""
    routes = policy.comms.routes
    if not routes:
        return
    fired = set() if fresh else await _marks(session, incident)
    timed: list[Route] = []
    for route in routes:
        if route.after is not None:
            timed.append(route)
            continue
        if route.on not in STAGES or mark(route) in fired or not applies(route, incident):
            continue
        reached = stamp(incident, route.on)
        if reached is None or (route.on != "resolved" and _closed(incident)):
            continue  # not there yet, or too late to say so
        if await once(session, incident, mark(route), clock=clock):
            await fire(
                session,
                policy,
                incident,
                route,
                clock=clock,
                reason=_stage_reason(policy, incident, route.on, reached, clock.now()),
                public_url=public_url,
            )
    if timed:
        await _plan(session, policy, incident, timed, fired, clock=clock, fresh=fresh)


def _stage_reason(
    policy: Policy, incident: Incident, stage: str, reached: datetime, now: datetime
) -> str:
    if now - reached <= _LATE:
        return f"incident {stage}"
    when = format_time(reached, policy.organization.timezone)
    what = incident.severity + (f" {incident.type}" if incident.type else "")
    return f"incident {stage} at {when}; the route applies now that it is {what}"


async def _plan(
    session: AsyncSession,
    policy: Policy,
    incident: Incident,
    routes: list[Route],
    fired: set[str],
    *,
    clock: Clock,
    fresh: bool = False,
) -> None:
    keys = {route.key: job_key(incident, route) for route in routes}
    pending: dict[str | None, datetime] = {}
    if not fresh:
        rows = await session.execute(
            select(Job.dedup_key, Job.due_at).where(
                Job.dedup_key.in_(list(keys.values())), Job.status == "pending"
            )
        )
        pending = {key: due for key, due in rows}
    for route in routes:
        key = keys[route.key]
        wanted = (
            due_at(policy, incident, route)
            if mark(route) not in fired and applies(route, incident) and still_open(incident, route)
            else None
        )
        if wanted is None:
            if key in pending:
                await jobs.cancel(session, key, clock=clock)
        elif pending.get(key) != wanted:
            payload = {"incident": incident.id, "route": route.key}
            await jobs.schedule(
                session, ROUTE_JOB, payload, clock=clock, due_at=wanted, dedup_key=key
            )


async def fire_due(
    session: AsyncSession,
    policy: Policy,
    incident: Incident,
    route_key: str,
    *,
    clock: Clock,
    public_url: str | None = None,
) -> bool:
    """Fire the ``after:`` route ``route_key`` if it is due, still applies and its
    ``until`` stage has not been reached; once. True if it fired now."""
    route = next((r for r in policy.comms.routes if r.key == route_key), None)
    if route is None or route.after is None:
        return False  # the route is not in the incident's policy (any more)
    if not applies(route, incident) or not still_open(incident, route):
        return False
    due = due_at(policy, incident, route)
    if due is None or due > clock.now():
        return False  # moved later: the timer planned for then covers it
    if not await once(session, incident, mark(route), clock=clock):
        return False
    await fire(
        session,
        policy,
        incident,
        route,
        clock=clock,
        reason=after_reason(route),
        public_url=public_url,
    )
    return True


async def fire_event(
    session: AsyncSession,
    policy: Policy,
    incident: Incident,
    event: str,
    *,
    clock: Clock,
    update: Mapping[str, Any] | None = None,
    public_url: str | None = None,
) -> int:
    """Fire every route ``on: event`` that applies (``update``, ``severity_changed``,
    ``mitigation_proposed``), once per triggering timeline event; returns how many fired.

    ``update`` fills the template's ``update.*`` fields (a posted update's text is
    ``update.progress``)."""
    if event not in REPEATING:
        known = ", ".join(REPEATING)
        raise InvalidInput(
            f"{event!r} is not a repeating comms event (known: {known}); stages fire by sync",
            details={"event": event},
        )
    routes = [r for r in policy.comms.routes if r.on == event and applies(r, incident)]
    if not routes:
        return 0
    sequence = await _sequence(session, incident, event)
    reason = {
        "update": "status update posted",
        "severity_changed": f"severity changed to {incident.severity}",
        "mitigation_proposed": "mitigation proposed",
    }[event]
    fired = 0
    for route in routes:
        if not await once(session, incident, mark(route, sequence), clock=clock):
            continue
        await fire(
            session,
            policy,
            incident,
            route,
            clock=clock,
            reason=reason,
            sequence=sequence,
            update=update,
            public_url=public_url,
        )
        fired += 1
    return fired


async def _sequence(session: AsyncSession, incident: Incident, event: str) -> int:
    """The id of the timeline event that set off a repeating route (the latest update,
    severity change or mitigation proposal), so each fires once per such event."""
    query = select(func.max(IncidentEvent.id)).where(IncidentEvent.incident_id == incident.id)
    if event in _EVENT_KIND:
        query = query.where(IncidentEvent.kind == _EVENT_KIND[event])
    return int(await session.scalar(query) or 0)


# --- firing ----------------------------------------------------------------------------


async def fire(
    session: AsyncSession,
    policy: Policy,
    incident: Incident,
    route: Route,
    *,
    clock: Clock,
    reason: str,
    sequence: int | None = None,
    update: Mapping[str, Any] | None = None,
    public_url: str | None = None,
) -> IncidentEvent:
    """Render the route's template and queue it to every channel and recipient; write the
    ``comms`` timeline event. Problems are written down, never raised."""
    locale = route.locale or policy.organization.locale
    data: dict[str, Any] = {
        "route": route.key,
        "template": route.template,
        "locale": locale,
        "trigger": route.on or f"after {route.after}",
        "reason": reason,
        "channels": list(route.channels),
        "recipients": [],
        "messages": [],
        "problems": [],
    }
    if sequence is not None:
        data["event"] = sequence
    if route.description:
        data["description"] = route.description
    rendered, error = await _render(
        session, policy, incident, route, locale, clock, update, public_url
    )
    if rendered is None:
        data["problems"].append(error)
        summary = f"Route {route.key} not sent: {error}"
        return await _log(session, incident, summary, data, clock=clock)
    outgoing: list[tuple[str, str | None, notify.Outgoing]] = []
    for key in route.channels:
        channel = next((c for c in policy.channels if c.key == key), None)
        if channel is None:
            data["problems"].append(f"channel {key!r} is not in the policy's channels")
            continue
        recipients = await _recipients(session, policy, incident, route, channel, clock, data)
        for recipient, person in recipients:
            message = notify.Outgoing(
                channel=channel,
                recipient=recipient,
                subject=rendered.subject,
                text=rendered.text,
                html=rendered.html,
                idempotency_key=idempotency_key(incident, route, sequence, key, recipient),
                data={"route": route.key, "template": route.template},
                person=person,
            )
            outgoing.append((key, person, message))
    rows = await notify.queue_many(
        session, [m for _, _, m in outgoing], incident=incident, clock=clock
    )
    sent: dict[str, list[str]] = {}
    for (key, person, message), row in zip(outgoing, rows, strict=True):
        data["recipients"].append(message.recipient)
        data["messages"].append(
            {
                "channel": key,
                "recipient": message.recipient,
                "person": person,
                "notification": row.id,
            }
        )
        sent.setdefault(key, []).append(message.recipient)
    trouble = f"; {'; '.join(data['problems'])}" if data["problems"] else ""
    if not sent:
        summary = f"Route {route.key} not sent: {route.template} reached no one ({reason}){trouble}"
        return await _log(session, incident, summary, data, clock=clock)
    where = "; ".join(f"{key} → {', '.join(to)}" for key, to in sent.items())
    summary = f"Route {route.key} fired: {route.template} via {where} ({reason}){trouble}"
    return await _log(session, incident, summary, data, clock=clock)


async def _render(
    session: AsyncSession,
    policy: Policy,
    incident: Incident,
    route: Route,
    locale: str,
    clock: Clock,
    update: Mapping[str, Any] | None,
    public_url: str | None,
) -> tuple[Rendered | None, str]:
    try:
        context = await incident_context(
            session,
            policy,
            incident,
            clock=clock,
            update=update,
            public_url=default_public_url() if public_url is None else public_url,
        )
        return render(policy, route.template, context, locale=locale), ""
    except TocsinError as exc:
        return None, exc.message
    except Exception as exc:  # a template error Jinja does not wrap (a filter on a placeholder)
        return None, (
            f"template {route.template!r} ({locale}) cannot be rendered: "
            f"{type(exc).__name__}: {exc}"
        )


async def _recipients(
    session: AsyncSession,
    policy: Policy,
    incident: Incident,
    route: Route,
    channel: AnyChannel,
    clock: Clock,
    data: dict[str, Any],
) -> list[tuple[str, str | None]]:
    """(address, person handle or None) for each message through ``channel``."""
    if channel.type not in PERSONAL_KINDS:
        return [(destination(channel), None)]
    found: dict[str, str | None] = {}
    problems: list[str] = data["problems"]
    if not route.to:
        problems.append(f"channel {channel.key!r} ({channel.type}) needs 'to' recipients")
    for ref in route.to:
        kind, colon, _ = ref.partition(":")
        if not colon or kind not in TARGET_KINDS | {"channel"}:
            found.setdefault(ref.strip(), None)  # an address as written
            continue
        handles = await resolve(session, policy, incident, ref, clock.now())
        if not handles:
            problems.append(f"{ref} reaches nobody")
        reached = comms.addresses(policy, handles, channel.type)
        missing = set(handles) - {handle for handle, _ in reached}
        problems.extend(f"{h} has no {channel.type} address" for h in handles if h in missing)
        for handle, address in reached:
            found.setdefault(address, handle)
    return list(found.items())


async def _log(
    session: AsyncSession, incident: Incident, summary: str, data: dict[str, Any], *, clock: Clock
) -> IncidentEvent:
    return await log(
        session, ENGINE, incident, "comms", summary, clock=clock, after=data, audited=False
    )
