"""The post-incident deadlines of a resolved incident, and whether each is met. Pure.

Each severity's ``postmortem`` rule gives the meeting's deadline (``within``) and further
deadlines (a checklist within 24 hours, follow-up within two weeks), all counted from
resolution on the policy's calendar: ``5bd`` are five business days in its time zone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from tocsin.policy.calendar import BusinessCalendar
from tocsin.policy.schema import Severity
from tocsin.policy.schema_postmortems import PostmortemRule

#: The deadline of the postmortem meeting itself (the rule's ``within``).
MEETING = "postmortem"
_STATUS_ORDER = ("draft", "in_review", "final")


@dataclass(frozen=True)
class Planned:
    key: str
    name: str
    due_at: datetime
    remind_at: datetime | None
    done_when: str
    remind: tuple[str, ...] = ()
    escalate_to: tuple[str, ...] = ()


@dataclass(frozen=True)
class Progress:
    """What has been done after the incident, as far as deadlines care."""

    postmortem_status: str | None = None
    meeting_at: datetime | None = None
    open_action_items: int = 0
    #: Checklist key → whether every item of it is checked.
    checklists: Mapping[str, bool] | None = None


def plan(severity: Severity, resolved_at: datetime, calendar: BusinessCalendar) -> list[Planned]:
    """Every deadline of an incident of ``severity`` resolved at ``resolved_at``."""
    rule: PostmortemRule = severity.postmortem
    out: list[Planned] = []
    if rule.required and rule.within is not None:
        out.append(
            Planned(
                key=MEETING,
                name="Postmortem meeting",
                due_at=calendar.add(resolved_at, rule.within, business_hours=rule.business_hours),
                remind_at=None
                if rule.remind_after is None
                else calendar.add(
                    resolved_at, rule.remind_after, business_hours=rule.business_hours
                ),
                done_when="meeting",
            )
        )
    for spec in rule.deadlines:
        remind_at = (
            None
            if spec.remind_after is None
            else calendar.add(resolved_at, spec.remind_after, business_hours=spec.business_hours)
        )
        out.append(
            Planned(
                key=spec.key,
                name=spec.name,
                due_at=calendar.add(resolved_at, spec.within, business_hours=spec.business_hours),
                remind_at=remind_at,
                done_when=spec.done_when,
                remind=tuple(spec.remind),
                escalate_to=tuple(spec.escalate_to),
            )
        )
    return out


def met(done_when: str, progress: Progress) -> bool:
    """Whether what ``done_when`` asks for has been done."""
    kind, _, key = done_when.partition(":")
    if kind == "checklist":
        return bool((progress.checklists or {}).get(key, False))
    if kind == "postmortem":
        status = progress.postmortem_status
        if status is None:
            return False
        return key == "created" or _STATUS_ORDER.index(status) >= _STATUS_ORDER.index(key)
    if kind == "meeting":
        return progress.meeting_at is not None
    if kind == "action_items":
        return progress.postmortem_status is not None and progress.open_action_items == 0
    raise ValueError(f"unknown deadline condition {done_when!r}")
