"""The policy file's schema: how an organisation responds to incidents.

Pure data. Parsing with locations lives in :mod:`tocsin.policy.loader`; cross-references
(a checklist naming a severity that does not exist, ...) in :mod:`tocsin.policy.checks`.
"""

from __future__ import annotations

from datetime import date, time
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from tocsin.policy.calendar import BusinessCalendar
from tocsin.policy.schema_alerts import AlertSettings, IntegrationSpec
from tocsin.policy.schema_comms import Comms, NotificationSettings, NotifyRule, TemplateSpec
from tocsin.policy.schema_escalation import Ladder, Reminders, TargetRef
from tocsin.policy.schema_notify import ChannelSpec
from tocsin.policy.schema_oncall import ScheduleSpec
from tocsin.policy.schema_postmortems import PostmortemRule, Postmortems
from tocsin.policy.schema_statuspage import StatusPageSettings
from tocsin.policy.types import WEEKDAYS, Duration, Flag, Slug, Stage, Strict, Weekday


class BusinessHours(Strict):
    days: list[Weekday] = ["mon", "tue", "wed", "thu", "fri"]
    start: time = time(9, 0)
    end: time = time(17, 0)

    @model_validator(mode="after")
    def _ordered(self) -> BusinessHours:
        if self.end <= self.start:
            raise ValueError("business hours must end after they start")
        return self


class Organization(Strict):
    name: str
    locale: Literal["en", "nl"] = "en"
    timezone: str = "UTC"
    business_hours: BusinessHours = BusinessHours()
    holidays: list[date] = []

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value

    def calendar(self) -> BusinessCalendar:
        hours = self.business_hours
        return BusinessCalendar(
            zone=ZoneInfo(self.timezone),
            weekdays=frozenset(WEEKDAYS.index(d) for d in hours.days),
            opens=hours.start,
            closes=hours.end,
            holidays=frozenset(self.holidays),
        )


class Target(Strict):
    """A deadline for reaching a stage, counted from an earlier stage."""

    within: Duration
    from_: Stage = Field("detected", alias="from")
    business_hours: Flag = False

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"within": value} if isinstance(value, str | int | float) else value


class SLA(Strict):
    """Response targets per stage; an absent stage is best effort."""

    acknowledge: Target | None = None
    identify: Target | None = None
    mitigate: Target | None = None
    resolve: Target | None = None


class RequiredRole(Strict):
    """A role someone must hold, by a deadline after declaration."""

    role: Slug
    within: Duration | None = None
    #: Reminded at the deadline; by default whoever acknowledged (else who declared).
    remind: list[TargetRef] = []
    #: Paged when the role is still empty ``escalate_after`` past the deadline.
    escalate_to: list[TargetRef] = []
    escalate_after: Duration | None = None


class Severity(Strict):
    key: Slug
    name: str
    definition: str = ""
    symptoms: list[str] = []
    sla: SLA = SLA()
    update_every: Duration | None = None
    required_roles: list[RequiredRole] = []
    channels: list[str] = []
    postmortem: PostmortemRule = PostmortemRule()


class IncidentType(Strict):
    key: Slug
    name: str
    description: str = ""
    typical_severity: Slug | None = None
    restricted: Flag = False
    symptoms: list[str] = []
    #: Drills, tests: kept out of every report figure and of ``/metrics``.
    exclude_from_metrics: Flag = False


class Role(Strict):
    key: Slug
    name: str
    description: str = ""
    permissions: list[Slug] = []
    #: Held by one person at a time within an incident (the database enforces it).
    exclusive: Flag = False


class Permission(Strict):
    key: Slug
    name: str = ""
    description: str = ""


class Phase(Strict):
    key: Slug
    name: str
    description: str = ""


class Checklist(Strict):
    key: Slug
    name: str
    description: str = ""
    phase: Slug
    #: Applies to these severities / types; empty means all.
    severities: list[Slug] = []
    types: list[Slug] = []
    items: list[str] = Field(min_length=1)


