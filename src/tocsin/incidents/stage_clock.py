"""The incident's stage clock over its rows: stamps, due times, verdicts. No I/O."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from tocsin.incidents import schemas
from tocsin.incidents.models import Incident, IncidentRole
from tocsin.incidents.sla import TARGET_STAGE, compute_due, evaluate
from tocsin.policy.schema import Policy, Severity


def stage_stamps(incident: Incident, roles: Sequence[IncidentRole]) -> dict[str, datetime | None]:
    found: dict[str, datetime | None] = {
        "detected": incident.detected_at,
        "declared": incident.declared_at,
        "acknowledged": incident.acknowledged_at,
        "identified": incident.identified_at,
        "mitigated": incident.mitigated_at,
        "resolved": incident.resolved_at,
        "closed": incident.closed_at,
    }
    for row in roles:
        key = f"role:{row.role}"
        first = found.get(key)
        if first is None or row.assumed_at < first:
            found[key] = row.assumed_at
    return found


def reached(target: str, stamps: dict[str, datetime | None]) -> datetime | None:
    return stamps.get(TARGET_STAGE.get(target, target))


def refresh_due(incident: Incident, policy: Policy, roles: Sequence[IncidentRole]) -> None:
    """Recompute due times of targets not yet reached; reached ones keep theirs."""
    severity = _severity_of(policy, incident.severity)
    stamps = stage_stamps(incident, roles)
    fresh = compute_due(severity, stamps, policy.organization.calendar())
    kept = {
        k: v
        for k, v in incident.sla_due.items()
        if v is not None and reached(k, stamps) is not None
    }
    for name, due in fresh.items():
        if name not in kept:  # unreached, or reached before its anchor was known
            kept[name] = None if due is None else due.isoformat()
    incident.sla_due = kept
    for name in TARGET_STAGE:  # the same due times as columns, for reports' SQL
        due_text = kept.get(name)
        due_at = None if due_text is None else datetime.fromisoformat(due_text)
        setattr(incident, f"sla_{name}_due_at", due_at)


def sla_states(
    incident: Incident, roles: Sequence[IncidentRole], now: datetime
) -> list[schemas.SlaTargetOut]:
    stamps = stage_stamps(incident, roles)
    if incident.resolved_at is not None:
        now = min(now, incident.resolved_at)  # the clock stops when the incident is resolved
    out = []
    for name, due_text in incident.sla_due.items():
        due = None if due_text is None else datetime.fromisoformat(due_text)
        state = evaluate(name, due, reached(name, stamps), now)
        margin = None if state.margin is None else int(state.margin.total_seconds())
        out.append(
            schemas.SlaTargetOut(
                target=name,
                due_at=state.due_at,
                reached_at=state.reached_at,
                verdict=state.verdict,
                margin_seconds=margin,
                text=state.describe(),
            )
        )
    return out


def _severity_of(policy: Policy, key: str) -> Severity:
    severity = policy.severity(key)
    if severity is None:  # the incident's own policy version always has its severity
        raise LookupError(f"severity {key!r} is not in the incident's policy")
    return severity
