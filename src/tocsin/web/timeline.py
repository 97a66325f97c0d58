"""Which filter of the incident room's timeline a timeline event belongs to. Pure."""

from __future__ import annotations

#: The filters, in the order the page lists them.
KINDS = ("note", "status", "page", "comms", "alert", "other")

_KIND_OF = {
    "note": "note",
    "update": "note",
    "mitigation_proposed": "note",
    "mitigation_approved": "note",
    "declared": "status",
    "status": "status",
    "reopened": "status",
    "acknowledged": "status",
    "severity": "status",
    "page": "page",
    "notify": "page",
    "escalate": "page",
    "escalation": "page",
    "escalation_cancelled": "page",
    "notification": "page",
    "comms": "comms",
    "statuspage": "comms",
}


def kind_of(event_kind: str) -> str:
    """``note``, ``status``, ``page``, ``comms``, ``alert`` or ``other``."""
    if event_kind.startswith("alert"):
        return "alert"
    return _KIND_OF.get(event_kind, "other")
