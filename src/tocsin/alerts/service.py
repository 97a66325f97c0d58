"""Alerts: integrations and their keys, taking events in, de-duplicating them into alerts.

Taking events in (:func:`ingest_many`) stores them, as received, with an ``alerts.process``
job, in the caller's transaction: the sender hears "accepted" only once both are committed.
The job (:func:`process_stored`) applies the events of one (integration, dedup key) in the
order they arrived, under a lock (:func:`process`; the events of several keys stored
together get a job per key), with PagerDuty's semantics (:mod:`tocsin.alerts.dedup`); the
database keeps one open alert per key (a partial unique index; a trigger is an
``INSERT ... ON CONFLICT DO UPDATE`` that bumps the count).

Every change of an alert goes through :func:`on_alert_changed`, where routing into
incidents plugs in. Like every service, these flush and never commit.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast

from sqlalchemy import Select, Table, bindparam, func, insert, or_, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.alerts import dedup, mitigation, routing
from tocsin.alerts.adapters import webhook_url
from tocsin.alerts.models import (
    ALERT_STATUSES,
    OPEN_ALERT,
    Alert,
    AlertEvent,
    Integration,
)
from tocsin.alerts.schemas import (
    AlertEventOut,
    AlertListOut,
    AlertOut,
    IncomingEvent,
    IntegrationIn,
    IntegrationOut,
)
from tocsin.audit import service as audit
from tocsin.auth.actor import Actor
from tocsin.auth.permissions import require
from tocsin.clock import Clock, as_utc
from tocsin.errors import Conflict, InvalidInput, NotFound, TocsinError
from tocsin.incidents import service as incidents
from tocsin.incidents.models import Incident, IncidentParticipant
from tocsin.jobs import service as jobs
from tocsin.policy import service as policies
from tocsin.policy.models import PolicyVersion
from tocsin.policy.schema import Policy
from tocsin.policy.schema_alerts import INTEGRATION_TYPES, IntegrationSpec, RateLimit

#: The job that applies received events to alerts.
PROCESS = "alerts.process"
#: Characters of a key shown in lists (enough to tell keys apart, too few to guess one).
PREFIX_LENGTH = 6

Change = Literal["opened", "updated", "acknowledged", "resolved"]


# --- keys --------------------------------------------------------------------------------


def new_key() -> str:
    """A new integration key: 32 hexadecimal characters, like PagerDuty's routing keys."""
    return secrets.token_hex(16)


def key_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class UnknownKey(TocsinError):
    """No integration has this key (or it is of another type)."""

    status = 400
    code = "invalid_routing_key"


# --- integrations ------------------------------------------------------------------------


def _spec(policy: Policy, ident: str) -> IntegrationSpec | None:
    return next((s for s in policy.integrations if s.key == ident), None)


def _env_key(spec: IntegrationSpec | None) -> str | None:
    """The key an integration takes from the server's environment (``key_env``), if set."""
    if spec is None or spec.key_env is None:
        return None
    value = os.environ.get(spec.key_env, "").strip()
    return value or None


def _out(
    row: Integration | None,
    spec: IntegrationSpec | None,
    *,
    public_url: str,
    secret: str | None = None,
) -> IntegrationOut:
    """An integration as shown: the policy's declaration wins over the stored copy."""
    source: IntegrationSpec | Integration | None = spec if spec is not None else row
    assert source is not None
    if spec is not None and spec.key_env is not None:
        env_key = _env_key(spec)
        has_key, prefix = env_key is not None, env_key[:PREFIX_LENGTH] if env_key else None
    else:
        has_key = row is not None and row.key_hash is not None
        prefix = row.key_prefix if row is not None else None
    return IntegrationOut(
        id=source.key,
        name=source.name,
        type=source.type,
        service=source.service,
        team=source.team,
        origin="policy" if spec is not None else str(getattr(source, "origin", "api")),
        has_key=has_key,
        key_prefix=prefix,
        key_env=spec.key_env if spec is not None else None,
        key=secret,
        url=webhook_url(public_url, source.type, secret),
        created_at=row.created_at if row is not None else None,
        created_by=row.created_by if row is not None else None,
        rotated_at=row.rotated_at if row is not None else None,
    )


def _may_manage(policy: Policy, actor: Actor) -> None:
    require(policy, actor, "manage-integrations")


async def _row(session: AsyncSession, ident: str) -> Integration | None:
    found: Integration | None = await session.scalar(
        select(Integration).where(Integration.key == ident)
    )
    return found


