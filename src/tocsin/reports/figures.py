"""The figures of a report from what the queries summed and counted. Pure.

The queries return whole microseconds (sums, counts, percentile values); everything here
is arithmetic on those, so SQLite and PostgreSQL give exactly the same figures.

Durations follow seed 004's IncidentMetrics, stage by stage:

- time to detect (TTD): impact started → detected (only when the start is known);
- time to acknowledge (TTA): detected → acknowledged;
- time to mitigate (TTM): acknowledged → mitigated;
- time to resolve (TTR): mitigated → resolved;
- duration: detected → resolved.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from tocsin.reports.schemas import Change, Completion, RootCauseCount, SlaSummary, Spread

DURATIONS = ("ttd", "tta", "ttm", "ttr", "duration")
#: Those whose mean is compared with the previous period's.
CHANGED_DURATIONS = ("tta", "ttm", "ttr", "duration")
#: Stage targets of the SLA (``sla:`` in the policy), in order.
STAGE_TARGETS = ("acknowledge", "identify", "mitigate", "resolve")
MEDIAN, P90 = 0.5, 0.9
TOP_ROOT_CAUSES = 5

_US = 1_000_000


def seconds(us: float) -> float:
    return round(us / _US, 3)


def span_us(start: datetime | None, end: datetime | None) -> int | None:
    """Whole microseconds from ``start`` to ``end`` (``None`` if either is unknown)."""
    if start is None or end is None:
        return None
    delta = end - start
    return (delta.days * 86_400 + delta.seconds) * _US + delta.microseconds


def percentile_cont(lo: float, hi: float, fraction: float, n: int) -> float:
    """PostgreSQL's ``percentile_cont`` from the two neighbouring values, in the same
    floating-point steps: position h = fraction * (n - 1) in the sorted values (from 0);
    the result is lo + (h - ⌊h⌋) * (hi - lo), lo and hi the values at ⌊h⌋ and ⌈h⌉."""
    h = fraction * (n - 1)
    below = math.floor(h)
    if math.ceil(h) == below:
        return float(lo)
    return float(lo) + ((h - below) * (float(hi) - float(lo)))


def spread(total_us: int, count: int, median_us: float | None, p90_us: float | None) -> Spread:
    if count == 0:
        return Spread(count=0, mean=None, median=None, p90=None)
    return Spread(
        count=count,
        mean=seconds(total_us / count),
        median=None if median_us is None else seconds(median_us),
        p90=None if p90_us is None else seconds(p90_us),
    )


def pct(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(100 * part / whole, 2)


@dataclass
class Sums:
    """What the aggregate query returns for one group."""

    key: str | None
    incidents: int = 0
    open: int = 0
    resolved: int = 0
    #: Per duration: sum of microseconds and how many incidents have it.
    total_us: dict[str, int] = field(default_factory=dict)
    count: dict[str, int] = field(default_factory=dict)
    #: Per duration: median and p90 in microseconds.
    median_us: dict[str, float | None] = field(default_factory=dict)
    p90_us: dict[str, float | None] = field(default_factory=dict)
    sla_met: int = 0
    sla_breached: int = 0
    breaches: dict[str, int] = field(default_factory=dict)
    downtime_us: int = 0
    #: Sum over incidents of users affected * duration in whole milliseconds.
    impact_user_ms: int = 0
    severity_counts: dict[str, int] = field(default_factory=dict)
    root_causes: dict[str, int] = field(default_factory=dict)


def sla_summary(sums: Sums) -> SlaSummary:
    return SlaSummary(
        met=sums.sla_met,
        breached=sums.sla_breached,
        compliance_pct=pct(sums.sla_met, sums.sla_met + sums.sla_breached),
        breaches={t: sums.breaches.get(t, 0) for t in STAGE_TARGETS},
    )


def downtime_minutes(sums: Sums) -> float:
    return round(sums.downtime_us / (60 * _US), 3)


def user_impact_hours(user_ms: int) -> float:
    return round(user_ms / 3_600_000, 3)


def spreads(sums: Sums) -> dict[str, Spread]:
    return {
        name: spread(
            sums.total_us.get(name, 0),
            sums.count.get(name, 0),
            sums.median_us.get(name),
            sums.p90_us.get(name),
        )
        for name in DURATIONS
    }


def top_root_causes(
    counts: Mapping[str, int], names: Mapping[str, str], limit: int = TOP_ROOT_CAUSES
) -> list[RootCauseCount]:
    """Most frequent first; ties by key, so the order is stable."""
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    return [RootCauseCount(cause=k, name=names.get(k, k), count=n) for k, n in ranked]


def completion(total: int, completed: int, overdue: int = 0) -> Completion:
    return Completion(
        total=total, completed=completed, completion_pct=pct(completed, total), overdue=overdue
    )


def _change(now: float | None, before: float | None) -> float | None:
    if now is None or before is None or before == 0:
        return None
    return round(100 * (now - before) / before, 2)


def change(
    now: Sums, before: Sums, now_spreads: dict[str, Spread], before_spreads: dict[str, Spread]
) -> Change:
    rate_now, rate_before = sla_summary(now).compliance_pct, sla_summary(before).compliance_pct
    return Change(
        incidents_pct=_change(now.incidents, before.incidents),
        tta_mean_pct=_change(now_spreads["tta"].mean, before_spreads["tta"].mean),
        ttm_mean_pct=_change(now_spreads["ttm"].mean, before_spreads["ttm"].mean),
        ttr_mean_pct=_change(now_spreads["ttr"].mean, before_spreads["ttr"].mean),
        duration_mean_pct=_change(now_spreads["duration"].mean, before_spreads["duration"].mean),
        sla_compliance_points=(
            None if rate_now is None or rate_before is None else round(rate_now - rate_before, 2)
        ),
        downtime_minutes_pct=_change(downtime_minutes(now), downtime_minutes(before)),
        user_impact_hours_pct=_change(
            user_impact_hours(now.impact_user_ms), user_impact_hours(before.impact_user_ms)
        ),
    )
