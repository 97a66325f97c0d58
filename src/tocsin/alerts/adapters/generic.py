"""Generic JSON webhooks: any tool that can POST JSON, mapped to an alert by the
integration's ``mapping`` (Jinja2 expressions over ``body``,
:class:`~tocsin.policy.schema_alerts.WebhookMapping`). Pure: no I/O.

The body is one JSON object. ``resolve_when`` decides resolve or trigger; every other
expression gives one field. An expression that fails, or gives a value its field cannot
take (a severity other than critical/error/warning/info, a summary of nothing), refuses
the event naming the field and its expression.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from tocsin.alerts.adapters import common, expressions
from tocsin.alerts.dedup import MAX_DEDUP_KEY
from tocsin.alerts.schemas import IncomingEvent
from tocsin.policy.schema_alerts import WebhookMapping

_TEXT_FIELDS = ("source", "component", "group")


def parse(body: bytes, content_type: str | None, mapping: WebhookMapping) -> IncomingEvent:
    """The event in ``body`` by ``mapping``; :class:`~.common.InvalidPayload` names every
    problem."""
    data = common.json_object(body, content_type)
    errors: list[str] = []
    values = {
        name: _value(name, source, data, errors)
        for name, source in mapping.model_dump().items()
        if source is not None
    }
    if errors:
        raise common.InvalidPayload(errors)
    check = _Check(mapping, errors)
    action = "resolve" if values.get("resolve_when") else "trigger"
    fields: dict[str, Any] = {"dedup_key": check.dedup_key(values.get("dedup_key"), action)}
    if action == "trigger":
        fields.update(
            summary=check.summary(values.get("summary")),
            severity=check.severity(values.get("severity")),
            timestamp=check.timestamp(values.get("timestamp")),
            details=check.details(values.get("details")),
            **{name: check.text(name, values.get(name)) for name in _TEXT_FIELDS},
        )
        fields["source"] = fields["source"] or ""
    if errors:
        raise common.InvalidPayload(errors)
    return IncomingEvent(action=action, client="generic webhook", raw=data, **fields)


def _value(name: str, source: str, body: dict[str, Any], errors: list[str]) -> Any:
    try:
        return expressions.evaluate(source, body)
    except Exception as exc:  # whatever a policy's expression raises is its problem
        errors.append(f"mapping '{name}' ({source}) failed: {exc}")
        return None


def _nothing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _scalar(value: Any) -> str | None:
    """Text, or a number as text; ``None`` for anything else."""
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value)
    return None


class _Check:
    """Each mapped value made what its field takes, or a problem naming the field and its
    expression."""

    def __init__(self, mapping: WebhookMapping, errors: list[str]) -> None:
        self.mapping = mapping
        self.errors = errors

    def _problem(self, name: str, problem: str) -> None:
        self.errors.append(f"mapping '{name}' ({getattr(self.mapping, name)}) {problem}")

    def text(self, name: str, value: Any) -> str | None:
        if _nothing(value):
            return None
        text = _scalar(value)
        if text is None:
            self._problem(name, f"must give text, not {type(value).__name__}")
        return text

    def summary(self, value: Any) -> str:
        if _nothing(value):
            self._problem("summary", "gave nothing: a trigger needs a summary")
            return ""
        return common.summary(self.text("summary", value) or "")

    def dedup_key(self, value: Any, action: str) -> str | None:
        if self.mapping.dedup_key is None or _nothing(value):
            if action == "resolve" and self.mapping.dedup_key is None:
                self.errors.append("mapping 'dedup_key' is not set: a resolve needs one")
            elif action == "resolve":
                self._problem("dedup_key", "gave nothing: a resolve needs a dedup key")
            return None
        key = self.text("dedup_key", value)
        if key is not None and len(key) > MAX_DEDUP_KEY:
            self._problem("dedup_key", f"gave more than {MAX_DEDUP_KEY} characters")
        return key

    def severity(self, value: Any) -> str:
        word = value.strip().lower() if isinstance(value, str) else value
        if word in common.SEVERITIES:
            return str(word)
        choices = ", ".join(common.SEVERITIES)
        self._problem("severity", f"gave {value!r}, not one of {choices}")
        return "critical"

    def timestamp(self, value: Any) -> datetime | None:
        if _nothing(value):
            return None
        moment = common.parse_timestamp(value)
        if moment is None:
            self._problem("timestamp", f"gave {value!r}, not ISO 8601 text or Unix seconds")
        return moment

    def details(self, value: Any) -> Any:
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            self._problem("details", "gave something that is not JSON")
            return None
        return value
