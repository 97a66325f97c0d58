"""The stage clock: due times per SLA target and, for any instant, met/pending/breached.

Pure. A target counts from an anchor stage (``detected`` unless the policy says
otherwise); its due time is known once the anchor is reached. A reached stage keeps the
due time it was reached under; unreached ones are recomputed when severity changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from tocsin.policy.calendar import BusinessCalendar
from tocsin.policy.schema import Severity
from tocsin.policy.spans import format_timedelta

#: SLA target name -> the stage (timestamp) that meets it.
TARGET_STAGE = {
    "acknowledge": "acknowledged",
    "identify": "identified",
    "mitigate": "mitigated",
    "resolve": "resolved",
}
STAGES = ("detected", "declared", "acknowledged", "identified", "mitigated", "resolved", "closed")

Verdict = Literal["met", "breached", "pending", "no_target"]


@dataclass(frozen=True)
class TargetState:
    target: str
    due_at: datetime | None
    reached_at: datetime | None
    verdict: Verdict
    #: How far past due (breached) or still to go (pending), else None.
    margin: timedelta | None

    def describe(self) -> str:
        if self.verdict == "met":
            return (
                "met"
                if self.margin is None
                else f"met with {format_timedelta(self.margin)} to spare"
            )
        if self.verdict == "breached":
            return f"breached by {format_timedelta(self.margin or timedelta(0))}"
        if self.verdict == "pending":
            return "pending" if self.margin is None else f"due in {format_timedelta(self.margin)}"
        return "no target"


def compute_due(
    severity: Severity,
    stamps: Mapping[str, datetime | None],
    calendar: BusinessCalendar,
) -> dict[str, datetime | None]:
    """Due time of every target of ``severity``, given the stage timestamps reached so far."""
    due: dict[str, datetime | None] = {}
    for name in TARGET_STAGE:
        target = getattr(severity.sla, name)
        if target is None:
            continue
        anchor = stamps.get(target.from_)
        due[name] = (
            None
            if anchor is None
            else calendar.add(anchor, target.within, business_hours=target.business_hours)
        )
    declared = stamps.get("declared")
    for req in severity.required_roles:
        if req.within is not None:
            due[f"role:{req.role}"] = (
                None if declared is None else calendar.add(declared, req.within)
            )
    return due


def evaluate(
    name: str, due_at: datetime | None, reached_at: datetime | None, now: datetime
) -> TargetState:
    if reached_at is not None:
        if due_at is None:
            return TargetState(name, None, reached_at, "met", None)
        if reached_at <= due_at:
            return TargetState(name, due_at, reached_at, "met", due_at - reached_at)
        return TargetState(name, due_at, reached_at, "breached", reached_at - due_at)
    if due_at is None:
        return TargetState(name, None, None, "pending", None)
    if now > due_at:
        return TargetState(name, due_at, None, "breached", now - due_at)
    return TargetState(name, due_at, None, "pending", due_at - now)
