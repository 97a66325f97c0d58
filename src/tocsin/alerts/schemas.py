"""Shapes of alerts and integrations: what adapters hand the service, and what the API and
the CLI's ``--json`` show."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tocsin.alerts.dedup import Action
from tocsin.policy.types import Slug


class IncomingEvent(BaseModel):
    """One event, normalised by an adapter (PagerDuty, Alertmanager, ...) from what its
    source sent. ``dedup_key`` is ``None`` only for a trigger sent without one."""

    model_config = ConfigDict(frozen=True)

    action: Action
    dedup_key: str | None = None
    summary: str = ""
    source: str = ""
    severity: Literal["critical", "error", "warning", "info"] = "critical"
    #: When the source detected the problem (its clock), if it said.
    timestamp: datetime | None = None
    component: str | None = None
    group: str | None = None
    class_: str | None = None
    details: Any = None
    links: list[dict[str, Any]] = []
    images: list[dict[str, Any]] = []
    client: str | None = None
    client_url: str | None = None
    #: The event as the source sent it, secrets taken out: stored with the event.
    raw: dict[str, Any] = {}

    def fields(self) -> dict[str, Any]:
        """What processing needs, as JSON."""
        return self.model_dump(mode="json", exclude={"raw", "action", "dedup_key"})


class IntegrationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    #: One of :data:`~tocsin.policy.schema_alerts.INTEGRATION_TYPES` (checked by the service,
    #: which names them all).
    type: str = Field(
        min_length=1,
        max_length=20,
        description="pagerduty, alertmanager, grafana, sentry or generic",
        examples=["pagerduty"],
    )
    #: The integration's key (a slug); by default made from the name.
    id: Slug | None = None
    service: Slug | None = None
    team: Slug | None = None

    @field_validator("name")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()


class IntegrationOut(BaseModel):
    #: The integration's key in the policy, the API and the CLI.
    id: str
    name: str
    type: str
    service: str | None
    team: str | None
    #: ``policy`` (declared under ``integrations:``) or ``api``.
    origin: str
    #: Whether events can be sent: a key was made, or ``key_env`` names a set variable.
    has_key: bool
    key_prefix: str | None
    #: The environment variable the key comes from (policy ``key_env``), if any.
    key_env: str | None = None
    #: The secret integration key: only in the answer that made it, never again.
    key: str | None = None
    #: Where the source sends its events (``None`` for types whose adapter is not here yet).
    url: str | None
    created_at: datetime | None
    created_by: str | None
    rotated_at: datetime | None


class AlertEventOut(BaseModel):
    id: int
    action: str
    received_at: datetime
    outcome: str | None
    reason: str | None
    processed_at: datetime | None
    payload: dict[str, Any]


class AlertOut(BaseModel):
    id: int
    integration: str
    dedup_key: str
    status: str
    summary: str
    severity: str
    source: str
    component: str | None
    group: str | None
    class_: str | None = Field(serialization_alias="class")
    details: Any
    count: int
    detected_at: datetime
    created_at: datetime
    last_seen_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    incident: str | None
    #: What routing decided: the service and team, the route taken, and what became of
    #: the alert (opened, grouped, ignored, maintenance).
    service: str | None = None
    team: str | None = None
    route: str | None = None
    routing: str | None = None
    events: list[AlertEventOut] | None = None


class AlertListOut(BaseModel):
    alerts: list[AlertOut]
    total: int


class MaintenanceIn(BaseModel):
    """A maintenance window: ``ends_at`` or ``duration``. Times without a zone are in the
    policy's time zone; ``starts_at`` defaults to now."""

    model_config = ConfigDict(extra="forbid")

    service: Slug
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    duration: str | None = Field(None, max_length=20, examples=["2h", "1h30m"])
    reason: str = Field("", max_length=2000)


class MaintenanceWindowOut(BaseModel):
    #: A number for windows made through the API or CLI; ``policy:KEY`` for the policy's.
    id: str
    service: str
    starts_at: datetime
    ends_at: datetime
    reason: str
    #: ``api`` or ``policy``.
    origin: str
    #: Whether it covers the moment of the answer.
    active: bool
    created_at: datetime | None = None
    created_by: str | None = None
    ended_at: datetime | None = None
    ended_by: str | None = None
