"""The public view, arranged the way the page shows it: components in their groups with
their uptime bars, the incidents still open, maintenance now and next, incidents by day.
Pure: no I/O, only the :class:`PublicView` (which holds nothing internal).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tocsin.statuspage.public import DayUptime, PublicView
from tocsin.statuspage.strings import Words

#: Incident statuses after which an incident is no longer shown as active.
CLOSED = frozenset({"resolved", "postmortem", "completed"})
ACTIVE_MAINTENANCE = frozenset({"in_progress", "verifying"})
UPCOMING_MAINTENANCE = frozenset({"scheduled"})
#: Days of incident history on the front page (as Statuspage shows), today included.
RECENT_DAYS = 15
#: The worst a component can be, least to most (for a group's status).
SEVERITY = (
    "operational",
    "under_maintenance",
    "degraded_performance",
    "partial_outage",
    "major_outage",
)
#: Width of one day in an uptime bar's drawing units; the last unit is the gap.
DAY_UNITS = 4
GAP_UNITS = 1


def moment(value: Any) -> datetime | None:
    """A Statuspage time (ISO 8601 text, or already a datetime) as a datetime."""
    if isinstance(value, datetime):
        return value
    if not value:
        return None
    return datetime.fromisoformat(str(value))


def worst(statuses: Iterable[str]) -> str:
    ranked = [s for s in statuses if s in SEVERITY]
    return max(ranked, key=SEVERITY.index) if ranked else "operational"


@dataclass(frozen=True)
class Segment:
    """Days in a row with the same worst status, drawn as one rectangle (a dashed line in
    the page's background colour over the bar separates the days)."""

    start: int
    days: int
    status: str

    @property
    def x(self) -> int:
        return self.start * DAY_UNITS

    @property
    def width(self) -> int:
        return self.days * DAY_UNITS


@dataclass(frozen=True)
class Bar:
    days: int
    segments: list[Segment]
    #: The days that were not fully operational, newest first (the bar's text alternative).
    problems: list[DayUptime]

    @property
    def width(self) -> int:
        return self.days * DAY_UNITS

    @property
    def gaps(self) -> str:
        """A line along the bar whose dashes (:attr:`dashes`) fall between the days."""
        return f"M{DAY_UNITS - GAP_UNITS} 5H{self.width}"

    @property
    def dashes(self) -> str:
        return f"{GAP_UNITS} {DAY_UNITS - GAP_UNITS}"


def known(status: str) -> str:
    """A status as a CSS class name (statuses outside Statuspage's set draw as no data)."""
    return status if status in SEVERITY else "no_data"


def bar(days: list[DayUptime]) -> Bar:
    segments: list[Segment] = []
    for index, day in enumerate(days):
        status = known(day.worst)
        if segments and segments[-1].status == status:
            last = segments[-1]
            segments[-1] = Segment(last.start, last.days + 1, status)
        else:
            segments.append(Segment(index, 1, status))
    problems = [
        d
        for d in reversed(days)
        if known(d.worst) not in ("operational", "no_data") or d.uptime < 1.0 or d.incidents
    ]
    return Bar(days=len(days), segments=segments, problems=problems)


@dataclass(frozen=True)
class Row:
    component: dict[str, Any]
    bar: Bar | None
    #: Uptime over the bar's days, 0..100; ``None`` without history.
    percent: float | None


@dataclass(frozen=True)
class Block:
    """A component group with its members, or one component outside any group."""

    group: dict[str, Any] | None
    status: str
    rows: list[Row]


def _row(view: PublicView, component: dict[str, Any]) -> Row:
    days = view.uptime.get(str(component["id"]))
    return Row(
        component=component,
        bar=bar(days) if days else None,
        percent=view.uptime_percent.get(str(component["id"])),
    )


def _position(component: dict[str, Any]) -> tuple[int, str]:
    return int(component.get("position") or 0), str(component.get("name", ""))


def blocks(view: PublicView) -> list[Block]:
    """Groups and ungrouped components in Statuspage's order (``position``); a group lists
    its members in their order. Members hidden unless degraded stay hidden when fine."""
    by_id = {str(c["id"]): c for c in view.components}
    shown = [
        c
        for c in view.components
        if not (c.get("only_show_if_degraded") and c.get("status") == "operational")
    ]
    out = []
    for component in sorted(shown, key=_position):
        if component.get("group"):
            members = [by_id[str(i)] for i in component.get("components") or [] if str(i) in by_id]
            members = sorted((m for m in members if m in shown), key=_position)
            rows = [_row(view, m) for m in members]
            out.append(Block(component, worst(m.get("status", "") for m in members), rows))
        elif not component.get("group_id") or str(component["group_id"]) not in by_id:
            out.append(Block(None, str(component.get("status", "")), [_row(view, component)]))
    return out


def active_incidents(view: PublicView) -> list[dict[str, Any]]:
    return [i for i in view.incidents if i.get("status") not in CLOSED]


def _maintenances(view: PublicView, statuses: frozenset[str]) -> list[dict[str, Any]]:
    found = [m for m in view.scheduled_maintenances if m.get("status") in statuses]
    latest = datetime.max.replace(tzinfo=UTC)
    return sorted(found, key=lambda m: moment(m.get("scheduled_for")) or latest)


def active_maintenances(view: PublicView) -> list[dict[str, Any]]:
    return _maintenances(view, ACTIVE_MAINTENANCE)


def upcoming_maintenances(view: PublicView) -> list[dict[str, Any]]:
    return _maintenances(view, UPCOMING_MAINTENANCE)


@dataclass(frozen=True)
class Day:
    day: date
    incidents: list[dict[str, Any]]


def _local_day(incident: dict[str, Any], words: Words) -> date | None:
    began = moment(incident.get("started_at")) or moment(incident.get("created_at"))
    return words.local(began).date() if began else None


def _by_day(view: PublicView, words: Words) -> dict[date, list[dict[str, Any]]]:
    days: dict[date, list[dict[str, Any]]] = {}
    for incident in view.incidents:  # newest first, and so stay within a day
        day = _local_day(incident, words)
        if day is not None:
            days.setdefault(day, []).append(incident)
    return days


def recent_days(view: PublicView, words: Words) -> list[Day]:
    """The last :data:`RECENT_DAYS` days, today first, each with the incidents that began
    on it (days without any too: Statuspage says so for each)."""
    today = words.local(view.generated_at).date()
    days = _by_day(view, words)
    out = []
    for back in range(RECENT_DAYS):
        day = today - timedelta(days=back)
        out.append(Day(day, days.get(day, [])))
    return out


@dataclass(frozen=True)
class Month:
    month: date
    days: list[Day]


def history(view: PublicView, words: Words) -> list[Month]:
    """Every public incident, by month and day, newest first (days without incidents left
    out)."""
    months: dict[date, list[Day]] = {}
    for day, incidents in sorted(_by_day(view, words).items(), reverse=True):
        months.setdefault(day.replace(day=1), []).append(Day(day, incidents))
    return [Month(month, days) for month, days in months.items()]
