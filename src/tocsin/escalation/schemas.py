"""What the API shows of an incident's escalation: the ladder, each step and its fate."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class StepOut(BaseModel):
    id: int
    ladder: str
    cycle: int
    step: int
    action: str
    targets: list[str]
    condition: str
    due_at: datetime
    status: str
    settled_at: datetime | None
    reason: str | None


class EscalationOut(BaseModel):
    incident: str
    ladder: str | None
    started_at: datetime | None
    status: str
    stop_reason: str | None
    #: The next pending step: who is paged next, and when.
    next: StepOut | None
    steps: list[StepOut]
