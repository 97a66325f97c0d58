"""Every table, imported in one place for Alembic and the migration check."""

from tocsin.alerts.models import Alert, AlertEvent, Integration, MaintenanceWindow
from tocsin.audit.models import AuditEntry
from tocsin.auth.models import ApiToken, InstanceKey, Team, TeamMember, User
from tocsin.db import Base
from tocsin.escalation.models import Escalation, EscalationMark, EscalationStep
from tocsin.incidents.models import (
    ChecklistItem,
    Incident,
    IncidentCounter,
    IncidentEvent,
    IncidentParticipant,
    IncidentRole,
)
from tocsin.jobs.models import Job
from tocsin.notify.models import AckToken, Notification, NotificationAttempt
from tocsin.oncall.models import FeedToken, ScheduleOverride
from tocsin.policy.models import PolicyVersion
from tocsin.postmortems.models import ActionItem, Postmortem, TimelinePin
from tocsin.reports.models import ACTION_ITEMS_BY_INCIDENT
from tocsin.statuspage.models import (
    ComponentChange,
    PublicIncident,
    PublicUpdate,
    StatusComponent,
    StatusPageState,
    Subscriber,
)

__all__ = [
    "ACTION_ITEMS_BY_INCIDENT",
    "AckToken",
    "ActionItem",
    "Alert",
    "AlertEvent",
    "ApiToken",
    "AuditEntry",
    "Base",
    "ChecklistItem",
    "ComponentChange",
    "Escalation",
    "EscalationMark",
    "EscalationStep",
    "FeedToken",
    "Incident",
    "IncidentCounter",
    "IncidentEvent",
    "IncidentParticipant",
    "IncidentRole",
    "InstanceKey",
    "Integration",
    "Job",
    "MaintenanceWindow",
    "Notification",
    "NotificationAttempt",
    "PolicyVersion",
    "Postmortem",
    "PublicIncident",
    "PublicUpdate",
    "ScheduleOverride",
    "StatusComponent",
    "StatusPageState",
    "Subscriber",
    "Team",
    "TeamMember",
    "TimelinePin",
    "User",
]
