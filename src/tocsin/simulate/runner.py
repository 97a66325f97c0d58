"""Run a scenario through the real services and job handlers under a virtual clock.

The database is a throwaway SQLite file in a temporary directory, built by the same
migrations as production; the worker is the production ``run_due``. What comes out is
read back from the incident's timeline, so it is exactly what the engine did.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from tocsin.auth import service as auth
from tocsin.auth.actor import SYSTEM, Actor
from tocsin.clock import VirtualClock
from tocsin.db import Database
from tocsin.errors import InvalidInput
from tocsin.escalation.effects import EFFECT_KINDS
from tocsin.incidents import schemas
from tocsin.incidents import service as incidents
from tocsin.incidents.models import IncidentEvent
from tocsin.jobs import service as jobs
from tocsin.jobs.models import Job
from tocsin.jobs.registry import load_handlers
from tocsin.jobs.worker import run_due
from tocsin.migrate import upgrade
from tocsin.notify.service import DELIVER
from tocsin.policy import service as policies
from tocsin.policy.schema import Policy
from tocsin.policy.spans import format_timedelta
from tocsin.settings import Settings
from tocsin.simulate.scenario import Event, Scenario

#: Timeline kinds reported besides the engine's effects.
STATUS_KINDS = ("declared", "status", "reopened", "severity", "acknowledged", "role_assigned")
#: A comms route that fired (target ``route:<key>``, via its channels).
COMMS_KIND = "comms"
_WORKER = "simulate"


@dataclass
class Effect:
    at: datetime
    offset: timedelta
    kind: str
    target: str
    resolved_to: list[str]
    via: list[str]
    reason: str

    def as_json(self, zone: ZoneInfo) -> dict[str, Any]:
        return {
            "at": self.at.astimezone(zone).isoformat(),
            "offset": "+" + format_timedelta(self.offset),
            "kind": self.kind,
            "target": self.target,
            "resolved_to": self.resolved_to,
            "via": self.via,
            "reason": self.reason,
        }


async def simulate(
    policy_text: str, scenario: Scenario, *, source: str = "<policy>"
) -> list[Effect]:
    """Every effect of ``scenario`` under the policy, in time order."""
    load_handlers()
    # In memory where the system offers a RAM file system, and never synced: it is thrown away.
    ram = Path("/dev/shm")
    where = str(ram) if ram.is_dir() and os.access(ram, os.W_OK) else None
    with tempfile.TemporaryDirectory(prefix="tocsin-simulate-", dir=where) as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'simulate.db'}"
        db = Database(Settings(database_url=url, sqlite_synchronous="OFF"))
        try:
            await upgrade(db.write_engine)
            return await _run(db, policy_text, scenario, source)
        finally:
            await db.dispose()


async def _run(db: Database, policy_text: str, scenario: Scenario, source: str) -> list[Effect]:
    start = scenario.start
    clock = VirtualClock(start)
    async with db.write() as session:
        _, _ = await policies.apply(session, SYSTEM, policy_text, clock=clock, source=source)
        _, policy = await policies.current(session)
    ref: str | None = None
    for event in sorted(scenario.events, key=lambda e: e.at):
        await run_until(db, clock, start + event.at, deliver=False)
        try:
            async with db.write() as session:
                ref = await _apply(session, policy, event, ref, clock)
        except InvalidInput as exc:
            raise InvalidInput(f"event at +{format_timedelta(event.at)}: {exc.message}") from exc
    await run_until(db, clock, start + scenario.end, deliver=False)
    async with db.read() as session:
        return await _effects(session, policy, start)


async def run_until(
    db: Database, clock: VirtualClock, until: datetime, *, deliver: bool = True
) -> None:
    """Run every job due up to ``until``, moving the clock to each due time in turn.

    With ``deliver=False`` (a dry run) queued messages are never sent: their delivery jobs
    are cancelled before each round, so a simulated incident reaches nobody for real.
    """
    while True:
        if not deliver:
            await _hold_deliveries(db)
        async with db.read() as session:
            due = await jobs.next_due(session)
        if due is None or due > until:
            break
        if due > clock.now():
            clock.set(due)
        if not await run_due(db, clock, _WORKER):
            break  # nothing claimable at this instant (a lease still running): move on
    if until > clock.now():
        clock.set(until)


async def _hold_deliveries(db: Database) -> None:
    async with db.write() as session:
        await session.execute(
            update(Job)
            .where(Job.kind == DELIVER, Job.status == "pending")
            .values(status="cancelled")
        )


async def _actor(session: Any, policy: Policy, handle: str | None) -> Actor:
    if handle is None:
        return SYSTEM
    person = policy.person(handle)
    email = person.email if person else handle
    user = await auth.user_by_email(session, email)
    if user is None:
        raise InvalidInput(f"unknown person {handle!r} (not in the policy's people)")
    return auth.actor_for(user)


def _needs(ref: str | None) -> str:
    if ref is None:
        raise InvalidInput("no incident yet: the first event must declare one")
    return ref


async def _apply(
    session: Any, policy: Policy, event: Event, ref: str | None, clock: VirtualClock
) -> str | None:
    """Perform one scenario event through the services; returns the incident's ref."""
    if event.declare is not None:
        spec = event.declare
        actor = await _actor(session, policy, spec.by)
        data = schemas.DeclareIn(
            title=spec.title, severity=spec.severity, type=spec.type, components=spec.components
        )
        incident = await incidents.declare(session, actor, data, clock=clock)
        return incident.ref
    current = _needs(ref)
    if event.ack is not None:
        actor = await _actor(session, policy, event.ack.by)
        await incidents.acknowledge(session, actor, current, clock=clock)
    elif event.status is not None:
        actor = await _actor(session, policy, event.status.by)
        await incidents.set_status(
            session, actor, current, event.status.to, clock=clock, note=event.status.note
        )
    elif event.severity is not None:
        actor = await _actor(session, policy, event.severity.by)
        await incidents.change_severity(
            session, actor, current, event.severity.to, clock=clock, reason=event.severity.reason
        )
    elif event.assign is not None:
        actor = await _actor(session, policy, event.assign.by)
        person = policy.person(event.assign.to)
        email = person.email if person else event.assign.to
        await incidents.assign_role(session, actor, current, event.assign.role, email, clock=clock)
    elif event.note is not None:
        actor = await _actor(session, policy, event.note.by)
        await incidents.add_note(session, actor, current, event.note.text, clock=clock)
    elif event.update is not None:
        actor = await _actor(session, policy, event.update.by)
        await incidents.post_update(session, actor, current, event.update.text, clock=clock)
    elif event.mitigation is not None:
        actor = await _actor(session, policy, event.mitigation.by)
        proposal = schemas.MitigationIn(**event.mitigation.model_dump(exclude={"by"}))
        await incidents.propose_mitigation(session, actor, current, proposal, clock=clock)
    return current