def _sync_from_spec(row: Integration, spec: IntegrationSpec) -> None:
    """Bring a policy integration's stored copy in line with the policy (writes only when
    something changed)."""
    for attr in ("name", "type", "service", "team"):
        if getattr(row, attr) != getattr(spec, attr):
            setattr(row, attr, getattr(spec, attr))
    if row.origin != "policy":
        row.origin = "policy"


async def list_integrations(
    session: AsyncSession, actor: Actor, *, public_url: str
) -> list[IntegrationOut]:
    """Every integration: those of the policy (with or without a key yet) and those made
    through the API, by key."""
    policy = await policies.current_policy(session)
    rows = {r.key: r for r in (await session.scalars(select(Integration))).all()}
    out = [_out(rows.pop(s.key, None), s, public_url=public_url) for s in policy.integrations]
    out.extend(_out(r, None, public_url=public_url) for r in rows.values())
    return sorted(out, key=lambda i: i.id)


async def get_integration(
    session: AsyncSession, actor: Actor, ident: str, *, public_url: str
) -> IntegrationOut:
    policy = await policies.current_policy(session)
    spec, row = _spec(policy, ident), await _row(session, ident)
    if spec is None and row is None:
        raise NotFound(f"no integration {ident!r}", details={"integration": ident})
    return _out(row, spec, public_url=public_url)


_SLUG_JUNK = re.compile(r"[^a-z0-9_.-]+")


def slug_of(name: str) -> str:
    """An integration key made from a name: ``Datadog (prod)`` → ``datadog-prod``."""
    slug = _SLUG_JUNK.sub("-", name.strip().lower()).strip("-._")[:64].rstrip("-._")
    if not slug:
        raise InvalidInput(
            f"cannot make a key from the name {name!r}; give one with id",
            details={"field": "id"},
        )
    return slug


async def create_integration(
    session: AsyncSession, actor: Actor, data: IntegrationIn, *, clock: Clock, public_url: str
) -> IntegrationOut:
    """A new integration with a new key; the key is in the answer, and never again."""
    policy = await policies.current_policy(session)
    _may_manage(policy, actor)
    if data.type not in INTEGRATION_TYPES:
        raise InvalidInput(
            f"unknown integration type {data.type!r} (known: {', '.join(INTEGRATION_TYPES)})",
            details={"field": "type", "known": list(INTEGRATION_TYPES)},
        )
    ident = data.id or slug_of(data.name)
    if _spec(policy, ident) is not None:
        raise Conflict(
            f"integration {ident!r} is declared in the policy; give it a key with "
            f"`tocsin integration rotate-key {ident}`",
            code="integration_in_policy",
            details={"integration": ident},
        )
    if await session.scalar(
        select(func.lower(Integration.key)).where(func.lower(Integration.key) == ident.lower())
    ):
        raise Conflict(
            f"an integration {ident!r} exists already",
            code="integration_exists",
            details={"integration": ident},
        )
    if data.team is not None and policy.team(data.team) is None:
        known = ", ".join(sorted(t.key for t in policy.teams)) or "none defined"
        raise InvalidInput(
            f"unknown team {data.team!r} (known: {known})", details={"field": "team"}
        )
    secret = new_key()
    row = Integration(
        key=ident,
        name=data.name,
        type=data.type,
        service=data.service,
        team=data.team,
        origin="api",
        key_hash=key_hash(secret),
        key_prefix=secret[:PREFIX_LENGTH],
        created_at=clock.now(),
        created_by=actor.label,
    )
    session.add(row)
    await session.flush()
    await audit.record(
        session,
        actor,
        "integration.create",
        "integration",
        ident,
        clock=clock,
        after={
            "name": row.name,
            "type": row.type,
            "service": row.service,
            "team": row.team,
            "key_prefix": row.key_prefix,
        },
    )
    return _out(row, None, public_url=public_url, secret=secret)


