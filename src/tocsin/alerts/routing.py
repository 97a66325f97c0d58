"""From alerts to incidents: the default route, until the policy's routing rules exist.

A new alert opens an incident titled by its summary, at the policy's
``alerts.default_severity`` (else the least severe level), declared by the integration.
Routing rules (match on integration, source, severity, ...), grouping and maintenance
windows replace :func:`open_incident`; :func:`tocsin.alerts.service.on_alert_changed`
is where they are called.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.alerts.models import Alert, Integration
from tocsin.auth.actor import Actor
from tocsin.clock import Clock
from tocsin.incidents import service as incidents
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
    text = " ".join(summary.split()) or "Alert"
    return text if len(text) <= MAX_TITLE else text[: MAX_TITLE - 1] + "…"


async def open_incident(
    session: AsyncSession, alert: Alert, integration: Integration, *, clock: Clock
) -> Incident | None:
    """The default route: declare an incident for a new alert (``None``: none opened)."""
    policy = await policies.current_policy(session)
    severity = policy.alerts.default_severity or policy.severities[-1].key
    lines = [
        alert.summary,
        "",
        f"Alert {alert.id} from {integration.name} ({integration.type}), "
        f"source {alert.source or '-'}, severity {alert.severity}, "
        f"dedup key {alert.dedup_key}.",
    ]
    data = DeclareIn(
        title=_title(alert.summary),
        severity=severity,
        summary="\n".join(lines),
        detected_at=min(alert.detected_at, clock.now()),
    )
    return await incidents.declare(session, integration_actor(integration), data, clock=clock)
