"""The reports page as plain data for its template, and the downloads.

The figures come from :func:`tocsin.reports.service.period_report` (as the API's and the
CLI's do) and the CSV and Markdown from :mod:`tocsin.reports.render`; nothing here counts
or measures anything again, it only writes the figures in the viewer's words and draws
them (:mod:`tocsin.web.reports.charts`). A period is whole days of the organisation's
time zone, as in the service; the time the figures were taken is shown in the viewer's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, cast
from urllib.parse import urlencode

from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.clock import Clock
from tocsin.errors import InvalidInput
from tocsin.policy import service as policies
from tocsin.policy.schema import Policy
from tocsin.policy.spans import format_timedelta
from tocsin.reports import periods, render
from tocsin.reports import service as reports
from tocsin.reports.figures import DURATIONS, STAGE_TARGETS
from tocsin.reports.periods import Period
from tocsin.reports.schemas import Completion, GroupBy, GroupFigures, PeriodReport
from tocsin.statuspage.strings import Words as DateWords
from tocsin.web.reports.charts import Bar, Section, bar_chart
from tocsin.web.strings import Words
from tocsin.web.viewer import Viewer

#: What the table's columns (and the per-group charts) may be broken down by.
BY_CHOICES: tuple[GroupBy, ...] = ("severity", "type", "team", "service")
DEFAULT_BY: GroupBy = "severity"
#: The days a period may cover.
EARLIEST, LATEST = date(1970, 1, 1), date(9998, 12, 31)
#: The response times charted per group: mean time to acknowledge, mitigate, resolve.
CHARTED = ("tta", "ttm", "ttr")
STATS = ("mean", "median", "p90")
#: Written where a figure is missing (no incident had it).
NO_FIGURE = "\u2013"
#: Download formats: the page's address suffix -> the renderer's key and media type.
DOWNLOADS = {"csv": ("csv", "text/csv"), "md": ("md", "text/markdown")}


@dataclass(frozen=True)
class ReportQuery:
    """What was asked (and typed): ``period`` (2026-01, 2026-W03, 2026-Q1) or a range
    ``first`` to ``last`` (ISO dates), and the breakdown ``by``."""

    period: str = ""
    first: str = ""
    last: str = ""
    by: str = DEFAULT_BY

    @classmethod
    def of(cls, params: Mapping[str, str]) -> ReportQuery:
        return cls(
            period=params.get("period", "").strip()[:40],
            first=params.get("from", "").strip()[:40],
            last=params.get("to", "").strip()[:40],
            by=params.get("by", "").strip()[:40] or DEFAULT_BY,
        )


class BadQuery(Exception):
    """The period or breakdown cannot be used; ``errors`` by field, in the viewer's words."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class Chosen:
    period: Period
    by: GroupBy


def _date(text: str, field: str, w: Words, errors: dict[str, str]) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[field] = w("reports.err.date", value=text)
        return None


def following(period: Period) -> Period:
    """The period just after: the next week, month or quarter, or for a range the same
    number of days after it."""
    day = period.last + timedelta(days=1)
    if period.kind == "week":
        return periods.week(day)
    if period.kind == "month":
        return periods.month(day)
    if period.kind == "quarter":
        return periods.quarter(day)
    return periods.custom(day, day + (period.last - period.first))


def choose(query: ReportQuery, w: Words, today: date) -> Chosen:
    """The period and breakdown asked for; nothing asked: this month (``today`` is the
    organisation's date). Raises :class:`BadQuery` with a message per field."""
    errors: dict[str, str] = {}
    if query.by not in BY_CHOICES:
        errors["by"] = w("reports.err.by")
    first = _date(query.first, "from", w, errors)
    last = _date(query.last, "to", w, errors)
    if errors:
        raise BadQuery(errors)
    try:
        if not (query.period or first or last):
            chosen = periods.month(today)
        else:
            chosen = periods.choose(query.period or None, first, last)
    except InvalidInput as exc:
        raise BadQuery(_period_errors(query, exc, w)) from None
    except OverflowError:  # periods.parse('9999-12'): its end is past the calendar
        raise BadQuery({"period": w("reports.err.range", first=EARLIEST, last=LATEST)}) from None
    # The figures compare with the period before and the page links the one after: all
    # of them days the calendar (and both databases) can hold.
    if chosen.first < EARLIEST or chosen.last > LATEST:
        field = "period" if query.period else ("from" if chosen.first < EARLIEST else "to")
        raise BadQuery({field: w("reports.err.range", first=EARLIEST, last=LATEST)})
    return Chosen(chosen, cast(GroupBy, query.by))