class Contact(Strict):
    type: Literal[
        "email",
        "phone",
        "sms",
        "voice",
        "slack",
        "teams",
        "webhook",
        "apprise",
        "url",
        "chat",
        "other",
    ]
    value: str
    label: str = ""


class Team(Strict):
    key: Slug
    name: str
    description: str = ""
    contacts: list[Contact] = []


class Person(Strict):
    #: A short handle (``dana``) used in targets (``user:dana``); the e-mail's local part
    #: by default.
    key: Slug | None = None
    email: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$", max_length=254)]
    name: str
    roles: list[Slug] = []
    teams: list[Slug] = []
    admin: Flag = False
    timezone: str | None = None
    locale: Literal["en", "nl"] | None = None
    contacts: list[Contact] = []
    #: Personal notification rules for pages; by default every contact at once.
    notify: list[NotifyRule] = []

    @property
    def handle(self) -> str:
        return self.key or self.email.split("@", 1)[0].lower()


class Vendor(Strict):
    key: Slug
    name: str
    support_url: str = ""
    contacts: list[Contact] = []
    notes: str = ""


class Component(Strict):
    key: Slug
    name: str
    group: str | None = None
    description: str = ""


class RootCause(Strict):
    key: Slug
    name: str
    description: str = ""


class Policy(Strict):
    tocsin: Literal[1] = 1
    organization: Organization
    severities: list[Severity] = Field(min_length=1)
    incident_types: list[IncidentType] = []
    permissions: list[Permission] = []
    #: Permissions every signed-in person has, whatever their roles.
    everyone: list[Slug] = ["declare", "add-note"]
    roles: list[Role] = []
    phases: list[Phase] = []
    checklists: list[Checklist] = []
    teams: list[Team] = []
    people: list[Person] = []
    vendors: list[Vendor] = []
    components: list[Component] = []
    root_causes: list[RootCause] = []
    postmortems: Postmortems = Postmortems()
    schedules: list[ScheduleSpec] = []
    escalation: list[Ladder] = []
    reminders: Reminders = Reminders()
    channels: list[ChannelSpec] = []
    templates: list[TemplateSpec] = []
    comms: Comms = Comms()
    notifications: NotificationSettings = NotificationSettings()
    integrations: list[IntegrationSpec] = []
    alerts: AlertSettings = AlertSettings()
    status_page: StatusPageSettings = StatusPageSettings()

    def severity(self, key: str) -> Severity | None:
        return next((s for s in self.severities if s.key == key), None)

    def incident_type(self, key: str) -> IncidentType | None:
        return next((t for t in self.incident_types if t.key == key), None)

    def role(self, key: str) -> Role | None:
        return next((r for r in self.roles if r.key == key), None)

    def schedule(self, key: str) -> ScheduleSpec | None:
        return next((s for s in self.schedules if s.key == key), None)

    def team(self, key: str) -> Team | None:
        return next((t for t in self.teams if t.key == key), None)

    def person(self, ref: str) -> Person | None:
        """A person by handle or e-mail (case-insensitive)."""
        wanted = ref.lower()
        return next(
            (p for p in self.people if p.handle.lower() == wanted or p.email.lower() == wanted),
            None,
        )

    def ladder(self, key: str) -> Ladder | None:
        return next((ladder for ladder in self.escalation if ladder.key == key), None)

    def ladder_for(self, severity: str, type_key: str | None) -> Ladder | None:
        """The first escalation ladder that applies to an incident, if any."""
        return next(
            (
                ladder
                for ladder in self.escalation
                if (not ladder.severities or severity in ladder.severities)
                and (not ladder.types or (type_key is not None and type_key in ladder.types))
            ),
            None,
        )

    def severity_rank(self, key: str) -> int:
        """0 for the most severe level; levels are listed most severe first."""
        return [s.key for s in self.severities].index(key)

    def checklists_for(self, severity: str, type_key: str | None) -> list[Checklist]:
        return [
            c
            for c in self.checklists
            if (not c.severities or severity in c.severities)
            and (not c.types or (type_key is not None and type_key in c.types))
        ]
