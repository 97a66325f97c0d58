"""The ``channels:`` section: where Tocsin's messages go (e-mail over SMTP, webhooks,
Slack, Microsoft Teams, SMS through a Twilio-compatible API).

Secrets are never written in the policy: a channel names the environment variable that
holds its SMTP password, webhook signing secret, Slack token, Teams webhook URL or SMS auth
token (``password_env``, ``secret_env``, ``token_env``, ``url_env``, ``auth_token_env``),
and the delivery worker reads it at send time. Pure data; delivery is :mod:`tocsin.notify`.
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


class SlackChannel(Strict):
    """Slack ``chat.postMessage`` (``slack_sdk``); follow-ups for an incident go into the
    thread of its first message on this channel."""

    key: Slug
    type: Literal["slack"]
    token_env: EnvName
    channel: str = Field(min_length=1, max_length=200)
    base_url: str = Field("https://slack.com/api/", pattern=r"^https?://\S+$")
    timeout: float = Field(10.0, gt=0, le=120)


class TeamsChannel(Strict):
    """A Microsoft Teams incoming webhook; its URL is a secret, so only ``url_env`` names it."""

    key: Slug
    type: Literal["teams"]
    url_env: EnvName
    timeout: float = Field(10.0, gt=0, le=120)


class SmsChannel(Strict):
    """SMS through a Twilio-compatible REST API (HTTP basic auth: account SID and token)."""

    key: Slug
    type: Literal["sms"]
    base_url: str = Field("https://api.twilio.com", pattern=r"^https?://\S+$")
    account_sid: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    auth_token_env: EnvName
    from_: str = Field(alias="from", min_length=1, max_length=64)
    timeout: float = Field(10.0, gt=0, le=120)


class SlackWebhookChannel(Strict):
    """A Slack incoming webhook (its URL is a secret: ``url_env``); no threads, no token."""

    key: Slug
    type: Literal["slack_webhook"]
    url_env: EnvName
    timeout: float = Field(10.0, gt=0, le=120)


class VoiceChannel(Strict):
    """Phone calls through a Twilio-compatible REST API: the message is read out (TwiML
    ``<Say>``) in ``language``."""

    key: Slug
    type: Literal["voice"]
    base_url: str = Field("https://api.twilio.com", pattern=r"^https?://\S+$")
    account_sid: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    auth_token_env: EnvName
    from_: str = Field(alias="from", min_length=1, max_length=64)
    language: str = Field("en-US", pattern=r"^[a-z]{2}(-[A-Z]{2})?$")
    timeout: float = Field(10.0, gt=0, le=120)


class AppriseChannel(Strict):
    """The long tail (Discord, Telegram, Mattermost, ntfy, Pushover, ...) through Apprise.

    Apprise URLs carry their tokens, so the channel's own URLs come from ``urls_env``
    (space- or comma-separated); a person's ``apprise`` contact is a URL of its own.
    """

    key: Slug
    type: Literal["apprise"]
    urls_env: EnvName | None = None
    timeout: float = Field(10.0, gt=0, le=120)


#: Any one channel's settings.
AnyChannel = (
    EmailChannel
    | WebhookChannel
    | SlackChannel
    | TeamsChannel
    | SmsChannel
    | SlackWebhookChannel
    | VoiceChannel
    | AppriseChannel
)

ChannelSpec = Annotated[AnyChannel, Field(discriminator="type")]
