"""On-call: who is on call, shifts, overrides and calendar feeds.

Schedules are policy (``schedules:``), computed by :mod:`tocsin.oncall.rotation`; overrides
and feed tokens are rows. Reading needs only a signed-in actor. Overrides need the
``manage-schedules`` permission (admins always have it), except that anyone in the policy
may put *themselves* on call (``replace`` or ``add`` with themselves as the person: taking
over a shift or joining it) and cancel overrides they created. Feeds may be created by
anyone signed in (they show what anyone signed in can read) and revoked by their creator or
an admin.

Times given without a UTC offset are wall-clock times in the schedule's zone (for a person
or every schedule at once: the person's zone, else the organisation's), read with the
rotation's DST rules. Services flush, never commit.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.audit import service as audit
from tocsin.auth.actor import Actor
from tocsin.auth.permissions import require
from tocsin.auth.secrets import token_hash
from tocsin.clock import Clock
from tocsin.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from tocsin.oncall import ical, rotation
from tocsin.oncall.build import build, zone_of
from tocsin.oncall.models import FeedToken, ScheduleOverride
from tocsin.oncall.schemas import (
    FeedOut,
    LayerOut,
    OnCallOut,
    OverrideIn,
    OverrideOut,
    PersonOut,
    ScheduleOut,
    ShiftOut,
    ShiftsOut,
)
from tocsin.policy import service as policies
from tocsin.policy.schema import Organization, Policy
from tocsin.policy.schema_oncall import WEEKDAY_NAMES as WEEKDAYS
from tocsin.policy.schema_oncall import LayerSpec, Restriction, ScheduleSpec
from tocsin.policy.spans import Span, format_timedelta

PERMISSION = "manage-schedules"
#: Shifts asked for without an end: this long.
DEFAULT_RANGE = timedelta(days=7)
#: The longest range of shifts one request computes.
MAX_RANGE = timedelta(days=366)
#: How far ``until`` (the next change of who is on call) is looked for.
UNTIL_HORIZON = timedelta(weeks=5)
#: A calendar feed starts this long before now ...
FEED_PAST = timedelta(days=7)
#: ... and computes shifts from this much earlier still, so that a shift running across
#: the feed's start keeps its real start, and so its UID, from one refresh to the next.
FEED_LOOKBACK = timedelta(days=35)
FEED_PREFIX = "tcf_"
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
_TICK = timedelta(microseconds=1)


# --- Times -----------------------------------------------------------------------------------


def instant(value: datetime, zone: str, field: str) -> datetime:
    """``value`` in UTC; without an offset it is a wall-clock time in ``zone``."""
    try:
        if value.tzinfo is None or value.utcoffset() is None:
            moment = rotation.local_to_utc(value.replace(tzinfo=None), ZoneInfo(zone))
        else:
            moment = value.astimezone(UTC)
    except (OverflowError, ValueError):
        moment = EARLIEST - _TICK
    if not EARLIEST <= moment < LATEST:
        raise InvalidInput(
            f"{field}: {value.isoformat()} is outside the years {EARLIEST.year}-{LATEST.year - 1}",
            details={"field": field},
        )
    return moment


def _range(
    start: datetime | None, end: datetime | None, zone: str, clock: Clock
) -> tuple[datetime, datetime]:
    low = clock.now() if start is None else instant(start, zone, "from")
    high = low + DEFAULT_RANGE if end is None else instant(end, zone, "to")
    if high <= low:
        raise InvalidInput(
            f"'to' ({high.isoformat()}) must be after 'from' ({low.isoformat()})",
            details={"field": "to"},
        )
    if high - low > MAX_RANGE:
        raise InvalidInput(
            f"at most {MAX_RANGE.days} days of shifts at once; ask for a shorter range",
            details={"field": "to"},
        )
    return low, high


def _span_length(span: Span) -> timedelta:
    """A policy duration as plain time (business days count as calendar days here)."""
    return span.time + timedelta(days=span.business_days)


# --- Policy lookups --------------------------------------------------------------------------


def schedule_spec(policy: Policy, key: str) -> ScheduleSpec:
    """The policy's schedule ``key``, or a 404 that lists the schedules there are."""
    spec = policy.schedule(key)
    if spec is None:
        known = [s.key for s in policy.schedules]
        raise NotFound(
            f"no schedule {key!r} in the policy (schedules: {', '.join(known) or 'none'})",
            details={"schedule": key, "known": known},
        )
    return spec


