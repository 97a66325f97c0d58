"""Acceptance: the fixed set of incidents (conftest.py) and its figures, worked out by hand,
on SQLite and PostgreSQL. Every number below is written out, not computed by the code.

January 2026, as an admin sees it (J5 is a drill: excluded; J7 is in February):

    ref  sev   team service started detected ack    mitigated resolved users root cause
    J1   SEV1  web  api     09:50   10:00    10:04  10:24     11:00    1000  deployment
    J2   SEV1  data db      -       08:00    08:12  09:12     10:12     200  database
    J3   SEV2  web  api     13:30   14:00    14:05  14:35     15:05      50  deployment
    J4   SEV2  data db      -       09:00    09:20  (open, restricted)    -  -
    J6   SEV2  -    -       -       15:40    16:00  18:00     18:00      -  -

TTD (s): J1 600, J3 1800.  TTA: 240, 720, 300, 1200, 1200.  TTM: 1200, 3600, 1800, 7200.
TTR: 2160, 3600, 1800, 0.  Duration: 3600, 7920, 3900, 8400.
p90 = percentile_cont(0.9): h = 0.9 (n - 1), value[floor h] + frac(h) (value[ceil h] -
value[floor h]); e.g. TTM sorted 1200, 1800, 3600, 7200: h = 2.7, 3600 + 0.7 * 3600 = 6120.
SLA: J1 met; J2 ack (due 08:05) and mitigate (due 08:42) breached; J3 met; J4 ack (due
09:15) breached and resolve (due 17:00, open on 1 February) breached; J6 ack (due 15:55)
breached. Met 2, breached 3: 40 %.
"""

from __future__ import annotations

from typing import Any

from tests.reports.conftest import AS_OF

from tocsin.auth.actor import SYSTEM, Actor
from tocsin.context import Context
from tocsin.reports import periods
from tocsin.reports import service as reports
from tocsin.reports.schemas import GroupFigures


def spread(count: int, mean: float | None, median: float | None, p90: float | None) -> Any:
    return {"count": count, "mean": mean, "median": median, "p90": p90}


async def report(ctx: Context, actor: Actor, period: str = "2026-01", by: Any = None) -> Any:
    async with ctx.db.read() as session:
        return await reports.period_report(
            session, actor, periods.parse(period), by=by, clock=ctx.clock
        )


def dump(group: GroupFigures) -> dict[str, Any]:
    return group.model_dump(mode="json")


async def test_january_total_as_admin(ctx: Context, fixed_set: dict[str, str]) -> None:
    result = await report(ctx, SYSTEM)
    assert result.period == "2026-01"
    assert result.previous_period == "2025-12"
    assert result.excluded_types == ["drill"]
    assert result.as_of == AS_OF
    assert dump(result.total) == {
        "key": None,
        "incidents": 5,
        "open": 1,
        "resolved": 4,
        "severity_counts": {"SEV1": 2, "SEV2": 3},
        "ttd": spread(2, 1200.0, 1200.0, 1680.0),
        "tta": spread(5, 732.0, 720.0, 1200.0),
        "ttm": spread(4, 3450.0, 2700.0, 6120.0),
        "ttr": spread(4, 1890.0, 1980.0, 3168.0),
        "duration": spread(4, 5955.0, 5910.0, 8256.0),
        "sla": {
            "met": 2,
            "breached": 3,
            "compliance_pct": 40.0,
            "breaches": {"acknowledge": 3, "identify": 0, "mitigate": 1, "resolve": 1},
        },
        # SEV1 (the most severe level) only: J1 60 min + J2 132 min.
        "downtime_minutes": 192.0,
        # 1000 users x 1 h + 200 x 2.2 h + 50 x 65/60 h = 1494.1666...
        "user_impact_hours": 1494.167,
        "top_root_causes": [
            {"cause": "deployment", "name": "Deployment", "count": 2},
            {"cause": "database", "name": "Database", "count": 1},
        ],
        # J1 (final), J2 (draft, due 12 January: overdue), J3 (in review, started).
        "postmortems": {"total": 3, "completed": 1, "completion_pct": 33.33, "overdue": 1},
        # J1 done + won't do; J2 open (overdue) + in progress; J3 open without due date.
        "action_items": {"total": 5, "completed": 2, "completion_pct": 40.0, "overdue": 1},
        # December: P1 (SEV2) TTA 600 TTM 1800 TTR 1200 duration 3600; P2 (SEV1) TTA 240
        # TTM 1200 TTR 3600 duration 5040; both met; downtime 84 min; no users given.
        "change": {
            "incidents_pct": 150.0,  # 2 -> 5
            "tta_mean_pct": 74.29,  # 420 -> 732
            "ttm_mean_pct": 130.0,  # 1500 -> 3450
            "ttr_mean_pct": -21.25,  # 2400 -> 1890
            "duration_mean_pct": 37.85,  # 4320 -> 5955
            "sla_compliance_points": -60.0,  # 100 % -> 40 %
            "downtime_minutes_pct": 128.57,  # 84 -> 192
            "user_impact_hours_pct": None,  # 0 before
        },
    }


