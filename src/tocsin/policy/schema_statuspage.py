"""The ``status_page:`` section: the public page's name, address, language and time zone,
and how people subscribe to it.

Its components and their groups are the policy's ``components:`` (``group:`` names the
group). Subscriber e-mails go out through the e-mail channel named here (``channels:``),
webhook subscribers get a JSON POST signed with the secret in ``webhook_secret_env``.
Pure data; the page itself is :mod:`tocsin.statuspage`.
"""

from __future__ import annotations

from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from tocsin.policy.schema_notify import EnvName
from tocsin.policy.types import Flag, Slug, Strict


class SubscriberSettings(Strict):
    """Who may subscribe, how, and how often one address or one client may sign up."""

    email: Flag = True
    webhooks: Flag = True
    #: Sign-ups per hour from one e-mail address or webhook URL, and from one client IP.
    per_address_per_hour: int = Field(3, ge=1, le=1000)
    per_ip_per_hour: int = Field(20, ge=1, le=100000)
    #: Let webhook subscribers name a private address (``localhost``, ``10.0.0.5``, ...):
    #: off, so that the public sign-up cannot make Tocsin POST into its own network.
    private_webhooks: Flag = False


class StatusPageSettings(Strict):
    """The public page; every key has a default, so a policy without the section has one."""

    #: The page's name (default: the organisation's name).
    name: str | None = Field(None, min_length=1, max_length=200)
    #: Where the public reaches the page (links in e-mails and feeds start with it); by
    #: default Tocsin's own ``TOCSIN_PUBLIC_URL`` + ``/status``.
    url: Annotated[str, Field(pattern=r"^(https?://\S+)?$", max_length=500)] = ""
    #: The Statuspage-style page id in the JSON (default: derived from the name).
    page_id: Annotated[str, Field(pattern=r"^[a-z0-9]{1,32}$")] | None = None
    #: Language and time zone of the page (default: the organisation's).
    locale: Literal["en", "nl"] | None = None
    timezone: str | None = None
    #: The ``channels:`` e-mail channel subscriber e-mails go through; without one, people
    #: cannot subscribe by e-mail.
    email_channel: Slug | None = None
    #: Signs webhook subscribers' POSTs (``X-Tocsin-Signature``), like a webhook channel.
    webhook_secret_env: EnvName | None = None
    subscribers: SubscriberSettings = SubscriberSettings()
    #: Days of uptime history the page shows per component.
    uptime_days: int = Field(90, ge=7, le=366)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value
