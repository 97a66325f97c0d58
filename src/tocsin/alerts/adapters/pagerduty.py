"""PagerDuty Events API v2 (``POST /v2/enqueue``): the request, validated as PagerDuty
documents it, and its answers. Pure: no I/O.

An event is ``{"routing_key", "event_action", "dedup_key", "payload": {"summary",
"source", "severity", "timestamp", "component", "group", "class", "custom_details"},
"links", "images", "client", "client_url"}``. A trigger needs ``payload.summary`` (at most
1024 characters), ``payload.source`` and ``payload.severity`` (critical, error, warning or
info); acknowledge and resolve need ``dedup_key`` (at most 255 characters). Fields the API
does not know are ignored, as PagerDuty does.

Answers: ``202 {"status": "success", "message": "Event processed", "dedup_key"}``;
``400 {"status": "invalid event", "message": "Event object is invalid", "errors": [...]}``
naming every problem (an unknown routing key is one: ``Invalid routing key``); ``429`` past
the integration's rate limit. Bodies over 512 KB are refused (400, as PagerDuty does).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tocsin.alerts.adapters import common
from tocsin.alerts.adapters.common import MAX_SUMMARY, SEVERITIES, InvalidPayload
from tocsin.alerts.dedup import ACTIONS, MAX_DEDUP_KEY, Action
from tocsin.alerts.schemas import IncomingEvent

#: PagerDuty's size limit for one event.
MAX_BODY_BYTES = 512 * 1024
#: Characters of the routing key kept in the stored event (the rest is a secret).
KEY_SHOWN = 4

INVALID = "Event object is invalid"
INVALID_ROUTING_KEY = "Invalid routing key"


@dataclass(frozen=True)
class Parsed:
    routing_key: str
    event: IncomingEvent


#: The body is not a valid event; ``errors`` names each problem.
InvalidEvent = InvalidPayload


def success(dedup_key: str) -> dict[str, Any]:
    return {"status": "success", "message": "Event processed", "dedup_key": dedup_key}


def invalid(errors: list[str]) -> dict[str, Any]:
    return {"status": "invalid event", "message": INVALID, "errors": errors}


def throttled() -> dict[str, Any]:
    return {
        "status": "throttle event",
        "message": "Requests for this integration are arriving too quickly. Please retry later.",
        "errors": ["Rate limit exceeded"],
    }


def parse(body: bytes, content_type: str | None) -> Parsed:
    """The event in ``body``; raises :class:`InvalidEvent` naming every problem."""
    if len(body) > MAX_BODY_BYTES:
        raise InvalidEvent([f"Event object is too large (the limit is {MAX_BODY_BYTES} bytes)"])
    data = common.json_body(body, content_type)
    if not isinstance(data, dict):
        raise InvalidEvent(["The event must be a JSON object"])
    return validate(data)


def _timestamp(value: Any, errors: list[str]) -> datetime | None:
    """PagerDuty takes ISO 8601 text only (not Unix seconds)."""
    if value is not None and not isinstance(value, str):
        errors.append("'payload.timestamp' must be an ISO 8601 timestamp string")
        return None
    return common.timestamp(value, "payload.timestamp", errors)


def _objects(
    data: dict[str, Any], name: str, required: str, optional: tuple[str, ...], errors: list[str]
) -> list[dict[str, Any]]:
    """``links`` or ``images``: a list of objects with a required URL field."""
    value = data.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        errors.append(f"'{name}' must be an array of objects")
        return []
    out: list[dict[str, Any]] = []
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            errors.append(f"'{name}[{i}]' must be an object")
            continue
        url = item.get(required)
        if not isinstance(url, str) or not url.strip():
            errors.append(f"'{name}[{i}].{required}' is missing or blank")
            continue
        entry = {required: url}
        for key in optional:
            extra = item.get(key)
            if extra is None:
                continue
            if not isinstance(extra, str):
                errors.append(f"'{name}[{i}].{key}' must be a string")
                continue
            entry[key] = extra
        out.append(entry)
    return out


def redacted(data: dict[str, Any]) -> dict[str, Any]:
    """The event as stored: the routing key (a secret) cut to its first characters."""
    raw = dict(data)
    key = raw.get("routing_key")
    if isinstance(key, str):
        raw["routing_key"] = key[:KEY_SHOWN] + "…" if len(key) > KEY_SHOWN else "…"
    return raw


def validate(data: dict[str, Any]) -> Parsed:
    """The event in the decoded body ``data``; raises :class:`InvalidEvent`."""
    errors: list[str] = []
    routing_key = common.required(data, "routing_key", "routing_key", errors)
    action_value = data.get("event_action")
    action: Action | None = None
    if action_value is None or action_value == "":
        errors.append("'event_action' is missing or blank")
    elif action_value not in ACTIONS:
        errors.append(f"'event_action' must be one of {', '.join(ACTIONS)}")
    else:
        action = action_value
    dedup_key = _dedup_key(data.get("dedup_key"), action, errors)
    client = common.text(data, "client", "client", errors)
    client_url = common.text(data, "client_url", "client_url", errors)
    links = _objects(data, "links", "href", ("text",), errors)
    images = _objects(data, "images", "src", ("href", "alt"), errors)
    fields: dict[str, Any] = {}
    payload = data.get("payload")
    if action == "trigger":
        if not isinstance(payload, dict):
            errors.append(
                "'payload' is missing or blank"
                if payload is None
                else "'payload' must be an object"
            )
        else:
            fields = _payload(payload, errors)
    if errors or action is None or routing_key is None:
        raise InvalidEvent(errors)
    event = IncomingEvent(
        action=action,
        dedup_key=dedup_key,
        links=links,
        images=images,
        client=client,
        client_url=client_url,
        raw=redacted(data),
        **fields,
    )
    return Parsed(routing_key=routing_key, event=event)


def _dedup_key(value: Any, action: Action | None, errors: list[str]) -> str | None:
    """The dedup key as sent (blank counts as absent); acknowledge and resolve need one."""
    if value is not None and not isinstance(value, str):
        errors.append("'dedup_key' must be a string")
        return None
    if value is not None and len(value) > MAX_DEDUP_KEY:
        errors.append(f"'dedup_key' is too long (maximum is {MAX_DEDUP_KEY} characters)")
        return None
    if value is None or not value.strip():
        if action in ("acknowledge", "resolve"):
            errors.append(f"'dedup_key' is missing or blank (required to {action})")
        return None
    return value


def _payload(payload: dict[str, Any], errors: list[str]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    summary = common.required(payload, "summary", "payload.summary", errors)
    if summary is not None:
        if len(summary) > MAX_SUMMARY:
            errors.append(f"'payload.summary' is too long (maximum is {MAX_SUMMARY} characters)")
        fields["summary"] = summary
    source = common.required(payload, "source", "payload.source", errors)
    if source is not None:
        fields["source"] = source
    severity = payload.get("severity")
    if severity is None or severity == "":
        errors.append("'payload.severity' is missing or blank")
    elif severity not in SEVERITIES:
        errors.append(f"'payload.severity' must be one of {', '.join(SEVERITIES)}")
    else:
        fields["severity"] = severity
    timestamp = _timestamp(payload.get("timestamp"), errors)
    if timestamp is not None:
        fields["timestamp"] = timestamp
    for name, attr in (("component", "component"), ("group", "group"), ("class", "class_")):
        value = common.text(payload, name, f"payload.{name}", errors)
        if value is not None:
            fields[attr] = value
    if payload.get("custom_details") is not None:
        fields["details"] = payload["custom_details"]
    return fields
