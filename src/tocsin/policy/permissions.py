"""The permissions Tocsin itself checks. A policy may declare more (``permissions:``)."""

from __future__ import annotations

BUILTIN_PERMISSIONS: dict[str, str] = {
    "declare": "Declare an incident",
    "acknowledge": "Acknowledge an incident",
    "update-status": "Move an incident through its lifecycle (incl. resolve, close, reopen)",
    "change-severity": "Escalate or de-escalate an incident's severity",
    "assign-roles": "Assign and relieve people in incident roles",
    "add-note": "Add notes to an incident's timeline",
    "check-items": "Check and uncheck checklist items",
    "edit-incident": "Edit an incident's title, summary, impact and components",
    "approve-rollback": "Approve a rollback",
    "approve-hotfix": "Approve a hotfix deployment",
    "update-status-page": "Publish updates on the public status page",
    "send-subscriber-email": "Send e-mail to status-page subscribers",
    "manage-schedules": "Add and cancel on-call overrides for anyone",
    "manage-integrations": "Add alert integrations and rotate their keys",
    "manage-maintenance": "Add and end maintenance windows (alerts kept, no incidents opened)",
    "send-communications": "Send an incident's messages from templates (tocsin comms send)",
}
