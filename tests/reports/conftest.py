"""A fixed set of incidents for the report tests, made through the real incident service
on a virtual clock, under a small policy whose SLAs the expected figures are worked out
from by hand (see test_report_acceptance.py).

December 2025 (the previous period): P1 (SEV2) and P2 (SEV1), both met every target.
January 2026: J1..J4 and J6 count; J5 is a drill (excluded type); J4 is restricted
(security); J7 is declared in February.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from tocsin.auth.actor import SYSTEM
from tocsin.clock import VirtualClock
from tocsin.context import Context
from tocsin.incidents import service as incidents
from tocsin.incidents.models import Incident
from tocsin.incidents.schemas import DeclareIn, Impact
from tocsin.policy import service as policies
from tocsin.postmortems.models import ActionItem, Postmortem

POLICY = """
tocsin: 1
organization: {name: Report Test, timezone: UTC}
severities:
  - key: SEV1
    name: Critical
    sla:
      acknowledge: 5m
      mitigate: {within: 30m, from: acknowledged}
      resolve: {within: 4h, from: mitigated}
    postmortem: {required: true, within: 48h}
  - key: SEV2
    name: Major
    sla:
      acknowledge: 15m
      resolve: 8h
incident_types:
  - {key: outage, name: Outage}
  - {key: security, name: Security, restricted: true}
  - {key: drill, name: Drill, exclude_from_metrics: true}
teams:
  - {key: web, name: Web}
  - {key: data, name: Data}
components:
  - {key: api, name: API}
  - {key: db, name: Database}
root_causes:
  - {key: deployment, name: Deployment}
  - {key: database, name: Database}
"""

#: The instant the fixed set is looked at (reports "as of").
AS_OF = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


class Builder:
    """Declares and moves incidents in time order on the context's virtual clock."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.clock = ctx.clock
        assert isinstance(self.clock, VirtualClock)

    def at(self, text: str) -> None:
        self.clock.set(utc(text))

    async def declare(self, when: str, severity: str, **fields: Any) -> str:
        self.at(when)
        data = DeclareIn(title=f"{severity} at {when}", severity=severity, **fields)
        async with self.ctx.db.write() as session:
            return (await incidents.declare(session, SYSTEM, data, clock=self.clock)).ref

    async def ack(self, ref: str, when: str) -> None:
        self.at(when)
        async with self.ctx.db.write() as session:
            await incidents.acknowledge(session, SYSTEM, ref, clock=self.clock)

    async def move(self, ref: str, status: str, when: str) -> None:
        self.at(when)
        async with self.ctx.db.write() as session:
            await incidents.set_status(session, SYSTEM, ref, status, clock=self.clock)

    async def walk(self, ref: str, ack: str, mitigated: str, resolved: str) -> None:
        await self.ack(ref, ack)
        await self.move(ref, "monitoring", mitigated)
        await self.move(ref, "resolved", resolved)

    async def follow_up(
        self,
        ref: str,
        *,
        root_cause: str | None = None,
        postmortem: tuple[str, str] | None = None,
        items: tuple[tuple[str, str | None], ...] = (),
    ) -> None:
        """Root cause, postmortem (status, due) and action items (status, due) as rows."""
        now = self.clock.now()
        async with self.ctx.db.write() as session:
            incident = (await session.scalars(select(Incident).where(Incident.ref == ref))).one()
            incident.root_cause = root_cause
            if postmortem is not None:
                status, due = postmortem
                row = await session.scalar(
                    select(Postmortem).where(Postmortem.incident_id == incident.id)
                )
                if row is None:  # the severity did not make one on resolution
                    row = Postmortem(
                        incident_id=incident.id,
                        template="test",
                        locale="en",
                        title=f"Postmortem {ref}",
                        fields=[],
                        sections=[],
                        reviewers=[],
                        author="system",
                        created_at=now,
                        updated_at=now,
                    )
                    session.add(row)
                row.status, row.due_at = status, utc(due)
                row.finalized_at = now if status == "final" else None
            for number, (status, due) in enumerate(items, start=1):
                session.add(
                    ActionItem(
                        incident_id=incident.id,
                        number=number,
                        title=f"item {number}",
                        status=status,
                        owner="system",
                        priority="medium",
                        due_at=None if due is None else utc(due),
                        done_at=now if status == "done" else None,
                        created_at=now,
                        updated_at=now,
                        created_by="system",
                    )
                )