def _handle(policy: Policy, ref: str, field: str) -> str:
    """The handle of the policy's person ``ref`` (handle or e-mail), or a 422 naming ``field``."""
    person = policy.person(ref.strip())
    if person is None:
        known = sorted(p.handle for p in policy.people)
        raise InvalidInput(
            f"{field}: unknown person {ref!r}; the policy's people are: "
            f"{', '.join(known) or 'none'}",
            details={"field": field, "value": ref},
        )
    return person.handle


def person_out(policy: Policy, handle: str) -> PersonOut:
    person = policy.person(handle)
    if person is None:
        return PersonOut(handle=handle, name=handle, email=None)
    return PersonOut(handle=person.handle, name=person.name, email=person.email)


def _self(policy: Policy, actor: Actor) -> str | None:
    """The actor's own handle, if the policy lists them."""
    person = policy.person(actor.email)
    return None if person is None else person.handle


# --- Overrides (rows) ------------------------------------------------------------------------


async def _override_rows(
    session: AsyncSession, low: datetime, high: datetime, keys: Sequence[str] | None = None
) -> dict[str, list[rotation.Override]]:
    """Live overrides overlapping [low, high), per schedule, in the order they were made."""
    query = (
        select(ScheduleOverride)
        .where(
            ScheduleOverride.cancelled_at.is_(None),
            ScheduleOverride.starts_at < high,
            ScheduleOverride.ends_at > low,
        )
        .order_by(ScheduleOverride.id)
    )
    if keys is not None:
        query = query.where(ScheduleOverride.schedule_key.in_(list(keys)))
    found: dict[str, list[rotation.Override]] = {}
    for row in await session.scalars(query):
        found.setdefault(row.schedule_key, []).append(
            rotation.Override(
                row.starts_at,
                row.ends_at,
                row.action,  # type: ignore[arg-type]  # the CHECK constraint keeps it valid
                row.person,
                row.replaces,
            )
        )
    return found


async def _schedule(
    session: AsyncSession, policy: Policy, spec: ScheduleSpec, low: datetime, high: datetime
) -> rotation.Schedule:
    overrides = await _override_rows(session, low, high, [spec.key])
    return build(spec, policy, overrides.get(spec.key, ()))


async def on_call(
    session: AsyncSession, policy: Policy, schedule_key: str, at: datetime
) -> tuple[str, ...]:
    """Handles of the people on call on ``schedule_key`` at ``at``, overrides applied.

    Usually one; none in a gap of the schedule; more after an ``add`` override. Raises
    NotFound when the policy has no such schedule. (Called by the escalation engine.)
    """
    spec = schedule_spec(policy, schedule_key)
    moment = instant(at, zone_of(spec, policy.organization), "at")
    schedule = await _schedule(session, policy, spec, moment, moment + _TICK)
    return rotation.on_call(schedule, moment)


# --- Reading ---------------------------------------------------------------------------------


def _shift_text(layer: LayerSpec) -> str:
    if layer.shift in ("hourly", "daily", "weekly"):
        if layer.every == 1:
            return layer.shift
        unit = {"hourly": "hours", "daily": "days", "weekly": "weeks"}[layer.shift]
        return f"every {layer.every} {unit}"
    return format_timedelta(layer.length().step)


def _days(days: Sequence[str]) -> str:
    """``mon-fri`` for a run of days, else ``mon, wed``."""
    order = [WEEKDAYS.index(d) for d in days]
    if len(order) > 2 and order == list(range(order[0], order[0] + len(order))):
        return f"{days[0]}-{days[-1]}"
    return ", ".join(days)


def _restriction(restriction: Restriction, organization: Organization) -> str:
    if restriction == "business_hours":
        hours = organization.business_hours
        return f"business hours ({_days(hours.days)} {hours.start:%H:%M}-{hours.end:%H:%M})"
    return "; ".join(
        f"{_days(w.days)} {w.from_}-{w.to}" if w.days else f"{w.from_} -> {w.to}"
        for w in restriction
    )


