"""Migration 0012 copies the SLA due times of incidents declared before it (kept only in
``sla_due``) into the new columns the reports compare in SQL."""

from __future__ import annotations

import importlib.util
from datetime import datetime
from pathlib import Path
from typing import Any

from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select, update
from sqlalchemy.engine import Connection
from tests.conftest import ROOT

from tocsin.auth.actor import SYSTEM
from tocsin.context import Context
from tocsin.incidents import service as incidents
from tocsin.incidents.models import Incident
from tocsin.incidents.schemas import DeclareIn

MIGRATION = ROOT / "src" / "tocsin" / "migrations" / "versions" / "0012_incident_report_fields.py"
TARGETS = ("acknowledge", "identify", "mitigate", "resolve")


def _migration() -> Any:
    spec = importlib.util.spec_from_file_location("migration_0012", Path(MIGRATION))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_due_times_copied_from_sla_due(seeded: Context) -> None:
    async with seeded.db.write() as session:
        data = DeclareIn(title="Before the upgrade", severity="SEV1", type="outage")
        ref = (await incidents.declare(session, SYSTEM, data, clock=seeded.clock)).ref
        await incidents.acknowledge(session, SYSTEM, ref, clock=seeded.clock)
        # As the rows were before migration 0012: due times in sla_due only.
        await session.execute(update(Incident).values({f"sla_{t}_due_at": None for t in TARGETS}))
    migration = _migration()

    def copy(connection: Connection) -> None:
        with Operations.context(MigrationContext.configure(connection)):
            migration._copy_due_times()

    async with seeded.db.write_engine.begin() as connection:
        await connection.run_sync(copy)
    async with seeded.db.read() as session:
        incident = (await session.scalars(select(Incident).where(Incident.ref == ref))).one()
    expected = {
        t: datetime.fromisoformat(incident.sla_due[t]) if incident.sla_due.get(t) else None
        for t in TARGETS
    }
    # Seed 004's SEV1: acknowledge 5m from detection, mitigate 30m from acknowledgement.
    assert expected["acknowledge"] == seeded.clock.now().replace(minute=5)
    assert expected["mitigate"] == seeded.clock.now().replace(minute=30)
    assert {t: getattr(incident, f"sla_{t}_due_at") for t in TARGETS} == expected