async def rotate_key(
    session: AsyncSession, actor: Actor, ident: str, *, clock: Clock, public_url: str
) -> IntegrationOut:
    """A new key for the integration (its first, for one declared in the policy); the old
    key stops working at once."""
    policy = await policies.current_policy(session)
    _may_manage(policy, actor)
    spec, row = _spec(policy, ident), await _row(session, ident)
    if spec is None and row is None:
        raise NotFound(f"no integration {ident!r}", details={"integration": ident})
    if spec is not None and spec.key_env is not None:
        raise Conflict(
            f"integration {ident!r} takes its key from the environment variable "
            f"{spec.key_env}; change the variable instead",
            code="integration_key_from_env",
            details={"integration": ident, "key_env": spec.key_env},
        )
    secret, now = new_key(), clock.now()
    before = None if row is None else {"key_prefix": row.key_prefix}
    if row is None:
        assert spec is not None
        row = _from_spec(spec, created_at=now, created_by=actor.label)
        session.add(row)
    else:
        if spec is not None:
            _sync_from_spec(row, spec)
        row.rotated_at = now if row.key_hash is not None else row.rotated_at
    row.key_hash, row.key_prefix = key_hash(secret), secret[:PREFIX_LENGTH]
    await session.flush()
    await audit.record(
        session,
        actor,
        "integration.rotate_key",
        "integration",
        ident,
        clock=clock,
        before=before,
        after={"key_prefix": row.key_prefix},
    )
    return _out(row, spec, public_url=public_url, secret=secret)


def _from_spec(spec: IntegrationSpec, *, created_at: datetime, created_by: str) -> Integration:
    return Integration(
        key=spec.key,
        name=spec.name,
        type=spec.type,
        service=spec.service,
        team=spec.team,
        origin="policy",
        created_at=created_at,
        created_by=created_by,
    )


# --- taking events in --------------------------------------------------------------------


@dataclass(frozen=True)
class Receiver:
    """The integration an event came in for, its rate limit (``None``: none) and its
    declaration in the policy (``None`` for one made through the API); and what it was
    authenticated with and under (the key's hash, the policy's version number), so that
    one kept for later can be checked again (:func:`still_valid`)."""

    integration: Integration
    rate_limit: RateLimit | None
    spec: IntegrationSpec | None
    key_hash: str
    policy_version: int


async def authenticate(
    session: AsyncSession, secret: str, integration_type: str, *, clock: Clock
) -> Receiver:
    """The integration whose key is ``secret``; :class:`UnknownKey` if none is.

    A policy integration with ``key_env`` is recognised by the variable's current value
    (and its stored copy made or updated on first use).
    """
    version = await session.scalar(select(_POLICY_VERSION))  # first: see still_valid
    policy = await policies.current_policy(session)
    digest = key_hash(secret)
    row: Integration | None = await session.scalar(
        select(Integration).where(Integration.key_hash == digest)
    )
    spec = _spec(policy, row.key) if row is not None else None
    if row is not None and spec is not None and spec.key_env and _env_key(spec) != secret:
        row = None  # the variable changed: the old value is no longer the key
    if row is None:
        row, spec = await _by_env_key(session, policy, secret, clock=clock)
    if row is None:
        raise UnknownKey("Invalid routing key")
    if spec is not None:
        _sync_from_spec(row, spec)
    if row.type != integration_type:
        raise UnknownKey(
            f"Invalid routing key: it belongs to integration {row.key!r} of type "
            f"{row.type}, which does not take {integration_type} events",
            details={"integration": row.key, "type": row.type},
        )
    return Receiver(row, policy.alerts.rate_limit, spec, digest, int(version or 0))


#: The current policy's version number.
_POLICY_VERSION = select(func.max(PolicyVersion.version)).scalar_subquery()
#: The statements of taking events in, made once: they run for every batch of events, and
#: Core on a connection costs a fraction of the ORM's CPU.
_EVENTS = cast(Table, AlertEvent.__table__)
_INSERT_EVENTS = insert(_EVENTS).returning(_EVENTS.c.id, sort_by_parameter_order=True)
_KEYS = select(Integration.id, Integration.key_hash, _POLICY_VERSION).where(
    Integration.id.in_(bindparam("ids", expanding=True))
)


async def still_valid(session: AsyncSession, receivers: Sequence[Receiver]) -> list[bool]:
    """For each receiver, whether :func:`authenticate` would still give it: its integration
    still has the key it was authenticated with (not rotated since; for ``key_env``, the
    variable still holds it) under the same policy version. One query, in the caller's
    transaction, so that events written in it are checked against the keys as they are
    then. (A policy applied between :func:`authenticate`'s reading of the version and of
    the policy makes the receiver look older than it is: it is authenticated again.)"""
    if not receivers:
        return []
    ids = list({r.integration.id for r in receivers})
    rows = await (await session.connection()).execute(_KEYS, {"ids": ids})
    found = {id_: (hash_, int(version or 0)) for id_, hash_, version in rows.all()}

    def valid(receiver: Receiver) -> bool:
        if found.get(receiver.integration.id) != (receiver.key_hash, receiver.policy_version):
            return False
        if receiver.spec is None or receiver.spec.key_env is None:
            return True
        env = _env_key(receiver.spec)
        return env is not None and key_hash(env) == receiver.key_hash

    return [valid(r) for r in receivers]


