"""The on-call service on SQLite and PostgreSQL: who is on call, shifts, overrides,
permissions, audit, and calendar feeds parsed by a real iCalendar parser.

Seed 004 (UTC; business hours Mon-Fri 09:00-17:00): the weekday rotation [oncall.primary,
oncall.weekday2] and the after-hours rotation [oncall.secondary, oncall.afterhours2] hand
off daily at 09:00 from Monday 5 January 2026. Thursday 15 January (the test clock's START,
09:00 UTC) is day 10: oncall.primary has the day, oncall.secondary the night after it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest

from tocsin.audit import service as audit
from tocsin.auth import service as auth
from tocsin.auth.actor import SYSTEM, Actor
from tocsin.clock import VirtualClock
from tocsin.context import Context
from tocsin.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated
from tocsin.oncall import service as oncall
from tocsin.oncall.schemas import OverrideIn
from tocsin.policy import service as policies

POLICIES = Path(__file__).resolve().parents[2] / "examples" / "policies"
SEED_000 = POLICIES / "seed-000-arabisch-online-leren.yaml"
START = datetime(2026, 1, 15, 9, tzinfo=UTC)  # the clock fixture's start
AMS = ZoneInfo("Europe/Amsterdam")
NY = ZoneInfo("America/New_York")
PRIMARY, WEEKDAY2 = "oncall.primary", "oncall.weekday2"
SECONDARY, AFTERHOURS2 = "oncall.secondary", "oncall.afterhours2"

#: A small policy in New York with a role that may manage schedules.
OPS_POLICY = """\
tocsin: 1
organization: {name: Ops, timezone: America/New_York}
severities: [{key: SEV1, name: Critical}]
roles:
  - {key: scheduler, name: Scheduler, permissions: [manage-schedules]}
people:
  - {email: sam@example.com, name: Sam, roles: [scheduler]}
  - {email: ana@example.com, name: Ana}
  - {email: ben@example.com, name: Ben}
  - {email: cy@example.com, name: Cy}
schedules:
  - key: ops
    name: Ops
    layers:
      - {participants: [ana, ben], shift: daily, handoff: "09:00", start: 2026-01-05}
