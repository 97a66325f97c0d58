"""The ``alerts: routes:`` and ``alerts: maintenance:`` sections: which alerts open which
incidents, which are grouped into one, and when nobody is paged.

A route matches alerts on what their source said (integration, source, severity, component,
group, class, details, summary) and says what to do: open an incident of some severity,
type and components, or ignore the alert (kept, no incident). The first route that matches
wins. Pure data; matching is :mod:`tocsin.alerts.matching`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, get_args
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, Field, field_validator, model_validator

from tocsin.policy.types import Duration, Flag, Slug, Strict

#: The severities sources give alerts (PagerDuty's), most severe first.
AlertSeverity = Literal["critical", "error", "warning", "info"]
ALERT_SEVERITIES: tuple[str, ...] = get_args(AlertSeverity)
#: The alert fields a route may group by, besides ``details.<key>``.
GROUP_FIELDS = ("integration", "source", "severity", "component", "group", "class", "summary")


def _compiles(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"bad regular expression {pattern!r}: {exc}") from exc
    return pattern


#: A regular expression (Python syntax) found anywhere in the text; anchor it with ^ and $.
Pattern = Annotated[str, Field(min_length=1, max_length=1000), AfterValidator(_compiles)]


def _text(value: Any) -> Any:
    """YAML scalars compare as the text a source sends: ``500`` is ``"500"``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


class ValueMatch(Strict):
    """A value (``checkout``), any of several (``[checkout, cart]``) or ``{regex: ...}``."""

    values: list[Annotated[str, Field(max_length=1000)]] = []
    regex: Pattern | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return value
        if isinstance(value, list):
            return {"values": [_text(v) for v in value]}
        return {"values": [_text(value)]}

    @model_validator(mode="after")
    def _something(self) -> ValueMatch:
        if not self.values and self.regex is None:
            raise ValueError("give a value, a list of values or {regex: ...}")
        if self.values and self.regex is not None:
            raise ValueError("give values or a regex, not both")
        return self


class Match(Strict):
    """Conditions on an alert; every one given must hold. An empty match takes any alert."""

    #: The integration's key (of this policy's ``integrations:``).
    integration: ValueMatch | None = None
    source: ValueMatch | None = None
    #: The alert's severity: critical, error, warning or info.
    severity: ValueMatch | None = None
    component: ValueMatch | None = None
    group: ValueMatch | None = None
    class_: ValueMatch | None = Field(None, alias="class")
    #: A regular expression found in the alert's summary.
    summary: Pattern | None = None
    #: Custom details and labels: a key (``labels.alertname`` looks into nested objects)
    #: and what its value must be.
    details: dict[str, ValueMatch] = {}

    def is_empty(self) -> bool:
        return (
            not self.details
            and all(
                getattr(self, f) is None
                for f in ("integration", "source", "severity", "component", "group", "class_")
            )
            and self.summary is None
        )


GroupField = Annotated[
    str,
    Field(pattern=r"^(integration|source|severity|component|group|class|summary|details\..+)$"),
]


class Route(Strict):
    """Alerts that match become incidents of this kind (or are ignored)."""

    #: A name for people: shown on the alert (default ``routes[N]``).
    name: Slug | None = None
    description: str = ""
    #: Conditions, or a list of them (any one may hold).
    match: list[Match] = Field([Match()], min_length=1)
    #: ``incident`` (default) or ``ignore``: the alert is kept, no incident opens.
    action: Literal["incident", "ignore"] = "incident"
    #: What the incident is: default the policy's ``alerts.default_severity``.
    severity: Slug | None = None
    type: Slug | None = None
    components: list[Slug] = []
    #: The service its alerts are about (default the integration's) and the team that owns it.
    service: Slug | None = None
    team: Slug | None = None
    #: Related alerts (same service and these fields) within ``group_window`` join one
    #: open incident. Default: the alert's ``group``, else only its service.
    group_by: list[GroupField] | None = None
    group_window: Duration | None = None
    resolve_incident_when_alerts_resolve: Flag | None = None

    @field_validator("match", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, dict) else value

    @field_validator("action", mode="before")
    @classmethod
    def _drop_is_ignore(cls, value: Any) -> Any:
        return "ignore" if value == "drop" else value

    @field_validator("group_window")
    @classmethod
    def _clock_time(cls, value: Any) -> Any:
        if value is not None and value.business_days:
            raise ValueError("group alerts within a clock time, such as '30m', not business days")
        return value

    @model_validator(mode="after")
    def _ignore_opens_nothing(self) -> Route:
        if self.action == "ignore":
            given = [
                f
                for f in ("severity", "type", "components", "group_by", "group_window")
                if getattr(self, f)
            ]
            if given:
                raise ValueError(f"an 'ignore' route opens no incident; drop {', '.join(given)}")
        return self


class MaintenanceSpec(Strict):
    """While a service is in maintenance its alerts are kept but open no incident."""

    key: Slug | None = None
    service: Slug
    #: In the policy's time zone unless a zone is given (``2026-02-01 22:00``).
    starts: datetime
    ends: datetime
    reason: str = ""

    def span(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """Start and end in UTC; times without a zone are in ``zone`` (the policy's)."""
        return _utc(self.starts, zone), _utc(self.ends, zone)


def _utc(moment: datetime, zone: ZoneInfo) -> datetime:
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)).astimezone(UTC)


#: How long related alerts keep joining an open incident, unless a route says otherwise.
DEFAULT_GROUP_WINDOW = timedelta(minutes=30)
