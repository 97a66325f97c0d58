"""Adapters turn what a monitoring tool sends into :class:`~tocsin.alerts.schemas.IncomingEvent`.

Each adapter is a pure module (no I/O): it parses and validates a request body and names
every problem. Its door (``alerts/doors.py``) looks up the integration, calls
:func:`tocsin.alerts.service.ingest` and answers in the tool's own format.

``ENDPOINTS`` says where each integration type's source sends its events, for the
``url`` shown with an integration. Webhooks whose tools can send headers also take the
key as ``Authorization: Bearer KEY`` at the path without ``/{key}``.
"""

from __future__ import annotations

#: Integration type → the path its events are posted to (``{key}``: the integration key,
#: for tools that cannot put it in the body).
ENDPOINTS: dict[str, str] = {
    "pagerduty": "/v2/enqueue",
    "alertmanager": "/webhooks/alertmanager/{key}",
    "grafana": "/webhooks/grafana/{key}",
    "sentry": "/webhooks/sentry/{key}",
    "generic": "/webhooks/generic/{key}",
}


def webhook_url(public_url: str, integration_type: str, secret: str | None = None) -> str | None:
    """The full URL to give the source, or ``None`` when the type has no adapter yet or
    the path needs the key and it is not known (only shown when it is made)."""
    path = ENDPOINTS.get(integration_type)
    if path is None:
        return None
    if "{key}" in path:
        if secret is None:
            return None
        path = path.replace("{key}", secret)
    return public_url.rstrip("/") + path
