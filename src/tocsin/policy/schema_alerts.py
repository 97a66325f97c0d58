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