def _when(layer: LayerSpec, organization: Organization) -> str:
    if layer.during is not None:
        return f"during {_restriction(layer.during, organization)}"
    if layer.outside is not None:
        return f"outside {_restriction(layer.outside, organization)}"
    return "always"


def _describe(
    policy: Policy, spec: ScheduleSpec, schedule: rotation.Schedule, now: datetime
) -> ScheduleOut:
    layers = [
        LayerOut(
            name=layer.name or f"layer {i + 1}",
            participants=[person_out(policy, h) for h in built.rotation.participants],
            shift=_shift_text(layer),
            handoff=layer.handoff,
            start=layer.start.isoformat(),
            when=_when(layer, policy.organization),
            windows=[str(w) for w in built.restrictions],
        )
        for i, (layer, built) in enumerate(zip(spec.layers, schedule.layers, strict=True))
    ]
    return ScheduleOut(
        key=spec.key,
        name=spec.name,
        description=spec.description,
        timezone=zone_of(spec, policy.organization),
        publish_ahead=str(spec.publish_ahead),
        layers=layers,
        on_call=[person_out(policy, h) for h in rotation.on_call(schedule, now)],
    )


async def list_schedules(session: AsyncSession, actor: Actor, *, clock: Clock) -> list[ScheduleOut]:
    """Every schedule of the current policy, with who is on call now."""
    _, policy = await policies.current(session)
    now = clock.now()
    overrides = await _override_rows(session, now, now + _TICK)
    return [
        _describe(policy, spec, build(spec, policy, overrides.get(spec.key, ())), now)
        for spec in policy.schedules
    ]


async def get_schedule(
    session: AsyncSession, actor: Actor, key: str, *, clock: Clock
) -> ScheduleOut:
    _, policy = await policies.current(session)
    spec = schedule_spec(policy, key)
    now = clock.now()
    return _describe(policy, spec, await _schedule(session, policy, spec, now, now + _TICK), now)


def _until(schedule: rotation.Schedule, at: datetime) -> datetime | None:
    """The first instant after ``at`` at which who is on call changes (within five weeks)."""
    found = rotation.shifts(schedule, at, at + UNTIL_HORIZON)
    changes = [s.end for s in found if s.start == at] + [s.start for s in found if s.start > at]
    soonest = min(changes, default=None)
    return None if soonest is None or soonest >= at + UNTIL_HORIZON else soonest


async def who_is_on_call(
    session: AsyncSession,
    actor: Actor,
    *,
    clock: Clock,
    at: datetime | None = None,
    schedule: str | None = None,
) -> list[OnCallOut]:
    """Who is on call now (or ``at``), on every schedule or on ``schedule``.

    A time without an offset is read in ``schedule``'s zone, else in the organisation's.
    """
    _, policy = await policies.current(session)
    specs = [schedule_spec(policy, schedule)] if schedule else list(policy.schedules)
    zone = zone_of(specs[0], policy.organization) if schedule else policy.organization.timezone
    moment = clock.now() if at is None else instant(at, zone, "at")
    overrides = await _override_rows(
        session, moment, moment + UNTIL_HORIZON, [s.key for s in specs]
    )
    answers = []
    for spec in specs:
        built = build(spec, policy, overrides.get(spec.key, ()))
        answers.append(
            OnCallOut(
                schedule=spec.key,
                name=spec.name,
                timezone=zone_of(spec, policy.organization),
                at=moment,
                people=[person_out(policy, h) for h in rotation.on_call(built, moment)],
                until=_until(built, moment),
            )
        )
    return answers


def _shift_out(policy: Policy, spec: ScheduleSpec, shift: rotation.Shift) -> ShiftOut:
    return ShiftOut(
        schedule=spec.key,
        schedule_name=spec.name,
        timezone=zone_of(spec, policy.organization),
        person=person_out(policy, shift.person),
        start=shift.start,
        end=shift.end,
    )