async def build_fixed_set(ctx: Context) -> dict[str, str]:
    """The incidents of the module docstring; returns their references by name."""
    b = Builder(ctx)
    b.at("2025-12-01T09:00:00")
    async with ctx.db.write() as session:
        await policies.apply(session, SYSTEM, POLICY, clock=b.clock, source="reports.yaml")
    refs: dict[str, str] = {}

    refs["P1"] = await b.declare("2025-12-10T10:00:00", "SEV2", type="outage")
    await b.walk(refs["P1"], "2025-12-10T10:10:00", "2025-12-10T10:40:00", "2025-12-10T11:00:00")
    refs["P2"] = await b.declare("2025-12-20T10:00:00", "SEV1", type="outage")
    await b.walk(refs["P2"], "2025-12-20T10:04:00", "2025-12-20T10:24:00", "2025-12-20T11:24:00")

    refs["J1"] = await b.declare(
        "2026-01-05T10:00:00",
        "SEV1",
        type="outage",
        components=["api"],
        team="web",
        started_at=utc("2026-01-05T09:50:00"),
        impact=Impact(users_affected=1000),
    )
    await b.walk(refs["J1"], "2026-01-05T10:04:00", "2026-01-05T10:24:00", "2026-01-05T11:00:00")
    await b.follow_up(
        refs["J1"],
        root_cause="deployment",
        postmortem=("final", "2026-01-07T11:00:00"),
        items=(("done", "2026-01-20T00:00:00"), ("wont_do", "2026-01-10T00:00:00")),
    )

    refs["J2"] = await b.declare(
        "2026-01-10T08:00:00",
        "SEV1",
        type="outage",
        service="db",
        team="data",
        impact=Impact(users_affected=200),
    )
    await b.walk(refs["J2"], "2026-01-10T08:12:00", "2026-01-10T09:12:00", "2026-01-10T10:12:00")
    await b.follow_up(
        refs["J2"],
        root_cause="database",
        postmortem=("draft", "2026-01-12T10:12:00"),
        items=(("open", "2026-01-20T00:00:00"), ("in_progress", "2026-03-01T00:00:00")),
    )

    refs["J5"] = await b.declare("2026-01-12T12:00:00", "SEV1", type="drill", team="web")
    await b.walk(refs["J5"], "2026-01-12T12:30:00", "2026-01-12T14:00:00", "2026-01-12T18:00:00")
    await b.follow_up(refs["J5"], root_cause="deployment", items=(("open", "2026-01-13T00:00:00"),))

    refs["J3"] = await b.declare(
        "2026-01-20T14:00:00",
        "SEV2",
        type="outage",
        components=["api"],
        team="web",
        started_at=utc("2026-01-20T13:30:00"),
        impact=Impact(users_affected=50),
    )
    await b.walk(refs["J3"], "2026-01-20T14:05:00", "2026-01-20T14:35:00", "2026-01-20T15:05:00")
    await b.follow_up(
        refs["J3"],
        root_cause="deployment",
        postmortem=("in_review", "2026-02-20T00:00:00"),
        items=(("open", None),),
    )

    refs["J4"] = await b.declare(
        "2026-01-25T09:00:00", "SEV2", type="security", components=["db"], team="data"
    )
    await b.ack(refs["J4"], "2026-01-25T09:20:00")

    b.at("2026-01-28T16:00:00")
    refs["J6"] = await b.declare(
        "2026-01-28T16:00:00", "SEV2", detected_at=utc("2026-01-28T15:40:00")
    )
    await b.ack(refs["J6"], "2026-01-28T16:00:00")
    await b.move(refs["J6"], "resolved", "2026-01-28T18:00:00")

    refs["J7"] = await b.declare("2026-02-01T00:30:00", "SEV2", type="outage")
    b.at(AS_OF.isoformat()[:19])
    return refs


@pytest.fixture
async def fixed_set(ctx: Context) -> dict[str, str]:
    return await build_fixed_set(ctx)


@pytest.fixture
def clock() -> VirtualClock:
    """Starts before the previous period (December 2025)."""
    return VirtualClock(datetime(2025, 12, 1, 9, 0, tzinfo=UTC))
