"""Input and output shapes of incidents, shared by the API and the CLI's ``--json``."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tocsin.alerts.schemas import MaintenanceWindowOut
from tocsin.clock import to_utc
from tocsin.db import MAX_INT


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Impact(Input):
    users_affected: int | None = Field(None, ge=0, le=MAX_INT)
    users_affected_pct: float | None = Field(None, ge=0, le=100)
    business_impact: str = Field("", max_length=5000)


class DeclareIn(Input):
    title: str = Field(min_length=1, max_length=300)
    severity: str = Field(min_length=1, max_length=64)
    type: str | None = Field(None, max_length=64)
    summary: str = Field("", max_length=20000)
    components: list[str] = Field(default_factory=list, max_length=100)
    impact: Impact = Field(default_factory=Impact)
    detected_at: datetime | None = None
    #: When the impact began, if before detection (time to detect counts from it).
    started_at: datetime | None = None
    #: The service and team it is about (reports group by them); the service defaults
    #: to the first component.
    service: str | None = Field(None, max_length=64)
    team: str | None = Field(None, max_length=64)
    #: An escalation ladder (a key of the policy's ``escalation:``) to follow whatever the
    #: severity; default: the first ladder for the severity and type.
    escalation: str | None = Field(None, max_length=64)

    @field_validator("title")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()

    @field_validator("detected_at", "started_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("needs a time zone, e.g. 2026-01-15T10:00:00Z")
        return None if value is None else to_utc(value)


class UpdateIn(Input):
    """Edit an incident's descriptive fields; absent fields stay as they are."""

    title: str | None = Field(None, min_length=1, max_length=300)
    summary: str | None = Field(None, max_length=20000)
    type: str | None = Field(None, max_length=64)
    components: list[str] | None = Field(None, max_length=100)
    impact: Impact | None = None
    #: Given as null, these are cleared.
    started_at: datetime | None = None
    service: str | None = Field(None, max_length=64)
    team: str | None = Field(None, max_length=64)

    @field_validator("started_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        return DeclareIn._aware(value)


class AcknowledgeIn(Input):
    """Optional: the door the acknowledgement came through, for the timeline (the CLI says
    ``cli``; without a body it is ``api``). The acknowledge link and SMS replies record
    ``link`` and ``sms`` themselves."""

    via: Literal["api", "cli"] = "api"


class StatusIn(Input):
    status: str = Field(min_length=1, max_length=20)
    note: str = Field("", max_length=20000)


class SeverityIn(Input):
    severity: str = Field(min_length=1, max_length=64)
    reason: str = Field("", max_length=5000)


class RoleIn(Input):
    role: str = Field(min_length=1, max_length=64)
    email: str = Field(min_length=3, max_length=254)


class RelieveIn(Input):
    role: str = Field(min_length=1, max_length=64)
    email: str | None = Field(None, max_length=254)


class NoteIn(Input):
    text: str = Field(min_length=1, max_length=20000)


class MitigationIn(Input):
    """A proposed mitigation, for the incident commander to approve (seed 004's "Mitigation
    proposed"). The fields fill the ``mitigation-proposed`` template's ``update.*``."""

    action: str = Field(min_length=1, max_length=2000)
    risk: Literal["Low", "Medium", "High"] | None = None
    expected_impact: str = Field("", max_length=5000)
    rollback_plan: str = Field("", max_length=5000)
    approval: str = Field("", max_length=500)

    @field_validator("action")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()

    @field_validator("risk", mode="before")
    @classmethod
    def _risk_word(cls, value: Any) -> Any:
        """``low``, ``LOW`` and ``Low`` are one risk level."""
        return value.strip().capitalize() if isinstance(value, str) else value


class CheckIn(Input):
    checked: bool = True


class ParticipantIn(Input):
    email: str = Field(min_length=3, max_length=254)


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class SlaTargetOut(Output):
    target: str
    due_at: datetime | None
    reached_at: datetime | None
    verdict: str
    margin_seconds: int | None
    text: str


class RoleHolderOut(Output):
    role: str
    email: str
    name: str
    assumed_at: datetime
    relieved_at: datetime | None


class ChecklistItemOut(Output):
    id: int
    checklist: str
    checklist_name: str
    phase: str
    position: int
    text: str
    checked_at: datetime | None
    checked_by: str | None


class EventOut(Output):
    id: int
    at: datetime
    actor: str
    kind: str
    summary: str
    data: dict[str, Any]


class IncidentOut(Output):
    id: str
    title: str
    summary: str
    severity: str
    severity_name: str
    type: str | None
    status: str
    restricted: bool
    components: list[str]
    impact: Impact
    policy_version: int
    declared_by: str | None
    acknowledged_by: str | None
    started_at: datetime | None = None
    service: str | None = None
    team: str | None = None
    detected_at: datetime
    declared_at: datetime
    acknowledged_at: datetime | None
    identified_at: datetime | None
    mitigated_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    roles: list[RoleHolderOut]
    sla: list[SlaTargetOut]
    #: How many alerts the incident took (grouped alerts join one incident).
    alert_count: int = 0
    #: Maintenance windows in force for its alerts' services or its components.
    maintenance: list[MaintenanceWindowOut] = []


class IncidentDetailOut(IncidentOut):
    role_history: list[RoleHolderOut]
    checklists: list[ChecklistItemOut]


class IncidentListOut(Output):
    incidents: list[IncidentOut]
    total: int
    #: Every maintenance window in force now.
    maintenance: list[MaintenanceWindowOut] = []
