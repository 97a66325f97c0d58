"""Whether a step's condition still holds for an incident, and why not. Pure."""

from __future__ import annotations

from tocsin.incidents.models import Incident

_STAMP = {
    "unacknowledged": ("acknowledged_at", "acknowledged"),
    "not_identified": ("identified_at", "root cause identified"),
    "not_mitigated": ("mitigated_at", "mitigated"),
    "not_resolved": ("resolved_at", "resolved"),
}
DESCRIBED = {
    "unacknowledged": "not acknowledged",
    "not_identified": "no root cause identified",
    "not_mitigated": "not mitigated",
    "not_resolved": "not resolved",
    "always": "scheduled",
}


def holds(condition: str, incident: Incident) -> bool:
    """Every condition ends when the incident is resolved; the others earlier."""
    if incident.resolved_at is not None or incident.status in ("resolved", "closed"):
        return False
    stamp = _STAMP.get(condition)
    return stamp is None or getattr(incident, stamp[0]) is None


def why_not(condition: str, incident: Incident) -> str:
    """The reason a step no longer applies, for the timeline."""
    if incident.resolved_at is not None or incident.status in ("resolved", "closed"):
        return "incident resolved"
    stamp = _STAMP.get(condition)
    return f"incident {stamp[1]}" if stamp else "no longer applies"
