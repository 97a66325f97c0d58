"""Postmortems and action items: create, edit, review, export and import; follow-up
deadlines and reminders.

Resolving an incident (``incidents.service.set_status``) calls :func:`on_resolved` in the
same transaction: the postmortem is created when the severity requires one, and the
post-incident deadlines and their reminders are written as jobs. Every change writes a
timeline event and an audit row; the caller commits. Reading needs to see the incident
(restricted incidents too); writing the document and action items needs ``add-note``,
sending it for review, finalising and recording the root cause need ``edit-incident``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.auth import service as auth
from tocsin.auth.actor import Actor
from tocsin.auth.models import User
from tocsin.clock import Clock
from tocsin.errors import Conflict, Forbidden, InvalidInput, NotFound
from tocsin.escalation.targets import handle_of
from tocsin.incidents import service as incidents
from tocsin.incidents.models import ChecklistItem, Incident, IncidentEvent, IncidentRole
from tocsin.incidents.timeline import log
from tocsin.jobs import service as jobs
from tocsin.policy.schema import Policy
from tocsin.policy.schema_postmortems import PostmortemTemplate
from tocsin.postmortems import actions, deadlines, document, markdown, schemas
from tocsin.postmortems.access import writable
from tocsin.postmortems.models import (
    OPEN_ACTION_STATUSES,
    ActionItem,
    Postmortem,
    TimelinePin,
)
from tocsin.postmortems.templates import BUILT_IN, template_for

DEADLINE_JOB = "postmortems.deadline"


async def _of(session: AsyncSession, incident: Incident) -> Postmortem | None:
    found: Postmortem | None = await session.scalar(
        select(Postmortem).where(Postmortem.incident_id == incident.id)
    )
    return found


async def _existing(session: AsyncSession, incident: Incident) -> Postmortem:
    found = await _of(session, incident)
    if found is None:
        raise NotFound(
            f"{incident.ref} has no postmortem yet (tocsin postmortem create {incident.ref})",
            details={"incident": incident.ref},
        )
    return found


async def get(session: AsyncSession, actor: Actor, ref: str) -> tuple[Incident, Postmortem]:
    incident = await incidents.get(session, actor, ref)
    return incident, await _existing(session, incident)


@dataclass(frozen=True)
class PostmortemRow:
    """A postmortem with its incident's id, title and severity, as lists show it."""

    postmortem: Postmortem
    incident: str
    incident_title: str
    severity: str
    overdue: bool


def meeting_overdue(postmortem: Postmortem, now: datetime) -> bool:
    """The postmortem's own deadline (``done_when: meeting``) has passed unmet."""
    due = postmortem.due_at
    return due is not None and postmortem.meeting_at is None and now >= due


async def list_all(
    session: AsyncSession,
    actor: Actor,
    *,
    now: datetime,
    statuses: Sequence[str] = (),
    limit: int = 200,
) -> list[PostmortemRow]:
    """Postmortems of the incidents the actor may see (only ``statuses``, if given):
    overdue ones first, then by due date (undated last), then the newest."""
    joined = select(Postmortem, Incident.ref, Incident.title, Incident.severity).join(
        Incident, Incident.id == Postmortem.incident_id
    )
    query = incidents.visible(cast("Select[Any]", joined), actor)
    if statuses:
        query = query.where(Postmortem.status.in_(statuses))
    rows = await session.execute(
        query.order_by(
            Postmortem.due_at.is_(None), Postmortem.due_at, Postmortem.created_at.desc()
        ).limit(limit)
    )
    out = [
        PostmortemRow(p, ref, title, severity, meeting_overdue(p, now))
        for p, ref, title, severity in rows
    ]
    return sorted(out, key=lambda row: not row.overdue)  # stable: due date order kept


# --- creating ----------------------------------------------------------------------------


