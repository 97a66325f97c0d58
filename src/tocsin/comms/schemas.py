"""What the comms API takes and answers."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

TemplateKey = Annotated[str, Field(min_length=1, max_length=64, examples=["incident-update"])]
Locale = Annotated[str | None, Field(max_length=8, examples=["nl"])]
#: ``{"progress": "...", "notice.reason": "..."}``: a bare name is an update field.
SenderFields = Annotated[
    dict[Annotated[str, Field(max_length=64)], Annotated[str | None, Field(max_length=20000)]],
    Field(max_length=64, examples=[{"progress": "Rolled back to 4.1.9", "eta": "15:00"}]),
]


class PreviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    template: TemplateKey
    locale: Locale = None
    update: SenderFields = {}


class SendIn(PreviewIn):
    #: A channel key of the policy; default: its first chat channel.
    channel: Annotated[str | None, Field(max_length=64)] = None
    #: For e-mail, SMS, voice and Apprise channels: addresses, or role:/user:/team:/schedule:
    #: targets.
    to: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=500)]], Field(max_length=200)
    ] = []
    #: Sending again with the same key queues nothing new (also the Idempotency-Key header).
    idempotency_key: Annotated[str | None, Field(min_length=1, max_length=200)] = None


class RenderedOut(BaseModel):
    template: str
    locale: str
    subject: str
    text: str
    html: str | None = None


class NotificationOut(BaseModel):
    id: int
    channel: str
    kind: str
    recipient: str
    status: str
    subject: str


class TemplateOut(BaseModel):
    key: str
    locale: str
    #: ``builtin`` or ``policy``.
    source: str
    description: str