async def test_january_by_severity(ctx: Context, fixed_set: dict[str, str]) -> None:
    result = await report(ctx, SYSTEM, by="severity")
    assert [g.key for g in result.groups] == ["SEV1", "SEV2"]
    sev1, sev2 = (dump(g) for g in result.groups)
    assert (sev1["incidents"], sev1["open"], sev2["incidents"], sev2["open"]) == (2, 0, 3, 1)
    assert sev1["tta"] == spread(2, 480.0, 480.0, 672.0)  # 240, 720
    assert sev2["tta"] == spread(3, 900.0, 1200.0, 1200.0)  # 300, 1200, 1200
    assert sev1["ttm"] == spread(2, 2400.0, 2400.0, 3360.0)  # 1200, 3600
    assert sev2["ttr"] == spread(2, 900.0, 900.0, 1620.0)  # 1800, 0
    assert sev1["sla"]["compliance_pct"] == 50.0
    assert sev2["sla"] == {
        "met": 1,
        "breached": 2,
        "compliance_pct": 33.33,
        "breaches": {"acknowledge": 2, "identify": 0, "mitigate": 0, "resolve": 1},
    }
    assert (sev1["downtime_minutes"], sev2["downtime_minutes"]) == (192.0, 0.0)
    assert (sev1["user_impact_hours"], sev2["user_impact_hours"]) == (1440.0, 54.167)
    assert sev1["postmortems"] == {
        "total": 2,
        "completed": 1,
        "completion_pct": 50.0,
        "overdue": 1,
    }
    # December: SEV1 was P2 alone (TTA 240), SEV2 P1 alone (TTA 600).
    assert sev1["change"]["incidents_pct"] == 100.0
    assert sev1["change"]["tta_mean_pct"] == 100.0
    assert sev2["change"]["tta_mean_pct"] == 50.0
    assert result.total.incidents == 5


async def test_january_by_team_and_service(ctx: Context, fixed_set: dict[str, str]) -> None:
    teams = await report(ctx, SYSTEM, by="team")
    assert [(g.key, g.incidents, g.open) for g in teams.groups] == [
        ("data", 2, 1),
        ("web", 2, 0),
        (None, 1, 0),
    ]
    web = dump(teams.groups[1])
    assert web["duration"] == spread(2, 3750.0, 3750.0, 3870.0)  # 3600, 3900
    assert web["ttd"] == spread(2, 1200.0, 1200.0, 1680.0)
    assert web["top_root_causes"] == [{"cause": "deployment", "name": "Deployment", "count": 2}]
    services = await report(ctx, SYSTEM, by="service")
    # J1 names the component api (the service by default), J2 the service db.
    assert [(g.key, g.incidents) for g in services.groups] == [("api", 2), ("db", 2), (None, 1)]
    types = await report(ctx, SYSTEM, by="type")
    assert [(g.key, g.incidents) for g in types.groups] == [
        ("outage", 3),
        ("security", 1),
        (None, 1),
    ]


