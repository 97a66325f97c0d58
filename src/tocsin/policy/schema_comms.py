"""The ``templates:``, ``comms:`` and ``notifications:`` sections: what Tocsin says, where,
when, and how hard it may knock on one person's phone.

- ``templates:`` overrides or adds Jinja2 message templates (built-ins exist in English and
  Dutch, see :mod:`tocsin.comms`), per locale.
- ``comms: routes:`` sends a template through channels when an incident reaches a stage
  (``on: declared``) or when it has lasted a while (``after: 15m``, counted from
  ``from:``, unless the incident reached ``until:`` first), for the listed severities.
- ``notifications:`` limits how often one contact method of one person is messaged
  (suppressed messages are bundled into the next one), and how long an acknowledge link
  from a page stays valid.

Pure data; rendering is :mod:`tocsin.comms`, delivery :mod:`tocsin.notify`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from tocsin.policy.spans import parse_span
from tocsin.policy.types import Duration, Slug, Stage, Strict

Locale = Literal["en", "nl"]
#: What an incident does that an ``on:`` route can answer. The stages fire once per
#: incident and route (also when a later severity change makes the route apply); ``update``
#: fires on every progress update, ``severity_changed`` on every change of severity.
RouteEvent = Literal[
    "declared",
    "acknowledged",
    "identified",
    "mitigated",
    "resolved",
    "update",
    "severity_changed",
    "mitigation_proposed",
]
#: A recipient: a target (``role:``, ``user:``, ``schedule:``, ``team:``) that resolves to
#: people, or a literal address (an e-mail address, a phone number, an Apprise URL).
Recipient = Annotated[str, Field(min_length=1, max_length=500)]


class TemplateSpec(Strict):
    """One message template; ``locale`` defaults to the organisation's."""

    key: Slug
    locale: Locale | None = None
    description: str = ""
    subject: str = ""
    text: str = Field(min_length=1)
    html: str | None = None


class Route(Strict):
    """Send ``template`` through ``channels`` on an event or after a time."""

    key: Slug
    description: str = ""
    on: RouteEvent | None = None
    after: Duration | None = None
    from_: Stage = Field("detected", alias="from")
    until: Stage = "resolved"
    #: Applies to these severities / incident types; empty means all.
    severities: list[Slug] = []
    types: list[Slug] = []
    template: Slug
    channels: list[Slug] = Field(min_length=1)
    #: For channels that address people (e-mail, SMS, voice, Apprise): who gets it.
    #: Chat channels and webhooks post to their own destination and ignore ``to``.
    to: list[Recipient] = []
    locale: Locale | None = None

    @model_validator(mode="after")
    def _on_or_after(self) -> Route:
        if (self.on is None) == (self.after is None):
            raise ValueError("a route has exactly one of 'on' (an event) or 'after' (a time)")
        return self


class Comms(Strict):
    routes: list[Route] = []


class Throttle(Strict):
    """Most messages to one contact method of one person per window; 0 turns a window off.

    The defaults follow GoAlert's: one a minute, a few per quarter hour and per hour.
    """

    per_minute: int = Field(1, ge=0, le=1000)
    per_15_minutes: int = Field(5, ge=0, le=10000)
    per_hour: int = Field(10, ge=0, le=100000)


class NotificationSettings(Strict):
    throttle: Throttle = Throttle()
    #: How long the acknowledge link and SMS reply code of a page stay valid.
    ack_valid_for: Duration = parse_span("24h")


class NotifyRule(Strict):
    """A personal notification rule: reach the person through ``via`` (a contact type such
    as ``sms`` or a contact's ``label``) ``after`` the page, if still unacknowledged."""

    via: str = Field(min_length=1, max_length=64)
    after: Duration = parse_span("0m")
    #: The policy channel to send through; by default the first of the contact's kind.
    channel: Slug | None = None
