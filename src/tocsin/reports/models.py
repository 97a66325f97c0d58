"""Reports own no table; these are the indexes their queries need on others' tables."""

from __future__ import annotations

from sqlalchemy import Index

from tocsin.postmortems.models import ActionItem

#: A period's action-item counts look each incident's items up by this index alone
#: (index-only scans: status and due date are in it).
ACTION_ITEMS_BY_INCIDENT = Index(
    "ix_action_items_incident_id_status_due_at",
    ActionItem.incident_id,
    ActionItem.status,
    ActionItem.due_at,
)
