"""Postmortems and action items as the API takes and gives them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

PostmortemStatus = Literal["draft", "in_review", "final"]
ActionStatus = Literal["open", "in_progress", "done", "wont_do"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreateIn(_In):
    #: A template of the policy's ``postmortems.templates``; else the severity's.
    template: str | None = Field(None, max_length=64)
    #: Which events pre-fill the timeline; else the template's choice.
    timeline: Literal["all", "pinned"] | None = None


class SectionsIn(_In):
    """New text for some sections (by key) and, optionally, the title."""

    title: str | None = Field(None, min_length=1, max_length=300)
    sections: dict[str, str] = {}


class StatusIn(_In):
    status: PostmortemStatus
    #: Reviewers (e-mail addresses) to add when sending it for review.
    reviewers: list[str] = []


class MeetingIn(_In):
    #: When the postmortem meeting is held; null cancels it.
    at: AwareDatetime | None


class RootCauseIn(_In):
    #: A key or name of the policy's ``root_causes``; null clears it.
    root_cause: str | None = Field(max_length=200)


class ImportIn(_In):
    markdown: str = Field(max_length=1_000_000)


class SectionOut(BaseModel):
    key: str
    heading: str
    level: int
    body: str


class FieldOut(BaseModel):
    key: str
    label: str
    value: str


class ReviewerOut(BaseModel):
    email: str
    approved_at: datetime | None


class DeadlineOut(BaseModel):
    key: str
    name: str
    due_at: datetime
    remind_at: datetime | None
    done_when: str
    met: bool
    overdue: bool


class PostmortemOut(BaseModel):
    incident: str
    status: PostmortemStatus
    template: str
    title: str
    author: str
    root_cause: str | None
    reviewers: list[ReviewerOut]
    fields: list[FieldOut]
    sections: list[SectionOut]
    meeting_at: datetime | None
    due_at: datetime | None
    created_at: datetime
    updated_at: datetime
    finalized_at: datetime | None
    deadlines: list[DeadlineOut]


class ActionItemIn(_In):
    title: str = Field(min_length=1, max_length=300)
    description: str = Field("", max_length=20_000)
    #: A person of the policy (handle or e-mail).
    owner: str = Field(min_length=1, max_length=254)
    #: A team of the policy; by default the owner's first team.
    team: str | None = Field(None, max_length=64)
    #: One of the policy's ``postmortems.action_items.priorities``; else the middle one.
    priority: str | None = Field(None, max_length=32)
    due_at: AwareDatetime | None = None
    #: A due date instead of an instant: the end of that business day in the policy's zone.
    due_on: date | None = None
    url: str | None = Field(None, max_length=2000, pattern=r"^https?://\S+$")


class ActionItemPatch(_In):
    title: str | None = Field(None, min_length=1, max_length=300)
    description: str | None = Field(None, max_length=20_000)
    owner: str | None = Field(None, min_length=1, max_length=254)
    team: str | None = Field(None, max_length=64)
    priority: str | None = Field(None, max_length=32)
    due_at: AwareDatetime | None = None
    due_on: date | None = None
    url: str | None = Field(None, max_length=2000, pattern=r"^https?://\S+$")
    status: ActionStatus | None = None


class ActionItemOut(BaseModel):
    id: int
    incident: str
    number: int
    title: str
    description: str
    status: ActionStatus
    owner: str
    team: str | None
    priority: str
    url: str | None
    due_at: datetime | None
    done_at: datetime | None
    created_at: datetime
    overdue: bool


class ActionItemListOut(BaseModel):
    items: list[ActionItemOut]
    total: int
