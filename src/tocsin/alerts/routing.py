"""From alerts to incidents: routes, grouping and maintenance windows.

A new alert takes the first route of the policy that matches it (:mod:`tocsin.alerts.
matching`; else the default route) and then, in this order: an ``ignore`` route keeps it
without incident; a service in maintenance keeps it without incident (nobody is paged);
an open incident of its group, whose latest alert came within the group window, takes it;
else it opens an incident of the route's severity, type and components, declared by the
integration. Grouping holds a lock on the group key, so two workers routing two related
alerts at once open one incident, not two (PostgreSQL: an advisory lock; SQLite: the write
transaction is exclusive already). Called by :func:`tocsin.alerts.service.on_alert_changed`.
"""

from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.alerts import maintenance, matching
from tocsin.alerts.models import Alert, Integration
from tocsin.auth.actor import Actor
from tocsin.clock import Clock
from tocsin.incidents import service as incidents
from tocsin.incidents.lifecycle import OPEN_STATUSES
from tocsin.incidents.models import Incident
from tocsin.incidents.schemas import DeclareIn
from tocsin.policy import service as policies

#: The longest incident title (``DeclareIn.title``).
MAX_TITLE = 300


def integration_actor(integration: Integration) -> Actor:
    """Who acts for an integration: the timeline and audit log name it
    ``integration:KEY``."""
    return Actor(
        user_id=None,
        email=f"integration:{integration.key}",
        name=integration.name,
        is_admin=True,
    )


def _title(summary: str) -> str:
    text_ = " ".join(summary.split()) or "Alert"
    return text_ if len(text_) <= MAX_TITLE else text_[: MAX_TITLE - 1] + "…"


def facts(alert: Alert, integration: Integration) -> matching.Facts:
    return matching.Facts(
        integration=integration.key,
        service=integration.service,
        team=integration.team,
        source=alert.source,
        severity=alert.severity,
        summary=alert.summary,
        component=alert.component,
        group=alert.group,
        class_=alert.class_,
        details=alert.details,
    )


async def lock(session: AsyncSession, scope: str, key: str) -> None:
    """A transaction-long lock on ``key`` within ``scope`` (PostgreSQL; a SQLite write
    transaction is exclusive already)."""
    if session.get_bind().dialect.name == "postgresql":
        statement = text("SELECT pg_advisory_xact_lock(hashtext(:scope), hashtext(:key))")
        await session.execute(statement, {"scope": scope, "key": key})


async def route(
    session: AsyncSession, alert: Alert, integration: Integration, *, clock: Clock
) -> matching.Decision:
    """Route a new alert (see the module): ignore it, hold it, group it or open an incident."""
    policy = await policies.current_policy(session)
    decision = matching.decide(policy, facts(alert, integration))
    alert.service, alert.team = decision.service, decision.team
    alert.route, alert.group_key = decision.route, decision.group_key
    if decision.action == "ignore":
        alert.routing = "ignored"
    elif await maintenance.holding(session, policy, decision.service, now=clock.now()):
        alert.routing = "maintenance"
    elif await _join_group(session, alert, integration, decision, clock=clock):
        alert.routing = "grouped"
    else:
        incident = await open_incident(session, alert, integration, decision, clock=clock)
        alert.incident_id, alert.routing = incident.id, "opened"
    await session.flush()
    return decision


async def _join_group(
    session: AsyncSession,
    alert: Alert,
    integration: Integration,
    decision: matching.Decision,
    *,
    clock: Clock,
) -> bool:
    """Attach the alert to its group's open incident, if there is one (the lock stays
    held until commit, so a related alert routed meanwhile waits and then joins)."""
    key = decision.group_key
    if key is None or decision.group_window.total_seconds() <= 0:
        return False
    await lock(session, "tocsin.alerts.group", key)
    incident: Incident | None = await session.scalar(
        select(Incident)
        .join(Alert, Alert.incident_id == Incident.id)
        .where(
            Alert.group_key == key,
            Alert.id != alert.id,
            Alert.last_seen_at >= clock.now() - decision.group_window,
            Incident.status.in_(OPEN_STATUSES),
        )
        .order_by(Alert.last_seen_at.desc(), Alert.id.desc())
        .limit(1)
        .execution_options(populate_existing=True)
    )
    if incident is None:
        return False
    alert.incident_id = incident.id
    await session.flush()
    await _raise_severity(session, alert, incident, integration, decision, clock=clock)
    if incident.status == "monitoring":
        note = f"Alert {alert.id} joined after the incident was mitigated: {alert.summary}"
        await incidents.add_note(
            session, integration_actor(integration), incident.ref, note, clock=clock
        )
    return True


async def _raise_severity(
    session: AsyncSession,
    alert: Alert,
    incident: Incident,
    integration: Integration,
    decision: matching.Decision,
    *,
    clock: Clock,
) -> None:
    """An alert routed to a more severe level than its group's incident escalates it."""
    policy = await incidents.incident_policy(session, incident)
    known = {s.key for s in policy.severities}
    if decision.severity not in known or incident.severity not in known:
        return
    if policy.severity_rank(decision.severity) >= policy.severity_rank(incident.severity):
        return
    await incidents.change_severity(
        session,
        integration_actor(integration),
        incident.ref,
        decision.severity,
        clock=clock,
        reason=f"alert {alert.id} ({alert.summary[:200]}) took route {decision.route}",
    )


async def open_incident(
    session: AsyncSession,
    alert: Alert,
    integration: Integration,
    decision: matching.Decision,
    *,
    clock: Clock,
) -> Incident:
    """Declare an incident for a new alert, as its route says."""
    lines = [
        alert.summary,
        "",
        f"Alert {alert.id} from {integration.name} ({integration.type}), "
        f"source {alert.source or '-'}, severity {alert.severity}, "
        f"dedup key {alert.dedup_key}; route {decision.route}.",
    ]
    data = DeclareIn(
        title=_title(alert.summary),
        severity=decision.severity,
        type=decision.type,
        components=list(decision.components),
        service=decision.service,
        team=decision.team,
        escalation=decision.escalation,
        summary="\n".join(lines),
        detected_at=min(alert.detected_at, clock.now()),
    )
    return await incidents.declare(session, integration_actor(integration), data, clock=clock)
