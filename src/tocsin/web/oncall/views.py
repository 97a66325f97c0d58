"""The on-call pages as plain data for templates: who is on call now on every schedule, a
schedule's shifts by week or month (overrides marked), the override form, one person's
next shifts and calendar feeds. Every read and write goes through
:mod:`tocsin.oncall.service`, which judges the permissions; times are shown in the
viewer's zone (a day there lasts 23 or 25 hours when the clock changes)."""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.auth.permissions import allowed
from tocsin.clock import Clock
from tocsin.errors import InvalidInput, TocsinError
from tocsin.oncall import schemas
from tocsin.oncall import service as oncall
from tocsin.oncall.rotation import local_to_utc
from tocsin.policy import service as policies
from tocsin.policy.schema import Policy
from tocsin.policy.schema_oncall import WEEKDAY_NAMES, LayerSpec, Restriction
from tocsin.policy.spans import format_timedelta
from tocsin.statuspage.strings import Words as DateWords
from tocsin.web.forms import field_errors
from tocsin.web.strings import Words
from tocsin.web.viewer import Viewer

#: A person's page lists their shifts this far ahead.
PERSON_AHEAD = timedelta(days=28)
VIEWS = ("week", "month")
#: What an override does, in the order the form offers them.
ACTIONS = ("replace", "add", "remove")
#: The actions someone without ``manage-schedules`` may take (on themselves only).
SELF_ACTIONS = ("replace", "add")
#: The form's fields, kept as typed when it comes back.
FIELDS = ("person", "action", "replaces", "start", "end", "reason")


@dataclass(frozen=True)
class Period:
    view: str
    first: date
    days: int

    def dates(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range(self.days)]

    def step(self, forward: bool) -> date:
        if self.view == "week":
            return self.first + timedelta(days=7 if forward else -7)
        if forward:
            return self.first + timedelta(days=self.days)
        return (self.first - timedelta(days=1)).replace(day=1)


def period_of(view: str, start: str, today: date, words: Words) -> tuple[Period, dict[str, str]]:
    """The week (7 days from ``start``, else this week's Monday) or the calendar month of
    ``start`` (else this month); a bad date gives this period and an error for ``start``."""
    errors: dict[str, str] = {}
    kind = view if view in VIEWS else "week"
    day: date | None = None
    if start:
        try:
            day = date.fromisoformat(start)
        except ValueError:
            errors["period"] = words("oncall.err.date", text=start)
        else:
            if not 1971 <= day.year <= 2198:
                errors["period"], day = words("oncall.err.years", text=start), None
    if kind == "month":
        first = (day or today).replace(day=1)
        return Period(kind, first, calendar.monthrange(first.year, first.month)[1]), errors
    return Period(kind, day or today - timedelta(days=today.weekday()), 7), errors


def local_start(day: date, zone: ZoneInfo) -> datetime:
    """The instant the local day begins (after the gap, where midnight is skipped)."""
    return local_to_utc(datetime.combine(day, time(0)), zone)


