"""People and token API shapes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    email: str
    name: str
    is_admin: bool
    roles: list[str]
    active: bool


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=254)
    name: str | None = Field(None, max_length=200)
    admin: bool = False
    roles: list[str] = Field(default_factory=list, max_length=50)
    password: str | None = Field(None, min_length=8, max_length=200)


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str | None = Field(None, max_length=254, description="Whose token; yourself when absent")
    name: str = Field("", max_length=200)


class TokenOut(BaseModel):
    id: int
    user: str
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class NewTokenOut(TokenOut):
    token: str = Field(description="The secret; shown only this once")


class TeamIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=64)
    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=2000)
    members: list[str] = Field(default_factory=list, max_length=500, description="E-mails")


class TeamOut(BaseModel):
    key: str
    name: str
    description: str
    members: list[str]
