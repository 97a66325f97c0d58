"""What every adapter reads the same way: a JSON body, typed fields named by where they
are, timestamps and severities. Pure: no I/O.

Problems are collected, not raised one by one, so a refusal names every problem at once
(:class:`InvalidPayload`).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Literal, get_args

from tocsin.clock import to_utc

Severity = Literal["critical", "error", "warning", "info"]
SEVERITIES: tuple[str, ...] = get_args(Severity)
#: The longest summary kept (PagerDuty's limit); adapters of tools that cannot be told
#: to send shorter ones cut them.
MAX_SUMMARY = 1024

#: Words tools use for how bad a problem is (Prometheus ``severity`` labels, Sentry
#: levels), by the severity they mean here.
_SEVERITY_WORDS: dict[str, Severity] = {
    **dict.fromkeys(
        ("critical", "crit", "fatal", "emergency", "emerg", "alert", "page", "p1", "sev1"),
        "critical",
    ),
    **dict.fromkeys(("error", "err", "high", "major", "p2", "sev2"), "error"),
    **dict.fromkeys(("warning", "warn", "medium", "minor", "p3", "sev3"), "warning"),
    **dict.fromkeys(
        ("info", "informational", "notice", "low", "debug", "none", "p4", "p5", "sev4"), "info"
    ),
}


class InvalidPayload(Exception):
    """The body is not what the tool sends; ``errors`` names each problem and where."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


class Ignored(Exception):
    """The body is valid and asks for nothing (a resource or action with no alert); the
    message says why."""


def is_json(content_type: str | None) -> bool:
    """``application/json``, with or without parameters (``; charset=utf-8``)."""
    if not content_type:
        return False
    return content_type.split(";", 1)[0].strip().lower() == "application/json"


def json_body(body: bytes, content_type: str | None) -> Any:
    """The decoded JSON body; :class:`InvalidPayload` if it is not JSON."""
    if not is_json(content_type):
        raise InvalidPayload(["Content-Type must be application/json"])
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise InvalidPayload(["The body is not valid JSON"]) from None


def json_object(body: bytes, content_type: str | None) -> dict[str, Any]:
    """The body as a JSON object (what every webhook sends)."""
    data = json_body(body, content_type)
    if not isinstance(data, dict):
        raise InvalidPayload(["The body must be a JSON object"])
    return data


def text(data: dict[str, Any], name: str, where: str, errors: list[str]) -> str | None:
    """An optional string field: ``None`` when absent or null."""
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        errors.append(f"'{where}' must be a string")
        return None
    return value


def required(data: dict[str, Any], name: str, where: str, errors: list[str]) -> str | None:
    """A required string field, not blank."""
    value = data.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        errors.append(f"'{where}' is missing or blank")
        return None
    return text(data, name, where, errors)


def identifier(data: dict[str, Any], name: str, where: str, errors: list[str]) -> str | None:
    """A required id, sent as a string or a number (tools differ)."""
    value = data.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return required(data, name, where, errors)


def obj(data: dict[str, Any], name: str, where: str, errors: list[str]) -> dict[str, Any] | None:
    """A required JSON object field."""
    value = data.get(name)
    if not isinstance(value, dict):
        errors.append(f"'{where}' is missing" if value is None else f"'{where}' must be an object")
        return None
    return value


def strings(data: dict[str, Any], name: str, where: str, errors: list[str]) -> dict[str, str]:
    """An optional object of strings (labels, annotations): ``{}`` when absent."""
    value = data.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        errors.append(f"'{where}' must be an object of strings")
        return {}
    wrong = [k for k, v in value.items() if not isinstance(v, str)]
    if wrong:
        errors.append(f"'{where}.{wrong[0]}' must be a string")
        return {}
    return value


def parse_timestamp(value: Any) -> datetime | None:
    """ISO 8601 text (without a zone: UTC) or Unix seconds; ``None`` if neither."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
        return to_utc(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    except ValueError:
        return None


def timestamp(value: Any, where: str, errors: list[str]) -> datetime | None:
    """An optional timestamp field (ISO 8601 or Unix seconds)."""
    if value is None:
        return None
    moment = parse_timestamp(value)
    if moment is None:
        shown = value[:64] if isinstance(value, str) else value
        errors.append(f"'{where}' is not an ISO 8601 timestamp: {shown!r}")
    return moment


def severity_of(word: str | None, default: Severity = "error") -> Severity:
    """A tool's word for how bad it is (``critical``, ``warn``, ``P1``, ``fatal``...) as one
    of :data:`SEVERITIES`; ``default`` for none or a word not known."""
    if not word:
        return default
    return _SEVERITY_WORDS.get(word.strip().lower(), default)


def summary(value: str) -> str:
    """A summary cut to :data:`MAX_SUMMARY` characters (tools that send longer ones cannot
    be told not to)."""
    value = " ".join(value.split())
    if len(value) <= MAX_SUMMARY:
        return value
    return value[: MAX_SUMMARY - 1] + "…"
