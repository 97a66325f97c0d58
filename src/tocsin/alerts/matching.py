"""Which route an alert takes, and which alerts belong together. Pure: no I/O, no clock.

:func:`decide` walks the policy's ``alerts: routes:`` in order; the first route with a
matching condition set wins, else the default route (the policy's default severity, an
incident). The decision carries the group key: alerts with the same key within the
route's window join one open incident (see :mod:`tocsin.alerts.routing`).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any, Literal

from tocsin.policy.schema import Policy
from tocsin.policy.schema_alert_routes import Match, Route, ValueMatch

#: The longest group key stored as text; longer ones are stored as a hash.
MAX_GROUP_KEY = 255


@dataclass(frozen=True)
class Facts:
    """What routing looks at: an alert's fields and its integration's."""

    integration: str
    service: str | None
    team: str | None
    source: str
    severity: str
    summary: str
    component: str | None = None
    group: str | None = None
    class_: str | None = None
    details: Any = None


@dataclass(frozen=True)
class Decision:
    """What to do with a new alert."""

    #: The route's name as shown: its ``name``, ``routes[N]``, or ``default``.
    route: str
    action: Literal["incident", "ignore"]
    severity: str
    type: str | None
    components: tuple[str, ...]
    service: str | None
    team: str | None
    #: The escalation ladder the route chose; ``None``: by severity and type.
    escalation: str | None
    #: Alerts with the same key join one open incident; ``None``: never grouped.
    group_key: str | None
    group_window: timedelta
    resolve_incident: bool


@lru_cache(maxsize=1024)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _found(pattern: str, text: str) -> bool:
    return _compiled(pattern).search(text) is not None


def as_text(value: Any) -> str | None:
    """A detail's value as text, the way a policy writes it (``500``, ``true``)."""
    if value is None or isinstance(value, dict | list):
        return None if value is None else json.dumps(value, sort_keys=True)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def detail(details: Any, path: str) -> str | None:
    """The value at ``path`` in the alert's details: a key, else a dotted path into nested
    objects (``labels.alertname``); ``None`` when absent."""
    if not isinstance(details, dict):
        return None
    if path in details:
        return as_text(details[path])
    head, dot, rest = path.partition(".")
    if dot and head in details:
        return detail(details[head], rest)
    return None


def value_matches(match: ValueMatch, value: str | None) -> bool:
    if value is None:
        return False
    if match.regex is not None:
        return _found(match.regex, value)
    return value in match.values


def matches(match: Match, facts: Facts) -> bool:
    """Whether every condition given holds for the alert."""
    if match.summary is not None and not _found(match.summary, facts.summary):
        return False
    return all(value_matches(m, field_value(facts, f)) for f, m in match.conditions())


def field_value(facts: Facts, name: str) -> str | None:
    """An alert field by the name routes use (``class``, ``details.region``,
    ``labels.team``)."""
    if name.startswith("details."):
        return detail(facts.details, name.removeprefix("details."))
    if name.startswith("labels."):
        return detail(facts.details, name)
    return {
        "integration": facts.integration,
        "source": facts.source,
        "severity": facts.severity,
        "component": facts.component,
        "group": facts.group,
        "class": facts.class_,
        "summary": facts.summary,
    }[name]


def group_key(group_by: list[str] | None, facts: Facts, service: str | None) -> str | None:
    """The key related alerts share: their service and the ``group_by`` fields' values.

    Without ``group_by``: the service and the alert's ``group``; an alert with neither is
    not grouped. A key too long to store is replaced by its SHA-256.
    """
    if group_by is None:
        if service is None and facts.group is None:
            return None
        group_by = ["group"] if facts.group is not None else []
    parts = [["service", service], *([f, field_value(facts, f)] for f in group_by)]
    text = json.dumps(parts, separators=(",", ":"), ensure_ascii=False)
    if len(text) > MAX_GROUP_KEY:
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    return text


def _label(route: Route, index: int) -> str:
    return route.name or f"routes[{index}]"


def find_route(policy: Policy, facts: Facts) -> tuple[int, Route] | None:
    """The first route that takes the alert, with its index."""
    for index, route in enumerate(policy.alerts.routes):
        if any(matches(m, facts) for m in route.matches):
            return index, route
    return None


def decide(policy: Policy, facts: Facts) -> Decision:
    """What the policy does with a new alert."""
    settings = policy.alerts
    default_severity = settings.default_severity or policy.severities[-1].key
    found = find_route(policy, facts)
    if found is None:
        return Decision(
            route="default",
            action="incident",
            severity=default_severity,
            type=None,
            components=(),
            service=facts.service,
            team=facts.team,
            escalation=None,
            group_key=group_key(None, facts, facts.service),
            group_window=settings.group_window.time,
            resolve_incident=settings.resolve_incident_when_alerts_resolve,
        )
    index, route = found
    service = route.service or facts.service
    window = route.group_window or settings.group_window
    resolve = route.resolve_incident_when_alerts_resolve
    return Decision(
        route=_label(route, index),
        action=route.action,
        severity=route.severity or default_severity,
        type=route.type,
        components=tuple(route.components),
        service=service,
        team=route.team or facts.team,
        escalation=route.escalation,
        group_key=None if route.action == "ignore" else group_key(route.group_by, facts, service),
        group_window=window.time,
        resolve_incident=settings.resolve_incident_when_alerts_resolve
        if resolve is None
        else resolve,
    )
