"""Admins see dead jobs with their last error over the API, and retry them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from tocsin.app import create_app
from tocsin.auth import service as auth
from tocsin.auth.actor import SYSTEM
from tocsin.clock import VirtualClock
from tocsin.context import Context
from tocsin.jobs import service as jobs
from tocsin.jobs.worker import run_due

KIND = "test.api.never"  # no handler: every attempt fails


def error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()["error"]
    assert body["code"] == code, body
    return body


async def test_a_job_that_keeps_failing_is_listed_dead_and_can_be_retried(
    client: httpx.AsyncClient, seeded: Context, clock: VirtualClock
) -> None:
    async with seeded.db.write() as session:
        job_id = (await jobs.enqueue(session, KIND, {"to": "ops"}, clock=clock, max_attempts=2)).id
        await jobs.enqueue(session, KIND, clock=clock, due_at=clock.now().replace(year=2030))
    assert (await client.get("/api/v1/jobs")).json() == []
    for _ in range(2):
        await run_due(seeded.db, clock, "w")
        clock.advance(hours=1)

    (dead,) = (await client.get("/api/v1/jobs", params={"status": "dead"})).json()
    assert (await client.get("/api/v1/jobs")).json() == [dead]  # dead is the default
    assert dead["id"] == job_id and dead["status"] == "dead"
    assert (dead["kind"], dead["payload"], dead["attempts"], dead["max_attempts"]) == (
        KIND,
        {"to": "ops"},
        2,
        2,
    )
    assert dead["last_error"] == f"no handler for kind {KIND!r}"
    assert dead["finished_at"] is not None
    (pending,) = (await client.get("/api/v1/jobs", params={"status": "pending"})).json()
    assert pending["due_at"].startswith("2030-")

    retried = await client.post(f"/api/v1/jobs/{job_id}/retry")
    assert retried.status_code == 200, retried.text
    body = retried.json()
    assert (body["status"], body["attempts"], body["finished_at"]) == ("pending", 0, None)
    assert datetime.fromisoformat(body["due_at"]) == clock.now()
    assert (await client.get("/api/v1/jobs")).json() == []
    error(await client.post(f"/api/v1/jobs/{job_id}/retry"), 409, "job_not_dead")
    error(await client.post("/api/v1/jobs/999999/retry"), 404, "not_found")
    error(await client.get("/api/v1/jobs", params={"status": "zombie"}), 422, "invalid_input")
    audit = (await client.get("/api/v1/audit", params={"action": "job.retried"})).json()
    assert [(a["object_id"], a["actor"]) for a in audit] == [(str(job_id), "admin@example.com")]


async def test_jobs_are_for_admins_only(
    client: httpx.AsyncClient, seeded: Context, clock: VirtualClock
) -> None:
    async with seeded.db.write() as session:
        await auth.create_user(session, SYSTEM, "viewer@example.com", clock=clock)
        _, secret = await auth.create_token(session, SYSTEM, "viewer@example.com", clock=clock)
        job_id = (await jobs.enqueue(session, KIND, clock=clock, max_attempts=1)).id
    await run_due(seeded.db, clock, "w")
    app = create_app(seeded.settings, clock=clock, database=seeded.db)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://test",
        headers={"Authorization": f"Bearer {secret}"},
    ) as viewer:
        error(await viewer.get("/api/v1/jobs"), 403, "permission_denied")
        error(await viewer.post(f"/api/v1/jobs/{job_id}/retry"), 403, "permission_denied")
    assert len((await client.get("/api/v1/jobs")).json()) == 1
