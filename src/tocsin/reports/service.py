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

from dataclasses import dataclass
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
    true,
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


def _key(b: Any, grouped: bool) -> Any:
    """The group's key column; the total has none (no GROUP BY: no sort of every row)."""
    return b.grp if grouped else literal_column("'all'")


def _by_group(query: Select[Any], b: Any, grouped: bool) -> Select[Any]:
    return query.group_by(b.grp) if grouped else query


def _sum(expr: Any) -> ColumnElement[Any]:
    return func.coalesce(func.sum(expr), 0)


async def _sums(
    session: AsyncSession, scope: _Scope, base: NamedFromClause, *, grouped: bool, detail: bool
) -> dict[str | None, Sums]:
    """The aggregate row of every group, in one pass over the incidents; ``detail`` adds
    the medians and p90s and the counts per severity and per root cause."""
    b = base.c
    dues = sum((b[f"d_{t}"] for t in STAGE_TARGETS), literal(0))
    mets = sum((b[f"m_{t}"] for t in STAGE_TARGETS), literal(0))
    breaches = sum((b[f"b_{t}"] for t in STAGE_TARGETS), literal(0))
    most_severe = scope.policy.severities[0].key
    columns: list[Any] = [
        _key(b, grouped),
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
    out: dict[str | None, Sums] = {}
    for row in (await session.execute(_by_group(select(*columns), b, grouped))).all():
        key, count, open_, resolved, breached, met, downtime, impact = row[:8]
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
        rest = list(row[8:])
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
        out[key] = sums
    if detail and not pg_percentiles:
        await _window_percentiles(session, base, out)
    return out


async def _window_percentiles(
    session: AsyncSession, base: NamedFromClause, out: dict[str | None, Sums]
) -> None:
    """SQLite: per group and duration, the values at positions ⌊h⌋ and ⌈h⌉ (h = p * (n -
    1), from 0) of the sorted values, by ROW_NUMBER and COUNT over the group."""
    b = base.c
    for name in DURATIONS:
        ranked = (
            select(
                b.grp,
                b[name].label("x"),
                (func.row_number().over(partition_by=b.grp, order_by=b[name]) - 1).label("i"),
                func.count().over(partition_by=b.grp).label("n"),
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
            sums = out[key]
            sums.median_us[name] = figures.percentile_cont(mid_lo, mid_hi, MEDIAN, int(n))
            sums.p90_us[name] = figures.percentile_cont(p90_lo, p90_hi, P90, int(n))


FollowUp = tuple[tuple[int, int, int], tuple[int, int, int]]


def _item_counts(now: ColumnElement[Any]) -> list[ColumnElement[Any]]:
    """Action items, closed (done or won't do), overdue (open, past due)."""
    closed = ActionItem.status.in_(CLOSED_ACTION_STATUSES)
    return [
        func.count(),  # not count(id): the index alone answers (index-only scans)
        _sum(case((closed, 1), else_=0)),
        _sum(case((and_(~closed, ActionItem.due_at < now), 1), else_=0)),
    ]


async def _follow_up(
    session: AsyncSession, scope: _Scope, base: NamedFromClause, *, grouped: bool
) -> dict[str | None, FollowUp]:
    """Per group: postmortems expected (one was started, or the severity requires one),
    final and overdue (not final, past due); and the action items' counts.

    PostgreSQL looks each incident's rows up through LATERAL subqueries (index scans of
    the incident's own rows) in one pass, where a join would read both tables whole."""
    b = base.c
    now = literal(scope.now, UTCDateTime())
    postgres = scope.dialect == "postgresql"
    query = select(_key(b, grouped)).select_from(base)
    if postgres:
        review = (
            select(Postmortem.id, Postmortem.status, Postmortem.due_at)
            .where(Postmortem.incident_id == b.id)
            .lateral("pm")
        )
        counted = [c.label(f"c{n}") for n, c in enumerate(_item_counts(now))]
        ai = select(*counted).where(ActionItem.incident_id == b.id).lateral("ai")
        query = query.outerjoin(review, true()).join(ai, true())
        pm: Any = review.c
        items = [_sum(column) for column in ai.c]
    else:
        pm = Postmortem
        query = query.outerjoin(Postmortem, Postmortem.incident_id == b.id)
        items = []
    required = [s.key for s in scope.policy.severities if s.postmortem.required]
    expected = or_(pm.id.is_not(None), b.severity.in_(required))
    query = query.add_columns(
        _sum(case((expected, 1), else_=0)),
        _sum(case((pm.status == "final", 1), else_=0)),
        _sum(case((and_(pm.status != "final", pm.due_at < now), 1), else_=0)),
        *items,
    )
    out: dict[str | None, FollowUp] = {}
    for key, t, f, o, *rest in (await session.execute(_by_group(query, b, grouped))).all():
        n, c, v = (int(x) for x in rest) if rest else (0, 0, 0)
        out[key] = ((int(t), int(f), int(o)), (n, c, v))
    if not postgres:
        joined = select(_key(b, grouped), *_item_counts(now)).select_from(base)
        joined = joined.join(ActionItem, ActionItem.incident_id == b.id)
        for key, n, c, v in (await session.execute(_by_group(joined, b, grouped))).all():
            out[key] = (out[key][0], (int(n), int(c), int(v)))
    return out


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
    groupings: list[GroupBy | None] = [None] if by is None else [None, by]
    results: list[list[GroupFigures]] = []
    for grouping in groupings:
        base = _base(scope, start, end, grouping)
        grouped = grouping is not None
        now_sums = await _sums(
            session,
            scope,
            _base(scope, start, end, grouping, once=True),
            grouped=grouped,
            detail=True,
        )
        before = await _sums(
            session,
            scope,
            _base(scope, before_start, before_end, grouping, once=True),
            grouped=grouped,
            detail=False,
        )
        follow_up = await _follow_up(session, scope, base, grouped=grouped)
        if grouping is None and "all" not in now_sums:  # no incident at all
            now_sums["all"] = Sums(key="all")
        keys = sorted(now_sums, key=_group_order(scope.policy, grouping))
        names = {c.key: c.name for c in scope.policy.root_causes}
        results.append(
            [
                _group(
                    None if grouping is None else key,
                    now_sums[key],
                    before.get(key, Sums(key=key)),
                    now_sums[key].severity_counts,
                    figures.top_root_causes(now_sums[key].root_causes, names),
                    *follow_up.get(key, ((0, 0, 0), (0, 0, 0))),
                )
                for key in keys
            ]
        )
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
        total=results[0][0],
        groups=results[1] if by else [],
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


async def _histograms(
    session: AsyncSession, scope: _Scope, name: str, bounds: tuple[int, ...]
) -> list[exposition.Histogram]:
    """Per severity: incidents whose duration ``name`` is at most each bound, sum, count."""
    value = _durations(scope.dialect)[name]
    columns: list[Any] = [Incident.severity]
    columns += [_sum(case((value <= bound * 1_000_000, 1), else_=0)) for bound in bounds]
    columns += [_sum(value), func.count(value)]
    query = scope.incidents(select(*columns).where(value.is_not(None)))
    rows = (await session.execute(query.group_by(Incident.severity))).all()
    found = {row[0]: row[1:] for row in rows}
    out = []
    for severity in [s.key for s in scope.policy.severities] + sorted(
        set(found) - {s.key for s in scope.policy.severities}
    ):
        row = found.get(severity)
        at_most = [0] * len(bounds) if row is None else [int(n) for n in row[: len(bounds)]]
        total, count = (0, 0) if row is None else (int(row[-2]), int(row[-1]))
        out.append(exposition.Histogram({"severity": severity}, at_most, total / 1_000_000, count))
    return out


async def metrics(session: AsyncSession, actor: Actor, *, clock: Clock) -> str:
    """``/metrics`` in Prometheus' text format, over the incidents the actor may see."""
    scope = await _scope(session, actor, clock)
    severities = [s.key for s in scope.policy.severities]
    counted: list[Any] = [Incident.severity, func.count()]
    open_query = (
        select(*counted).where(Incident.status.in_(OPEN_STATUSES)).group_by(Incident.severity)
    )
    open_rows = await session.execute(scope.incidents(open_query))
    open_counts = {row[0]: int(row[1]) for row in open_rows.all()}
    flags = sla_flags(scope.now)
    breach_rows = await session.execute(
        scope.incidents(
            select(Incident.severity, *(_sum(flags[f"b_{t}"]) for t in STAGE_TARGETS)).group_by(
                Incident.severity
            )
        )
    )
    breaches = {row[0]: row[1:] for row in breach_rows.all()}
    failed = await notify.failures_by_channel(session)
    waiting, scheduled, oldest = await jobs.queue_depth(session, now=scope.now)

    open_family = exposition.Family(
        "tocsin_incidents_open", "gauge", "Open incidents (investigating, identified, monitoring)."
    )
    for severity in sorted({*severities, *open_counts}, key=_group_order(scope.policy, "severity")):
        open_family.add(open_counts.get(severity, 0), severity=severity)
    breach_family = exposition.Family(
        "tocsin_sla_breaches",
        "gauge",
        "Incidents whose SLA target was breached (reached late, or overdue), by stage.",
    )
    for severity in sorted(breaches, key=_group_order(scope.policy, "severity")):
        for target, count in zip(STAGE_TARGETS, breaches[severity], strict=True):
            breach_family.add(int(count), severity=severity, target=target)
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
            await _histograms(session, scope, "tta", ACK_BOUNDS),
        ),
        exposition.histogram(
            "tocsin_incident_resolve_seconds",
            "Time from detection to resolution.",
            RESOLVE_BOUNDS,
            await _histograms(session, scope, "duration", RESOLVE_BOUNDS),
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
