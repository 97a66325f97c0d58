"""The postmortems pages as plain data for templates: each function takes a session and
a viewer and returns a dict. Reads and permission checks go through the postmortems
service (visibility of restricted incidents, ``add-note`` for the document and action
items, ``edit-incident`` for review)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.clock import Clock
from tocsin.errors import Forbidden, NotFound
from tocsin.incidents import service as incidents
from tocsin.policy import service as policies
from tocsin.postmortems import actions, service
from tocsin.postmortems.access import writable
from tocsin.postmortems.models import (
    ACTION_STATUSES,
    OPEN_ACTION_STATUSES,
    POSTMORTEM_STATUSES,
    ActionItem,
)
from tocsin.web.viewer import Viewer

#: Each list shows at most this many rows.
LIST_LIMIT = 200
#: The permissions a postmortem page may offer forms for.
PERMISSIONS = ("add-note", "edit-incident")


def status_moves(status: str, reviewers: list[dict[str, Any]]) -> list[str]:
    """The moves the service allows from ``status``: to review (reviewers are named in
    the same form), final once every reviewer approved, back to draft at any time."""
    approved = bool(reviewers) and all(r["approved_at"] for r in reviewers)
    moves = {
        "draft": ["in_review"],
        "in_review": ["final", "draft"] if approved else ["draft"],
        "final": ["draft"],
    }
    return moves.get(status, [])


async def postmortem_list(
    session: AsyncSession, viewer: Viewer, statuses: list[str], *, clock: Clock
) -> dict[str, Any]:
    """Postmortems of the incidents the viewer may see: overdue first, then by due date."""
    wanted = [s for s in statuses if s in POSTMORTEM_STATUSES]
    rows = await service.list_all(
        session, viewer.actor, now=clock.now(), statuses=wanted, limit=LIST_LIMIT
    )
    return {"rows": rows, "statuses": POSTMORTEM_STATUSES, "chosen": wanted}


async def _allowed(session: AsyncSession, viewer: Viewer, ref: str, permission: str) -> bool:
    """Whether the viewer has ``permission`` on the incident, by the service's own check."""
    try:
        await writable(session, viewer.actor, ref, permission)
    except Forbidden:
        return False
    return True


async def _may(session: AsyncSession, viewer: Viewer, ref: str) -> set[str]:
    return {p for p in PERMISSIONS if await _allowed(session, viewer, ref, p)}


def _due_day(item: ActionItem, zone: ZoneInfo) -> str:
    """The item's due date as the form's date field shows it (the organisation's day)."""
    return "" if item.due_at is None else item.due_at.astimezone(zone).date().isoformat()


async def postmortem_page(
    session: AsyncSession, viewer: Viewer, ref: str, *, clock: Clock
) -> dict[str, Any]:
    """One postmortem: header, deadlines, review, each section (a form each for those who
    may edit), and the incident's action items."""
    incident = await incidents.get(session, viewer.actor, ref)
    policy = await policies.current_policy(session)
    try:
        _, postmortem = await service.get(session, viewer.actor, incident.ref)
    except NotFound:  # none yet: offered to those who may create one
        return {
            "missing": True,
            "incident": incident,
            "can": await _may(session, viewer, incident.ref),
            "templates": [(t.key, t.name) for t in policy.postmortems.templates],
        }
    out = await service.describe(session, incident, postmortem, clock=clock)
    can = await _may(session, viewer, incident.ref)
    mine = next((r for r in out.reviewers if r.email == viewer.actor.email.lower()), None)
    now = clock.now()
    zone = ZoneInfo(policy.organization.timezone)
    items = await actions.items_of(session, incident)
    return {
        "missing": False,
        "pm": out,
        "incident": incident,
        "sections": [
            {**s, "generated": s.get("fill") == "action_items"} for s in postmortem.sections
        ],
        "can": can,
        "editable": out.status != "final",
        "moves": status_moves(out.status, postmortem.reviewers),
        "may_approve": out.status == "in_review" and mine is not None and not mine.approved_at,
        "items": [actions.row_of(i, incident.ref, now) for i in items],
        "due_days": {i.number: _due_day(i, zone) for i in items},
        "overdue": service.meeting_overdue(postmortem, now),
        "people": [(p.email, p.name) for p in policy.people],
        "teams": [(t.key, t.name) for t in policy.teams],
        "priorities": list(policy.postmortems.action_items.priorities),
        "item_statuses": ACTION_STATUSES,
        "org_zone": policy.organization.timezone,
    }


@dataclass
class ItemFilters:
    status: list[str] = field(default_factory=list)
    owner: str = ""
    team: str = ""
    incident: str = ""
    overdue: bool = False

    def query(self) -> str:
        """The filters as the list's query string (to come back to after a post)."""
        pairs = [("status", s) for s in self.status]
        pairs += [(k, v) for k, v in (("owner", self.owner), ("team", self.team)) if v]
        pairs += [("incident", self.incident)] if self.incident else []
        pairs += [("overdue", "1")] if self.overdue else []
        return urlencode(pairs)


async def action_items(
    session: AsyncSession, viewer: Viewer, filters: ItemFilters, *, clock: Clock
) -> dict[str, Any]:
    """Action items across incidents: overdue ones first, then by due date (undated last)."""
    policy = await policies.current_policy(session)
    wanted = [s for s in filters.status if s in ACTION_STATUSES] or list(OPEN_ACTION_STATUSES)
    now: datetime = clock.now()
    rows, total = await actions.list_all(
        session,
        viewer.actor,
        now=now,
        owner=filters.owner or None,
        team=filters.team or None,
        ref=filters.incident or None,
        statuses=wanted,
        overdue_only=filters.overdue,
        limit=LIST_LIMIT,
    )
    rows.sort(key=lambda row: not row.overdue)  # stable: the due date order is kept
    refs = {r.incident for r in rows}
    writable_refs = {ref for ref in refs if await _allowed(session, viewer, ref, "add-note")}
    return {
        "rows": rows,
        "total": total,
        "filters": filters,
        "chosen": wanted,
        "statuses": ACTION_STATUSES,
        "people": [(p.handle, p.name) for p in policy.people],
        "teams": [(t.key, t.name) for t in policy.teams],
        "writable": writable_refs,
        "back": filters.query(),
    }