async def _effects(session: Any, policy: Policy, start: datetime) -> list[Effect]:
    rows = await session.scalars(
        select(IncidentEvent)
        .where(IncidentEvent.kind.in_((*EFFECT_KINDS, *STATUS_KINDS, COMMS_KIND)))
        .order_by(IncidentEvent.at, IncidentEvent.id)
    )
    out = []
    for row in rows:
        after = row.data.get("after", {})
        if row.kind in EFFECT_KINDS:
            effect = after.get("effect", {})
            out.append(
                Effect(
                    row.at,
                    row.at - start,
                    row.kind,
                    effect.get("target", ""),
                    list(effect.get("resolved_to", [])),
                    list(effect.get("via", [])),
                    effect.get("reason", ""),
                )
            )
        elif row.kind == COMMS_KIND:
            out.append(_comms_effect(row, start))
        else:
            person = policy.person(row.actor)
            who = "user:" + (person.handle if person else row.actor)
            out.append(Effect(row.at, row.at - start, "status", who, [], [], row.summary))
    return out


def _comms_effect(row: IncidentEvent, start: datetime) -> Effect:
    """A route that fired (``route:<key>``), or a message someone sent (``channel:<key>``)."""
    data = row.data.get("after", {})
    problems = [*data.get("problems", []), *data.get("unreachable", [])]
    if "route" in data:
        sent = data.get("messages", [])
        target = f"route:{data['route']}"
        to = [str(m.get("person") or m.get("recipient")) for m in sent]
        via = list(dict.fromkeys(str(m.get("channel")) for m in sent))
        reason = str(data.get("reason", ""))
    else:
        target = f"channel:{data.get('channel', '')}"
        to = [str(r) for r in data.get("recipients", [])]
        via = [str(data.get("channel", ""))]
        reason = row.summary
    reason += "".join(f"; {p}" for p in problems)
    return Effect(row.at, row.at - start, COMMS_KIND, target, to, via, reason)
