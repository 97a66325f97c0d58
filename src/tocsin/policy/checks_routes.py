"""Cross-reference checks of ``comms: routes:``: every name a route uses is defined.

A route's channels must be in ``channels:``; its template must exist (the policy's own or
a built-in) in the locale it is sent in; its severities and incident types must exist; its
``to`` targets must name existing roles, people, teams and schedules; and a route through
an e-mail, SMS, voice or Apprise channel needs ``to``, because those channels address
people, not a room.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import get_args

from tocsin.comms.render import find
from tocsin.errors import TocsinError
from tocsin.policy import checks as base
from tocsin.policy.schema import Policy
from tocsin.policy.types import Stage

#: Channel kinds that send to people and so need a route's ``to``.
PERSONAL_KINDS = ("email", "sms", "voice", "apprise")
_TARGETS = ("role", "user", "team", "schedule")
ORDER: tuple[str, ...] = get_args(Stage)


def _unknown(value: str, known: Iterable[str], what: str) -> str:
    choices = ", ".join(sorted(known)) or "none defined"
    return f"unknown {what} {value!r} (known: {choices})"


def check_routes(policy: Policy) -> list[base.Problem]:
    """Every problem of the policy's routes, with its location."""
    problems: list[base.Problem] = []
    channels = {c.key: c for c in policy.channels}
    severities = {s.key for s in policy.severities}
    types = {t.key for t in policy.incident_types}
    seen: set[str] = set()
    for i, route in enumerate(policy.comms.routes):
        loc: base.Loc = ("comms", "routes", i)
        if route.key.lower() in seen:
            problems.append(((*loc, "key"), f"duplicate key {route.key!r} in comms routes"))
        seen.add(route.key.lower())
        personal: list[str] = []
        for j, key in enumerate(route.channels):
            channel = channels.get(key)
            if channel is None:
                problems.append(((*loc, "channels", j), _unknown(key, channels, "channel")))
            elif channel.type in PERSONAL_KINDS:
                personal.append(key)
        if personal and not route.to:
            kinds = ", ".join(f"{k} ({channels[k].type})" for k in personal)
            problems.append(
                ((*loc, "to"), f"channel {kinds} sends to people: the route needs 'to'")
            )
        try:
            find(policy, route.template, route.locale)
        except TocsinError as exc:
            problems.append(((*loc, "template"), exc.message))
        for j, sev_key in enumerate(route.severities):
            if sev_key not in severities:
                problems.append(
                    ((*loc, "severities", j), _unknown(sev_key, severities, "severity"))
                )
        for j, type_key in enumerate(route.types):
            if type_key not in types:
                problems.append(((*loc, "types", j), _unknown(type_key, types, "incident type")))
        for j, ref in enumerate(route.to):
            kind, colon, _ = ref.partition(":")
            if colon and kind == "channel":
                problems.append(
                    (
                        (*loc, "to", j),
                        f"{ref!r}: a route sends to channels through 'channels', "
                        "not 'to' (which names people or addresses)",
                    )
                )
            elif colon and kind in _TARGETS:
                problem = base.check_target(policy, ref)
                if problem:
                    problems.append(((*loc, "to", j), problem))
        if route.after is not None and (
            ORDER.index(route.until) < ORDER.index(route.from_)
            or (route.until == route.from_ != "resolved")
        ):
            problems.append(
                (
                    (*loc, "until"),
                    f"'until: {route.until}' must be a later stage than 'from: {route.from_}'",
                )
            )
        if route.on is not None and (route.from_ != "detected" or route.until != "resolved"):
            problems.append(
                ((*loc, "on"), "'from' and 'until' belong to timed routes ('after'), not 'on'")
            )
    return problems