def _period_errors(query: ReportQuery, exc: InvalidInput, w: Words) -> dict[str, str]:
    """The service's refusal (``details.field``) as a message beside that field."""
    field = str((exc.details or {}).get("field", "period"))
    if "out_of_range" in (exc.details or {}):
        return {field: w("reports.err.range", first=EARLIEST, last=LATEST)}
    if field == "to":
        return {"to": w("reports.err.backwards")}
    if field == "from/to":
        return {"to" if query.first else "from": w("reports.err.both_ends")}
    if query.period and (query.first or query.last):
        return {"period": w("reports.err.not_both")}
    return {"period": w("reports.err.period", value=query.period)}


async def _today(session: AsyncSession, clock: Clock) -> tuple[Policy, date]:
    policy = await policies.current_policy(session)
    return policy, clock.now().astimezone(policy.organization.calendar().zone).date()


async def resolve(
    session: AsyncSession, viewer: Viewer, query: ReportQuery, *, clock: Clock
) -> Chosen:
    _, today = await _today(session, clock)
    return choose(query, viewer.words, today)


# --- downloads ----------------------------------------------------------------------------


def filename(report: PeriodReport, ext: str) -> str:
    label = report.period.replace("..", "_to_")
    by = f"-by-{report.by}" if report.by else ""
    return f"tocsin-report-{label}{by}.{ext}"


async def download(
    session: AsyncSession, viewer: Viewer, chosen: Chosen, ext: str, *, clock: Clock
) -> tuple[str, str, str]:
    """The report as the CLI and the API write it: (text, media type, file name)."""
    renderer, media = DOWNLOADS[ext]
    report = await reports.period_report(
        session, viewer.actor, chosen.period, by=chosen.by, clock=clock
    )
    return render.RENDERERS[renderer](report), media, filename(report, ext)


# --- the page -----------------------------------------------------------------------------


def href(path: str, period: Period, by: str) -> str:
    """The address of ``period`` broken down ``by`` (a named period, or a range)."""
    if period.kind == "custom":
        params = {"from": str(period.first), "to": str(period.last), "by": by}
    else:
        params = {"period": period.label, "by": by}
    return f"{path}?{urlencode(params)}"


class _Writer:
    """Figures in the viewer's words: durations, numbers with the locale's decimal mark."""

    def __init__(self, w: Words, policy: Policy) -> None:
        self.w = w
        self.policy = policy
        self.severity_names = {s.key: s.name for s in policy.severities}
        self.type_names = {t.key: t.name for t in policy.incident_types}
        self.ranks = {s.key: n for n, s in enumerate(policy.severities)}

    def number(self, value: float | None, suffix: str = "") -> str:
        if value is None:
            return NO_FIGURE
        text = f"{value:.3f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)
        if self.w.locale == "nl":
            text = text.replace(".", ",")
        return f"{text}{suffix}"

    def signed(self, value: float | None, suffix: str) -> str:
        if value is None:
            return NO_FIGURE
        return ("+" if value > 0 else "") + self.number(value, suffix)

    def duration(self, seconds: float | None) -> str:
        if seconds is None:
            return NO_FIGURE
        return format_timedelta(timedelta(seconds=round(seconds)))

    def done(self, c: Completion) -> str:
        if c.total == 0:
            return NO_FIGURE
        rate = self.number(c.completion_pct, "%")
        if c.overdue:
            return self.w(
                "reports.done_overdue", done=c.completed, of=c.total, pct=rate, n=c.overdue
            )
        return self.w("reports.done", done=c.completed, of=c.total, pct=rate)

    def group(self, by: GroupBy | None, key: str | None) -> str:
        """A column's name: a severity's key, a type's name, a team or a service."""
        if key is None:
            return self.w("reports.none")
        if by == "type":
            return self.type_names.get(key, key)
        return key

    def severity(self, key: str) -> str:
        name = self.severity_names.get(key)
        if key == reports.OTHER:
            return self.w("reports.other_severity")
        return f"{key} {name}" if name else key