async def _by_env_key(
    session: AsyncSession, policy: Policy, secret: str, *, clock: Clock
) -> tuple[Integration | None, IntegrationSpec | None]:
    for spec in policy.integrations:
        value = _env_key(spec)
        if value is None or not hmac.compare_digest(value.encode(), secret.encode()):
            continue
        row = await _row(session, spec.key)
        if row is None:
            row = _from_spec(spec, created_at=clock.now(), created_by="policy")
            session.add(row)
        elif row.key_hash is not None:
            row.rotated_at = clock.now()
        row.key_hash, row.key_prefix = key_hash(secret), secret[:PREFIX_LENGTH]
        await session.flush()
        return row, spec
    return None, None


async def ingest(
    session: AsyncSession,
    integration: Integration,
    events: Sequence[IncomingEvent],
    *,
    clock: Clock,
) -> list[str]:
    """Store the events of one integration (see :func:`ingest_many`); their dedup keys."""
    [keys] = await ingest_many(session, [(integration.id, events)], clock=clock)
    return keys


async def ingest_many(
    session: AsyncSession,
    received: Sequence[tuple[int, Sequence[IncomingEvent]]],
    *,
    clock: Clock,
) -> list[list[str]]:
    """Store events as received, in the caller's transaction, with one multi-row INSERT,
    and one job that processes them all (:func:`process_stored`). ``received``:
    (integration id, events) per sender. A trigger without a dedup key gets a new unique
    one. Returns each sender's dedup keys, in order."""
    now = clock.now()
    keys = [[e.dedup_key or dedup.new_dedup_key() for e in events] for _, events in received]
    rows = [
        {
            "integration_id": integration_id,
            "action": event.action,
            "dedup_key": dedup_key,
            "received_at": now,
            "payload": event.raw,
            "fields": event.fields(),
        }
        for (integration_id, events), dedup_keys in zip(received, keys, strict=True)
        for event, dedup_key in zip(events, dedup_keys, strict=True)
    ]
    if rows:
        ids = (await (await session.connection()).execute(_INSERT_EVENTS, rows)).scalars().all()
        await jobs.enqueue_many(session, PROCESS, [{"events": list(ids)}], clock=clock)
    return keys


# --- processing --------------------------------------------------------------------------


async def _lock_key(session: AsyncSession, integration_id: int, dedup_key: str) -> None:
    """Serialise the processing of one (integration, dedup key) across workers, so its
    events apply in the order they arrived (PostgreSQL; on SQLite the write transaction
    already is exclusive)."""
    if session.get_bind().dialect.name == "postgresql":
        lock = text("SELECT pg_advisory_xact_lock(hashtext(:scope), hashtext(:key))")
        await session.execute(lock, {"scope": f"tocsin.alerts:{integration_id}", "key": dedup_key})


async def process_stored(session: AsyncSession, event_ids: Sequence[int], *, clock: Clock) -> None:
    """Process events stored together: those of one (integration, dedup key) here; those
    of several keys each in a job of its own (its own transaction, holding one key's lock:
    two jobs never wait for each other's keys)."""
    firsts = await session.scalars(
        select(func.min(AlertEvent.id))
        .where(AlertEvent.id.in_(event_ids), AlertEvent.outcome.is_(None))
        .group_by(AlertEvent.integration_id, AlertEvent.dedup_key)
        .order_by(func.min(AlertEvent.id))
    )
    first = list(firsts.all())
    if len(first) == 1:
        await process(session, first[0], clock=clock)
    elif first:
        await jobs.enqueue_many(session, PROCESS, [{"event": i} for i in first], clock=clock)


async def process(session: AsyncSession, event_id: int, *, clock: Clock) -> int:
    """Apply the event and every other one of its (integration, dedup key) still waiting,
    in the order they arrived. Returns how many were applied (0 when another job did it
    first)."""
    event = await session.get(AlertEvent, event_id)
    if event is None or event.outcome is not None:
        return 0
    await _lock_key(session, event.integration_id, event.dedup_key)
    waiting = (
        await session.scalars(
            select(AlertEvent)
            .where(
                AlertEvent.integration_id == event.integration_id,
                AlertEvent.dedup_key == event.dedup_key,
                AlertEvent.outcome.is_(None),
            )
            .order_by(AlertEvent.id)
            .execution_options(populate_existing=True)
        )
    ).all()
    for each in waiting:
        await _apply(session, each, clock=clock)
    return len(waiting)