"""


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


async def on_call(ctx: Context, key: str, at: datetime) -> tuple[str, ...]:
    async with ctx.db.read() as session:
        _, policy = await policies.current(session)
        return await oncall.on_call(session, policy, key, at)


async def add(ctx: Context, actor: Actor, key: str = "on-call", **fields: object) -> int:
    async with ctx.db.write() as session:
        made = await oncall.add_override(
            session, actor, key, OverrideIn.model_validate(fields), clock=ctx.clock
        )
    return made.id


async def person(ctx: Context, email: str) -> Actor:
    async with ctx.db.read() as session:
        return auth.actor_for(await auth.get_user(session, email))


async def apply_text(ctx: Context, text: str, source: str = "ops.yaml") -> None:
    async with ctx.db.write() as session:
        await policies.apply(session, SYSTEM, text, clock=ctx.clock, source=source)


async def apply_policy(ctx: Context, path: Path) -> None:
    await apply_text(ctx, path.read_text(encoding="utf-8"), path.name)


async def add_user(ctx: Context, email: str) -> Actor:
    async with ctx.db.write() as session:
        return auth.actor_for(await auth.create_user(session, SYSTEM, email, clock=ctx.clock))


# --- Who is on call --------------------------------------------------------------------------


async def test_seed_004_day_and_night(seeded: Context) -> None:
    assert await on_call(seeded, "on-call", START) == (PRIMARY,)
    assert await on_call(seeded, "on-call", utc(2026, 1, 15, 16, 59)) == (PRIMARY,)
    assert await on_call(seeded, "on-call", utc(2026, 1, 15, 17)) == (SECONDARY,)
    assert await on_call(seeded, "on-call", utc(2026, 1, 16, 8, 59)) == (SECONDARY,)
    assert await on_call(seeded, "on-call", utc(2026, 1, 16, 9)) == (WEEKDAY2,)
    assert await on_call(seeded, "on-call", utc(2026, 1, 17, 12)) == (SECONDARY,)  # Saturday
    with pytest.raises(NotFound, match=r"no schedule 'primary'.*on-call"):
        await on_call(seeded, "primary", START)


async def test_seed_000_office_hours_are_local_across_spring_forward(ctx: Context) -> None:
    await apply_policy(ctx, SEED_000)
    friday, monday = datetime(2026, 3, 27, 10, tzinfo=AMS), datetime(2026, 3, 30, 9, tzinfo=AMS)
    assert await on_call(ctx, "primary", friday) == ("dev-team-lead",)
    assert await on_call(ctx, "secondary", friday) == ("senior-developer",)
    assert await on_call(ctx, "primary", monday - timedelta(minutes=1)) == ("on-call-engineer",)
    assert await on_call(ctx, "secondary", monday - timedelta(minutes=1)) == ("dev-team-lead",)
    assert monday == utc(2026, 3, 30, 7)  # 09:00 CEST
    assert await on_call(ctx, "primary", monday) == ("dev-team-lead",)
    assert await on_call(ctx, "secondary", monday) == ("senior-developer",)


async def test_who_is_on_call_now_and_until(seeded: Context) -> None:
    async with seeded.db.read() as session:
        (now,) = await oncall.who_is_on_call(session, SYSTEM, clock=seeded.clock)
        (night,) = await oncall.who_is_on_call(
            session, SYSTEM, clock=seeded.clock, at=utc(2026, 1, 16, 20), schedule="on-call"
        )
        (naive,) = await oncall.who_is_on_call(
            session, SYSTEM, clock=seeded.clock, at=datetime(2026, 1, 16, 20)
        )
    assert (now.schedule, now.timezone, now.at) == ("on-call", "UTC", START)
    assert [p.handle for p in now.people] == [PRIMARY]
    assert now.people[0].email == "oncall.primary@example.com"
    assert now.until == utc(2026, 1, 15, 17)
    # Friday night: the after-hours turn of day 11 runs to Saturday's 09:00 handoff.
    assert [p.handle for p in night.people] == [AFTERHOURS2]
    assert night.until == utc(2026, 1, 17, 9)
    assert naive == night  # no offset: the organisation's zone (UTC)


async def test_schedules_are_described(seeded: Context) -> None:
    async with seeded.db.read() as session:
        (listed,) = await oncall.list_schedules(session, SYSTEM, clock=seeded.clock)
        one = await oncall.get_schedule(session, SYSTEM, "on-call", clock=seeded.clock)
    assert listed == one
    assert (one.key, one.timezone, one.publish_ahead) == ("on-call", "UTC", "14d")
    after, weekday = one.layers
    assert [p.handle for p in after.participants] == [SECONDARY, AFTERHOURS2]
    assert (after.shift, after.handoff, after.start) == ("daily", "09:00", "2026-01-05")
    assert after.when == "outside business hours (mon-fri 09:00-17:00)"
    assert weekday.when == "during business hours (mon-fri 09:00-17:00)"
    assert weekday.windows[0] == "Mon 09:00 -> Mon 17:00"
    assert [p.handle for p in one.on_call] == [PRIMARY]


# --- Shifts ----------------------------------------------------------------------------------


async def test_a_weekend_of_shifts(seeded: Context) -> None:
    async with seeded.db.read() as session:
        found = await oncall.schedule_shifts(
            session,
            SYSTEM,
            "on-call",
            clock=seeded.clock,
            start=datetime(2026, 1, 16),
            end=datetime(2026, 1, 19),
        )
    assert (found.start, found.end, found.timezone) == (utc(2026, 1, 16), utc(2026, 1, 19), "UTC")
    assert [(s.person.handle, s.start, s.end) for s in found.shifts] == [
        (SECONDARY, utc(2026, 1, 16), utc(2026, 1, 16, 9)),
        (WEEKDAY2, utc(2026, 1, 16, 9), utc(2026, 1, 16, 17)),
        (AFTERHOURS2, utc(2026, 1, 16, 17), utc(2026, 1, 17, 9)),
        (SECONDARY, utc(2026, 1, 17, 9), utc(2026, 1, 18, 9)),
        (AFTERHOURS2, utc(2026, 1, 18, 9), utc(2026, 1, 19)),
    ]


async def test_shifts_default_to_a_week_from_now(seeded: Context) -> None:
    async with seeded.db.read() as session:
        found = await oncall.schedule_shifts(session, SYSTEM, "on-call", clock=seeded.clock)
    assert (found.start, found.end) == (START, START + timedelta(days=7))
    assert found.shifts[0].start == START and found.shifts[-1].end == START + timedelta(days=7)
    assert [b.start for b in found.shifts[1:]] == [a.end for a in found.shifts[:-1]]


async def test_a_persons_shifts_across_schedules_in_their_zone(ctx: Context) -> None:
    await apply_policy(ctx, SEED_000)
    async with ctx.db.read() as session:
        found = await oncall.person_shifts(
            session,
            SYSTEM,
            "dev-team-lead@example.nl",
            clock=ctx.clock,
            start=datetime(2026, 3, 27),  # Amsterdam midnight, the organisation's zone
            end=datetime(2026, 3, 31),
        )
    assert found.person is not None and found.person.handle == "dev-team-lead"
    assert found.timezone == "Europe/Amsterdam"
    assert [(s.schedule, s.start.astimezone(AMS).hour) for s in found.shifts] == [
        ("secondary", 0),
        ("primary", 9),
        ("secondary", 18),  # Friday 18:00 ...
        ("primary", 9),  # ... to Monday 09:00 CEST, one hour of it skipped
        ("secondary", 18),
    ]
    assert found.shifts[2].end - found.shifts[2].start == timedelta(hours=62)
    assert found.shifts[-1].end == datetime(2026, 3, 31, tzinfo=AMS)


async def test_range_errors_name_the_field(seeded: Context) -> None:
    async with seeded.db.read() as session:
        with pytest.raises(InvalidInput, match=r"'to'.*must be after 'from'") as backwards:
            await oncall.schedule_shifts(
                session, SYSTEM, "on-call", clock=seeded.clock, start=START, end=START
            )
        with pytest.raises(InvalidInput, match="at most 366 days") as too_long:
            await oncall.schedule_shifts(
                session,
                SYSTEM,
                "on-call",
                clock=seeded.clock,
                start=START,
                end=START + timedelta(days=400),
            )
        with pytest.raises(InvalidInput, match="from: 0001-01-01") as ancient:
            await oncall.schedule_shifts(
                session, SYSTEM, "on-call", clock=seeded.clock, start=datetime(1, 1, 1)
            )
        with pytest.raises(NotFound, match="no person 'nobody'"):
            await oncall.person_shifts(session, SYSTEM, "nobody", clock=seeded.clock)
    assert backwards.value.details == too_long.value.details == {"field": "to"}
    assert ancient.value.details == {"field": "from"}


# --- Overrides -------------------------------------------------------------------------------


async def test_overrides_change_who_is_on_call(seeded: Context) -> None:
    noon = utc(2026, 1, 15, 12)
    cover = await add(
        seeded, SYSTEM, person=WEEKDAY2, start=noon, end=noon + timedelta(hours=2), reason="dentist"
    )
    assert await on_call(seeded, "on-call", noon) == (WEEKDAY2,)
    assert await on_call(seeded, "on-call", noon + timedelta(hours=2)) == (PRIMARY,)
    await add(
        seeded,
        SYSTEM,
        person=SECONDARY,
        action="add",
        start=noon + timedelta(hours=1),
        end=noon + timedelta(hours=3),
    )
    assert await on_call(seeded, "on-call", noon + timedelta(hours=1)) == (WEEKDAY2, SECONDARY)
    await add(
        seeded,
        SYSTEM,
        person=PRIMARY,
        action="remove",
        start=noon + timedelta(hours=2),
        end=noon + timedelta(hours=3),
    )
    assert await on_call(seeded, "on-call", noon + timedelta(hours=2)) == (SECONDARY,)
    # Named replacement: only while the named person is on call.
    await add(
        seeded,
        SYSTEM,
        person=AFTERHOURS2,
        replaces=SECONDARY,
        start=utc(2026, 1, 15, 16),
        end=utc(2026, 1, 15, 20),
    )
    assert await on_call(seeded, "on-call", utc(2026, 1, 15, 16)) == (PRIMARY,)
    assert await on_call(seeded, "on-call", utc(2026, 1, 15, 18)) == (AFTERHOURS2,)

    async with seeded.db.read() as session:
        shifts = await oncall.schedule_shifts(
            session,
            SYSTEM,
            "on-call",
            clock=seeded.clock,
            start=START,
            end=noon + timedelta(hours=4),
        )
    assert [(s.person.handle, s.start.hour, s.end.hour) for s in shifts.shifts] == [
        (PRIMARY, 9, 12),
        (WEEKDAY2, 12, 14),
        (SECONDARY, 13, 15),
        (PRIMARY, 15, 16),
    ]

    async with seeded.db.write() as session:
        cancelled = await oncall.cancel_override(session, SYSTEM, cover, clock=seeded.clock)
    assert cancelled.cancelled_at == START and cancelled.cancelled_by == "system"
    assert await on_call(seeded, "on-call", noon) == (PRIMARY,)
    async with seeded.db.read() as session:
        live = await oncall.list_overrides(session, SYSTEM, clock=seeded.clock)
        every = await oncall.list_overrides(
            session, SYSTEM, clock=seeded.clock, schedule="on-call", include_cancelled=True
        )
        entries = await audit.entries(session, SYSTEM, object_type="override")
    assert [o.action for o in live] == ["add", "remove", "replace"]
    assert [o.id for o in every] == [1, 2, 3, 4]
    assert every[0].reason == "dentist" and every[0].cancelled_at == START
    assert every[3].replaces is not None and every[3].replaces.handle == SECONDARY
    assert [e.action for e in entries] == ["oncall.override.cancel"] + ["oncall.override.add"] * 4
    assert entries[-1].after is not None and entries[-1].after["person"] == WEEKDAY2


async def test_naive_override_times_are_the_schedules_wall_clock(ctx: Context) -> None:
    await apply_text(ctx, OPS_POLICY)
    # 8 March 2026 09:00 in New York is EDT (UTC-4); the day before EST (UTC-5).
    made = await add(
        ctx,
        SYSTEM,
        "ops",
        person="cy",
        start=datetime(2026, 3, 7, 9),
        end=datetime(2026, 3, 8, 9),
    )
    async with ctx.db.read() as session:
        (row,) = await oncall.list_overrides(session, SYSTEM, clock=ctx.clock)
    assert (row.id, row.timezone) == (made, "America/New_York")
    assert (row.start, row.end) == (utc(2026, 3, 7, 14), utc(2026, 3, 8, 13))
    assert await on_call(ctx, "ops", utc(2026, 3, 8, 12, 59)) == ("cy",)
    assert await on_call(ctx, "ops", utc(2026, 3, 8, 13)) != ("cy",)


@pytest.mark.parametrize(
    ("fields", "error", "field", "message"),
    [
        ({"person": "nobody"}, InvalidInput, "person", "unknown person 'nobody'"),
        ({"replaces": "nobody"}, InvalidInput, "replaces", "unknown person 'nobody'"),
        ({"action": "add", "replaces": SECONDARY}, InvalidInput, "replaces", "only a 'replace'"),
        ({"replaces": WEEKDAY2}, InvalidInput, "replaces", "cannot replace themselves"),
        ({"end": START}, InvalidInput, "end", "must be after start"),
        ({"start": START - timedelta(days=2), "end": START}, InvalidInput, "end", "has passed"),
        ({"end": START + timedelta(days=400)}, InvalidInput, "end", "at most 366 days"),
        ({"end": datetime(9999, 12, 31)}, InvalidInput, "end", "outside the years"),
    ],
)
async def test_override_validation(
    seeded: Context,
    fields: dict[str, object],
    error: type[Exception],
    field: str,
    message: str,
) -> None:
    body: dict[str, object] = {
        "person": WEEKDAY2,
        "start": START + timedelta(hours=1),
        "end": START + timedelta(hours=2),
        **fields,
    }
    with pytest.raises(InvalidInput, match=message) as raised:
        await add(seeded, SYSTEM, **body)
    assert raised.value.details["field"] == field


async def test_override_on_an_unknown_schedule(seeded: Context) -> None:
    with pytest.raises(NotFound, match="no schedule 'nope'") as raised:
        await add(seeded, SYSTEM, "nope", person=WEEKDAY2, start=START, end=START + timedelta(1))
    assert raised.value.details == {"schedule": "nope", "known": ["on-call"]}


async def test_who_may_add_and_cancel_overrides(seeded: Context) -> None:
    window = {"start": START + timedelta(hours=1), "end": START + timedelta(hours=3)}
    engineer = await person(seeded, "oncall.weekday2@example.com")  # on-call-engineer
    # Taking a shift: anyone in the policy may put themselves on call.
    mine = await add(seeded, engineer, person=WEEKDAY2, **window)
    await add(seeded, engineer, person="oncall.weekday2@example.com", action="add", **window)
    # Anything else needs manage-schedules.
    for other in (
        {"person": SECONDARY},
        {"person": WEEKDAY2, "action": "remove"},
    ):
        with pytest.raises(Forbidden, match="lacks the permission 'manage-schedules'") as refused:
            await add(seeded, engineer, **other, **window)
        assert refused.value.details == {"permission": "manage-schedules", "granted_by_roles": []}
    theirs = await add(seeded, SYSTEM, person=SECONDARY, **window)
    async with seeded.db.write() as session:
        await oncall.cancel_override(session, engineer, mine, clock=seeded.clock)
    with pytest.raises(Forbidden):
        async with seeded.db.write() as session:
            await oncall.cancel_override(session, engineer, theirs, clock=seeded.clock)
    stranger = await add_user(seeded, "stranger@example.com")
    with pytest.raises(InvalidInput, match="unknown person 'stranger'"):
        await add(seeded, stranger, person="stranger", **window)


async def test_a_role_with_manage_schedules_may_override_anyone(ctx: Context) -> None:
    await apply_text(ctx, OPS_POLICY)
    sam, ana = await person(ctx, "sam@example.com"), await person(ctx, "ana@example.com")
    window = {"start": START + timedelta(hours=1), "end": START + timedelta(hours=3)}
    made = await add(ctx, sam, "ops", person="ben", replaces="ana", **window)
    with pytest.raises(Forbidden, match="lacks the permission 'manage-schedules'") as refused:
        await add(ctx, ana, "ops", person="ben", **window)
    assert refused.value.details["granted_by_roles"] == ["scheduler"]
    async with ctx.db.write() as session:
        with pytest.raises(Forbidden):
            await oncall.cancel_override(session, ana, made, clock=ctx.clock)
    async with ctx.db.write() as session:
        done = await oncall.cancel_override(session, sam, made, clock=ctx.clock, schedule="ops")
    assert done.cancelled_by == "sam@example.com"


async def test_cancelling(seeded: Context) -> None:
    clock = seeded.clock
    assert isinstance(clock, VirtualClock)
    made = await add(seeded, SYSTEM, person=WEEKDAY2, start=START, end=START + timedelta(hours=1))
    async with seeded.db.write() as session:
        with pytest.raises(NotFound, match="no override 99"):
            await oncall.cancel_override(session, SYSTEM, 99, clock=clock)
        with pytest.raises(NotFound, match="no override 1 on schedule 'other'"):
            await oncall.cancel_override(session, SYSTEM, made, clock=clock, schedule="other")
    clock.advance(hours=2)
    async with seeded.db.write() as session:
        with pytest.raises(Conflict, match="ended at"):
            await oncall.cancel_override(session, SYSTEM, made, clock=clock)
    async with seeded.db.read() as session:
        assert await oncall.list_overrides(session, SYSTEM, clock=clock) == []
        (past,) = await oncall.list_overrides(session, SYSTEM, clock=clock, include_past=True)
    assert past.id == made and past.cancelled_at is None


# --- Calendar feeds --------------------------------------------------------------------------


def parse(text: str) -> icalendar.Calendar:
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    return icalendar.Calendar.from_ical(text)


def events(calendar: icalendar.Calendar) -> list[icalendar.Event]:
    return list(calendar.walk("VEVENT"))


async def feed(ctx: Context, actor: Actor = SYSTEM, **subject: str) -> str:
    async with ctx.db.write() as session:
        _, secret = await oncall.create_feed(session, actor, clock=ctx.clock, **subject)
    return secret


async def render(ctx: Context, secret: str) -> icalendar.Calendar:
    async with ctx.db.read() as session:
        return parse(await oncall.render_feed(session, secret, clock=ctx.clock))


async def test_schedule_feed_publishes_two_weeks_ahead(seeded: Context) -> None:
    secret = await feed(seeded, schedule="on-call")
    assert secret.startswith("tcf_")
    calendar = await render(seeded, secret)
    assert str(calendar["X-WR-CALNAME"]) == "On call: On-Call Engineer"
    found = events(calendar)
    starts = [e.decoded("DTSTART") for e in found]
    ends = [e.decoded("DTEND") for e in found]
    # From the shift running a week ago (Thursday 8 January, 09:00) to two weeks ahead.
    assert starts[0] == utc(2026, 1, 8, 9) and ends[-1] == START + timedelta(weeks=2)
    assert starts == sorted(starts) and starts[1:] == ends[:-1]
    assert all(s.tzinfo is not None and s.utcoffset() == timedelta(0) for s in starts)
    by_start = {e.decoded("DTSTART"): e for e in found}
    now = by_start[START]
    assert str(now["SUMMARY"]) == "On call: Primary On-Call (placeholder)"
    assert now.decoded("DTEND") == utc(2026, 1, 15, 17)
    assert "Thu 15 Jan 2026 09:00 UTC" in str(now["DESCRIPTION"])
    uids = [str(e["UID"]) for e in found]
    assert len(set(uids)) == len(uids)
    assert str(now["UID"]) == "on-call/oncall.primary/20260115T090000Z@tocsin"


async def test_feed_uids_are_stable_and_overrides_show(seeded: Context) -> None:
    clock = seeded.clock
    assert isinstance(clock, VirtualClock)
    secret = await feed(seeded, schedule="on-call")
    before = {str(e["UID"]): e.decoded("DTSTART") for e in events(await render(seeded, secret))}
    clock.advance(hours=30)
    await add(
        seeded,
        SYSTEM,
        person=WEEKDAY2,
        replaces=PRIMARY,
        start=utc(2026, 1, 19, 9),
        end=utc(2026, 1, 19, 17),
    )
    found = events(await render(seeded, secret))
    after = {str(e["UID"]): e.decoded("DTSTART") for e in found}
    kept = set(before) & set(after)
    assert len(kept) > 30 and all(before[uid] == after[uid] for uid in kept)
    monday = [e for e in found if e.decoded("DTSTART") == utc(2026, 1, 19, 9)]
    assert [str(e["SUMMARY"]) for e in monday] == ["On call: Weekday On-Call 2 (placeholder)"]


async def test_person_feed_across_schedules(ctx: Context) -> None:
    await apply_policy(ctx, SEED_000)
    secret = await feed(ctx, person="dev-team-lead")
    calendar = await render(ctx, secret)
    found = events(calendar)
    assert str(calendar["X-WR-CALNAME"]) == "On call: Dev Team Lead (voorbeeld)"
    summaries = {str(e["SUMMARY"]) for e in found}
    assert summaries == {"On call: Primary On-Call", "On call: Secondary On-Call"}
    # Office hours on primary start at 09:00 Amsterdam time, in winter (START is January).
    primary = [e for e in found if "Primary" in str(e["SUMMARY"])]
    assert {e.decoded("DTSTART").astimezone(AMS).hour for e in primary} == {9}
    assert all(e.decoded("DTEND") <= START + timedelta(weeks=8) for e in found)


async def test_feeds_are_listed_revoked_and_outlive_the_policy(seeded: Context) -> None:
    engineer = await person(seeded, "oncall.weekday2@example.com")
    mine = await feed(seeded, engineer, person=WEEKDAY2)
    other = await feed(seeded, schedule="on-call")
    async with seeded.db.read() as session:
        assert [f.subject for f in await oncall.list_feeds(session, engineer)] == [WEEKDAY2]
        assert len(await oncall.list_feeds(session, SYSTEM)) == 2
    async with seeded.db.write() as session:
        with pytest.raises(NotFound, match="no calendar feed with id 2"):
            await oncall.revoke_feed(session, engineer, 2, clock=seeded.clock)
    async with seeded.db.write() as session:
        revoked = await oncall.revoke_feed(session, engineer, 1, clock=seeded.clock)
    assert revoked.revoked_at == START
    with pytest.raises(Unauthenticated, match="feed URL is unknown or has been revoked"):
        await render(seeded, mine)
    with pytest.raises(Unauthenticated):
        await render(seeded, "tcf_guess")
    await apply_policy(seeded, POLICIES / "default.yaml")  # no schedules
    calendar = await render(seeded, other)
    assert events(calendar) == [] and str(calendar["X-WR-CALNAME"]) == "On call: on-call"


async def test_feed_subject_must_exist(seeded: Context) -> None:
    with pytest.raises(NotFound, match="no schedule 'nope'"):
        await feed(seeded, schedule="nope")
    with pytest.raises(InvalidInput, match="unknown person 'nobody'"):
        await feed(seeded, person="nobody")
    async with seeded.db.read() as session:
        entries = await audit.entries(session, SYSTEM, action="oncall.feed.create")
    assert entries == []