Row = tuple[str, Callable[[GroupFigures], str]]


def _count_of(severity: str) -> Callable[[GroupFigures], str]:
    return lambda g: str(g.severity_counts.get(severity, 0))


def _spread_of(x: _Writer, name: str, stat: str) -> Callable[[GroupFigures], str]:
    return lambda g: x.duration(getattr(getattr(g, name), stat))


def _breaches_of(target: str) -> Callable[[GroupFigures], str]:
    return lambda g: str(g.sla.breaches.get(target, 0))


def _change_of(x: _Writer, name: str, suffix: str) -> Callable[[GroupFigures], str]:
    return lambda g: x.signed(getattr(g.change, name) if g.change else None, suffix)


#: The changes against the previous period and how they are written.
CHANGES = (
    ("incidents_pct", "%"),
    ("tta_mean_pct", "%"),
    ("ttm_mean_pct", "%"),
    ("ttr_mean_pct", "%"),
    ("duration_mean_pct", "%"),
    ("sla_compliance_points", "points"),
    ("downtime_minutes_pct", "%"),
    ("user_impact_hours_pct", "%"),
)


def _rows(report: PeriodReport, x: _Writer) -> list[tuple[str, list[Row]]]:
    """The figures table's row groups, each row a label and how to write a column's cell."""
    w = x.w
    counts: list[Row] = [
        (w("reports.incidents"), lambda g: str(g.incidents)),
        (w("reports.open"), lambda g: str(g.open)),
        (w("reports.resolved"), lambda g: str(g.resolved)),
    ]
    if report.by != "severity":
        counts += [
            (w("reports.of_severity", severity=x.severity(key)), _count_of(key))
            for key in report.total.severity_counts
        ]
    times: list[Row] = [
        (
            w("reports.stat_of", figure=w(f"reports.d.{name}"), stat=w(f"reports.{stat}")),
            _spread_of(x, name, stat),
        )
        for name in DURATIONS
        for stat in STATS
    ]
    sla: list[Row] = [
        (w("reports.compliance"), lambda g: x.number(g.sla.compliance_pct, "%")),
        (w("reports.met_breached"), lambda g: f"{g.sla.met} / {g.sla.breached}"),
    ]
    sla += [
        (w("reports.breaches_of", target=w(f"sla.{target}")), _breaches_of(target))
        for target in STAGE_TARGETS
    ]
    impact: list[Row] = [
        (w("reports.downtime"), lambda g: x.number(g.downtime_minutes)),
        (w("reports.user_hours"), lambda g: x.number(g.user_impact_hours)),
        (w("reports.postmortems"), lambda g: x.done(g.postmortems)),
        (w("reports.action_items"), lambda g: x.done(g.action_items)),
    ]
    changes: list[Row] = [
        (
            w(f"reports.change.{name}", previous=report.previous_period),
            _change_of(x, name, " " + w("reports.points") if suffix == "points" else suffix),
        )
        for name, suffix in CHANGES
    ]
    return [
        (w("reports.part.counts"), counts),
        (w("reports.part.times"), times),
        (w("reports.part.sla"), sla),
        (w("reports.part.impact"), impact),
        (w("reports.part.change"), changes),
    ]


