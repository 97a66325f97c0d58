"""Sentry's integration-platform webhooks (an internal integration). Pure: no I/O.

The ``Sentry-Hook-Resource`` header says what the body ``{"action", "data",
"installation", "actor"}`` is about:

- ``event_alert`` (an issue alert rule fired; ``action`` ``triggered``): a trigger;
- ``metric_alert`` (``critical``, ``warning``, ``resolved``): a trigger at that severity,
  or a resolve, de-duplicated by the metric alert's incident id;
- ``issue`` (``created``, ``unresolved``: a trigger; ``resolved``, ``archived``: a resolve;
  ``assigned``: nothing).

An issue alert and the issue's own webhooks share the dedup key ``sentry-issue-<id>``, so
resolving the issue in Sentry resolves the alert its alert rule opened. Other resources
(``installation``, ``comment``, ``error``...) and actions are taken and ignored: Sentry
counts refusals against the integration.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tocsin.alerts.adapters import common
from tocsin.alerts.dedup import Action
from tocsin.alerts.schemas import IncomingEvent

HEADER = "sentry-hook-resource"
SIGNATURE_HEADER = "sentry-hook-signature"

_ISSUE_ACTIONS: dict[str, Action] = {
    "created": "trigger",
    "unresolved": "trigger",
    "resolved": "resolve",
    "archived": "resolve",
    "ignored": "resolve",  # what Sentry called archiving before
}
_METRIC_ACTIONS: dict[str, Action] = {
    "critical": "trigger",
    "warning": "trigger",
    "resolved": "resolve",
}


def issue_key(issue_id: str) -> str:
    return f"sentry-issue-{issue_id}"


def parse(body: bytes, content_type: str | None, resource: str | None) -> list[IncomingEvent]:
    """The event of one webhook (``resource``: its ``Sentry-Hook-Resource`` header);
    :class:`~.common.InvalidPayload` names every problem, :class:`~.common.Ignored` says
    why there is nothing to take."""
    if not resource or not resource.strip():
        raise common.InvalidPayload(["The Sentry-Hook-Resource header is missing"])
    data = common.json_object(body, content_type)
    errors: list[str] = []
    action = common.required(data, "action", "action", errors)
    payload = common.obj(data, "data", "data", errors)
    if errors or action is None or payload is None:
        raise common.InvalidPayload(errors)
    raw = {"resource": resource, **data}
    if resource == "event_alert":
        event = _event_alert(payload, raw, errors)
    elif resource == "metric_alert" and action in _METRIC_ACTIONS:
        event = _metric_alert(action, payload, raw, errors)
    elif resource == "issue" and action in _ISSUE_ACTIONS:
        event = _issue(_ISSUE_ACTIONS[action], payload, raw, errors)
    else:
        raise common.Ignored(f"Tocsin takes no alert from Sentry's {resource} {action}")
    if errors or event is None:
        raise common.InvalidPayload(errors)
    return [event]


def _event(raw: dict[str, Any], *, link: tuple[str | None, str], **fields: Any) -> IncomingEvent:
    """An event from Sentry, with its link (if Sentry sent the URL) and what it sent."""
    href, label = link
    links = [{"href": href, "text": label}] if href else []
    return IncomingEvent(client="Sentry", links=links, raw=raw, **fields)


def _part(data: dict[str, Any], name: str) -> dict[str, Any]:
    """An optional object inside an object (``{}`` when absent or not an object)."""
    value = data.get(name)
    return value if isinstance(value, dict) else {}


def _tags(value: Any) -> dict[str, str]:
    """Sentry's ``[["key", "value"], ...]`` as a mapping (malformed pairs are skipped)."""
    if not isinstance(value, list):
        return {}
    pairs = (t for t in value if isinstance(t, list | tuple) and len(t) == 2)
    return {str(k): str(v) for k, v in pairs}


@dataclass(frozen=True)
class _Issue:
    """What an issue alert's event and an issue both say of the issue."""

    id: str | None
    title: str | None
    level: str | None
    culprit: str | None
    web_url: str | None

    def fields(self, link: str) -> dict[str, Any] | None:
        """The event's fields from the issue (``None`` when its id or title is missing)."""
        if self.id is None or self.title is None:
            return None
        return {
            "dedup_key": issue_key(self.id),
            "summary": common.summary(self.title),
            "severity": common.severity_of(self.level),
            "component": self.culprit or None,
            "link": (self.web_url, link),
        }


