"""The reports API and Prometheus' /metrics over HTTP, on the fixed set (conftest.py).

Expected figures are worked out by hand from the fixed set (see
test_report_acceptance.py's table); /metrics is read back with Prometheus' own parser.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select
from tests.conftest import add_user, token_for
from tests.reports.conftest import AS_OF

from tocsin.context import Context
from tocsin.jobs import service as jobs
from tocsin.jobs.models import Job
from tocsin.notify.models import Notification


async def test_period_report_as_json(client: httpx.AsyncClient, fixed_set: dict[str, str]) -> None:
    answer = await client.get("/api/v1/reports/period", params={"period": "2026-01", "by": "team"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["period"], body["previous_period"], body["by"]) == ("2026-01", "2025-12", "team")
    assert body["start"] == "2026-01-01T00:00:00Z"
    assert body["end"] == "2026-02-01T00:00:00Z"
    total = body["total"]
    assert (total["incidents"], total["open"]) == (5, 1)
    assert total["ttm"] == {"count": 4, "mean": 3450.0, "median": 2700.0, "p90": 6120.0}
    assert total["sla"]["compliance_pct"] == 40.0
    assert [(g["key"], g["incidents"]) for g in body["groups"]] == [
        ("data", 2),
        ("web", 2),
        (None, 1),
    ]


async def test_custom_range_and_csv(client: httpx.AsyncClient, fixed_set: dict[str, str]) -> None:
    answer = await client.get(
        "/api/v1/reports/period",
        params={"from": "2026-01-01", "to": "2026-01-31", "by": "severity", "format": "csv"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [(r["group"], r["incidents"]) for r in rows] == [
        ("total", "5"),
        ("SEV1", "2"),
        ("SEV2", "3"),
    ]
    assert rows[0]["ttm_p90_seconds"] == "6120.0"
    assert rows[0]["tta_mean_seconds"] == "732.0"
    assert rows[1]["downtime_minutes"] == "192.0"
    assert rows[2]["sla_compliance_pct"] == "33.33"
    assert rows[0]["top_root_causes"] == "deployment=2;database=1"
    # A custom range's previous period is the same number of days before it.
    assert rows[0]["change_incidents_pct"] == "150.0"


async def test_markdown(client: httpx.AsyncClient, fixed_set: dict[str, str]) -> None:
    answer = await client.get(
        "/api/v1/reports/period", params={"period": "2026-01", "by": "severity", "format": "md"}
    )
    assert answer.status_code == 200, answer.text
    lines = answer.text.splitlines()
    assert lines[0] == (
        "## Incidents 2026-01 by severity: 2026-01-01 to 2026-01-31 (UTC), compared with 2025-12"
    )
    assert "| figure | total | SEV1 | SEV2 |" in lines
    assert "| SLA compliance | 40% | 50% | 33.33% |" in lines
    assert "| time to mitigate (p90) | 1h42m | 56m | 1h51m |" in lines
    assert lines[-1] == "Top root causes: Deployment (2), Database (1)"


async def test_bad_input_says_what_is_wrong(
    client: httpx.AsyncClient, fixed_set: dict[str, str]
) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"period": "2026-13"}, "period"),
        ({"period": "2026-W54"}, "period"),
        ({"period": "January"}, "period"),
        ({}, "period"),
        ({"period": "2026-01", "from": "2026-01-01"}, "period"),
        ({"from": "2026-01-31", "to": "2026-01-01"}, "to"),
        ({"period": "9999-12"}, "period"),  # the month after it is no date
        ({"from": "2026-01-01", "to": "9999-12-31"}, "to"),
    ]
    for params, field in cases:
        answer = await client.get("/api/v1/reports/period", params=params)
        assert answer.status_code == 422, (params, answer.text)
        assert answer.json()["error"]["details"]["field"] == field, params
    answer = await client.get("/api/v1/reports/period", params={"period": "2026-01", "by": "x"})
    assert answer.status_code == 422
    assert answer.json()["error"]["details"][0]["location"] == "query.by"


async def test_one_incident_and_visibility(
    seeded: Context, client: httpx.AsyncClient, fixed_set: dict[str, str]
) -> None:
    answer = await client.get(f"/api/v1/reports/incidents/{fixed_set['J2']}")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["tta_seconds"], body["ttm_seconds"], body["duration_seconds"]) == (
        720.0,
        3600.0,
        7920.0,
    )
    assert body["sla_met"] is False
    assert (await client.get("/api/v1/reports/incidents/INC-2099-01-01-001")).status_code == 404
    await add_user(seeded, "viewer@example.com")
    viewer = {"Authorization": f"Bearer {await token_for(seeded, 'viewer@example.com')}"}
    hidden = await client.get(f"/api/v1/reports/incidents/{fixed_set['J4']}", headers=viewer)
    assert hidden.status_code == 404
    answer = await client.get(
        "/api/v1/reports/period", params={"period": "2026-01"}, headers=viewer
    )
    assert answer.json()["total"]["incidents"] == 4


def _families(text: str) -> dict[str, Any]:
    return {f.name: f for f in text_string_to_metric_families(text)}


def _values(
    family: Any, sample_name: str | None = None
) -> dict[tuple[tuple[str, str], ...], float]:
    return {
        tuple(sorted(s.labels.items())): s.value
        for s in family.samples
        if sample_name is None or s.name == sample_name
    }


async def test_metrics_in_prometheus_text_format(
    seeded: Context, client: httpx.AsyncClient, fixed_set: dict[str, str]
) -> None:
    now = seeded.clock.now()
    assert now == AS_OF
    async with seeded.db.write() as session:
        await jobs.schedule(
            session,
            "reports.test",
            {},
            clock=seeded.clock,
            due_at=now - timedelta(minutes=10),
            dedup_key="reports-test",
        )
        session.add(
            Notification(
                channel_key="email",
                channel_kind="email",
                recipient="ops@example.com",
                subject="s",
                body_text="b",
                payload={},
                idempotency_key="reports-test-failed",
                status="failed",
                created_at=now,
            )
        )
    answer = await client.get("/metrics")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    families = _families(answer.text)

    # Open: J4 and J7 (SEV2); J5, the drill, is resolved anyway.
    assert _values(families["tocsin_incidents_open"]) == {
        (("severity", "SEV1"),): 0,
        (("severity", "SEV2"),): 2,
    }
    # Acknowledgement times (s), all time: SEV1 P2 240, J1 240, J2 720; SEV2 P1 600, J3 300,
    # J4 1200, J6 1200 (J5 is a drill).
    ack = families["tocsin_incident_acknowledge_seconds"]
    assert ack.type == "histogram"
    buckets = _values(ack, "tocsin_incident_acknowledge_seconds_bucket")
    assert buckets[(("le", "300"), ("severity", "SEV1"))] == 2
    assert buckets[(("le", "900"), ("severity", "SEV1"))] == 3
    assert buckets[(("le", "300"), ("severity", "SEV2"))] == 1
    assert buckets[(("le", "900"), ("severity", "SEV2"))] == 2
    assert buckets[(("le", "1800"), ("severity", "SEV2"))] == 4
    assert buckets[(("le", "+Inf"), ("severity", "SEV2"))] == 4
    assert _values(ack, "tocsin_incident_acknowledge_seconds_sum") == {
        (("severity", "SEV1"),): 1200.0,
        (("severity", "SEV2"),): 3300.0,
    }
    # Detection to resolution (s): SEV1 P2 5040, J1 3600, J2 7920; SEV2 P1 3600, J3 3900,
    # J6 8400.
    resolve = families["tocsin_incident_resolve_seconds"]
    buckets = _values(resolve, "tocsin_incident_resolve_seconds_bucket")
    assert buckets[(("le", "3600"), ("severity", "SEV1"))] == 1
    assert buckets[(("le", "7200"), ("severity", "SEV1"))] == 2
    assert buckets[(("le", "14400"), ("severity", "SEV1"))] == 3
    assert _values(resolve, "tocsin_incident_resolve_seconds_count") == {
        (("severity", "SEV1"),): 3,
        (("severity", "SEV2"),): 3,
    }
    assert _values(resolve, "tocsin_incident_resolve_seconds_sum") == {
        (("severity", "SEV1"),): 16560.0,
        (("severity", "SEV2"),): 15900.0,
    }
    # Breaches: J2 acknowledge and mitigate; J4, J6 and J7 (unacknowledged since 00:45)
    # acknowledge; J4 and J7 resolve (due 17:00 and 08:30, still open).
    breaches = _values(families["tocsin_sla_breaches"])
    assert breaches[(("severity", "SEV1"), ("target", "acknowledge"))] == 1
    assert breaches[(("severity", "SEV1"), ("target", "mitigate"))] == 1
    assert breaches[(("severity", "SEV2"), ("target", "acknowledge"))] == 3
    assert breaches[(("severity", "SEV2"), ("target", "resolve"))] == 2
    assert _values(families["tocsin_notifications_failed"]) == {(("channel", "email"),): 1}
    async with seeded.db.read() as session:
        due_now = (Job.status == "pending") & (Job.due_at <= now)
        waiting = await session.scalar(select(func.count()).where(due_now))
        oldest = await session.scalar(select(func.min(Job.due_at)).where(due_now))
    assert waiting is not None and waiting >= 1
    assert _values(families["tocsin_job_queue_depth"]) == {(): waiting}
    lag = _values(families["tocsin_job_queue_lag_seconds"])[()]
    assert lag >= 600
    assert oldest is not None
    assert lag == (now - oldest).total_seconds()


async def test_metrics_need_a_token_and_hide_restricted(
    seeded: Context, client: httpx.AsyncClient, fixed_set: dict[str, str]
) -> None:
    anonymous = await client.get("/metrics", headers={"Authorization": ""})
    assert anonymous.status_code == 401
    await add_user(seeded, "viewer@example.com")
    viewer = {"Authorization": f"Bearer {await token_for(seeded, 'viewer@example.com')}"}
    families = _families((await client.get("/metrics", headers=viewer)).text)
    # J4 (restricted) is not theirs: J7 is the one open incident they see.
    assert _values(families["tocsin_incidents_open"])[(("severity", "SEV2"),)] == 1


async def test_impact_start_service_and_team_through_the_api(
    client: httpx.AsyncClient, fixed_set: dict[str, str]
) -> None:
    """Declared with the fields reports group by; edited; a start after detection refused."""
    declared = await client.post(
        "/api/v1/incidents",
        json={
            "title": "Checkout failing",
            "severity": "SEV2",
            "components": ["db"],
            "started_at": "2026-02-01T11:00:00Z",
            "detected_at": "2026-02-01T11:30:00Z",
        },
    )
    assert declared.status_code == 201, declared.text
    body = declared.json()
    assert (body["service"], body["team"], body["started_at"]) == (
        "db",  # the first component, as none was given
        None,
        "2026-02-01T11:00:00Z",
    )
    ref = body["id"]
    edited = await client.patch(f"/api/v1/incidents/{ref}", json={"team": "data", "service": "api"})
    assert edited.status_code == 200, edited.text
    assert (edited.json()["service"], edited.json()["team"]) == ("api", "data")
    late = await client.patch(
        f"/api/v1/incidents/{ref}", json={"started_at": "2026-02-01T11:45:00Z"}
    )
    assert late.status_code == 422
    assert late.json()["error"]["details"]["field"] == "started_at"
    metrics = (await client.get(f"/api/v1/reports/incidents/{ref}")).json()
    assert (metrics["ttd_seconds"], metrics["team"]) == (1800.0, "data")
