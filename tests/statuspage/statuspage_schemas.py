"""JSON Schemas of Atlassian Statuspage's public ``/api/v2`` documents, written from their
documented shapes (the Statuspage public API and the typings of clients that read it):
the field names, their types, and the value sets of statuses, impacts and indicators.
``additionalProperties`` stays open, as Statuspage adds fields over time."""

from __future__ import annotations

from typing import Any

TIME = {"type": "string", "format": "date-time"}
MAYBE_TIME = {"type": ["string", "null"], "format": "date-time"}
COMPONENT_STATUS = {
    "enum": [
        "operational",
        "degraded_performance",
        "partial_outage",
        "major_outage",
        "under_maintenance",
    ]
}
INCIDENT_STATUS = {"enum": ["investigating", "identified", "monitoring", "resolved", "postmortem"]}
MAINTENANCE_STATUS = {"enum": ["scheduled", "in_progress", "verifying", "completed"]}

PAGE: dict[str, Any] = {
    "type": "object",
    "required": ["id", "name", "url", "time_zone", "updated_at"],
    "properties": {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "url": {"type": "string", "format": "uri"},
        "time_zone": {"type": "string"},
        "updated_at": TIME,
    },
}
STATUS: dict[str, Any] = {
    "type": "object",
    "required": ["indicator", "description"],
    "properties": {
        "indicator": {"enum": ["none", "minor", "major", "critical", "maintenance"]},
        "description": {"type": "string"},
    },
}
COMPONENT: dict[str, Any] = {
    "type": "object",
    "required": [
        "id",
        "name",
        "status",
        "created_at",
        "updated_at",
        "position",
        "description",
        "showcase",
        "start_date",
        "group_id",
        "page_id",
        "group",
        "only_show_if_degraded",
    ],
    "properties": {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "status": COMPONENT_STATUS,
        "created_at": TIME,
        "updated_at": TIME,
        "position": {"type": "integer"},
        "description": {"type": ["string", "null"]},
        "showcase": {"type": "boolean"},
        "start_date": {"type": ["string", "null"], "format": "date"},
        "group_id": {"type": ["string", "null"]},
        "page_id": {"type": "string"},
        "group": {"type": "boolean"},
        "only_show_if_degraded": {"type": "boolean"},
        "components": {"type": "array", "items": {"type": "string"}},
    },
    "if": {"properties": {"group": {"const": True}}},
    "then": {"required": ["components"], "properties": {"group_id": {"type": "null"}}},
}
AFFECTED: dict[str, Any] = {
    "type": "object",
    "required": ["code", "name", "old_status", "new_status"],
    "properties": {
        "code": {"type": "string"},
        "name": {"type": "string"},
        "old_status": COMPONENT_STATUS,
        "new_status": COMPONENT_STATUS,
    },
}


def _update(statuses: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": [
            "id",
            "status",
            "body",
            "incident_id",
            "created_at",
            "updated_at",
            "display_at",
            "affected_components",
            "deliver_notifications",
            "custom_tweet",
            "tweet_id",
        ],
        "properties": {
            "id": {"type": "string"},
            "status": statuses,
            "body": {"type": "string"},
            "incident_id": {"type": "string"},
            "created_at": TIME,
            "updated_at": TIME,
            "display_at": TIME,
            "affected_components": {"type": ["array", "null"], "items": AFFECTED},
            "deliver_notifications": {"type": "boolean"},
            "custom_tweet": {"type": ["string", "null"]},
            "tweet_id": {"type": ["string", "null"]},
        },
    }


def _incident(
    statuses: dict[str, Any], impacts: list[str], extra: tuple[str, ...] = ()
) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "status": statuses,
        "created_at": TIME,
        "updated_at": TIME,
        "monitoring_at": MAYBE_TIME,
        "resolved_at": MAYBE_TIME,
        "impact": {"enum": impacts},
        "shortlink": {"type": "string", "format": "uri"},
        "started_at": TIME,
        "page_id": {"type": "string"},
        "incident_updates": {"type": "array", "items": _update(statuses)},
        "components": {"type": "array", "items": COMPONENT},
    }
    for name in extra:
        properties[name] = MAYBE_TIME
    return {
        "type": "object",
        "required": [
            "id",
            "name",
            "status",
            "created_at",
            "updated_at",
            "monitoring_at",
            "resolved_at",
            "impact",
            "shortlink",
            "started_at",
            "page_id",
            "incident_updates",
            "components",
            *extra,
        ],
        "properties": properties,
    }


INCIDENT = _incident(INCIDENT_STATUS, ["none", "minor", "major", "critical"])
MAINTENANCE = _incident(
    MAINTENANCE_STATUS,
    ["none", "minor", "major", "critical", "maintenance"],
    ("scheduled_for", "scheduled_until"),
)


def _document(**members: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["page", *members],
        "properties": {"page": PAGE, **members},
    }


def _list(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": item}


DOCUMENTS: dict[str, dict[str, Any]] = {
    "status.json": _document(status=STATUS),
    "summary.json": _document(
        components=_list(COMPONENT),
        incidents=_list(INCIDENT),
        scheduled_maintenances=_list(MAINTENANCE),
        status=STATUS,
    ),
    "components.json": _document(components=_list(COMPONENT)),
    "incidents.json": _document(incidents=_list(INCIDENT)),
    "incidents/unresolved.json": _document(
        incidents=_list(
            {
                **INCIDENT,
                "properties": {
                    **INCIDENT["properties"],
                    "status": {"enum": ["investigating", "identified", "monitoring"]},
                },
            }
        )
    ),
    "scheduled-maintenances.json": _document(scheduled_maintenances=_list(MAINTENANCE)),
    "scheduled-maintenances/upcoming.json": _document(
        scheduled_maintenances=_list(
            {
                **MAINTENANCE,
                "properties": {**MAINTENANCE["properties"], "status": {"const": "scheduled"}},
            }
        )
    ),
    "scheduled-maintenances/active.json": _document(
        scheduled_maintenances=_list(
            {
                **MAINTENANCE,
                "properties": {
                    **MAINTENANCE["properties"],
                    "status": {"enum": ["in_progress", "verifying"]},
                },
            }
        )
    ),
}