async def _events(session: AsyncSession, incident: Incident, which: str) -> list[document.Event]:
    query = select(IncidentEvent).where(IncidentEvent.incident_id == incident.id)
    if which == "pinned":
        pinned = select(TimelinePin.event_id).where(TimelinePin.incident_id == incident.id)
        query = query.where(IncidentEvent.id.in_(pinned))
    rows = await session.scalars(query.order_by(IncidentEvent.at, IncidentEvent.id))
    return [document.Event(at=e.at, actor=e.actor, summary=e.summary) for e in rows]


async def _facts(
    session: AsyncSession, policy: Policy, incident: Incident, author: str, which: str
) -> document.Facts:
    rows = await session.execute(
        select(IncidentRole.role, User.email)
        .join(User, User.id == IncidentRole.user_id)
        .where(IncidentRole.incident_id == incident.id)
        .order_by(IncidentRole.assumed_at, IncidentRole.id)
    )
    roles: dict[str, list[str]] = {}
    for role, email in rows:
        handle = handle_of(policy, email)
        if handle not in roles.setdefault(role, []):
            roles[role].append(handle)
    severity = policy.severity(incident.severity)
    return document.Facts(
        ref=incident.ref,
        title=incident.title,
        summary=incident.summary,
        severity=incident.severity,
        severity_name=severity.name if severity else incident.severity,
        type=incident.type,
        author=author,
        status=incident.status,
        detected_at=incident.detected_at,
        acknowledged_at=incident.acknowledged_at,
        mitigated_at=incident.mitigated_at,
        resolved_at=incident.resolved_at,
        users_affected=incident.users_affected,
        users_affected_pct=incident.users_affected_pct,
        business_impact=incident.business_impact,
        components=list(incident.components),
        roles=roles,
        events=await _events(session, incident, which),
    )


def _meeting_due(policy: Policy, incident: Incident) -> datetime | None:
    severity = policy.severity(incident.severity)
    if severity is None or incident.resolved_at is None:
        return None
    planned = deadlines.plan(severity, incident.resolved_at, policy.organization.calendar())
    return next((p.due_at for p in planned if p.key == deadlines.MEETING), None)


async def create(
    session: AsyncSession, actor: Actor, ref: str, data: schemas.CreateIn, *, clock: Clock
) -> Postmortem:
    incident, _ = await writable(session, actor, ref, "add-note")
    return await _create(session, actor, incident, data.template, data.timeline, clock=clock)


async def _create(
    session: AsyncSession,
    actor: Actor,
    incident: Incident,
    template_key: str | None,
    which: str | None,
    *,
    clock: Clock,
) -> Postmortem:
    if await _of(session, incident) is not None:
        raise Conflict(
            f"{incident.ref} already has a postmortem", details={"incident": incident.ref}
        )
    own = await incidents.incident_policy(session, incident)
    try:
        template = template_for(own, incident.severity, template_key)
    except LookupError as exc:
        raise InvalidInput(str(exc), details={"field": "template"}) from exc
    zone = ZoneInfo(own.organization.timezone)
    author = handle_of(own, actor.email) if "@" in actor.email else actor.name
    facts = await _facts(session, own, incident, author, which or template.timeline)
    draft = document.build(template, facts, zone)
    now = clock.now()
    postmortem = Postmortem(
        incident_id=incident.id,
        status="draft",
        template=template.key,
        locale=template.locale,
        title=draft.title,
        fields=draft.fields,
        sections=draft.sections,
        reviewers=[],
        author=author,
        created_at=now,
        updated_at=now,
        due_at=_meeting_due(own, incident),
    )
    session.add(postmortem)
    await session.flush()
    await log(
        session,
        actor,
        incident,
        "postmortem",
        f"Postmortem created from the template {template.name!r}",
        clock=clock,
        after={"template": template.key, "timeline": which or template.timeline},
    )
    return postmortem


# --- after resolution ---------------------------------------------------------------------


