"""What the acknowledge link answers in JSON (``Accept: application/json``)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel


class AckIncidentOut(BaseModel):
    ref: str
    title: str
    severity: str
    status: str


class AcknowledgementOut(BaseModel):
    """Who acknowledged, when and through which door (``link``, ``sms``, ``api``, ...)."""

    by: str
    at: datetime
    via: str | None = None


class AckLinkOut(BaseModel):
    """``GET /ack/{token}``: what the link is for; nothing changes."""

    state: Literal["ready", "already_acknowledged"]
    person: str
    incident: AckIncidentOut
    expires_at: datetime
    acknowledged: AcknowledgementOut | None = None


class AckOut(BaseModel):
    """``POST /ack/{token}``: ``acknowledged`` now, or ``already_acknowledged`` by someone
    else (the link stays unused)."""

    outcome: Literal["acknowledged", "already_acknowledged"]
    person: str
    incident: AckIncidentOut
    acknowledged: AcknowledgementOut