def _table(report: PeriodReport, x: _Writer) -> dict[str, Any]:
    columns = [("total", x.w("reports.total"), report.total)] + [
        (f"g{n}", x.group(report.by, g.key), g) for n, g in enumerate(report.groups)
    ]
    return {
        "columns": [name for _, name, _ in columns],
        "parts": [
            {
                "title": title,
                "rows": [(label, [get(g) for _, _, g in columns]) for label, get in rows],
            }
            for title, rows in _rows(report, x)
        ],
    }


def _chart(
    name: str,
    title: str,
    desc: str,
    sections: list[Section],
    headers: list[str],
    rows: list[list[str]],
    x: _Writer,
    *,
    maximum: float | None = None,
) -> dict[str, Any]:
    """A chart and the same figures as a table (its text equivalent)."""
    svg = bar_chart(name, title, desc, sections, maximum=maximum, empty=x.w("reports.no_data"))
    return {
        "id": f"chart-{name}",
        "title": title,
        "svg": Markup(svg),
        "headers": headers,
        "rows": rows,
    }


def _severity_chart(report: PeriodReport, x: _Writer) -> dict[str, Any]:
    w, counts = x.w, report.total.severity_counts
    keys = [s.key for s in x.policy.severities] + [k for k in counts if k not in x.ranks]
    bars = [
        Bar(x.severity(k), counts.get(k, 0), str(counts.get(k, 0)), f"sev-{x.ranks.get(k, 9)}")
        for k in keys
    ]
    return _chart(
        "severity",
        w("reports.chart.severity"),
        w("reports.chart.severity_desc", period=report.period, n=report.total.incidents),
        [Section(None, bars)],
        [w("severity"), w("reports.incidents")],
        [[b.label, b.text] for b in bars],
        x,
    )


def _type_chart(report: PeriodReport, x: _Writer) -> dict[str, Any]:
    w = x.w
    bars = [
        Bar(x.group("type", g.key), g.incidents, str(g.incidents), "type") for g in report.groups
    ]
    return _chart(
        "type",
        w("reports.chart.type"),
        w("reports.chart.type_desc", period=report.period, n=report.total.incidents),
        [Section(None, bars)],
        [w("type"), w("reports.incidents")],
        [[b.label, b.text] for b in bars],
        x,
    )


def _columns(report: PeriodReport, x: _Writer) -> list[tuple[str, GroupFigures]]:
    return [(x.w("reports.total"), report.total)] + [
        (x.group(report.by, g.key), g) for g in report.groups
    ]


def _times_chart(report: PeriodReport, x: _Writer) -> dict[str, Any]:
    w = x.w
    sections, rows = [], []
    for name, g in _columns(report, x):
        bars = []
        for figure in CHARTED:
            mean = getattr(g, figure).mean
            text = x.duration(mean) if mean is not None else w("reports.no_figure")
            bars.append(Bar(w(f"reports.short.{figure}"), mean, text, figure))
        sections.append(Section(name, bars))
        rows.append([name, *(b.text for b in bars)])
    return _chart(
        "times",
        w("reports.chart.times", by=w(f"reports.by.{report.by}").lower()),
        w("reports.chart.times_desc", period=report.period),
        sections,
        [w(f"reports.by.{report.by}"), *(w(f"reports.short.{f}") for f in CHARTED)],
        rows,
        x,
    )


def _sla_chart(report: PeriodReport, x: _Writer) -> dict[str, Any]:
    w = x.w
    bars, rows = [], []
    for name, g in _columns(report, x):
        rate = g.sla.compliance_pct
        if rate is None:
            text = w("reports.no_verdict")
        else:
            text = w(
                "reports.rate", pct=x.number(rate, "%"), met=g.sla.met, breached=g.sla.breached
            )
        bars.append(Bar(name, rate, text, "sla"))
        rows.append([name, x.number(rate, "%"), str(g.sla.met), str(g.sla.breached)])
    return _chart(
        "sla",
        w("reports.chart.sla", by=w(f"reports.by.{report.by}").lower()),
        w("reports.chart.sla_desc", period=report.period),
        [Section(None, bars)],
        [
            w(f"reports.by.{report.by}"),
            w("reports.compliance"),
            w("verdict.met"),
            w("verdict.breached"),
        ],
        rows,
        x,
        maximum=100.0,
    )