def _read(obj: dict[str, Any], where: str, id_field: str, errors: list[str]) -> _Issue:
    return _Issue(
        id=common.identifier(obj, id_field, f"{where}.{id_field}", errors),
        title=common.required(obj, "title", f"{where}.title", errors),
        level=common.text(obj, "level", f"{where}.level", errors),
        culprit=common.text(obj, "culprit", f"{where}.culprit", errors),
        web_url=common.text(obj, "web_url", f"{where}.web_url", errors),
    )


def _event_alert(
    data: dict[str, Any], raw: dict[str, Any], errors: list[str]
) -> IncomingEvent | None:
    event = common.obj(data, "event", "data.event", errors)
    if event is None:
        return None
    issue = _read(event, "data.event", "issue_id", errors)
    rule = common.text(data, "triggered_rule", "data.triggered_rule", errors)
    started = common.timestamp(
        event.get("datetime", event.get("timestamp")), "data.event.datetime", errors
    )
    fields = issue.fields("Event in Sentry")
    if fields is None:
        return None
    tags = _tags(event.get("tags"))
    return _event(
        raw,
        action="trigger",
        source=tags.get("server_name") or "sentry",
        timestamp=started,
        group=tags.get("environment"),
        class_=rule,
        details={
            "rule": rule,
            "issue_id": issue.id,
            "event_id": event.get("event_id"),
            "level": issue.level,
            "culprit": issue.culprit,
            "tags": tags,
        },
        **fields,
    )


def _metric_alert(
    action: str, data: dict[str, Any], raw: dict[str, Any], errors: list[str]
) -> IncomingEvent | None:
    alert = common.obj(data, "metric_alert", "data.metric_alert", errors)
    if alert is None:
        return None
    alert_id = common.identifier(alert, "id", "data.metric_alert.id", errors)
    rule = _part(alert, "alert_rule")
    title = next(
        (
            t
            for t in (data.get("description_title"), rule.get("name"), alert.get("title"))
            if isinstance(t, str) and t.strip()
        ),
        "Sentry metric alert",
    )
    description = common.text(data, "description_text", "data.description_text", errors)
    web_url = common.text(data, "web_url", "data.web_url", errors)
    started = common.timestamp(
        alert.get("date_started") or alert.get("date_detected"),
        "data.metric_alert.date_started",
        errors,
    )
    if alert_id is None:
        return None
    projects = alert.get("projects")
    names = [p for p in projects if isinstance(p, str)] if isinstance(projects, list) else []
    return _event(
        raw,
        action=_METRIC_ACTIONS[action],
        dedup_key=f"sentry-metric-alert-{alert_id}",
        summary=common.summary(title),
        source=", ".join(names) or "sentry",
        severity="warning" if action == "warning" else "critical",
        timestamp=started,
        component=rule.get("aggregate") if isinstance(rule.get("aggregate"), str) else None,
        class_="metric_alert",
        details={"description": description, "rule": rule.get("name"), "projects": names},
        link=(web_url, "Alert in Sentry"),
    )


def _issue(
    action: Action, data: dict[str, Any], raw: dict[str, Any], errors: list[str]
) -> IncomingEvent | None:
    issue = common.obj(data, "issue", "data.issue", errors)
    if issue is None:
        return None
    read = _read(issue, "data.issue", "id", errors)
    seen = common.timestamp(
        issue.get("lastSeen") or issue.get("firstSeen"), "data.issue.lastSeen", errors
    )
    fields = read.fields("Issue in Sentry")
    if fields is None:
        return None
    project = _part(issue, "project")
    slug = project.get("slug") if isinstance(project.get("slug"), str) else None
    return _event(
        raw,
        action=action,
        source=slug or "sentry",
        timestamp=seen,
        class_=issue.get("type") if isinstance(issue.get("type"), str) else None,
        details={
            "short_id": issue.get("shortId"),
            "status": issue.get("status"),
            "substatus": issue.get("substatus"),
            "level": read.level,
            "culprit": read.culprit,
            "project": slug,
            "count": issue.get("count"),
            "user_count": issue.get("userCount"),
        },
        **fields,
    )