def _insert(session: AsyncSession) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


async def _apply(session: AsyncSession, event: AlertEvent, *, clock: Clock) -> None:
    alert: Alert | None
    change: Change | None
    if event.action == "trigger":
        alert, change = await _trigger(session, event)
    else:
        alert, change = await _ack_or_resolve(session, event)
    event.processed_at = clock.now()
    event.alert_id = alert.id if alert is not None else None
    if change is None:
        event.outcome = "dropped" if alert is None else "unchanged"
        event.reason = (
            "no open alert with this dedup key" if alert is None else "already acknowledged"
        )
    else:
        event.outcome = change
    await session.flush()
    if alert is not None and change is not None:
        await on_alert_changed(session, alert, change, clock=clock)


def _detected(event: AlertEvent) -> datetime:
    """When the problem was detected: the source's timestamp, unless it lies after the
    moment we received the event (a source clock running ahead)."""
    stamp = event.fields.get("timestamp")
    if not stamp:
        return event.received_at
    moment = as_utc(datetime.fromisoformat(stamp))
    return min(moment, event.received_at)


async def _trigger(session: AsyncSession, event: AlertEvent) -> tuple[Alert, Change]:
    """Open an alert or bump the open one: one statement, so concurrent identical
    triggers cannot open two (the partial unique index decides)."""
    fields = event.fields
    latest = {
        "summary": fields.get("summary") or "",
        "severity": fields.get("severity") or "critical",
        "source": fields.get("source") or "",
        "component": fields.get("component"),
        "group": fields.get("group"),
        "class_": fields.get("class_"),
        "details": fields.get("details"),
    }
    statement = _insert(session)(Alert).values(
        integration_id=event.integration_id,
        dedup_key=event.dedup_key,
        status="triggered",
        count=1,
        detected_at=_detected(event),
        created_at=event.received_at,
        last_seen_at=event.received_at,
        **latest,
    )
    excluded = statement.excluded
    statement = statement.on_conflict_do_update(
        index_elements=[Alert.integration_id, Alert.dedup_key],
        index_where=text(OPEN_ALERT),
        set_={
            Alert.count: Alert.count + 1,
            Alert.last_seen_at: excluded.last_seen_at,
            Alert.summary: excluded.summary,
            Alert.severity: excluded.severity,
            Alert.source: excluded.source,
            Alert.component: excluded.component,
            Alert.group: excluded.group,
            Alert.class_: excluded["class"],
            Alert.details: excluded.details,
        },
    ).returning(Alert.id, Alert.count)
    alert_id, count = (await session.execute(statement)).one()
    alert = await session.get(Alert, alert_id, populate_existing=True)
    assert alert is not None
    outcome = dedup.outcome("trigger", None if count == 1 else "triggered")
    assert outcome in ("opened", "updated")
    return alert, outcome


async def _ack_or_resolve(
    session: AsyncSession, event: AlertEvent
) -> tuple[Alert | None, Change | None]:
    alert: Alert | None = await session.scalar(
        select(Alert)
        .where(
            Alert.integration_id == event.integration_id,
            Alert.dedup_key == event.dedup_key,
            Alert.status != "resolved",
        )
        .execution_options(populate_existing=True)
    )
    action: dedup.Action = "acknowledge" if event.action == "acknowledge" else "resolve"
    status: dedup.Status | None = None
    if alert is not None:
        status = "acknowledged" if alert.status == "acknowledged" else "triggered"
    outcome = dedup.outcome(action, status)
    if alert is None or outcome not in ("acknowledged", "resolved"):
        return alert, None
    if outcome == "acknowledged":
        alert.status, alert.acknowledged_at = "acknowledged", event.received_at
        return alert, "acknowledged"
    alert.status, alert.resolved_at = "resolved", event.received_at
    return alert, "resolved"