def _causes_chart(report: PeriodReport, x: _Writer) -> dict[str, Any]:
    w = x.w
    causes = report.total.top_root_causes
    bars = [Bar(c.name, c.count, str(c.count), "cause") for c in causes]
    return _chart(
        "causes",
        w("reports.chart.causes"),
        w("reports.chart.causes_desc", period=report.period),
        [Section(None, bars)],
        [w("reports.cause"), w("reports.incidents")],
        [[b.label, b.text] for b in bars],
        x,
    )


def _period_words(period: Period, w: Words, zone: str) -> str:
    days = DateWords(w.locale, zone)
    return w(
        "reports.period_days",
        label=period.label,
        first=days.day(period.first),
        last=days.day(period.last),
        zone=zone,
    )


def form_data(query: ReportQuery, errors: Mapping[str, str]) -> dict[str, Any]:
    return {
        "typed": {"period": query.period, "from": query.first, "to": query.last, "by": query.by},
        "errors": dict(errors),
        "by_choices": BY_CHOICES,
    }


async def report_page(
    session: AsyncSession, viewer: Viewer, query: ReportQuery, *, clock: Clock
) -> dict[str, Any]:
    """The form (what was typed kept, and messages beside the fields) and, when the query
    is sound, the figures, their charts and the download links."""
    w = viewer.words
    policy, today = await _today(session, clock)
    zone = str(policy.organization.calendar().zone)
    shortcuts = [
        (w("reports.this_week"), href("/reports", periods.week(today), DEFAULT_BY)),
        (w("reports.this_month"), href("/reports", periods.month(today), DEFAULT_BY)),
        (w("reports.last_month"), href("/reports", periods.month(today).previous(), DEFAULT_BY)),
        (w("reports.this_quarter"), href("/reports", periods.quarter(today), DEFAULT_BY)),
    ]
    data: dict[str, Any] = {"shortcuts": shortcuts, "report": None, "org_zone": zone}
    try:
        chosen = choose(query, w, today)
    except BadQuery as bad:
        return data | form_data(query, bad.errors)
    report = await reports.period_report(
        session, viewer.actor, chosen.period, by=chosen.by, clock=clock
    )
    if chosen.by == "type":
        by_type = report
    else:
        by_type = await reports.period_report(
            session, viewer.actor, chosen.period, by="type", clock=clock
        )
    x = _Writer(w, policy)
    p = chosen.period
    shown = ReportQuery(
        period="" if p.kind == "custom" else p.label,
        first=str(p.first) if p.kind == "custom" else "",
        last=str(p.last) if p.kind == "custom" else "",
        by=chosen.by,
    )
    total = report.total
    return (
        data
        | form_data(shown, {})
        | {
            "report": report,
            "period_words": _period_words(p, w, zone),
            "previous": href("/reports", p.previous(), chosen.by),
            "next": href("/reports", following(p), chosen.by),
            "downloads": [
                ("csv", href("/reports.csv", p, chosen.by)),
                ("md", href("/reports.md", p, chosen.by)),
            ],
            "key_figures": [
                (w("reports.incidents"), str(total.incidents)),
                (w("reports.short.tta"), x.duration(total.tta.mean)),
                (w("reports.short.ttm"), x.duration(total.ttm.mean)),
                (w("reports.short.ttr"), x.duration(total.ttr.mean)),
                (w("reports.compliance"), x.number(total.sla.compliance_pct, "%")),
            ],
            "table": _table(report, x),
            "charts": [
                _severity_chart(report, x),
                _type_chart(by_type, x),
                _times_chart(report, x),
                _sla_chart(report, x),
                _causes_chart(report, x),
            ],
            "excluded": [x.type_names.get(k, k) for k in report.excluded_types],
        }
    )
