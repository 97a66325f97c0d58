"""The status page's vocabulary and the few rules that combine it (pure).

The value sets are Atlassian Statuspage's, so tools that read Statuspage pages read
Tocsin's: component statuses, incident and maintenance statuses, impacts and the page's
overall indicator.
"""

from __future__ import annotations

from collections.abc import Iterable

#: Component statuses, from best to worst (``under_maintenance`` counts as up).
COMPONENT_STATUSES = (
    "operational",
    "under_maintenance",
    "degraded_performance",
    "partial_outage",
    "major_outage",
)
INCIDENT_STATUSES = ("investigating", "identified", "monitoring", "resolved", "postmortem")
UNRESOLVED = ("investigating", "identified", "monitoring")
MAINTENANCE_STATUSES = ("scheduled", "in_progress", "verifying", "completed")
ACTIVE_MAINTENANCE = ("in_progress", "verifying")
IMPACTS = ("none", "minor", "major", "critical")
INDICATORS = ("none", "minor", "major", "critical", "maintenance")
#: Statuspage's own words for the overall indicator (the JSON keeps them in English).
DESCRIPTIONS = {
    "none": "All Systems Operational",
    "minor": "Minor Service Outage",
    "major": "Partial System Outage",
    "critical": "Major System Outage",
    "maintenance": "Service Under Maintenance",
}
#: The impact a component status stands for.
IMPACT_OF_STATUS = {
    "operational": "none",
    "under_maintenance": "none",
    "degraded_performance": "minor",
    "partial_outage": "major",
    "major_outage": "critical",
}
UP = ("operational", "under_maintenance")


def worst_status(statuses: Iterable[str]) -> str:
    """The worst of some component statuses (``operational`` for none)."""
    return max(statuses, key=COMPONENT_STATUSES.index, default="operational")


def worst_impact(impacts: Iterable[str]) -> str:
    return max(impacts, key=IMPACTS.index, default="none")


def impact_of(statuses: Iterable[str]) -> str:
    """The impact of an incident that put components in these statuses."""
    return worst_impact(IMPACT_OF_STATUS[s] for s in statuses)


def indicator(
    component_statuses: Iterable[str], unresolved_impacts: Iterable[str], maintenance: bool
) -> str:
    """The page's overall indicator: the worst of the components' statuses and the
    unresolved incidents' impacts; ``maintenance`` when nothing is wrong but maintenance
    is under way."""
    statuses = list(component_statuses)
    worst = worst_impact([impact_of(statuses), *unresolved_impacts])
    if worst == "none" and (maintenance or "under_maintenance" in statuses):
        return "maintenance"
    return worst
