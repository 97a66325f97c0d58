"""Who may do what: the policy's roles and ``everyone`` list, plus incident roles held.

Pure: takes the policy and the roles, does no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable

from tocsin.auth.actor import Actor
from tocsin.errors import Forbidden
from tocsin.policy.schema import Policy


def granted(policy: Policy, actor: Actor, incident_roles: Iterable[str] = ()) -> set[str]:
    """Every permission the actor has: everyone's, their standing roles', incident roles'."""
    perms = set(policy.everyone)
    for key in {*actor.roles, *incident_roles}:
        role = policy.role(key)
        if role is not None:
            perms.update(role.permissions)
    return perms


def allowed(
    policy: Policy, actor: Actor, permission: str, incident_roles: Iterable[str] = ()
) -> bool:
    return actor.is_admin or permission in granted(policy, actor, incident_roles)


def require(
    policy: Policy, actor: Actor, permission: str, incident_roles: Iterable[str] = ()
) -> None:
    """Raise a 403 that names the missing permission."""
    if not allowed(policy, actor, permission, incident_roles):
        holders = sorted(r.key for r in policy.roles if permission in r.permissions)
        raise Forbidden(
            f"{actor.label} lacks the permission {permission!r}",
            code="permission_denied",
            details={"permission": permission, "granted_by_roles": holders},
        )


def require_admin(actor: Actor, what: str) -> None:
    """Raise a 403 unless the actor is an admin; ``what`` says what needed it."""
    if not actor.is_admin:
        raise Forbidden(
            f"{what} needs admin rights", code="permission_denied", details={"permission": "admin"}
        )