async def on_resolved(
    session: AsyncSession, actor: Actor, incident: Incident, *, clock: Clock
) -> None:
    """Called in the transaction that resolves the incident: creates the postmortem the
    severity requires and plans the follow-up deadlines' reminders as jobs."""
    own = await incidents.incident_policy(session, incident)
    severity = own.severity(incident.severity)
    if severity is None or incident.resolved_at is None:
        return
    postmortem = await _of(session, incident)
    if postmortem is None and severity.postmortem.required:
        postmortem = await _create(session, actor, incident, None, None, clock=clock)
    elif postmortem is not None:
        postmortem.due_at = _meeting_due(own, incident)
    anchor = incident.resolved_at.isoformat()
    for planned in deadlines.plan(severity, incident.resolved_at, own.organization.calendar()):
        for phase, due in (("remind", planned.remind_at), ("overdue", planned.due_at)):
            if due is None:
                continue
            await jobs.schedule(
                session,
                DEADLINE_JOB,
                {
                    "incident": incident.id,
                    "deadline": planned.key,
                    "phase": phase,
                    "anchor": anchor,
                },
                clock=clock,
                due_at=due,
                dedup_key=f"postmortem:{incident.id}:{planned.key}:{phase}",
            )


async def progress(session: AsyncSession, incident: Incident) -> deadlines.Progress:
    """What has been done since resolution, for judging the deadlines."""
    postmortem = await _of(session, incident)
    open_items = await session.scalar(
        select(func.count())
        .select_from(ActionItem)
        .where(ActionItem.incident_id == incident.id, ActionItem.status.in_(OPEN_ACTION_STATUSES))
    )
    rows = await session.execute(
        select(ChecklistItem.checklist, func.count(), func.count(ChecklistItem.checked_at))
        .where(ChecklistItem.incident_id == incident.id)
        .group_by(ChecklistItem.checklist)
    )
    return deadlines.Progress(
        postmortem_status=postmortem.status if postmortem else None,
        meeting_at=postmortem.meeting_at if postmortem else None,
        open_action_items=int(open_items or 0),
        checklists={key: total == checked for key, total, checked in rows},
    )


async def deadline_states(
    session: AsyncSession, incident: Incident, *, now: datetime
) -> list[schemas.DeadlineOut]:
    own = await incidents.incident_policy(session, incident)
    severity = own.severity(incident.severity)
    if severity is None or incident.resolved_at is None:
        return []
    done = await progress(session, incident)
    out = []
    for p in deadlines.plan(severity, incident.resolved_at, own.organization.calendar()):
        met = deadlines.met(p.done_when, done)
        out.append(
            schemas.DeadlineOut(
                key=p.key,
                name=p.name,
                due_at=p.due_at,
                remind_at=p.remind_at,
                done_when=p.done_when,
                met=met,
                overdue=not met and now >= p.due_at,
            )
        )
    return out


# --- describing and exporting --------------------------------------------------------------


def _template_of(policy: Policy, postmortem: Postmortem) -> PostmortemTemplate:
    return policy.postmortems.template(postmortem.template) or BUILT_IN


def _root_cause_name(policy: Policy, key: str | None) -> str:
    cause = next((c for c in policy.root_causes if c.key == key), None)
    return cause.name if cause else (key or "")


async def describe(
    session: AsyncSession, incident: Incident, postmortem: Postmortem, *, clock: Clock
) -> schemas.PostmortemOut:
    return schemas.PostmortemOut(
        incident=incident.ref,
        status=postmortem.status,
        template=postmortem.template,
        title=postmortem.title,
        author=postmortem.author,
        root_cause=incident.root_cause,
        reviewers=[schemas.ReviewerOut(**r) for r in postmortem.reviewers],
        fields=[schemas.FieldOut(**f) for f in postmortem.fields],
        sections=[
            schemas.SectionOut(**{k: s[k] for k in ("key", "heading", "level", "body")})
            for s in postmortem.sections
        ],
        meeting_at=postmortem.meeting_at,
        due_at=postmortem.due_at,
        created_at=postmortem.created_at,
        updated_at=postmortem.updated_at,
        finalized_at=postmortem.finalized_at,
        deadlines=await deadline_states(session, incident, now=clock.now()),
    )