async def schedule_shifts(
    session: AsyncSession,
    actor: Actor,
    key: str,
    *,
    clock: Clock,
    start: datetime | None = None,
    end: datetime | None = None,
) -> ShiftsOut:
    """The schedule's shifts over [start, end): from now for a week by default."""
    _, policy = await policies.current(session)
    spec = schedule_spec(policy, key)
    zone = zone_of(spec, policy.organization)
    low, high = _range(start, end, zone, clock)
    built = await _schedule(session, policy, spec, low, high)
    return ShiftsOut(
        schedule=spec.key,
        schedule_name=spec.name,
        person=None,
        timezone=zone,
        start=low,
        end=high,
        shifts=[_shift_out(policy, spec, s) for s in rotation.shifts(built, low, high)],
    )


async def _all_shifts(
    session: AsyncSession, policy: Policy, handle: str, spans: dict[str, tuple[datetime, datetime]]
) -> list[tuple[ScheduleSpec, rotation.Shift]]:
    """``handle``'s shifts on every schedule, each over its own range, by start."""
    if not spans:
        return []
    low = min(low for low, _ in spans.values())
    high = max(high for _, high in spans.values())
    overrides = await _override_rows(session, low, high, list(spans))
    found = []
    for spec in policy.schedules:
        if spec.key not in spans:
            continue
        built = build(spec, policy, overrides.get(spec.key, ()))
        found += [(spec, s) for s in rotation.shifts(built, *spans[spec.key]) if s.person == handle]
    return sorted(found, key=lambda item: (item[1].start, item[0].key))


async def person_shifts(
    session: AsyncSession,
    actor: Actor,
    person: str,
    *,
    clock: Clock,
    start: datetime | None = None,
    end: datetime | None = None,
) -> ShiftsOut:
    """One person's shifts on every schedule over [start, end)."""
    _, policy = await policies.current(session)
    found = policy.person(person.strip())
    if found is None:
        raise NotFound(
            f"no person {person!r} in the policy",
            details={"person": person, "known": sorted(p.handle for p in policy.people)},
        )
    zone = found.timezone or policy.organization.timezone
    low, high = _range(start, end, zone, clock)
    spans = {spec.key: (low, high) for spec in policy.schedules}
    pairs = await _all_shifts(session, policy, found.handle, spans)
    return ShiftsOut(
        schedule=None,
        schedule_name=None,
        person=person_out(policy, found.handle),
        timezone=zone,
        start=low,
        end=high,
        shifts=[_shift_out(policy, spec, shift) for spec, shift in pairs],
    )


# --- Overrides -------------------------------------------------------------------------------


def override_out(policy: Policy, row: ScheduleOverride) -> OverrideOut:
    spec = policy.schedule(row.schedule_key)
    return OverrideOut(
        id=row.id,
        schedule=row.schedule_key,
        timezone=policy.organization.timezone
        if spec is None
        else zone_of(spec, policy.organization),
        start=row.starts_at,
        end=row.ends_at,
        action=row.action,
        person=person_out(policy, row.person),
        replaces=None if row.replaces is None else person_out(policy, row.replaces),
        reason=row.reason,
        created_by=row.created_by,
        created_at=row.created_at,
        cancelled_at=row.cancelled_at,
        cancelled_by=row.cancelled_by,
    )


def _view(row: ScheduleOverride) -> dict[str, Any]:
    return {
        "schedule": row.schedule_key,
        "start": row.starts_at.isoformat(),
        "end": row.ends_at.isoformat(),
        "action": row.action,
        "person": row.person,
        "replaces": row.replaces,
        "reason": row.reason,
    }


