"""Input and output shapes of the status page's own API (``/api/v1/statuspage``) and the
CLI's ``--json``. The public Statuspage-compatible documents are plain dicts built in
:mod:`tocsin.statuspage.public`."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tocsin.clock import to_utc

ComponentStatus = Literal[
    "operational", "under_maintenance", "degraded_performance", "partial_outage", "major_outage"
]
IncidentStatus = Literal["investigating", "identified", "monitoring", "resolved", "postmortem"]
MaintenanceStatus = Literal["scheduled", "in_progress", "verifying", "completed"]
Impact = Literal["none", "minor", "major", "critical"]
ComponentKey = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=80)


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _text(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value.strip()


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError("needs a time zone, e.g. 2026-01-15T10:00:00Z")
    return None if value is None else to_utc(value)


class ComponentIn(Input):
    """A component made through the API (the policy's are kept in step with the policy)."""

    key: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=64)
    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=2000)
    #: A group's name: the group is made when it does not exist yet.
    group: str | None = Field(None, min_length=1, max_length=200)
    only_show_if_degraded: bool = False


class ComponentStatusIn(Input):
    status: ComponentStatus


class PublishIn(Input):
    """A new public incident, with its first update."""

    name: str = Field(min_length=1, max_length=300)
    status: IncidentStatus = "investigating"
    body: str = Field(min_length=1, max_length=20000)
    #: The affected components and the status each goes to.
    components: dict[str, ComponentStatus] = Field(default_factory=dict, max_length=200)
    impact: Impact | None = None
    #: The internal incident this reports on (its reference); never shown publicly.
    incident: str | None = Field(None, max_length=32)
    #: Tell subscribers; by default when the publisher may (``send-subscriber-email``).
    deliver_notifications: bool | None = None

    _name = field_validator("name", "body")(_text)


class UpdateIn(Input):
    """A new update of a public incident: its status, wording and component changes."""

    status: IncidentStatus
    body: str = Field(min_length=1, max_length=20000)
    components: dict[str, ComponentStatus] = Field(default_factory=dict, max_length=200)
    impact: Impact | None = None
    #: Tell subscribers; by default when the publisher may (``send-subscriber-email``).
    deliver_notifications: bool | None = None

    _body = field_validator("body")(_text)


class MaintenanceIn(Input):
    name: str = Field(min_length=1, max_length=300)
    body: str = Field(min_length=1, max_length=20000)
    scheduled_for: datetime
    scheduled_until: datetime
    components: list[str] = Field(default_factory=list, max_length=200)
    #: Move to in progress at ``scheduled_for`` and to completed at ``scheduled_until``.
    auto_transition: bool = True
    #: Tell subscribers; by default when the publisher may (``send-subscriber-email``).
    deliver_notifications: bool | None = None

    _name = field_validator("name", "body")(_text)
    _times = field_validator("scheduled_for", "scheduled_until")(_aware)

    @model_validator(mode="after")
    def _ordered(self) -> MaintenanceIn:
        if self.scheduled_until <= self.scheduled_for:
            raise ValueError("scheduled_until must be after scheduled_for")
        return self


class MaintenanceUpdateIn(Input):
    status: MaintenanceStatus
    body: str | None = Field(None, min_length=1, max_length=20000)
    #: Tell subscribers; by default when the publisher may (``send-subscriber-email``).
    deliver_notifications: bool | None = None


class DraftIn(Input):
    """Draft a public update from an internal incident with the policy's templates."""

    incident: str = Field(min_length=1, max_length=32)
    status: IncidentStatus = "investigating"
    locale: Literal["en", "nl"] | None = None
    #: What the template's ``update.*`` fields hold (``customer_impact``, ``eta``, ...).
    fields: dict[str, str] = Field(default_factory=dict, max_length=50)


class SubscribeIn(Input):
    """A sign-up: exactly one of ``email`` and ``webhook``."""

    email: str | None = Field(None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)
    webhook: str | None = Field(None, pattern=r"^https?://\S+$", max_length=500)
    components: list[str] = Field(default_factory=list, max_length=200)

    @model_validator(mode="after")
    def _one(self) -> SubscribeIn:
        if (self.email is None) == (self.webhook is None):
            raise ValueError("give exactly one of 'email' and 'webhook'")
        return self


# --- answers -------------------------------------------------------------------------


class ComponentOut(BaseModel):
    key: str
    name: str
    description: str
    status: str
    group: str | None
    is_group: bool
    source: str
    position: int
    updated_at: datetime


class ComponentChangeOut(BaseModel):
    at: datetime
    old_status: str | None
    new_status: str
    incident: str | None
    actor: str


class UpdateOut(BaseModel):
    id: str
    status: str
    body: str
    created_at: datetime
    affected_components: list[dict[str, Any]]
    posted_by: str


class PublicIncidentOut(BaseModel):
    """A public incident or maintenance as its publishers see it (with internal links)."""

    id: str
    kind: str
    name: str
    status: str
    impact: str
    components: list[str]
    created_at: datetime
    started_at: datetime
    resolved_at: datetime | None
    scheduled_for: datetime | None = None
    scheduled_until: datetime | None = None
    auto_transition: bool = False
    #: The internal incident it reports on (internal API only).
    incident: str | None
    created_by: str
    updates: list[UpdateOut]


class DraftOut(BaseModel):
    incident: str
    status: str
    template: str
    locale: str
    name: str
    body: str
    components: dict[str, str]


class SubscriberOut(BaseModel):
    id: int
    kind: str
    address: str
    components: list[str]
    created_at: datetime
    confirmed_at: datetime | None
    unsubscribed_at: datetime | None


class SignUpOut(BaseModel):
    """Always the same answer, so a sign-up does not reveal who is subscribed already."""

    status: Literal["confirmation_sent"] = "confirmation_sent"
    message: str