_STATUS_LABEL = {"draft": "Draft", "in_review": "In review", "final": "Final"}


async def export_markdown(session: AsyncSession, actor: Actor, ref: str) -> str:
    incident, postmortem = await get(session, actor, ref)
    own = await incidents.incident_policy(session, incident)
    template = _template_of(own, postmortem)
    items = await actions.items_of(session, incident)
    live = {
        "status": _STATUS_LABEL[postmortem.status],
        "reviewers": ", ".join(r["email"] for r in postmortem.reviewers),
        "root_cause": _root_cause_name(own, incident.root_cause),
    }
    zone = ZoneInfo(own.organization.timezone)
    table = actions.markdown(items, template.action_items_format, zone)
    return markdown.write(
        postmortem.title,
        template.field_format,
        postmortem.fields,
        postmortem.sections,
        live=live,
        generated={"action_items": table},
    )


# --- editing ---------------------------------------------------------------------------------


def _ensure_editable(postmortem: Postmortem) -> None:
    if postmortem.status == "final":
        raise Conflict(
            "the postmortem is final; move it back to draft to edit it",
            code="postmortem_final",
            details={"status": postmortem.status},
        )


def _apply_sections(postmortem: Postmortem, bodies: dict[str, str]) -> list[str]:
    """Set section bodies by key; returns the keys that changed."""
    known = {s["key"]: s for s in postmortem.sections}
    unknown = sorted(set(bodies) - set(known))
    if unknown:
        raise InvalidInput(
            f"unknown section(s) {', '.join(unknown)} (known: {', '.join(known)})",
            details={"field": "sections", "unknown": unknown},
        )
    generated = sorted(k for k in bodies if known[k]["fill"] == "action_items")
    if generated:
        raise InvalidInput(
            "the action items section is made from the action items; use tocsin actions",
            details={"field": "sections", "generated": generated},
        )
    changed = []
    sections = []
    for section in postmortem.sections:
        body = section["body"]
        if section["key"] in bodies:
            body = document.clean(bodies[section["key"]])
            if body != section["body"]:
                changed.append(section["key"])
        sections.append({**section, "body": body})
    postmortem.sections = sections
    return changed


async def update_sections(
    session: AsyncSession, actor: Actor, ref: str, data: schemas.SectionsIn, *, clock: Clock
) -> Postmortem:
    incident, _ = await writable(session, actor, ref, "add-note")
    postmortem = await _existing(session, incident)
    _ensure_editable(postmortem)
    changed = _apply_sections(postmortem, data.sections)
    if data.title is not None and document.one_line(data.title) != postmortem.title:
        postmortem.title = document.one_line(data.title)
        changed.append("title")
    await _changed(session, actor, incident, postmortem, changed, clock=clock)
    return postmortem


async def _changed(
    session: AsyncSession,
    actor: Actor,
    incident: Incident,
    postmortem: Postmortem,
    changed: Sequence[str],
    *,
    clock: Clock,
    how: str = "Edited",
) -> None:
    if not changed:
        return
    postmortem.updated_at = clock.now()
    await log(
        session,
        actor,
        incident,
        "postmortem",
        f"Postmortem {how.lower()}: {', '.join(changed)}",
        clock=clock,
        after={"changed": list(changed)},
    )