async def on_alert_changed(
    session: AsyncSession, alert: Alert, change: Change, *, clock: Clock
) -> None:
    """Where alerts reach incidents: called in the processing transaction after every
    change of an alert (``opened``, ``updated``, ``acknowledged``, ``resolved``).

    A new alert is routed (:mod:`tocsin.alerts.routing`: routes, maintenance windows,
    grouping); an alert of an incident acknowledged or resolved at its source is noted on
    that incident's timeline, and the last one resolved mitigates the incident
    (:mod:`tocsin.alerts.mitigation`).
    """
    integration = await session.get(Integration, alert.integration_id)
    assert integration is not None
    if change == "opened" and alert.incident_id is None:
        await routing.route(session, alert, integration, clock=clock)
    elif change in ("acknowledged", "resolved") and alert.incident_id is not None:
        incident = await session.get(Incident, alert.incident_id)
        if incident is not None:
            text_ = f"Alert {alert.id} {change} at its source ({integration.name}): {alert.summary}"
            await incidents.add_note(
                session, routing.integration_actor(integration), incident.ref, text_, clock=clock
            )
        if change == "resolved":
            await mitigation.on_resolved(session, alert, integration, clock=clock)


# --- reading -----------------------------------------------------------------------------


def _visible(query: _AlertRows, actor: Actor) -> _AlertRows:
    """Alerts of restricted incidents only for that incident's participants and admins."""
    if actor.is_admin:
        return query
    restricted = select(Incident.id).where(Incident.restricted)
    if actor.user_id is not None:
        mine = select(IncidentParticipant.incident_id).where(
            IncidentParticipant.user_id == actor.user_id
        )
        restricted = restricted.where(Incident.id.not_in(mine))
    return query.where(or_(Alert.incident_id.is_(None), Alert.incident_id.not_in(restricted)))


def _alert_out(alert: Alert, integration: str, incident: str | None) -> AlertOut:
    return AlertOut(
        id=alert.id,
        integration=integration,
        dedup_key=alert.dedup_key,
        status=alert.status,
        summary=alert.summary,
        severity=alert.severity,
        source=alert.source,
        component=alert.component,
        group=alert.group,
        class_=alert.class_,
        details=alert.details,
        count=alert.count,
        detected_at=alert.detected_at,
        created_at=alert.created_at,
        last_seen_at=alert.last_seen_at,
        acknowledged_at=alert.acknowledged_at,
        resolved_at=alert.resolved_at,
        incident=incident,
        service=alert.service,
        team=alert.team,
        route=alert.route,
        routing=alert.routing,
    )


_AlertRows = Select[Alert, str, str]


def _alerts_query() -> _AlertRows:
    return (
        select(Alert, Integration.key, Incident.ref)
        .join(Integration, Integration.id == Alert.integration_id)
        .outerjoin(Incident, Incident.id == Alert.incident_id)
    )


async def list_alerts(
    session: AsyncSession,
    actor: Actor,
    *,
    status: Sequence[str] = (),
    integration: str | None = None,
    incident: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> AlertListOut:
    """Alerts the actor may see, newest first, and how many match in all."""
    unknown = sorted(set(status) - set(ALERT_STATUSES))
    if unknown:
        raise InvalidInput(
            f"unknown status {', '.join(map(repr, unknown))} (known: {', '.join(ALERT_STATUSES)})",
            details={"field": "status", "unknown": unknown},
        )
    query = _visible(_alerts_query(), actor)
    if status:
        query = query.where(Alert.status.in_(status))
    if integration:
        query = query.where(Integration.key == integration)
    if incident:
        query = query.where(Incident.ref == incident)
    total = int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    rows = await session.execute(
        query.order_by(Alert.created_at.desc(), Alert.id.desc()).limit(limit).offset(offset)
    )
    return AlertListOut(alerts=[_alert_out(a, key, ref) for a, key, ref in rows.all()], total=total)


async def get_alert(session: AsyncSession, actor: Actor, alert_id: int) -> AlertOut:
    """One alert with every event that applied to it, oldest first."""
    row = (
        await session.execute(_visible(_alerts_query(), actor).where(Alert.id == alert_id))
    ).first()
    if row is None:
        raise NotFound(f"no alert {alert_id}", details={"alert": alert_id})
    out = _alert_out(*row)
    events = await session.scalars(
        select(AlertEvent).where(AlertEvent.alert_id == alert_id).order_by(AlertEvent.id)
    )
    out.events = [
        AlertEventOut(
            id=e.id,
            action=e.action,
            received_at=e.received_at,
            outcome=e.outcome,
            reason=e.reason,
            processed_at=e.processed_at,
            payload=e.payload,
        )
        for e in events.all()
    ]
    return out