def _hm(moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return f"{local:%H:%M} {local.tzname()}"


def _person(p: schemas.PersonOut) -> dict[str, Any]:
    return {"handle": p.handle, "name": p.name, "email": p.email}


def _marked(
    shift: schemas.ShiftOut, overrides: list[schemas.OverrideOut]
) -> schemas.OverrideOut | None:
    """The override that put this shift's person on call then, if one did."""
    for o in reversed(overrides):
        if (
            o.action in SELF_ACTIONS
            and o.person.handle == shift.person.handle
            and o.start < shift.end
            and o.end > shift.start
        ):
            return o
    return None


def _day(
    day: date,
    zone: ZoneInfo,
    shifts: list[schemas.ShiftOut],
    overrides: list[schemas.OverrideOut],
    today: date,
) -> dict[str, Any]:
    low, high = local_start(day, zone), local_start(day + timedelta(days=1), zone)
    segments = []
    for s in shifts:
        if s.start >= high or s.end <= low:
            continue
        start, end = max(s.start, low), min(s.end, high)
        made_by = _marked(s, overrides)
        segments.append(
            {
                "start": start,
                "end": end,
                "from": _hm(start, zone),
                "to": f"24:00 {(high - timedelta(seconds=1)).astimezone(zone).tzname()}"
                if end == high
                else _hm(end, zone),
                "continues_before": s.start < low,
                "continues_after": s.end > high,
                "person": _person(s.person),
                "override": None if made_by is None else made_by.id,
            }
        )
    hours = round((high - low).total_seconds() / 3600, 2)
    return {
        "date": day.isoformat(),
        "weekday": day.weekday(),
        "today": day == today,
        "hours": int(hours) if hours == int(hours) else hours,
        "segments": segments,
    }


def _days(days: Sequence[str]) -> str:
    """``mon-fri`` for a run of three days or more, else ``sat, sun`` (the policy's names)."""
    order = [WEEKDAY_NAMES.index(d) for d in days]
    if len(order) > 2 and order == list(range(order[0], order[0] + len(order))):
        return f"{days[0]}-{days[-1]}"
    return ", ".join(days)


def _windows(restriction: Restriction, policy: Policy, words: Words) -> str:
    """``business hours (mon-fri 09:00-18:00)`` or the windows as the policy writes them."""
    if restriction == "business_hours":
        hours = policy.organization.business_hours
        days = _days(hours.days)
        return words(
            "oncall.business_hours",
            days=days,
            start=f"{hours.start:%H:%M}",
            end=f"{hours.end:%H:%M}",
        )
    return "; ".join(
        f"{_days(w.days)} {w.from_}-{w.to}" if w.days else f"{w.from_} - {w.to}"
        for w in restriction
    )


def layer_text(layer: LayerSpec, index: int, policy: Policy, words: Words) -> dict[str, str]:
    """A layer's name, turn length and windows in the viewer's words."""
    if layer.shift in ("hourly", "daily", "weekly"):
        key = f"oncall.shift.{layer.shift}" + ("" if layer.every == 1 else "_n")
        shift = words(key, n=layer.every)
    else:
        shift = words("oncall.shift.length", length=format_timedelta(layer.length().step))
    if layer.during is not None:
        when = words("oncall.during", windows=_windows(layer.during, policy, words))
    elif layer.outside is not None:
        when = words("oncall.outside", windows=_windows(layer.outside, policy, words))
    else:
        when = words("oncall.always")
    name = layer.name or words("oncall.layer_n", n=index + 1)
    return {"name": name, "shift": shift, "when": when}


def _manage(policy: Policy, viewer: Viewer) -> tuple[bool, str | None]:
    """Whether the viewer may move anyone (``manage-schedules``) and their own handle."""
    me = policy.person(viewer.actor.email)
    return allowed(policy, viewer.actor, oncall.PERMISSION), None if me is None else me.handle


def override_form(policy: Policy, viewer: Viewer) -> dict[str, Any] | None:
    """Who the form may name and what it may do; None when the viewer may do nothing."""
    manager, me = _manage(policy, viewer)
    everyone = [{"handle": p.handle, "name": p.name} for p in policy.people]
    if manager:
        return {
            "people": everyone,
            "everyone": everyone,
            "actions": list(ACTIONS),
            "self_only": False,
        }
    if me is None:
        return None
    found = policy.person(me)
    assert found is not None
    return {
        "people": [{"handle": me, "name": found.name}],
        "everyone": everyone,
        "actions": list(SELF_ACTIONS),
        "self_only": True,
    }


async def overview(session: AsyncSession, viewer: Viewer, *, clock: Clock) -> dict[str, Any]:
    """Every schedule: who is on call now, until when, and who takes over then."""
    policy = await policies.current_policy(session)
    rows = []
    for now in await oncall.who_is_on_call(session, viewer.actor, clock=clock):
        following: list[dict[str, Any]] = []
        if now.until is not None:
            (then,) = await oncall.who_is_on_call(
                session, viewer.actor, clock=clock, at=now.until, schedule=now.schedule
            )
            following = [_person(p) for p in then.people]
        rows.append(
            {
                "key": now.schedule,
                "name": now.name,
                "timezone": now.timezone,
                "people": [_person(p) for p in now.people],
                "until": now.until,
                "next": following,
            }
        )
    _, me = _manage(policy, viewer)
    return {"schedules": rows, "now": clock.now(), "me": me}


async def schedule_page(
    session: AsyncSession,
    viewer: Viewer,
    key: str,
    *,
    clock: Clock,
    view: str = "week",
    start: str = "",
    typed: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One schedule over a week or a month in the viewer's zone: each local day (its length
    when the clock changes), who is on call when, overrides marked; the override form."""
    policy = await policies.current_policy(session)
    info = await oncall.get_schedule(session, viewer.actor, key, clock=clock)
    zone = ZoneInfo(viewer.words.zone)
    now = clock.now()
    today = now.astimezone(zone).date()
    period, period_errors = period_of(view, start, today, viewer.words)
    dates = period.dates()
    low, high = local_start(dates[0], zone), local_start(dates[-1] + timedelta(days=1), zone)
    shifts = await oncall.schedule_shifts(
        session, viewer.actor, info.key, clock=clock, start=low, end=high
    )
    every = await oncall.list_overrides(
        session, viewer.actor, clock=clock, schedule=info.key, include_past=True
    )
    shown = [o for o in every if o.start < high and o.end > low]
    dated = DateWords(viewer.words.locale, viewer.words.zone)
    manager, _ = _manage(policy, viewer)
    return {
        "schedule": {
            "key": info.key,
            "name": info.name,
            "description": info.description,
            "timezone": info.timezone,
            "on_call": [_person(p) for p in info.on_call],
            "layers": [
                layer_text(layer, i, policy, viewer.words)
                for i, layer in enumerate(oncall.schedule_spec(policy, info.key).layers)
            ],
        },
        "view": period.view,
        "start": dates[0].isoformat(),
        "title": dated.month(period.first)
        if period.view == "month"
        else f"{dated.day(dates[0])} - {dated.day(dates[-1])}",
        "previous": period.step(False).isoformat(),
        "next": period.step(True).isoformat(),
        "days": [
            _day(d, zone, shifts.shifts, shown, today) | {"label": dated.day(d)} for d in dates
        ],
        "overrides": [
            _override(o) | {"may_cancel": _may_cancel(o, viewer, manager, now)} for o in shown
        ],
        "form": override_form(policy, viewer),
        "typed": typed or {},
        "errors": {**period_errors, **(errors or {})},
        "typed_start": start,
    }


def _may_cancel(o: schemas.OverrideOut, viewer: Viewer, manager: bool, now: datetime) -> bool:
    """Not ended nor cancelled, and made by the viewer or they may manage schedules (the
    service checks again)."""
    if o.cancelled_at is not None or o.end <= now:
        return False
    return manager or o.created_by == viewer.actor.label


def _override(o: schemas.OverrideOut) -> dict[str, Any]:
    return {
        "id": o.id,
        "action": o.action,
        "person": _person(o.person),
        "replaces": None if o.replaces is None else _person(o.replaces),
        "start": o.start,
        "end": o.end,
        "reason": o.reason,
        "created_by": o.created_by,
        "cancelled": o.cancelled_at is not None,
    }


def _moment(text: str, words: Words, field: str, errors: dict[str, str]) -> datetime | None:
    """A ``datetime-local`` value (or ISO 8601 with an offset): without an offset, a
    wall-clock time in the viewer's zone."""
    if not text.strip():
        errors[field] = words("oncall.err.time_required")
        return None
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        errors[field] = words("oncall.err.time", text=text)
        return None
    try:
        return oncall.instant(value, words.zone, field)
    except InvalidInput as exc:
        errors[field] = exc.message
        return None


def override_in(form: dict[str, str], words: Words) -> schemas.OverrideIn:
    """The form as the API's override body; start and end read in the viewer's zone.

    Raises InvalidInput naming a field (``details.field``) or every field at once
    (``details.fields``), or pydantic's ValidationError.
    """
    errors: dict[str, str] = {}
    if not form.get("person", "").strip():
        errors["person"] = words("oncall.err.person")
    start = _moment(form.get("start", ""), words, "start", errors)
    end = _moment(form.get("end", ""), words, "end", errors)
    if errors:
        raise InvalidInput("; ".join(errors.values()), details={"fields": errors})
    return schemas.OverrideIn.model_validate(
        {
            "person": form.get("person", "").strip(),
            "start": start,
            "end": end,
            "action": form.get("action") or "replace",
            "replaces": form.get("replaces", "").strip() or None,
            "reason": form.get("reason", ""),
        }
    )


def errors_of(exc: ValidationError | TocsinError) -> dict[str, str]:
    """Each message by its field (several at once for the form's own checks)."""
    if isinstance(exc, TocsinError) and isinstance(exc.details, dict):
        many = exc.details.get("fields")
        if isinstance(many, dict):
            return {str(k): str(v) for k, v in many.items()}
    return field_errors(exc)


async def person_page(
    session: AsyncSession, viewer: Viewer, person: str, *, clock: Clock
) -> dict[str, Any]:
    """One person's shifts on every schedule from now for four weeks."""
    now = clock.now()
    found = await oncall.person_shifts(
        session, viewer.actor, person, clock=clock, start=now, end=now + PERSON_AHEAD
    )
    assert found.person is not None
    return {
        "person": _person(found.person),
        "mine": found.person.email is not None
        and found.person.email.lower() == viewer.actor.email.lower(),
        "until": now + PERSON_AHEAD,
        "shifts": [
            {
                "schedule": s.schedule,
                "schedule_name": s.schedule_name,
                "start": s.start,
                "end": s.end,
                "now": s.start <= now < s.end,
                "start_day": s.start.astimezone(ZoneInfo(viewer.words.zone)).date().isoformat(),
                "hours": round((s.end - s.start).total_seconds() / 3600, 1),
            }
            for s in found.shifts
        ],
    }


async def feeds(
    session: AsyncSession, viewer: Viewer, kind: str, subject: str
) -> list[dict[str, Any]]:
    """The viewer's live calendar feeds of this schedule or person (never their secrets)."""
    return [
        {"id": f.id, "created_at": f.created_at, "created_by": f.created_by}
        for f in await oncall.list_feeds(session, viewer.actor)
        if f.kind == kind and f.subject == subject and f.revoked_at is None
    ]
