"""The ``integrations:`` and ``alerts:`` sections: where alerts come from, and defaults.

An integration is a source of alerts (a monitoring tool) with its own secret key, the
``routing_key`` of PagerDuty's Events API. The key is never written in the policy: it is
made with ``tocsin integration rotate-key KEY`` (stored only as a hash), or, with
``key_env``, taken from an environment variable of the server. Pure data; ingestion is
:mod:`tocsin.alerts`.
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import Field

from tocsin.policy.schema_alert_routes import DEFAULT_GROUP_WINDOW, MaintenanceSpec, Route
from tocsin.policy.schema_notify import EnvName
from tocsin.policy.spans import Span
from tocsin.policy.types import Duration, Flag, Slug, Strict

IntegrationType = Literal["pagerduty", "alertmanager", "grafana", "sentry", "generic"]
INTEGRATION_TYPES: tuple[str, ...] = get_args(IntegrationType)
#: Types whose sources sign what they send (``signing_secret_env``): Sentry's
#: ``Sentry-Hook-Signature``, Grafana's HMAC, Tocsin's ``X-Tocsin-Signature``.
SIGNED_TYPES: tuple[str, ...] = ("sentry", "grafana", "generic")


class WebhookMapping(Strict):
    """How a generic webhook's JSON body becomes an alert: a Jinja2 expression over
    ``body`` per field (``null``: not set). The defaults read fields named like Tocsin's."""

    summary: str = "body.summary"
    #: Text or a number; nothing gives a trigger a new key (a resolve needs one).
    dedup_key: str | None = "body.dedup_key"
    #: Must give critical, error, warning or info.
    severity: str = "body.severity or 'error'"
    #: True: the event resolves the alert; else it triggers it.
    resolve_when: str = "body.status == 'resolved'"
    source: str | None = "body.source"
    component: str | None = "body.component"
    group: str | None = "body.group"
    #: Any JSON, kept with the alert.
    details: str | None = "body.details"
    #: ISO 8601 text or Unix seconds: when the source detected the problem.
    timestamp: str | None = "body.timestamp"


class IntegrationSpec(Strict):
    """A source of alerts."""

    key: Slug
    name: str = Field(min_length=1, max_length=200)
    type: IntegrationType
    #: The service its alerts are about (free text key), and the team that owns it.
    service: Slug | None = None
    team: Slug | None = None
    #: Take the integration key from this environment variable instead of making one.
    key_env: EnvName | None = None
    #: Refuse events not signed with the secret in this environment variable (the
    #: types of :data:`SIGNED_TYPES`).
    signing_secret_env: EnvName | None = None
    #: ``generic`` only: how its JSON body becomes an alert (default: :class:`WebhookMapping`).
    mapping: WebhookMapping | None = None
    description: str = ""


class RateLimit(Strict):
    """A token bucket per integration (and server process): ``burst`` events at once, then
    ``per_second``. PagerDuty allows about 2 a second; the default is generous."""

    per_second: float = Field(1000.0, gt=0, le=1_000_000)
    burst: int = Field(10_000, ge=1, le=10_000_000)


class AlertSettings(Strict):
    #: The severity of incidents opened from alerts (default: the least severe level).
    default_severity: Slug | None = None
    #: ``null`` turns the rate limit off.
    rate_limit: RateLimit | None = RateLimit()
    #: Which alerts open which incidents: the first route that matches wins (see
    #: :mod:`tocsin.policy.schema_alert_routes`); unmatched alerts take the defaults.
    routes: list[Route] = []
    #: Related alerts within this time join one open incident (``0m``: never).
    group_window: Duration = Span(time=DEFAULT_GROUP_WINDOW)
    #: When every alert of an incident is resolved: resolve the incident (true), or mark
    #: it mitigated and ask its commander to confirm (false).
    resolve_incident_when_alerts_resolve: Flag = False
    #: Services whose alerts open no incident for a while.
    maintenance: list[MaintenanceSpec] = []
