"""What the admin pages show, read through the domains' services (each checks admin
rights again). A view returns the template's data; the doors add what was typed, the
errors and a secret shown once."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.alerts import service as alerts
from tocsin.audit import service as audit
from tocsin.auth import service as auth
from tocsin.auth.permissions import require_admin
from tocsin.errors import NotFound
from tocsin.jobs import service as jobs
from tocsin.policy import service as policies
from tocsin.policy.loader import PolicyProblem
from tocsin.policy.schema_alerts import INTEGRATION_TYPES
from tocsin.web.viewer import Viewer

#: Audit entries on one page.
AUDIT_PAGE = 50
#: Dead jobs shown (the newest).
JOBS_SHOWN = 200


def _admin(viewer: Viewer) -> None:
    require_admin(viewer.actor, "the admin pages")


def index(viewer: Viewer) -> dict[str, Any]:
    _admin(viewer)
    sections = ["people", "teams", "tokens", "policy", "integrations", "jobs", "audit"]
    return {"sections": sections}


async def people(session: AsyncSession, viewer: Viewer) -> dict[str, Any]:
    _admin(viewer)
    policy = await policies.current_policy(session)
    return {
        "users": await auth.list_users(session),
        "roles": [r.key for r in policy.roles],
        "from_policy": {p.email.lower() for p in policy.people},
    }


async def person(session: AsyncSession, viewer: Viewer, email: str) -> dict[str, Any]:
    _admin(viewer)
    policy = await policies.current_policy(session)
    user = await auth.get_user(session, email)
    return {
        "user": user,
        "roles": [r.key for r in policy.roles],
        "from_policy": user.email in {p.email.lower() for p in policy.people},
    }


async def teams(session: AsyncSession, viewer: Viewer, editing: str = "") -> dict[str, Any]:
    _admin(viewer)
    policy = await policies.current_policy(session)
    rows = await auth.list_teams(session)
    chosen = next(((t, m) for t, m in rows if t.key == editing), None)
    typed: dict[str, Any] = {}
    if chosen is not None:
        team, members = chosen
        typed = {
            "key": team.key,
            "name": team.name,
            "description": team.description,
            "members": members,
        }
    return {
        "teams": rows,
        "users": await auth.list_users(session),
        "from_policy": {t.key for t in policy.teams},
        "editing": typed,
    }


async def tokens(session: AsyncSession, viewer: Viewer) -> dict[str, Any]:
    _admin(viewer)
    return {
        "tokens": await auth.list_tokens(session, viewer.actor),
        "users": await auth.list_users(session),
    }


@dataclass(frozen=True)
class DiffLine:
    #: ``head`` (file names), ``hunk`` (``@@``), ``add``, ``del`` or ``same``.
    kind: str
    text: str


def diff(old: str, new: str, old_name: str, new_name: str) -> list[DiffLine]:
    """A unified diff of two policy texts, line by line, each with its kind. Pure."""
    out: list[DiffLine] = []
    lines = difflib.unified_diff(
        old.splitlines(), new.splitlines(), old_name, new_name, lineterm=""
    )
    for line in lines:
        if line.startswith(("---", "+++")):
            kind = "head"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        else:
            kind = "same"
        out.append(DiffLine(kind, line))
    return out


async def policy_page(session: AsyncSession, viewer: Viewer) -> dict[str, Any]:
    _admin(viewer)
    versions = list(reversed(await policies.versions(session)))
    return {"versions": versions, "current": versions[0].version if versions else None}


async def policy_version(session: AsyncSession, viewer: Viewer, number: int) -> dict[str, Any]:
    _admin(viewer)
    version = await policies.by_number(session, number)
    current = await policies.current_version(session)
    return {"version": version, "is_current": version.version == current.version}


async def policy_changes(session: AsyncSession, viewer: Viewer, content: str) -> dict[str, Any]:
    """The diff of ``content`` against the current version, and that version's number."""
    _admin(viewer)
    try:
        current = await policies.current_version(session)
    except NotFound:
        return {"diff": diff("", content, "(none)", "new"), "base": 0}
    name = f"version {current.version}"
    return {"diff": diff(current.content, content, name, "new"), "base": current.version}


def problems_text(problems: list[PolicyProblem]) -> list[dict[str, Any]]:
    return [{"line": p.line, "path": p.path, "message": p.message} for p in problems]


async def integrations(session: AsyncSession, viewer: Viewer, public_url: str) -> dict[str, Any]:
    _admin(viewer)
    policy = await policies.current_policy(session)
    return {
        "integrations": await alerts.list_integrations(
            session, viewer.actor, public_url=public_url
        ),
        "types": list(INTEGRATION_TYPES),
        "teams": [t.key for t in policy.teams],
    }


async def dead_jobs(session: AsyncSession, viewer: Viewer) -> dict[str, Any]:
    _admin(viewer)
    return {"jobs": await jobs.list_jobs(session, "dead", JOBS_SHOWN, actor=viewer.actor)}


@dataclass(frozen=True)
class AuditFilters:
    by: str = ""
    action: str = ""
    before: int | None = None


def _compact(value: dict[str, Any] | None) -> str:
    if value is None:
        return ""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


async def audit_log(session: AsyncSession, viewer: Viewer, filters: AuditFilters) -> dict[str, Any]:
    _admin(viewer)
    rows = await audit.entries(
        session,
        viewer.actor,
        action=filters.action or None,
        by=filters.by or None,
        before_id=filters.before,
        limit=AUDIT_PAGE + 1,
    )
    shown = rows[:AUDIT_PAGE]
    entries = [
        {"entry": e, "before": _compact(e.before), "after": _compact(e.after)} for e in shown
    ]
    older = shown[-1].id if len(rows) > AUDIT_PAGE else None
    return {"entries": entries, "filters": filters, "older": older}