async def add_override(
    session: AsyncSession, actor: Actor, key: str, data: OverrideIn, *, clock: Clock
) -> OverrideOut:
    """Put someone on call instead of, besides, or no longer, for a while.

    Needs ``manage-schedules``, unless the actor puts themselves on call (``replace`` or
    ``add`` with their own handle as ``person``).
    """
    _, policy = await policies.current(session)
    spec = schedule_spec(policy, key)
    zone = zone_of(spec, policy.organization)
    person = _handle(policy, data.person, "person")
    replaces = None if data.replaces is None else _handle(policy, data.replaces, "replaces")
    if replaces is not None and data.action != "replace":
        raise InvalidInput(
            f"replaces: only a 'replace' override names whom it replaces, not {data.action!r}",
            details={"field": "replaces"},
        )
    if replaces == person:
        raise InvalidInput(
            f"replaces: {person!r} cannot replace themselves", details={"field": "replaces"}
        )
    start, end = instant(data.start, zone, "start"), instant(data.end, zone, "end")
    if end <= start:
        raise InvalidInput(
            f"end ({end.isoformat()}) must be after start ({start.isoformat()})",
            details={"field": "end"},
        )
    now = clock.now()
    if end <= now:
        raise InvalidInput(
            f"end ({end.isoformat()}) has passed; an override changes who is on call from now on",
            details={"field": "end"},
        )
    if end - start > MAX_RANGE:
        raise InvalidInput(
            f"an override lasts at most {MAX_RANGE.days} days; change the policy for longer",
            details={"field": "end"},
        )
    taking_a_shift = data.action in ("replace", "add") and person == _self(policy, actor)
    if not taking_a_shift:
        require(policy, actor, PERMISSION)
    row = ScheduleOverride(
        schedule_key=spec.key,
        starts_at=start,
        ends_at=end,
        action=data.action,
        person=person,
        replaces=replaces,
        reason=data.reason.strip(),
        created_by=actor.label,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    await audit.record(
        session, actor, "oncall.override.add", "override", row.id, clock=clock, after=_view(row)
    )
    return override_out(policy, row)


async def list_overrides(
    session: AsyncSession,
    actor: Actor,
    *,
    clock: Clock,
    schedule: str | None = None,
    include_past: bool = False,
    include_cancelled: bool = False,
) -> list[OverrideOut]:
    """Overrides by start: current and coming ones unless asked for past/cancelled ones."""
    _, policy = await policies.current(session)
    query = select(ScheduleOverride).order_by(ScheduleOverride.starts_at, ScheduleOverride.id)
    if schedule is not None:
        query = query.where(ScheduleOverride.schedule_key == schedule_spec(policy, schedule).key)
    if not include_past:
        query = query.where(ScheduleOverride.ends_at > clock.now())
    if not include_cancelled:
        query = query.where(ScheduleOverride.cancelled_at.is_(None))
    return [override_out(policy, row) for row in await session.scalars(query)]


async def cancel_override(
    session: AsyncSession,
    actor: Actor,
    override_id: int,
    *,
    clock: Clock,
    schedule: str | None = None,
) -> OverrideOut:
    """Cancel an override that has not ended (its creator, or ``manage-schedules``)."""
    _, policy = await policies.current(session)
    row = await session.get(ScheduleOverride, override_id)
    if row is None or (schedule is not None and row.schedule_key != schedule):
        where = f" on schedule {schedule!r}" if schedule else ""
        raise NotFound(f"no override {override_id}{where}", details={"override": override_id})
    if row.created_by != actor.label:
        require(policy, actor, PERMISSION)
    if row.cancelled_at is not None:
        return override_out(policy, row)
    now = clock.now()
    if row.ends_at <= now:
        raise Conflict(
            f"override {override_id} ended at {row.ends_at.isoformat()}; "
            "past overrides stay as the record of who was on call",
            details={"override": override_id},
        )
    row.cancelled_at, row.cancelled_by = now, actor.label
    await session.flush()
    await audit.record(
        session, actor, "oncall.override.cancel", "override", row.id, clock=clock, before=_view(row)
    )
    return override_out(policy, row)


# --- Calendar feeds --------------------------------------------------------------------------


def feed_path(secret: str) -> str:
    """The feed's path under the API root."""
    return f"/ical/{secret}.ics"


async def create_feed(
    session: AsyncSession,
    actor: Actor,
    *,
    clock: Clock,
    schedule: str | None = None,
    person: str | None = None,
) -> tuple[FeedToken, str]:
    """A secret calendar URL for ``schedule`` or ``person``; the secret is returned once."""
    _, policy = await policies.current(session)
    if (schedule is None) == (person is None):
        raise InvalidInput("give either a schedule or a person", details={"field": "schedule"})
    if schedule is not None:
        kind, subject = "schedule", schedule_spec(policy, schedule).key
    else:
        kind, subject = "person", _handle(policy, person or "", "person")
    secret = FEED_PREFIX + secrets.token_urlsafe(32)
    feed = FeedToken(
        token_hash=token_hash(secret),
        kind=kind,
        subject=subject,
        created_by=actor.label,
        created_at=clock.now(),
    )
    session.add(feed)
    await session.flush()
    await audit.record(
        session,
        actor,
        "oncall.feed.create",
        "feed",
        feed.id,
        clock=clock,
        after={"kind": kind, "subject": subject},
    )
    return feed, secret


async def list_feeds(session: AsyncSession, actor: Actor) -> list[FeedOut]:
    """The actor's feeds (an admin's: everyone's), never their secrets."""
    query = select(FeedToken).order_by(FeedToken.id)
    if not actor.is_admin:
        query = query.where(FeedToken.created_by == actor.label)
    return [FeedOut.model_validate(f) for f in await session.scalars(query)]


async def revoke_feed(
    session: AsyncSession, actor: Actor, feed_id: int, *, clock: Clock
) -> FeedOut:
    feed = await session.get(FeedToken, feed_id)
    if feed is None or (not actor.is_admin and feed.created_by != actor.label):
        raise NotFound(f"no calendar feed with id {feed_id}", details={"feed": feed_id})
    if feed.revoked_at is None:
        feed.revoked_at = clock.now()
        await session.flush()
        await audit.record(session, actor, "oncall.feed.revoke", "feed", feed.id, clock=clock)
    return FeedOut.model_validate(feed)


def _local(moment: datetime, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime("%a %d %b %Y %H:%M %Z")


def _events(
    policy: Policy, pairs: Iterable[tuple[ScheduleSpec, rotation.Shift]], *, per_person: bool
) -> list[ical.Event]:
    events = []
    for spec, shift in pairs:
        zone = zone_of(spec, policy.organization)
        who = person_out(policy, shift.person)
        events.append(
            ical.Event(
                uid=f"{spec.key}/{shift.person}/{ical.utc_stamp(shift.start)}@tocsin",
                start=shift.start,
                end=shift.end,
                summary=f"On call: {spec.name}" if per_person else f"On call: {who.name}",
                description=(
                    f"{who.name} is on call for {spec.name} ({spec.key})\n"
                    f"{_local(shift.start, zone)} - {_local(shift.end, zone)}"
                ),
            )
        )
    return events


async def render_feed(session: AsyncSession, secret: str, *, clock: Clock) -> str:
    """The iCalendar text of the feed whose secret is ``secret`` (the secret is the sign-in).

    Shifts from a week ago to each schedule's ``publish_ahead``. A feed whose schedule or
    person has left the policy is an empty calendar; an unknown or revoked secret is refused
    like a wrong token (401).
    """
    feed = await session.scalar(select(FeedToken).where(FeedToken.token_hash == token_hash(secret)))
    if feed is None or feed.revoked_at is not None:
        raise Unauthenticated("this calendar feed URL is unknown or has been revoked")
    _, policy = await policies.current(session)
    now = clock.now()
    low = now - FEED_PAST

    def span(spec: ScheduleSpec) -> tuple[datetime, datetime]:
        return low - FEED_LOOKBACK, now + _span_length(spec.publish_ahead)

    if feed.kind == "schedule":
        spec = policy.schedule(feed.subject)
        name = f"On call: {spec.name if spec else feed.subject}"
        pairs: list[tuple[ScheduleSpec, rotation.Shift]] = []
        if spec is not None:
            built = await _schedule(session, policy, spec, *span(spec))
            pairs = [(spec, s) for s in rotation.shifts(built, *span(spec))]
        per_person = False
    else:
        who = person_out(policy, feed.subject)
        name = f"On call: {who.name}"
        spans = {spec.key: span(spec) for spec in policy.schedules}
        known = policy.person(feed.subject) is not None
        pairs = await _all_shifts(session, policy, feed.subject, spans) if known else []
        per_person = True
    shown = [(spec, s) for spec, s in pairs if s.end > low]
    return ical.calendar(
        name,
        _events(policy, shown, per_person=per_person),
        stamp=now,
        description=f"{policy.organization.name}: on-call shifts (Tocsin)",
    )
