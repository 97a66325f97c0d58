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

from pydantic import AfterValidator, Discriminator, Field, Tag, field_validator, model_validator

from tocsin.policy.types import Duration, Flag, Slug, Strict

#: The severities sources give alerts (PagerDuty's), most severe first.
AlertSeverity = Literal["critical", "error", "warning", "info"]
ALERT_SEVERITIES: tuple[str, ...] = get_args(AlertSeverity)


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
    #: Labels (Alertmanager's, Grafana's): short for ``details: {labels.KEY: ...}``.
    labels: dict[str, ValueMatch] = {}

    def conditions(self) -> list[tuple[str, ValueMatch]]:
        """Each value condition given, by the alert field it looks at (``details.KEY``)."""
        fields = ("integration", "source", "severity", "component", "group", "class_")
        found = [(f.rstrip("_"), getattr(self, f)) for f in fields if getattr(self, f)]
        found += [(f"details.{k}", m) for k, m in self.details.items()]
        return found + [(f"details.labels.{k}", m) for k, m in self.labels.items()]

    def is_empty(self) -> bool:
        return not self.conditions() and self.summary is None


#: One set of conditions or a list (any may hold). The tags are capitalised so that
#: problem locations leave them out (see ``policy/loader.py``).
OneOrMore = Annotated[
    Annotated[Match, Tag("Match")] | Annotated[list[Match], Field(min_length=1), Tag("Matches")],
    Discriminator(lambda value: "Matches" if isinstance(value, list) else "Match"),
]

#: The alert fields routes group by, besides ``details.KEY`` and ``labels.KEY``.
GROUP_FIELDS = ("integration", "source", "severity", "component", "group", "class", "summary")


def _group_field(name: str) -> str:
    head, dot, rest = name.partition(".")
    if name in GROUP_FIELDS or (dot and rest and head in ("details", "labels")):
        return name
    known = ", ".join(GROUP_FIELDS)
    raise ValueError(f"unknown alert field {name!r} (known: {known}, details.KEY, labels.KEY)")


GroupField = Annotated[str, AfterValidator(_group_field)]


class Route(Strict):
    """Alerts that match become incidents of this kind (or are ignored)."""

    #: A name for people: shown on the alert (default ``routes[N]``).
    name: Slug | None = None
    description: str = ""
    #: Conditions, or a list of them (any one may hold).
    match: OneOrMore = Match()
    #: ``incident`` (default) or ``ignore``: the alert is kept, no incident opens.
    action: Literal["incident", "ignore"] = "incident"
    #: What the incident is: default the policy's ``alerts.default_severity``.
    severity: Slug | None = None
    type: Slug | None = None
    components: list[Slug] = []
    #: The service its alerts are about (default the integration's) and the team that owns it.
    service: Slug | None = None
    team: Slug | None = None
    #: The escalation ladder (a key of ``escalation:``) its incidents follow, whatever
    #: their severity; default: the first ladder for the incident's severity and type.
    escalation: Slug | None = None
    #: Related alerts (same service and these fields) within ``group_window`` join one
    #: open incident. Default: the alert's ``group``, else only its service.
    group_by: list[GroupField] | None = None
    group_window: Duration | None = None
    resolve_incident_when_alerts_resolve: Flag | None = None

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

    @property
    def matches(self) -> list[Match]:
        return self.match if isinstance(self.match, list) else [self.match]

    @model_validator(mode="after")
    def _ignore_opens_nothing(self) -> Route:
        if self.action == "ignore":
            given = [
                f
                for f in (
                    "severity",
                    "type",
                    "components",
                    "escalation",
                    "group_by",
                    "group_window",
                )
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
