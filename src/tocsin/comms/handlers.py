"""The ``comms.route`` job: an ``after:`` route's timer has run out.

It runs in the job's transaction and checks again before it fires: the incident still
exists, the route is still in the incident's policy and still applies to its severity and
type, the route's ``until`` stage (resolution by default) has not been reached, and the
due time has not moved later. It fires by inserting the route's done-once mark, so a job
that runs twice (a worker died after the work, before the lease ended) sends nothing more;
each message's idempotency key guards the outbox as well.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.clock import Clock
from tocsin.comms import routing
from tocsin.incidents.models import Incident
from tocsin.jobs.models import Job
from tocsin.jobs.registry import handler
from tocsin.policy import service as policies


@handler(routing.ROUTE_JOB)
async def route_due(session: AsyncSession, job: Job, clock: Clock) -> None:
    incident = await session.get(Incident, job.payload["incident"])
    if incident is None:
        return
    policy = await policies.policy_by_id(session, incident.policy_version_id)
    await routing.fire_due(session, policy, incident, str(job.payload["route"]), clock=clock)