async def import_markdown(
    session: AsyncSession, actor: Actor, ref: str, text: str, *, clock: Clock
) -> Postmortem:
    """Read an edited Markdown export back into the sections, title and header fields;
    a changed root cause category line records it on the incident."""
    incident, _ = await writable(session, actor, ref, "add-note")
    postmortem = await _existing(session, incident)
    _ensure_editable(postmortem)
    parsed = markdown.read(text, postmortem.fields, postmortem.sections)
    changed = _apply_sections(postmortem, parsed.sections)
    if parsed.title != postmortem.title:
        postmortem.title = parsed.title
        changed.append("title")
    fields = []
    for f in postmortem.fields:
        value = parsed.fields.get(f["key"], f["value"])
        if f["key"] not in ("status", "reviewers", "root_cause") and value != f["value"]:
            changed.append(f["label"])
            f = {**f, "value": value}
        fields.append(f)
    postmortem.fields = fields
    await _changed(session, actor, incident, postmortem, changed, clock=clock, how="Imported")
    cause = parsed.fields.get("root_cause")
    if cause is not None:
        own = await incidents.incident_policy(session, incident)
        if cause != _root_cause_name(own, incident.root_cause):
            await set_root_cause(session, actor, incident.ref, cause or None, clock=clock)
    return postmortem


async def set_status(
    session: AsyncSession, actor: Actor, ref: str, data: schemas.StatusIn, *, clock: Clock
) -> Postmortem:
    """draft → in_review (with reviewers) → final (once every reviewer approved); back
    to draft at any time, which clears the approvals."""
    incident, _ = await writable(session, actor, ref, "edit-incident")
    postmortem = await _existing(session, incident)
    current, wanted = postmortem.status, data.status
    reviewers = list(postmortem.reviewers)
    for email in data.reviewers:
        user = await auth.get_user(session, email)
        if all(r["email"] != user.email for r in reviewers):
            reviewers.append({"email": user.email, "approved_at": None})
    if wanted == "in_review" and not reviewers:
        raise InvalidInput(
            "name at least one reviewer to send the postmortem for review",
            details={"field": "reviewers"},
        )
    if wanted == "final":
        waiting = [r["email"] for r in reviewers if r["approved_at"] is None]
        if current != "in_review" or waiting:
            raise Conflict(
                "a postmortem becomes final from review, once every reviewer approved"
                + (f" (waiting for {', '.join(waiting)})" if waiting else ""),
                code="postmortem_not_approved",
                details={"status": current, "waiting_for": waiting},
            )
    if wanted == "draft":
        reviewers = [{**r, "approved_at": None} for r in reviewers]
        postmortem.finalized_at = None
    if wanted == "final":
        postmortem.finalized_at = clock.now()
    postmortem.reviewers = reviewers
    if wanted == current and not data.reviewers:
        return postmortem
    postmortem.status = wanted
    postmortem.updated_at = clock.now()
    await log(
        session,
        actor,
        incident,
        "postmortem",
        f"Postmortem {current} → {wanted}"
        + (f" (reviewers: {', '.join(r['email'] for r in reviewers)})" if reviewers else ""),
        clock=clock,
        before={"status": current},
        after={"status": wanted, "reviewers": [r["email"] for r in reviewers]},
    )
    return postmortem


async def remove_reviewer(
    session: AsyncSession, actor: Actor, ref: str, email: str, *, clock: Clock
) -> Postmortem:
    """Take a reviewer off the postmortem (``edit-incident``); one under review keeps at
    least one reviewer (move it back to draft first)."""
    incident, _ = await writable(session, actor, ref, "edit-incident")
    postmortem = await _existing(session, incident)
    wanted = email.strip().lower()
    kept = [r for r in postmortem.reviewers if r["email"] != wanted]
    if len(kept) == len(postmortem.reviewers):
        raise NotFound(
            f"{email!r} is not a reviewer of this postmortem",
            details={"field": "reviewers", "reviewers": [r["email"] for r in kept]},
        )
    if postmortem.status != "draft" and not kept:
        raise InvalidInput(
            f"a postmortem {postmortem.status} keeps at least one reviewer"
            " (move it back to draft first)",
            details={"field": "reviewers"},
        )
    postmortem.reviewers = kept
    postmortem.updated_at = clock.now()
    await log(
        session,
        actor,
        incident,
        "postmortem",
        f"Postmortem reviewer removed: {wanted}",
        clock=clock,
        before={"reviewers": [wanted, *(r["email"] for r in kept)]},
        after={"reviewers": [r["email"] for r in kept]},
    )
    return postmortem


