"""Input and output shapes of on-call schedules, shared by the API and the CLI's ``--json``.

Times without a UTC offset in the input are wall-clock times in the schedule's zone (see
:func:`tocsin.oncall.service.instant`); every time in the output is UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Action = Literal["replace", "add", "remove"]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OverrideIn(Input):
    """``person`` on call instead of (``replace``), besides (``add``) or no longer
    (``remove``), from ``start`` to ``end``."""

    person: str = Field(min_length=1, max_length=254, description="Handle or e-mail")
    start: datetime = Field(description="With an offset, or wall-clock time in the schedule's zone")
    end: datetime
    action: Action = "replace"
    replaces: str | None = Field(
        None,
        max_length=254,
        description="For replace: only this person is replaced (default: whoever is on call)",
    )
    reason: str = Field("", max_length=2000)


class FeedIn(Input):
    """A calendar feed of one schedule, or of one person across every schedule."""

    schedule: str | None = Field(None, min_length=1, max_length=64)
    person: str | None = Field(None, min_length=1, max_length=254)

    @model_validator(mode="after")
    def _one(self) -> FeedIn:
        if (self.schedule is None) == (self.person is None):
            raise ValueError("give either 'schedule' or 'person'")
        return self


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class PersonOut(Output):
    handle: str
    name: str
    #: None for a handle the current policy no longer knows.
    email: str | None


class LayerOut(Output):
    name: str
    participants: list[PersonOut]
    #: ``daily``, ``every 2 weeks``, ``12h``, ...
    shift: str
    handoff: str
    start: str
    #: When the layer is on call, as written in the policy: ``always``,
    #: ``during business hours (mon-fri 09:00-18:00)``, ``outside fri 18:00-mon 09:00``, ...
    when: str
    #: The same as weekly windows (``Mon 09:00 -> Mon 18:00``); empty: always.
    windows: list[str]


class ScheduleOut(Output):
    key: str
    name: str
    description: str
    timezone: str
    publish_ahead: str
    #: Lowest first; a later layer wins where it has someone on call.
    layers: list[LayerOut]
    on_call: list[PersonOut]


class OnCallOut(Output):
    schedule: str
    name: str
    timezone: str
    at: datetime
    people: list[PersonOut]
    #: When who is on call next changes (within five weeks), else None.
    until: datetime | None


class ShiftOut(Output):
    schedule: str
    schedule_name: str
    timezone: str
    person: PersonOut
    start: datetime
    end: datetime


class ShiftsOut(Output):
    #: The schedule asked about (key and name), or None for a person's shifts.
    schedule: str | None
    schedule_name: str | None
    #: The person asked about, or None for a schedule's shifts.
    person: PersonOut | None
    #: The zone times are shown in: the schedule's, or the person's (else the policy's).
    timezone: str
    start: datetime
    end: datetime
    shifts: list[ShiftOut]


class OverrideOut(Output):
    id: int
    schedule: str
    #: The schedule's zone (the organisation's if the schedule has left the policy).
    timezone: str
    start: datetime
    end: datetime
    action: str
    person: PersonOut
    replaces: PersonOut | None
    reason: str
    created_by: str
    created_at: datetime
    cancelled_at: datetime | None
    cancelled_by: str | None


class FeedOut(Output):
    id: int
    kind: str
    subject: str
    created_by: str
    created_at: datetime
    revoked_at: datetime | None


class NewFeedOut(FeedOut):
    """A new feed; the secret (in ``path`` and ``url``) is shown this once."""

    secret: str
    path: str
    url: str