async def test_restricted_incidents_count_only_for_who_may_see_them(
    ctx: Context, fixed_set: dict[str, str]
) -> None:
    async with ctx.db.write() as session:
        from tocsin.auth import service as auth

        user = await auth.create_user(session, SYSTEM, "viewer@example.com", clock=ctx.clock)
        viewer = auth.actor_for(user)
    result = await report(ctx, viewer)
    total = dump(result.total)
    # J4 (security, restricted) is not theirs: J1, J2, J3, J6 remain.
    assert (total["incidents"], total["open"]) == (4, 0)
    assert total["tta"] == spread(4, 615.0, 510.0, 1056.0)  # 240, 300, 720, 1200
    assert total["sla"] == {
        "met": 2,
        "breached": 2,
        "compliance_pct": 50.0,
        "breaches": {"acknowledge": 2, "identify": 0, "mitigate": 1, "resolve": 0},
    }
    assert total["severity_counts"] == {"SEV1": 2, "SEV2": 2}


async def test_excluded_type_stays_out_of_every_figure(
    ctx: Context, fixed_set: dict[str, str]
) -> None:
    """J5 (a drill) is the only SEV1 declared on 12 January: the week holds nothing else."""
    week = dump((await report(ctx, SYSTEM, period="2026-W03")).total)
    assert week["incidents"] == 0
    assert week["action_items"]["total"] == 0
    assert week["top_root_causes"] == []
    assert week["tta"] == spread(0, None, None, None)
    async with ctx.db.read() as session:
        drill = await reports.incident_metrics(session, SYSTEM, fixed_set["J5"], clock=ctx.clock)
    assert drill.excluded_from_metrics is True


async def test_quarter_and_custom_ranges(ctx: Context, fixed_set: dict[str, str]) -> None:
    quarter = await report(ctx, SYSTEM, period="2026-Q1")
    assert quarter.total.incidents == 6  # January's five and J7 (open, February)
    assert quarter.previous_period == "2025-Q4"
    assert quarter.total.change is not None
    assert quarter.total.change.incidents_pct == 200.0  # 2 -> 6
    async with ctx.db.read() as session:
        custom = await reports.period_report(
            session,
            SYSTEM,
            periods.custom(periods.parse("2026-01").first, periods.parse("2026-01").first),
            clock=ctx.clock,
        )
    assert custom.total.incidents == 0


async def test_one_incident(ctx: Context, fixed_set: dict[str, str]) -> None:
    async with ctx.db.read() as session:
        j2 = await reports.incident_metrics(session, SYSTEM, fixed_set["J2"], clock=ctx.clock)
        j1 = await reports.incident_metrics(session, SYSTEM, fixed_set["J1"], clock=ctx.clock)
    assert (j2.ttd_seconds, j2.tta_seconds, j2.ttm_seconds, j2.ttr_seconds) == (
        None,
        720.0,
        3600.0,
        3600.0,
    )
    assert j2.duration_seconds == 7920.0
    stages = {s.target: (s.verdict, s.margin_seconds) for s in j2.sla}
    assert stages["acknowledge"] == ("breached", 420)  # due 08:05, acknowledged 08:12
    assert stages["mitigate"] == ("breached", 1800)  # due 08:42, mitigated 09:12
    assert stages["resolve"] == ("met", 10800)  # due 13:12, resolved 10:12
    assert j2.sla_met is False
    assert (j2.users_affected, j2.user_impact_hours, j2.root_cause) == (200, 440.0, "database")
    assert (j1.ttd_seconds, j1.sla_met, j1.user_impact_hours) == (600.0, True, 1000.0)
    assert (j1.team, j1.service) == ("web", "api")
