"""The ``channels:`` section: where Tocsin's messages go (e-mail over SMTP, webhooks).

Secrets are never written in the policy: a channel names the environment variable that
holds its SMTP password or webhook signing secret (``password_env``, ``secret_env``), and
the delivery worker reads it at send time. Pure data; delivery is :mod:`tocsin.notify`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from tocsin.policy.types import Slug, Strict

#: An environment variable's name (never its value).
EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=128)]


class EmailChannel(Strict):
    """E-mail over SMTP: ``tls`` is ``none``, ``starttls`` (upgrade on 587) or ``implicit``
    (TLS from the first byte, 465)."""

    key: Slug
    type: Literal["email"]
    host: str = Field(min_length=1)
    port: int | None = Field(None, ge=1, le=65535)
    tls: Literal["none", "starttls", "implicit"] = "starttls"
    username: str | None = None
    password_env: EnvName | None = None
    from_: str = Field(alias="from", min_length=3)
    timeout: float = Field(30.0, gt=0, le=600)

    @model_validator(mode="after")
    def _auth_pair(self) -> EmailChannel:
        if self.password_env is not None and self.username is None:
            raise ValueError("password_env needs a username")
        return self

    @property
    def effective_port(self) -> int:
        if self.port is not None:
            return self.port
        return {"none": 25, "starttls": 587, "implicit": 465}[self.tls]


class WebhookChannel(Strict):
    """A generic webhook: a JSON POST signed with HMAC-SHA256 when ``secret_env`` is set."""

    key: Slug
    type: Literal["webhook"]
    url: str = Field(pattern=r"^https?://\S+$")
    secret_env: EnvName | None = None
    timeout: float = Field(10.0, gt=0, le=120)


ChannelSpec = Annotated[EmailChannel | WebhookChannel, Field(discriminator="type")]