async def approve(session: AsyncSession, actor: Actor, ref: str, *, clock: Clock) -> Postmortem:
    """A reviewer approves the postmortem under review."""
    incident, postmortem = await get(session, actor, ref)
    if postmortem.status != "in_review":
        raise Conflict(
            f"the postmortem is {postmortem.status}, not in review",
            code="postmortem_not_in_review",
            details={"status": postmortem.status},
        )
    mine = [r for r in postmortem.reviewers if r["email"] == actor.email.lower()]
    if not mine:
        raise Forbidden(
            f"{actor.label} is not a reviewer of this postmortem",
            code="not_a_reviewer",
            details={"reviewers": [r["email"] for r in postmortem.reviewers]},
        )
    if mine[0]["approved_at"] is not None:
        return postmortem
    now = clock.now()
    postmortem.reviewers = [
        {**r, "approved_at": now.isoformat()} if r["email"] == actor.email.lower() else r
        for r in postmortem.reviewers
    ]
    postmortem.updated_at = now
    await log(
        session, actor, incident, "postmortem", f"Postmortem approved by {actor.name}", clock=clock
    )
    return postmortem


async def set_meeting(
    session: AsyncSession, actor: Actor, ref: str, at: datetime | None, *, clock: Clock
) -> Postmortem:
    incident, _ = await writable(session, actor, ref, "add-note")
    postmortem = await _existing(session, incident)
    if at == postmortem.meeting_at:
        return postmortem
    postmortem.meeting_at = at
    postmortem.updated_at = clock.now()
    when = "cancelled" if at is None else f"planned for {at.isoformat()}"
    await log(
        session,
        actor,
        incident,
        "postmortem",
        f"Postmortem meeting {when}",
        clock=clock,
        after={"meeting_at": None if at is None else at.isoformat()},
    )
    return postmortem


async def set_root_cause(
    session: AsyncSession, actor: Actor, ref: str, value: str | None, *, clock: Clock
) -> Incident:
    """Record the incident's root cause category (a key or name of ``root_causes``)."""
    incident, current = await writable(session, actor, ref, "edit-incident")
    key = None
    if value is not None:
        wanted = value.strip().lower()
        cause = next(
            (c for c in current.root_causes if wanted in (c.key.lower(), c.name.lower())), None
        )
        if cause is None:
            known = ", ".join(c.key for c in current.root_causes) or "none defined"
            raise InvalidInput(
                f"unknown root cause {value!r} (known: {known})",
                details={"field": "root_cause", "value": value},
            )
        key = cause.key
    if key == incident.root_cause:
        return incident
    before = incident.root_cause
    incident.root_cause = key
    await log(
        session,
        actor,
        incident,
        "root_cause",
        f"Root cause category: {_root_cause_name(current, key) or 'cleared'}",
        clock=clock,
        before={"root_cause": before},
        after={"root_cause": key},
    )
    return incident


async def pin(
    session: AsyncSession, actor: Actor, ref: str, event_id: int, pinned: bool, *, clock: Clock
) -> None:
    """Pin (or unpin) a timeline event for postmortems that show the pinned ones."""
    incident, _ = await writable(session, actor, ref, "add-note")
    event = await session.scalar(
        select(IncidentEvent).where(
            IncidentEvent.id == event_id, IncidentEvent.incident_id == incident.id
        )
    )
    if event is None:
        raise NotFound(f"{incident.ref} has no event {event_id}", details={"event": event_id})
    row = await session.get(TimelinePin, event_id)
    if pinned and row is None:
        session.add(
            TimelinePin(
                event_id=event_id,
                incident_id=incident.id,
                pinned_by=actor.label,
                pinned_at=clock.now(),
            )
        )
    elif not pinned and row is not None:
        await session.delete(row)
    await session.flush()
