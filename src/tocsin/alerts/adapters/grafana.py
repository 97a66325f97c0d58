"""Grafana alerting's webhook contact point (payload version 1). Pure: no I/O.

It is Alertmanager's format (:mod:`tocsin.alerts.adapters.alertmanager`) plus ``orgId``,
``title``, ``state`` and ``message`` on the group and, on each alert, ``silenceURL``,
``dashboardURL``, ``panelURL``, ``imageURL`` (links) and ``values`` / ``valueString``
(the query results that fired it, kept in the alert's details). Grafana's legacy
dashboard alerting (before unified alerting) sent another format, refused by its version.
"""

from __future__ import annotations

from tocsin.alerts.adapters import common
from tocsin.alerts.adapters.alertmanager import Dialect, parse_group
from tocsin.alerts.schemas import IncomingEvent

GRAFANA = Dialect(
    tool="Grafana",
    version="1",
    group_fields=(
        "version",
        "groupKey",
        "truncatedAlerts",
        "status",
        "receiver",
        "externalURL",
        "orgId",
        "title",
        "state",
    ),
    links=(
        ("generatorURL", "Alert rule"),
        ("dashboardURL", "Dashboard"),
        ("panelURL", "Panel"),
        ("silenceURL", "Silence"),
    ),
    images=("imageURL",),
    details=("values", "valueString"),
)


def parse(body: bytes, content_type: str | None) -> list[IncomingEvent]:
    """The events of one Grafana notification; :class:`~.common.InvalidPayload` names
    every problem."""
    return parse_group(common.json_object(body, content_type), GRAFANA)
