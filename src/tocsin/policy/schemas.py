"""Policy API shapes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class PolicyVersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: int
    checksum: str
    source: str
    applied_at: datetime
    applied_by: str


class PolicyOut(PolicyVersionOut):
    content: str


class PolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: str = Field(min_length=1, description="The policy file's YAML text")
    source: str = Field("<api>", max_length=500)


class ProblemOut(BaseModel):
    file: str
    line: int | None
    path: str
    message: str


class CheckOut(BaseModel):
    valid: bool
    problems: list[ProblemOut]


class ApplyOut(BaseModel):
    version: PolicyVersionOut
    created: bool
