"""Report queries: one incident's figures, a period's figures by group, and the samples
of ``/metrics``.

Every period figure is a SQL aggregate over the incidents declared in the period (the
``declared_at`` index), never a Python loop over incidents. Durations are computed in
whole microseconds on both databases; medians and p90s are PostgreSQL's
``percentile_cont`` and, on SQLite, the same two neighbouring values found with window
functions (``ROW_NUMBER``/``COUNT``) and interpolated in :mod:`tocsin.reports.figures`
the way PostgreSQL does, so both give the very same figures.

Incident types flagged ``exclude_from_metrics`` in the current policy stay out of every
figure; restricted incidents count only for those who may see them.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Float,
    Integer,
    Select,
    and_,
    case,
    cast,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.selectable import NamedFromClause

from tocsin.auth.actor import Actor
from tocsin.clock import Clock
from tocsin.db import UTCDateTime
from tocsin.incidents import service as incidents
from tocsin.incidents import stage_clock
from tocsin.incidents.lifecycle import OPEN_STATUSES
from tocsin.incidents.models import Incident, IncidentRole
from tocsin.jobs import service as jobs
from tocsin.notify import service as notify
from tocsin.policy import service as policies
from tocsin.policy.schema import Policy
from tocsin.postmortems.models import CLOSED_ACTION_STATUSES, ActionItem, Postmortem
from tocsin.reports import exposition, figures
from tocsin.reports.figures import DURATIONS, MEDIAN, P90, STAGE_TARGETS, Sums
from tocsin.reports.periods import Period
from tocsin.reports.schemas import (
    GroupBy,
    GroupFigures,
    IncidentMetrics,
    PeriodReport,
    RootCauseCount,
)

#: The stage timestamp that meets each stage target.
_REACHED = {
    "acknowledge": Incident.acknowledged_at,
    "identify": Incident.identified_at,
    "mitigate": Incident.mitigated_at,
    "resolve": Incident.resolved_at,
}
#: Severity counts' key for severities the current policy no longer has.
OTHER = "(other)"
_GROUP_COLUMN = {
    "severity": Incident.severity,
    "type": Incident.type,
    "team": Incident.team,
    "service": Incident.service,
}


def excluded_types(policy: Policy) -> list[str]:
    return sorted(t.key for t in policy.incident_types if t.exclude_from_metrics)


def span_us(start: Any, end: Any, dialect: str) -> ColumnElement[int]:
    """Whole microseconds from ``start`` to ``end`` (timestamp columns), exactly.

    PostgreSQL: the interval's epoch in seconds as a double (fast; its error is far below
    half a microsecond for any duration under centuries, so the cast rounds it to the exact
    microsecond) times a million. SQLite keeps ``YYYY-MM-DD
    HH:MM:SS.ffffff`` (UTC): seconds from the first 19 characters, microseconds from the
    last six (its own date functions keep only milliseconds).
    """
    if dialect == "postgresql":
        return cast(func.date_part("epoch", end - start) * 1_000_000, BigInteger)

    def us(column: Any) -> ColumnElement[int]:
        whole = cast(func.strftime("%s", func.substr(column, 1, 19)), Integer)
        return whole * 1_000_000 + cast(func.substr(column, 21, 6), Integer)

    return us(end) - us(start)


def _durations(dialect: str) -> dict[str, ColumnElement[int]]:
    i = Incident
    return {
        "ttd": span_us(i.started_at, i.detected_at, dialect),
        "tta": span_us(i.detected_at, i.acknowledged_at, dialect),
        "ttm": span_us(i.acknowledged_at, i.mitigated_at, dialect),
        "ttr": span_us(i.mitigated_at, i.resolved_at, dialect),
        "duration": span_us(i.detected_at, i.resolved_at, dialect),
    }


def sla_flags(now: datetime) -> dict[str, ColumnElement[int]]:
    """Per stage target, 1/0 columns: it has a due time (``d_``), was met (``m_``), was
    breached (``b_``): reached after it was due, or not reached and overdue when the
    incident was resolved (or now)."""
    as_of = func.coalesce(Incident.resolved_at, literal(now, UTCDateTime()))
    flags: dict[str, ColumnElement[int]] = {}
    for target in STAGE_TARGETS:
        due = getattr(Incident, f"sla_{target}_due_at")
        reached = _REACHED[target]
        late = or_(reached > due, and_(reached.is_(None), as_of > due))
        flags[f"d_{target}"] = case((due.is_not(None), 1), else_=0)
        flags[f"m_{target}"] = case((and_(due.is_not(None), reached <= due), 1), else_=0)
        flags[f"b_{target}"] = case((and_(due.is_not(None), late), 1), else_=0)
    return flags


@dataclass
class _Scope:
    """Who asks, when, under which policy, on which database."""

    actor: Actor
    policy: Policy
    now: datetime
    dialect: str

    def incidents(self, query: Select[Any]) -> Select[Any]:
        """Only incidents the actor may see and whose type counts."""
        excluded = excluded_types(self.policy)
        if excluded:
            query = query.where(or_(Incident.type.is_(None), Incident.type.not_in(excluded)))
        return incidents.visible(query, self.actor)


async def _scope(session: AsyncSession, actor: Actor, clock: Clock) -> _Scope:
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        # These aggregates are estimated costly enough for PostgreSQL to compile them
        # (JIT), which took longer than running them: a second on a monthly report.
        # And room to sort a month's durations for the percentiles in memory.
        await session.execute(
            text("SELECT set_config('jit', 'off', true), set_config('work_mem', '32MB', true)")
        )
    policy = await policies.current_policy(session)
    return _Scope(actor, policy, clock.now(), bind.dialect.name)


def _base(
    scope: _Scope, start: datetime, end: datetime, by: GroupBy | None, *, once: bool = False
) -> NamedFromClause:
    """One row per counted incident of ``[start, end)``: its group, durations, SLA flags.

    ``once``: computed once per row although the aggregates name each column several
    times (PostgreSQL would otherwise pull the subquery up and compute a column wherever
    it is named): ``OFFSET 0`` keeps it a subquery of its own, streamed, not stored."""
    group = _GROUP_COLUMN[by] if by else literal_column("'all'")
    columns: list[Any] = [
        group.label("grp"),
        Incident.id,
        Incident.severity,
        Incident.status,
        Incident.root_cause,
        Incident.users_affected,
        Incident.resolved_at,
    ]
    columns += [expr.label(name) for name, expr in _durations(scope.dialect).items()]
    columns += [expr.label(name) for name, expr in sla_flags(scope.now).items()]
    query = select(*columns).where(Incident.declared_at >= start, Incident.declared_at < end)
    query = scope.incidents(query)
    if once:
        query = query.offset(0)
    return query.subquery("counted")


def _sum(expr: Any) -> ColumnElement[Any]:
    return func.coalesce(func.sum(expr), 0)


Values = Sequence[Any]


async def _total_and_groups(
    session: AsyncSession, scope: _Scope, b: Any, query: Select[Any], by_group: bool
) -> tuple[Values, dict[str | None, Values]]:
    """The aggregates of ``query`` in total and, ``by_group``, per group: on PostgreSQL in
    one pass (``ROLLUP``), on SQLite with a second query for the total. The total has no
    ``GROUP BY`` (no sort of every row)."""
    if not by_group:
        return tuple((await session.execute(query)).one()), {}
    if scope.dialect == "postgresql":
        rolled = query.add_columns(func.grouping(b.grp), b.grp).group_by(func.rollup(b.grp))
        total: Values = ()
        groups: dict[str | None, Values] = {}
        for *values, is_total, key in (await session.execute(rolled)).all():
            if is_total:
                total = values
            else:
                groups[key] = values
        return total, groups
    total = tuple((await session.execute(query)).one())
    grouped = query.add_columns(b.grp).group_by(b.grp)
    return total, {row[-1]: tuple(row[:-1]) for row in (await session.execute(grouped)).all()}


async def _sums(
    session: AsyncSession, scope: _Scope, base: NamedFromClause, *, by_group: bool, detail: bool
) -> tuple[Sums, dict[str | None, Sums]]:
    """The aggregates in total and per group, in one pass over the incidents; ``detail``
    adds the medians and p90s and the counts per severity and per root cause."""
    b = base.c
    dues = sum((b[f"d_{t}"] for t in STAGE_TARGETS), literal(0))
    mets = sum((b[f"m_{t}"] for t in STAGE_TARGETS), literal(0))
    breaches = sum((b[f"b_{t}"] for t in STAGE_TARGETS), literal(0))
    most_severe = scope.policy.severities[0].key
    columns: list[Any] = [
        func.count(),
        _sum(case((b.status.in_(OPEN_STATUSES), 1), else_=0)),
        func.count(b.resolved_at),
        _sum(case((breaches > 0, 1), else_=0)),
        _sum(case((and_(breaches == 0, dues > 0, mets == dues), 1), else_=0)),
        _sum(case((b.severity == most_severe, b.duration), else_=0)),
        _sum(b.users_affected * (b.duration // 1000)),
    ]
    # The previous period needs only what the change is computed from.
    targets = STAGE_TARGETS if detail else ()
    durations = DURATIONS if detail else figures.CHANGED_DURATIONS
    columns += [_sum(b[f"b_{t}"]) for t in targets]
    for name in durations:
        columns += [_sum(b[name]), func.count(b[name])]
    severities = [s.key for s in scope.policy.severities] if detail else []
    causes = [c.key for c in scope.policy.root_causes] if detail else []
    columns += [_sum(case((b.severity == key, 1), else_=0)) for key in severities]
    columns += [_sum(case((b.root_cause == key, 1), else_=0)) for key in causes]
    pg_percentiles = detail and scope.dialect == "postgresql"
    if pg_percentiles:  # one sort per duration for both fractions
        fractions = postgresql.array([MEDIAN, P90], type_=Float)
        columns += [
            func.percentile_cont(fractions, type_=postgresql.ARRAY(Float)).within_group(
                cast(b[name], Float)
            )
            for name in DURATIONS
        ]

    def parse(key: str | None, row: Values) -> Sums:
        count, open_, resolved, breached, met, downtime, impact = row[:7]
        sums = Sums(
            key=key,
            incidents=int(count),
            open=int(open_),
            resolved=int(resolved),
            sla_met=int(met),
            sla_breached=int(breached),
            downtime_us=int(downtime),
            impact_user_ms=int(impact),
        )
        rest = list(row[7:])
        sums.breaches = {t: int(rest.pop(0)) for t in targets}
        for name in durations:
            sums.total_us[name], sums.count[name] = int(rest.pop(0)), int(rest.pop(0))
        sums.severity_counts = {k: n for k in severities if (n := int(rest.pop(0)))}
        other = sums.incidents - sum(sums.severity_counts.values())
        if detail and other:  # severities the current policy no longer has
            sums.severity_counts[OTHER] = other
        sums.root_causes = {k: n for k in causes if (n := int(rest.pop(0)))}
        if pg_percentiles:
            for name in DURATIONS:
                both = rest.pop(0)
                sums.median_us[name], sums.p90_us[name] = both if both else (None, None)
        return sums

    total_row, group_rows = await _total_and_groups(session, scope, b, select(*columns), by_group)
    total = parse(None, total_row)
    groups = {key: parse(key, row) for key, row in group_rows.items()}
    if detail and not pg_percentiles:
        await _window_percentiles(session, base, total, groups)
    return total, groups


async def _window_percentiles(
    session: AsyncSession, base: NamedFromClause, total: Sums, groups: dict[str | None, Sums]
) -> None:
    """SQLite: per duration, in total and per group, the values at positions ⌊h⌋ and ⌈h⌉
    (h = p * (n - 1), from 0) of the sorted values, by ROW_NUMBER and COUNT windows."""
    b = base.c
    for name, grouped in itertools.product(DURATIONS, (False, True) if groups else (False,)):
        window = b.grp if grouped else None
        ranked = (
            select(
                (b.grp if grouped else literal_column("NULL")).label("grp"),
                b[name].label("x"),
                (func.row_number().over(partition_by=window, order_by=b[name]) - 1).label("i"),
                func.count().over(partition_by=window).label("n"),
            )
            .where(b[name].is_not(None))
            .subquery("ranked")
        )
        r = ranked.c
        columns: list[Any] = [r.grp, func.max(r.n)]
        for fraction in (MEDIAN, P90):
            h = literal(fraction) * (r.n - 1)
            below = cast(h, Integer)  # h >= 0: truncation is the floor
            above = below + case((h > below, 1), else_=0)
            columns += [
                func.max(case((r.i == below, r.x))),
                func.max(case((r.i == above, r.x))),
            ]
        for key, n, mid_lo, mid_hi, p90_lo, p90_hi in (
            await session.execute(select(*columns).group_by(r.grp))
        ).all():
            sums = groups[key] if grouped else total
            sums.median_us[name] = figures.percentile_cont(mid_lo, mid_hi, MEDIAN, int(n))
            sums.p90_us[name] = figures.percentile_cont(p90_lo, p90_hi, P90, int(n))


FollowUp = tuple[tuple[int, int, int], tuple[int, int, int]]
_NO_FOLLOW_UP: FollowUp = ((0, 0, 0), (0, 0, 0))


def _three(values: Values) -> tuple[int, int, int]:
    return int(values[0]), int(values[1]), int(values[2])


async def _follow_up(
    session: AsyncSession, scope: _Scope, base: NamedFromClause, *, by_group: bool
) -> tuple[FollowUp, dict[str | None, FollowUp]]:
    """In total and per group: postmortems expected (one was started, or the severity
    requires one), final and overdue (not final, past due); action items, closed (done or
    won't do) and overdue (open, past due).

    Both tables are read only between the smallest and the largest id of the period's
    incidents (ids grow with time, so that is about the period's rows; the join itself
    stays exact), through their indexes on the incident; the items are counted per
    incident from the index alone."""
    now = literal(scope.now, UTCDateTime())
    ids = select(base.c.grp, base.c.id, base.c.severity).cte("ids")
    lo = select(func.min(ids.c.id)).scalar_subquery()
    hi = select(func.max(ids.c.id)).scalar_subquery()
    closed = ActionItem.status.in_(CLOSED_ACTION_STATUSES)
    items = (
        select(
            ActionItem.incident_id,
            func.count().label("n"),
            _sum(case((closed, 1), else_=0)).label("closed"),
            _sum(case((and_(~closed, ActionItem.due_at < now), 1), else_=0)).label("overdue"),
        )
        .where(ActionItem.incident_id.between(lo, hi))
        .group_by(ActionItem.incident_id)
        .subquery("items")
    )
    pm = Postmortem
    required = [s.key for s in scope.policy.severities if s.postmortem.required]
    expected = or_(pm.id.is_not(None), ids.c.severity.in_(required))
    query = (
        select(
            _sum(case((expected, 1), else_=0)),
            _sum(case((pm.status == "final", 1), else_=0)),
            _sum(case((and_(pm.status != "final", pm.due_at < now), 1), else_=0)),
            _sum(items.c.n),
            _sum(items.c.closed),
            _sum(items.c.overdue),
        )
        .select_from(ids)
        .outerjoin(pm, and_(pm.incident_id == ids.c.id, pm.incident_id.between(lo, hi)))
        .outerjoin(items, items.c.incident_id == ids.c.id)
    )
    total, groups = await _total_and_groups(session, scope, ids.c, query, by_group)
    return (_three(total), _three(total[3:])), {
        key: (_three(row), _three(row[3:])) for key, row in groups.items()
    }


def _group_order(policy: Policy, by: GroupBy | None) -> Any:
    ranks = {s.key: n for n, s in enumerate(policy.severities)}

    def order(key: str | None) -> tuple[int, int, str]:
        if key is None:
            return (1, 0, "")
        return (0, ranks.get(key, len(ranks)) if by == "severity" else 0, key)

    return order


async def period_report(
    session: AsyncSession,
    actor: Actor,
    period: Period,
    *,
    by: GroupBy | None = None,
    clock: Clock,
) -> PeriodReport:
    """The period's figures in total and per group, with the change against the period
    before."""
    scope = await _scope(session, actor, clock)
    zone = scope.policy.organization.calendar().zone
    start, end = period.bounds(zone)
    before_start, before_end = period.previous().bounds(zone)
    by_group = by is not None
    now_total, now_groups = await _sums(
        session, scope, _base(scope, start, end, by, once=True), by_group=by_group, detail=True
    )
    before_total, before_groups = await _sums(
        session,
        scope,
        _base(scope, before_start, before_end, by, once=True),
        by_group=by_group,
        detail=False,
    )
    follow_total, follow_groups = await _follow_up(
        session, scope, _base(scope, start, end, by), by_group=by_group
    )
    names = {c.key: c.name for c in scope.policy.root_causes}

    def shape(key: str | None, now: Sums, before: Sums, follow_up: FollowUp) -> GroupFigures:
        causes = figures.top_root_causes(now.root_causes, names)
        return _group(key, now, before, now.severity_counts, causes, *follow_up)

    total = shape(None, now_total, before_total, follow_total)
    groups = [
        shape(
            key,
            now_groups[key],
            before_groups.get(key, Sums(key=key)),
            follow_groups.get(key, _NO_FOLLOW_UP),
        )
        for key in sorted(now_groups, key=_group_order(scope.policy, by))
    ]
    return PeriodReport(
        period=period.label,
        kind=period.kind,
        timezone=str(zone),
        start=start,
        end=end,
        previous_period=period.previous().label,
        as_of=scope.now,
        by=by,
        excluded_types=excluded_types(scope.policy),
        total=total,
        groups=groups,
    )


def _group(
    key: str | None,
    now: Sums,
    before: Sums,
    severity_counts: dict[str, int],
    root_causes: list[RootCauseCount],
    reviews: tuple[int, int, int],
    actions: tuple[int, int, int],
) -> GroupFigures:
    now_spreads, before_spreads = figures.spreads(now), figures.spreads(before)
    return GroupFigures(
        key=key,
        incidents=now.incidents,
        open=now.open,
        resolved=now.resolved,
        severity_counts=severity_counts,
        **now_spreads,
        sla=figures.sla_summary(now),
        downtime_minutes=figures.downtime_minutes(now),
        user_impact_hours=figures.user_impact_hours(now.impact_user_ms),
        top_root_causes=root_causes,
        postmortems=figures.completion(*reviews),
        action_items=figures.completion(*actions),
        change=figures.change(now, before, now_spreads, before_spreads),
    )


async def incident_metrics(
    session: AsyncSession, actor: Actor, ref: str, *, clock: Clock
) -> IncidentMetrics:
    """One incident's durations, SLA verdict per target and user impact."""
    incident = await incidents.get(session, actor, ref)
    policy = await policies.current_policy(session)
    roles = list(
        (
            await session.scalars(
                select(IncidentRole).where(IncidentRole.incident_id == incident.id)
            )
        ).all()
    )
    sla = stage_clock.sla_states(incident, roles, clock.now())
    stages = [s for s in sla if s.target in STAGE_TARGETS and s.due_at is not None]
    verdicts = {s.verdict for s in stages}
    sla_met = (
        False if "breached" in verdicts else (True if stages and verdicts == {"met"} else None)
    )
    i = incident
    spans = {
        "ttd": figures.span_us(i.started_at, i.detected_at),
        "tta": figures.span_us(i.detected_at, i.acknowledged_at),
        "ttm": figures.span_us(i.acknowledged_at, i.mitigated_at),
        "ttr": figures.span_us(i.mitigated_at, i.resolved_at),
        "duration": figures.span_us(i.detected_at, i.resolved_at),
    }
    duration = spans["duration"]
    impact = (
        None
        if duration is None or i.users_affected is None
        else figures.user_impact_hours(i.users_affected * (duration // 1000))
    )
    return IncidentMetrics(
        id=i.ref,
        title=i.title,
        severity=i.severity,
        type=i.type,
        team=i.team,
        service=i.service,
        status=i.status,
        started_at=i.started_at,
        detected_at=i.detected_at,
        acknowledged_at=i.acknowledged_at,
        mitigated_at=i.mitigated_at,
        resolved_at=i.resolved_at,
        **{
            f"{name}_seconds": None if us is None else figures.seconds(us)
            for name, us in spans.items()
        },
        sla=sla,
        sla_met=sla_met,
        users_affected=i.users_affected,
        user_impact_hours=impact,
        root_cause=i.root_cause,
        excluded_from_metrics=i.type in excluded_types(policy),
    )


# --- /metrics ----------------------------------------------------------------------------

#: Histogram bounds in seconds: acknowledgement (detected -> acknowledged) and resolution
#: (detected -> resolved) times.
ACK_BOUNDS = (60, 300, 900, 1800, 3600, 7200, 14400, 43200, 86400)
RESOLVE_BOUNDS = (900, 1800, 3600, 7200, 14400, 28800, 86400, 259200, 604800)


@dataclass
class _Live:
    """One severity's figures for ``/metrics``; histograms as counts per bucket (the last
    bucket: above every bound) and the sum of the values in microseconds."""

    open: int = 0
    ack: list[int] = field(default_factory=lambda: [0] * (len(ACK_BOUNDS) + 1))
    ack_us: int = 0
    resolve: list[int] = field(default_factory=lambda: [0] * (len(RESOLVE_BOUNDS) + 1))
    resolve_us: int = 0
    breaches: list[int] = field(default_factory=lambda: [0] * len(STAGE_TARGETS))

    def histogram(self, severity: str, name: str) -> exposition.Histogram:
        counts, total = (
            (self.ack, self.ack_us) if name == "ack" else (self.resolve, self.resolve_us)
        )
        at_most = list(itertools.accumulate(counts))[:-1]
        return exposition.Histogram({"severity": severity}, at_most, total / 1_000_000, sum(counts))


def _bucket(value: Any, bounds: tuple[int, ...]) -> ColumnElement[Any]:
    """The first bound (index) ``value`` (microseconds) is at most; past them all,
    ``len(bounds)``; no value, NULL."""
    steps = [(value <= bound * 1_000_000, n) for n, bound in enumerate(bounds)]
    return case(*steps, (value.is_not(None), len(bounds)))


async def _live(session: AsyncSession, scope: _Scope) -> dict[str, _Live]:
    """Per severity, in one pass over every counted incident: open ones, the acknowledgement
    and resolution histograms, breaches per stage target. Each incident is counted in its
    buckets (SQL); the cumulative counts Prometheus wants are summed from the buckets."""
    durations = _durations(scope.dialect)
    flags = sla_flags(scope.now)
    breached = [f"b_{t}" for t in STAGE_TARGETS]
    rows = select(
        Incident.severity,
        case((Incident.status.in_(OPEN_STATUSES), 1), else_=0).label("open"),
        durations["tta"].label("tta"),
        durations["duration"].label("duration"),
        *(flags[name].label(name) for name in breached),
    )
    # OFFSET 0 keeps each subquery apart: every duration is computed once per row.
    r = scope.incidents(rows).offset(0).subquery("counted").c
    bucketed = select(
        r.severity,
        r.open,
        r.tta,
        r.duration,
        *(r[name] for name in breached),
        _bucket(r.tta, ACK_BOUNDS).label("ack"),
        _bucket(r.duration, RESOLVE_BOUNDS).label("resolve"),
    )
    k = bucketed.offset(0).subquery("bucketed").c
    query = select(
        k.severity,
        k.ack,
        k.resolve,
        func.count(),
        _sum(k.open),
        _sum(k.tta),
        _sum(k.duration),
        *(_sum(k[name]) for name in breached),
    ).group_by(k.severity, k.ack, k.resolve)
    out: dict[str, _Live] = {}
    for severity, ack, resolve, n, open_, tta, duration, *breaches in (
        await session.execute(query)
    ).all():
        live = out.setdefault(severity, _Live())
        live.open += int(open_)
        if ack is not None:
            live.ack[ack] += int(n)
            live.ack_us += int(tta)
        if resolve is not None:
            live.resolve[resolve] += int(n)
            live.resolve_us += int(duration)
        live.breaches = [a + int(b) for a, b in zip(live.breaches, breaches, strict=True)]
    return out


async def metrics(session: AsyncSession, actor: Actor, *, clock: Clock) -> str:
    """``/metrics`` in Prometheus' text format, over the incidents the actor may see."""
    scope = await _scope(session, actor, clock)
    live = await _live(session, scope)
    for key in (s.key for s in scope.policy.severities):  # every level, even without incidents
        live.setdefault(key, _Live())
    severities = sorted(live, key=_group_order(scope.policy, "severity"))
    failed = await notify.failures_by_channel(session)
    waiting, scheduled, oldest = await jobs.queue_depth(session, now=scope.now)

    open_family = exposition.Family(
        "tocsin_incidents_open", "gauge", "Open incidents (investigating, identified, monitoring)."
    )
    breach_family = exposition.Family(
        "tocsin_sla_breaches",
        "gauge",
        "Incidents whose SLA target was breached (reached late, or overdue), by stage.",
    )
    for severity in severities:
        open_family.add(live[severity].open, severity=severity)
        for target, count in zip(STAGE_TARGETS, live[severity].breaches, strict=True):
            breach_family.add(count, severity=severity, target=target)
    failed_family = exposition.Family(
        "tocsin_notifications_failed_total", "counter", "Notifications given up as failed."
    )
    for channel_key in sorted(failed):
        failed_family.add(failed[channel_key], channel=channel_key)
    lag = 0.0 if oldest is None else max(0.0, (scope.now - oldest).total_seconds())
    families = [
        open_family,
        exposition.histogram(
            "tocsin_incident_acknowledge_seconds",
            "Time from detection to acknowledgement.",
            ACK_BOUNDS,
            [live[s].histogram(s, "ack") for s in severities],
        ),
        exposition.histogram(
            "tocsin_incident_resolve_seconds",
            "Time from detection to resolution.",
            RESOLVE_BOUNDS,
            [live[s].histogram(s, "resolve") for s in severities],
        ),
        breach_family,
        failed_family,
        _gauge("tocsin_job_queue_depth", "Jobs due and waiting for a worker.", waiting),
        _gauge("tocsin_jobs_scheduled", "Jobs (timers) due later.", scheduled),
        _gauge(
            "tocsin_job_queue_lag_seconds",
            "How long the oldest waiting job has been due.",
            lag,
        ),
    ]
    return exposition.render(families)


def _gauge(name: str, help_: str, value: float) -> exposition.Family:
    family = exposition.Family(name, "gauge", help_)
    family.add(value)
    return family
