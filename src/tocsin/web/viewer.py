"""Who is looking: the signed-in person, their words (locale) and time zone, and what
they may do on an incident (so the page offers only those actions; the services check
again on every post)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tocsin.auth.actor import Actor
from tocsin.auth.permissions import granted
from tocsin.incidents.schemas import RoleHolderOut
from tocsin.policy.schema import Policy
from tocsin.web.session import WebSession
from tocsin.web.strings import Words

#: Every permission an incident page may offer an action for.
ACTIONS = (
    "acknowledge",
    "update-status",
    "change-severity",
    "assign-roles",
    "add-note",
    "check-items",
    "approve-rollback",
    "update-status-page",
    "send-communications",
    "declare",
)
#: Permissions their service judges by standing roles only (not incident roles): the
#: status page's publishers.
STANDING_ONLY = frozenset({"update-status-page"})


@dataclass(frozen=True)
class Viewer:
    actor: Actor
    name: str
    words: Words
    csrf: str


def viewer_of(web: WebSession, policy: Policy) -> Viewer:
    """The person's own locale and zone, else the policy's."""
    locale = web.user.locale or policy.organization.locale
    zone = web.user.timezone or policy.organization.timezone
    return Viewer(web.actor, web.user.name, Words(locale, zone), web.csrf)


def may(policy: Policy, actor: Actor, roles: Sequence[RoleHolderOut] = ()) -> set[str]:
    """The page's actions ``actor`` may take, with the incident roles they hold (as the
    services judge it: the current policy, standing and incident roles)."""
    if actor.is_admin:
        return set(ACTIONS)
    held = [r.role for r in roles if r.email == actor.email]
    standing = granted(policy, actor) & STANDING_ONLY
    return (granted(policy, actor, held) - STANDING_ONLY | standing) & set(ACTIONS)
