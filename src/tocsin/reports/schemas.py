"""Output shapes of reports, shared by the API and the CLI's JSON, CSV and Markdown.

Durations are in seconds (to the millisecond), downtime in minutes, user impact in
user-hours (both to three decimals), rates and changes in percent (two decimals).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from tocsin.incidents.schemas import SlaTargetOut

GroupBy = Literal["severity", "type", "team", "service"]
Format = Literal["json", "table", "csv", "md"]


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Spread(Output):
    """Mean, median and 90th percentile (linear interpolation, see docs/reports.md) of
    the incidents that have the figure."""

    count: int
    mean: float | None
    median: float | None
    p90: float | None


class SlaSummary(Output):
    """Incidents whose every stage target was met, that breached one, and the rate
    met / (met + breached); incidents with a target still pending count in neither."""

    met: int
    breached: int
    compliance_pct: float | None
    #: Incidents that breached each stage target.
    breaches: dict[str, int]


class RootCauseCount(Output):
    cause: str
    name: str
    count: int


class Completion(Output):
    total: int
    completed: int
    completion_pct: float | None
    #: Not completed and past due.
    overdue: int = 0


class Change(Output):
    """Against the previous period: percent change, or percentage points for the rate;
    null where the previous figure is zero or missing."""

    incidents_pct: float | None
    tta_mean_pct: float | None
    ttm_mean_pct: float | None
    ttr_mean_pct: float | None
    duration_mean_pct: float | None
    sla_compliance_points: float | None
    downtime_minutes_pct: float | None
    user_impact_hours_pct: float | None


class GroupFigures(Output):
    #: The severity, type, team or service; null for "none given" (and for the total).
    key: str | None
    incidents: int
    open: int
    resolved: int
    severity_counts: dict[str, int]
    ttd: Spread
    tta: Spread
    ttm: Spread
    ttr: Spread
    duration: Spread
    sla: SlaSummary
    downtime_minutes: float
    user_impact_hours: float
    top_root_causes: list[RootCauseCount]
    postmortems: Completion
    action_items: Completion
    change: Change | None = None


class PeriodReport(Output):
    period: str
    kind: str
    timezone: str
    start: datetime
    end: datetime
    previous_period: str
    as_of: datetime
    by: GroupBy | None
    #: Incident types the policy keeps out of every figure (``exclude_from_metrics``).
    excluded_types: list[str]
    total: GroupFigures
    groups: list[GroupFigures]


class IncidentMetrics(Output):
    """One incident's figures (seed 004's IncidentMetrics and SLACompliance)."""

    id: str
    title: str
    severity: str
    type: str | None
    team: str | None
    service: str | None
    status: str
    started_at: datetime | None
    detected_at: datetime
    acknowledged_at: datetime | None
    mitigated_at: datetime | None
    resolved_at: datetime | None
    ttd_seconds: float | None
    tta_seconds: float | None
    ttm_seconds: float | None
    ttr_seconds: float | None
    duration_seconds: float | None
    sla: list[SlaTargetOut]
    #: Every stage target met (true), one breached (false), or still pending (null).
    sla_met: bool | None
    users_affected: int | None
    user_impact_hours: float | None
    root_cause: str | None
    #: Its type is kept out of the period figures.
    excluded_from_metrics: bool
