"""The acknowledge link in a page: valid once; refused when forged, expired or reused.

Through HTTP (httpx ASGI transport) with the link taken from the page the engine queued;
SQLite and PostgreSQL; virtual clock.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select
from tests.notify.test_pages import (
    PUBLIC_URL,
    acknowledge,
    declare,
    events,
    incident,
    link_in,
    messages,
    run_for,
    setup_paging,
    tokens,
)

from tocsin.app import create_app
from tocsin.audit.models import AuditEntry
from tocsin.auth import service as auth
from tocsin.auth import signing
from tocsin.auth.actor import SYSTEM
from tocsin.auth.models import InstanceKey
from tocsin.context import Context
from tocsin.db import Database
from tocsin.errors import Forbidden, NotFound
from tocsin.incidents import schemas
from tocsin.incidents import service as incidents
from tocsin.notify import pages
from tocsin.settings import Settings


@pytest.fixture
async def paging(ctx: Context, monkeypatch: pytest.MonkeyPatch) -> Context:
    return await setup_paging(ctx, monkeypatch)


@pytest.fixture
async def web(paging: Context) -> AsyncIterator[httpx.AsyncClient]:
    """No API token: the link is all a paged person has."""
    settings = paging.settings.model_copy(update={"public_url": PUBLIC_URL})
    app = create_app(settings, clock=paging.clock, database=paging.db)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", headers=BROWSER
    ) as http:
        yield http


#: What a browser asks for when it follows a link or submits a form.
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
JSON = {"Accept": "application/json"}


async def paged(ctx: Context, person: str = "olly", minutes: int = 0) -> tuple[str, str]:
    """Declare, let the engine page, and return (incident ref, ``person``'s link token)."""
    ref = await declare(ctx)
    await run_for(ctx, timedelta(minutes=minutes))
    page = next(m for m in await messages(ctx, person) if "/ack/" in m.body_text)
    return ref, link_in(page)


async def unchanged(ctx: Context, ref: str) -> None:
    """The incident is not acknowledged and no token was used."""
    assert (await incident(ctx, ref)).acknowledged_at is None
    assert all(t.used_at is None for t in await tokens(ctx))
    assert await events(ctx, "acknowledged") == []


def looks_accessible(html: str) -> None:
    assert '<html lang="en">' in html
    assert "<h1>" in html
    assert "<script" not in html


async def test_get_shows_the_incident_and_a_button_but_changes_nothing(
    paging: Context, web: httpx.AsyncClient
) -> None:
    ref, token = await paged(paging)
    for _ in range(3):  # mail scanners prefetch links: a GET never acknowledges
        answer = await web.get(f"/ack/{token}")
        assert answer.status_code == 200
    html = answer.text
    looks_accessible(html)
    assert answer.headers["content-type"].startswith("text/html")
    assert ref in html and "Checkout returns 500" in html and "P1" in html
    assert f'<form method="post" action="/ack/{token}">' in html
    assert re.search(
        r'<button type="submit" aria-label="Acknowledge [^"]+">Acknowledge</button>', html
    )
    assert "Olly Oncall" in html
    await unchanged(paging, ref)
    shown = (await web.get(f"/ack/{token}", headers=JSON)).json()
    assert shown["state"] == "ready"
    assert shown["incident"]["ref"] == ref and shown["person"] == "Olly Oncall"


async def test_the_link_acknowledges_once_as_the_paged_person(
    paging: Context, web: httpx.AsyncClient
) -> None:
    ref, token = await paged(paging)
    paging.clock.advance(minutes=1)  # type: ignore[attr-defined]
    answer = await web.post(f"/ack/{token}")
    assert answer.status_code == 200, answer.text
    looks_accessible(answer.text)
    assert f"you acknowledged {ref}" in answer.text
    found = await incident(paging, ref)
    assert found.acknowledged_at == paging.clock.now()
    [event] = await events(paging, "acknowledged")
    assert event.actor == "olly@example.com"
    assert event.summary == "Acknowledged by Olly Oncall via link"
    assert event.data["after"]["via"] == "link"
    [used] = [t for t in await tokens(paging) if t.person == "olly"]
    assert used.used_at == paging.clock.now() and used.used_via == "link"
    async with paging.db.read() as session:
        audit = list(
            await session.scalars(
                select(AuditEntry).where(AuditEntry.action == "incident.acknowledged")
            )
        )
    assert [(a.actor, a.after["via"]) for a in audit] == [("olly@example.com", "link")]

    # Used: the same link again, by form or JSON, is refused and changes nothing more.
    again = await web.post(f"/ack/{token}")
    assert again.status_code == 409
    looks_accessible(again.text)
    assert "already used" in again.text and "via the link in the page" in again.text
    assert "10:01 CET" in again.text  # when, in the organisation's zone
    error = (await web.post(f"/ack/{token}", headers=JSON)).json()["error"]
    assert error["code"] == "ack_used" and error["details"]["used_via"] == "link"
    assert (await web.get(f"/ack/{token}")).status_code == 409
    assert len(await events(paging, "acknowledged")) == 1


async def test_acknowledging_stops_the_later_call(paging: Context, web: httpx.AsyncClient) -> None:
    _, token = await paged(paging, minutes=1)
    assert (await web.post(f"/ack/{token}")).status_code == 200
    await run_for(paging, timedelta(minutes=5))
    assert not [m for m in await messages(paging, "olly") if m.channel_kind == "voice"]


async def test_json_answers(paging: Context, web: httpx.AsyncClient) -> None:
    ref, token = await paged(paging)
    # A client that does not ask for HTML (curl's */*) gets JSON too.
    shown = await web.get(f"/ack/{token}", headers={"Accept": "*/*"})
    assert shown.headers["content-type"] == "application/json"
    body = (await web.post(f"/ack/{token}", headers=JSON)).json()
    assert body["outcome"] == "acknowledged"
    assert body["incident"] == {
        "ref": ref,
        "title": "Checkout returns 500",
        "severity": "P1",
        "status": "investigating",
    }
    assert body["acknowledged"]["by"] == "Olly Oncall"
    assert body["acknowledged"]["via"] == "link"


def _tampered_signature(token: str) -> str:
    payload, mac = token.split(".")
    return f"{payload}.{('A' if mac[0] != 'A' else 'B')}{mac[1:]}"


def _tampered_id(token: str) -> str:
    """Kim's token id in Olly's link, with Olly's signature."""
    payload, mac = token.split(".")
    raw = signing.b64decode(payload)
    assert raw is not None
    token_id, expiry = raw.decode().split(".")
    return f"{signing.b64encode(f'{int(token_id) + 1}.{expiry}'.encode())}.{mac}"


@pytest.mark.parametrize(
    "forge",
    [
        _tampered_signature,
        _tampered_id,
        lambda t: t.split(".")[0],  # no signature at all
        lambda t: "not-a-token",
        lambda t: t + ".extra",
        lambda t: "x" * 600,
    ],
    ids=["signature", "id", "unsigned", "garbage", "extra-part", "huge"],
)
async def test_a_forged_link_is_refused_and_changes_nothing(
    paging: Context, web: httpx.AsyncClient, forge: object
) -> None:
    ref, token = await paged(paging)
    forged = forge(token)  # type: ignore[operator]
    answer = await web.post(f"/ack/{forged}")
    assert answer.status_code == 400
    looks_accessible(answer.text)
    assert "This link is not valid" in answer.text
    assert (await web.get(f"/ack/{forged}")).status_code == 400
    error = (await web.post(f"/ack/{forged}", headers=JSON)).json()["error"]
    assert error["code"] == "ack_link_invalid"
    await unchanged(paging, ref)


async def test_a_link_signed_for_another_purpose_is_refused(
    paging: Context, web: httpx.AsyncClient
) -> None:
    ref, token = await paged(paging)
    payload = signing.b64decode(token.split(".")[0])
    assert payload is not None
    async with paging.db.write() as session:
        other = await signing.sign(session, "unsubscribe", payload.decode(), clock=paging.clock)
    assert (await web.post(f"/ack/{other}")).status_code == 400
    await unchanged(paging, ref)


async def test_an_expired_link_is_refused_and_changes_nothing(
    paging: Context, web: httpx.AsyncClient
) -> None:
    ref, token = await paged(paging)
    [mine] = [t for t in await tokens(paging) if t.person == "olly"]
    paging.clock.set(mine.expires_at)  # type: ignore[attr-defined]
    answer = await web.post(f"/ack/{token}")
    assert answer.status_code == 410
    looks_accessible(answer.text)
    assert "expired" in answer.text and "Nothing was changed" in answer.text
    assert (await web.get(f"/ack/{token}")).status_code == 410
    error = (await web.post(f"/ack/{token}", headers=JSON)).json()["error"]
    assert error["code"] == "ack_expired"
    await unchanged(paging, ref)


async def test_acknowledged_by_someone_else_first_leaves_the_link_unused(
    paging: Context, web: httpx.AsyncClient
) -> None:
    ref, token = await paged(paging)
    paging.clock.advance(minutes=3)  # type: ignore[attr-defined]
    await acknowledge(paging, ref, "kim@example.com", via="api")
    shown = await web.get(f"/ack/{token}")
    assert shown.status_code == 200
    assert "already acknowledged by Kim Second" in shown.text and "<form" not in shown.text
    answer = await web.post(f"/ack/{token}")
    assert answer.status_code == 200
    assert "already acknowledged by Kim Second at 2026-01-15 10:03 CET via api" in answer.text
    body = (await web.post(f"/ack/{token}", headers=JSON)).json()
    assert body["outcome"] == "already_acknowledged"
    assert body["acknowledged"] == {"by": "Kim Second", "at": "2026-01-15T09:03:00Z", "via": "api"}
    assert all(t.used_at is None for t in await tokens(paging))
    [event] = await events(paging, "acknowledged")
    assert event.actor == "kim@example.com"


async def test_being_paged_is_enough_to_acknowledge(
    paging: Context, web: httpx.AsyncClient
) -> None:
    # Vic holds no role that may acknowledge: before the page he may not ...
    ref = await declare(paging)
    await run_for(paging, timedelta(minutes=9))
    with pytest.raises(Forbidden, match="lacks the permission 'acknowledge'"):
        await acknowledge(paging, ref, "vp@example.com")
    await unchanged(paging, ref)
    # ... but once paged for this incident he may, by the page's link (as in every pager).
    await run_for(paging, timedelta(minutes=1))
    page = next(m for m in await messages(paging, "vp") if "/ack/" in m.body_text)
    answer = await web.post(f"/ack/{link_in(page)}")
    assert answer.status_code == 200, answer.text
    [event] = await events(paging, "acknowledged")
    assert (event.actor, event.summary) == (
        "vp@example.com",
        "Acknowledged by Vic President via link",
    )
    # Being paged grants nothing else: Vic still may not move the incident on.
    async with paging.db.write() as session:
        vic = auth.actor_for(await auth.get_user(session, "vp@example.com"))
        with pytest.raises(Forbidden, match="lacks the permission 'update-status'"):
            await incidents.set_status(session, vic, ref, "identified", clock=paging.clock)


async def test_being_paged_for_one_incident_grants_nothing_on_another(paging: Context) -> None:
    await declare(paging)
    await run_for(paging, timedelta(minutes=10))  # Vic is paged for the first
    other = await declare(paging, "P3")
    with pytest.raises(Forbidden, match="lacks the permission 'acknowledge'"):
        await acknowledge(paging, other, "vp@example.com")


async def test_a_paged_person_acknowledges_a_restricted_incident(
    paging: Context, web: httpx.AsyncClient
) -> None:
    # Only participants see a restricted incident; whoever is paged for it is one.
    async with paging.db.write() as session:
        data = schemas.DeclareIn(title="Leaked keys", severity="P1", type="security")
        ref = (await incidents.declare(session, SYSTEM, data, clock=paging.clock)).ref
    await run_for(paging, timedelta(minutes=10))
    page = next(m for m in await messages(paging, "vp") if "/ack/" in m.body_text)
    shown = await web.get(f"/ack/{link_in(page)}")
    assert shown.status_code == 200 and "Leaked keys" in shown.text
    assert (await web.post(f"/ack/{link_in(page)}")).status_code == 200
    assert (await incident(paging, ref)).acknowledged_at is not None
    async with paging.db.write() as session:
        for email in ("olly@example.com", "kim@example.com", "vp@example.com"):
            actor = auth.actor_for(await auth.get_user(session, email))
            assert (await incidents.get(session, actor, ref)).ref == ref
        user = await auth.create_user(session, SYSTEM, "eve@example.com", clock=paging.clock)
        with pytest.raises(NotFound):  # not paged: the incident stays hidden
            await incidents.get(session, auth.actor_for(user), ref)


async def test_each_person_has_their_own_link(paging: Context, web: httpx.AsyncClient) -> None:
    ref, olly = await paged(paging)
    kim = link_in(next(m for m in await messages(paging, "kim")))
    assert kim != olly
    assert (await web.post(f"/ack/{kim}")).status_code == 200
    assert (await incident(paging, ref)).acknowledged_by_id is not None
    [event] = await events(paging, "acknowledged")
    assert event.actor == "kim@example.com"
    # Olly's link now reports Kim's acknowledgement and stays unused.
    answer = await web.post(f"/ack/{olly}")
    assert answer.status_code == 200 and "already acknowledged by Kim Second" in answer.text
    [olly_token] = [t for t in await tokens(paging) if t.person == "olly"]
    assert olly_token.used_at is None


def test_the_payload_is_the_token_id_and_expiry() -> None:
    key = b"k" * 32
    token = signing.sign_with(key, pages.ACK_PURPOSE, "12.1768554000")
    assert signing.verify_with(key, pages.ACK_PURPOSE, token) == "12.1768554000"
    assert signing.verify_with(key, "other", token) is None
    assert signing.verify_with(b"x" * 32, pages.ACK_PURPOSE, token) is None
    assert re.fullmatch(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", token)


async def test_two_clicks_at_once_acknowledge_once(paging: Context, web: httpx.AsyncClient) -> None:
    ref, token = await paged(paging)
    answers = await asyncio.gather(*(web.post(f"/ack/{token}", headers=JSON) for _ in range(4)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200, 409, 409, 409], [a.text for a in answers]
    assert len(await events(paging, "acknowledged")) == 1
    assert (await incident(paging, ref)).acknowledged_at is not None


async def test_every_process_signs_with_the_same_key(paging: Context) -> None:
    """Separate engines (as separate processes would have) make the key at the same time."""
    others = [Database(Settings(database_url=paging.db.url)) for _ in range(3)]

    async def key_of(db: Database) -> bytes | None:
        async with db.write() as session:
            return await signing.instance_key(session, clock=paging.clock)

    try:
        keys = await asyncio.gather(*(key_of(db) for db in others))
    finally:
        for db in others:
            await db.dispose()
    assert len(set(keys)) == 1 and keys[0] is not None and len(keys[0]) == 32
    async with paging.db.read() as session:
        rows = list(await session.scalars(select(InstanceKey)))
    assert [r.name for r in rows] == [signing.KEY_NAME]
