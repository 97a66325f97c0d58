"""The live updates' streams: each new timeline row of an incident becomes one
``timeline`` event; the list's stream says when any visible incident changed. Driven as
the route drives them, with a short interval and a bounded number of looks."""

from __future__ import annotations

import json

import pytest
from tests.web.web_client import browser, person, signed_in

from tocsin.auth import service as auth
from tocsin.auth.actor import SYSTEM
from tocsin.context import Context
from tocsin.incidents import schemas
from tocsin.incidents import service as incidents
from tocsin.web import live


async def _declare(ctx: Context, title: str, type_: str = "outage") -> str:
    async with ctx.db.write() as session:
        body = schemas.DeclareIn(title=title, severity="SEV2", type=type_)
        return (await incidents.declare(session, SYSTEM, body, clock=ctx.clock)).ref


def _frames(chunks: list[str], event: str) -> list[dict[str, object]]:
    return [
        json.loads(chunk.split("data: ", 1)[1])
        for chunk in chunks
        if chunk.startswith("id: ") and f"\nevent: {event}\n" in chunk
    ]


async def test_room_stream_sends_each_new_timeline_row_once(seeded: Context) -> None:
    ref = await _declare(seeded, "Search down")
    async with seeded.db.read() as session:
        last = (await incidents.timeline(session, SYSTEM, ref))[-1].id
    calls = 0

    async def meanwhile() -> bool:
        """After the first look: someone notes and acknowledges."""
        nonlocal calls
        calls += 1
        if calls == 1:
            async with seeded.db.write() as session:
                await incidents.add_note(
                    session, SYSTEM, ref, "Looking at the index", clock=seeded.clock
                )
                await incidents.acknowledge(session, SYSTEM, ref, clock=seeded.clock)
        return False

    stream = live.room_stream(seeded, SYSTEM, ref, last, gone=meanwhile, polls=3, interval=0)
    chunks = [chunk async for chunk in stream]
    assert chunks[0] == "retry: 2000\n\n"
    sent = _frames(chunks, "timeline")
    async with seeded.db.read() as session:
        rows = [e for e in await incidents.timeline(session, SYSTEM, ref) if e.id > last]
    assert [f["id"] for f in sent] == [e.id for e in rows]  # each once, in order
    assert [f["kind"] for f in sent][:2] == ["note", "acknowledged"]
    assert sent[0]["summary"] == "Looking at the index"


async def test_list_stream_tells_of_changes_the_viewer_may_see(seeded: Context) -> None:
    await person(seeded, "ann@example.com")
    async with seeded.db.read() as session:
        ann = auth.actor_for(await auth.get_user(session, "ann@example.com"))
    calls = 0

    async def meanwhile() -> bool:
        """A restricted incident after the first look, a public one after the second."""
        nonlocal calls
        calls += 1
        if calls == 1:
            await _declare(seeded, "Leaked export", "data-privacy")  # restricted: not for ann
        elif calls == 2:
            await _declare(seeded, "Payments fail")
        return False

    stream = live.list_stream(seeded, ann, 0, gone=meanwhile, polls=4, interval=0)
    chunks = [chunk async for chunk in stream]
    told = _frames(chunks, "incidents")
    assert len(told) == 1 and isinstance(told[0]["last"], int)


async def test_the_event_stream_door(seeded: Context, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live, "MAX_POLLS", 2)  # the test client waits for the whole answer
    ref = await _declare(seeded, "Search down")
    await person(seeded, "ann@example.com")
    async with browser(seeded) as http:
        await signed_in(http, "ann@example.com")
        async with http.stream("GET", f"/incidents/{ref}/events?after=0") as answer:
            assert answer.status_code == 200
            assert answer.headers["content-type"].startswith("text/event-stream")
            got = ""
            async for text in answer.aiter_text():
                got += text
                if "event: timeline" in got:
                    break
        assert '"kind": "declared"' in got
