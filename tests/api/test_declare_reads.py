"""What a declaration and a token check read: only what they need.

Every API request checks its bearer token, and under an alert storm the declaration is
the hottest write. A declaration's answer describes the incident it just made, which has
no roles and no alerts yet, and names only its declarer: it reads none of them, and
still answers what a later read shows (the maintenance window over its component
included). A token is checked by one statement, which still refuses a revoked token and
a deactivated person's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import event
from tests.api.conftest import ClientFor, ErrorOf

from tocsin.auth import service as auth
from tocsin.auth.actor import SYSTEM
from tocsin.context import Context

API = "/api/v1"


@contextmanager
def statements(ctx: Context) -> Iterator[list[str]]:
    """The SQL the app sends while the block runs (both engines on SQLite)."""
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(" ".join(str(args[2]).split()))

    engines = {ctx.db.write_engine.sync_engine, ctx.db.read_engine.sync_engine}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", count)


async def test_a_declaration_reads_no_roles_alerts_or_people_of_the_incident_it_makes(
    client: httpx.AsyncClient, seeded: Context
) -> None:
    window = await client.post(
        f"{API}/maintenance-windows",
        json={"service": "payments", "duration": "2h", "reason": "Braintree upgrade"},
    )
    assert window.status_code == 201, window.text
    body = {"title": "Payments fail", "severity": "SEV1", "components": ["payments"]}
    with statements(seeded) as sent:
        declared = await client.post(f"{API}/incidents", json=body)
    assert declared.status_code == 201, declared.text
    read = ("FROM incident_roles", "FROM alerts", "FROM users WHERE")  # its declarer: known
    assert not [s for s in sent if any(r in s for r in read)], sent
    answer = declared.json()
    assert answer["roles"] == [] and answer["alert_count"] == 0
    assert [w["service"] for w in answer["maintenance"]] == ["payments"]
    assert answer["declared_by"] == "admin@example.com"
    assert answer["checklists"], "seed 004 adds its SEV1 checklists"
    # The answer is what a read of the incident shows afterwards.
    read = (await client.get(f"{API}/incidents/{answer['id']}")).json()
    assert read == answer


async def test_a_token_is_checked_in_one_statement(
    client_for: ClientFor, seeded: Context, error: ErrorOf
) -> None:
    reader = await client_for("reader@example.com")
    assert (await reader.get(f"{API}/me")).status_code == 200  # records "last used"
    with statements(seeded) as sent:
        me = await reader.get(f"{API}/me")
    assert me.status_code == 200 and me.json()["email"] == "reader@example.com"
    checks = [s for s in sent if "api_tokens.token_hash" in s]
    assert len(checks) == 1, sent
    async with seeded.db.write() as session:
        await auth.update_user(
            session,
            SYSTEM,
            "reader@example.com",
            clock=seeded.clock,
            roles=[],
            is_admin=False,
            active=False,
        )
    refused = error(await reader.get(f"{API}/incidents"), 401, "unauthenticated")
    assert "unknown or revoked" in refused["message"]
