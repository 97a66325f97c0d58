"""The live public doors (``/status``, its pages and feeds, ``/api/v2/*.json``) through
HTTP, on seed 004's page with a story; and the cache behind them: served from memory,
rebuilt when the page's version moves or its view grows old."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta

import feedparser
import httpx
import pytest
from tests.statuspage.page_story import OPEN_BODY, OPEN_UPDATE, RESOLVED_BODY, Story, tell

from tocsin.app import create_app
from tocsin.auth.actor import SYSTEM
from tocsin.clock import VirtualClock
from tocsin.context import Context
from tocsin.statuspage import public, service
from tocsin.statuspage.cache import PublicCache
from tocsin.statuspage.schemas import UpdateIn

COMPONENTS = ("Score Recording", "Game Player", "Payments and Subscriptions", "Learning")


@pytest.fixture
async def story(seeded: Context) -> Story:
    return await tell(seeded)


@pytest.fixture
async def site(seeded: Context, story: Story) -> AsyncIterator[httpx.AsyncClient]:
    """The app without credentials (the public's view), asking for changes every request."""
    settings = seeded.settings.model_copy(update={"statuspage_recheck_seconds": 0.0})
    app = create_app(settings, clock=seeded.clock, database=seeded.db)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


async def test_the_page_shows_components_incidents_and_maintenance(
    site: httpx.AsyncClient, story: Story
) -> None:
    answer = await site.get("/status")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/html; charset=utf-8"
    html = answer.text
    for name in (*COMPONENTS, "Scores are not saving", OPEN_BODY, OPEN_UPDATE):
        assert name in html
    assert "Reports database upgrade" in html and "Payment provider switch" in html
    assert "Games do not load" in html and RESOLVED_BODY in html  # three days ago
    leaves = (await site.get("/api/v2/components.json")).json()["components"]
    assert html.count('data-days="90"') == len([c for c in leaves if not c["group"]]) >= 12
    assert "d-major_outage" in html and "Major outage" in html
    assert '<form class="subscribe" method="post" action="/statuspage/subscribe">' in html
    # the same page at /status/
    assert (await site.get("/status/")).text == html


async def test_pages_feeds_and_assets(site: httpx.AsyncClient, story: Story) -> None:
    history = await site.get("/status/history")
    assert history.status_code == 200 and "Games do not load" in history.text
    one = await site.get(f"/status/incidents/{story.resolved_id}")
    assert one.status_code == 200 and RESOLVED_BODY in one.text
    css = await site.get("/status/assets/status.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    for path, version in (("/status/history.rss", "rss20"), ("/status/history.atom", "atom10")):
        feed = await site.get(path)
        parsed = feedparser.parse(feed.content)
        assert not parsed.bozo and parsed.version == version
        assert {e.title for e in parsed.entries} >= {"Scores are not saving", "Games do not load"}
        link = next(e.link for e in parsed.entries if e.title == "Games do not load")
        assert link == f"http://127.0.0.1:8080/status/incidents/{story.resolved_id}"


@pytest.mark.parametrize(
    "path",
    [
        "/status/incidents/nosuchincident",
        "/status/incidents/..%2F..%2Fetc",
        "/status/assets/..%2Fpage.py",
        "/status/assets/nothing.css",
        "/api/v2/nothing.json",
    ],
)
async def test_what_is_not_there_is_a_404(site: httpx.AsyncClient, path: str) -> None:
    answer = await site.get(path)
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"


async def test_json_documents_are_the_public_view_s(
    site: httpx.AsyncClient, seeded: Context, story: Story
) -> None:
    async with seeded.db.read() as session:
        view = await public.public_view(session, clock=seeded.clock)
    for name, document in public.DOCUMENTS.items():
        answer = await site.get(f"/api/v2/{name}")
        assert answer.status_code == 200, name
        assert answer.headers["content-type"] == "application/json"
        assert answer.json() == json.loads(json.dumps(document(view))), name
    summary = (await site.get("/api/v2/summary.json")).json()
    assert [i["name"] for i in summary["incidents"]] == ["Scores are not saving"]
    assert summary["status"]["indicator"] == "critical"


async def test_etag_lets_a_reader_revalidate(site: httpx.AsyncClient) -> None:
    first = await site.get("/status")
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "public, no-cache"
    again = await site.get("/status", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    other = await site.get("/status", headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200 and other.content == first.content


async def test_a_public_change_shows_at_once(
    site: httpx.AsyncClient, seeded: Context, story: Story
) -> None:
    before = await site.get("/status")
    summary = (await site.get("/api/v2/summary.json")).json()
    async with seeded.db.write() as session:
        await service.post_update(
            session,
            SYSTEM,
            story.open_id,
            UpdateIn(
                status="resolved", body="Scores are saved again.", deliver_notifications=False
            ),
            clock=seeded.clock,
        )
    after = await site.get("/status", headers={"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200 and "Scores are saved again." in after.text
    assert after.headers["etag"] != before.headers["etag"]
    assert (await site.get("/api/v2/summary.json")).json()["incidents"] == []
    assert summary["incidents"] != []


async def test_the_cache_renders_once_per_version(seeded: Context, story: Story) -> None:
    clock = seeded.clock
    assert isinstance(clock, VirtualClock)
    cache = PublicCache(base_url="http://x", recheck=0.0)
    first = await cache.file(seeded, "index.html")
    view = await cache.view(seeded)
    assert await cache.file(seeded, "index.html") is first  # same version: not rendered again
    assert await cache.view(seeded) is view
    clock.advance(timedelta(seconds=59))
    assert await cache.view(seeded) is view
    clock.advance(timedelta(seconds=2))  # a minute without changes: today's uptime moved
    assert await cache.view(seeded) is not view


async def test_between_rechecks_the_cache_answers_from_memory(
    seeded: Context, story: Story
) -> None:
    cache = PublicCache(base_url="http://x", recheck=3600.0)
    first = await cache.file(seeded, "api/v2/summary.json")
    async with seeded.db.write() as session:
        await service.post_update(
            session,
            SYSTEM,
            story.open_id,
            UpdateIn(status="monitoring", body="A fix is out.", deliver_notifications=False),
            clock=seeded.clock,
        )
    assert await cache.file(seeded, "api/v2/summary.json") is first
    fresh = PublicCache(base_url="http://x", recheck=3600.0)
    assert b"A fix is out." in (await fresh.file(seeded, "api/v2/summary.json") or first).body


async def test_gzip_for_who_accepts_it(site: httpx.AsyncClient) -> None:
    plain = await site.get("/status", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    packed = await site.get("/status", headers={"Accept-Encoding": "gzip"})
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.headers["vary"] == "Accept-Encoding"
    assert packed.content == plain.content  # httpx unpacked it
    assert int(packed.headers["content-length"]) < len(plain.content) / 4
    assert packed.headers["etag"] != plain.headers["etag"]


@pytest.mark.parametrize("path", ["/status", "/api/v2/status.json", "/status/assets/status.css"])
async def test_head_for_uptime_monitors(site: httpx.AsyncClient, path: str) -> None:
    got = await site.get(path)
    head = await site.head(path)
    assert head.status_code == 200 and head.headers["etag"] == got.headers["etag"]


async def test_requests_during_a_rebuild_get_the_previous_rendering(
    seeded: Context, story: Story
) -> None:
    cache = PublicCache(base_url="http://x", recheck=0.0)
    old = await cache.file(seeded, "api/v2/summary.json")
    async with seeded.db.write() as session:
        await service.post_update(
            session,
            SYSTEM,
            story.open_id,
            UpdateIn(status="monitoring", body="A fix is out.", deliver_notifications=False),
            clock=seeded.clock,
        )
    rebuilt, meanwhile = await asyncio.gather(
        cache.file(seeded, "api/v2/summary.json"), cache.file(seeded, "api/v2/summary.json")
    )
    assert meanwhile is old
    assert rebuilt is not None and b"A fix is out." in rebuilt.body
    assert await cache.file(seeded, "api/v2/summary.json") is rebuilt


BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


async def test_the_sign_up_form_answers_a_browser_with_a_page(site: httpx.AsyncClient) -> None:
    taken = await site.post(
        "/statuspage/subscribe",
        data={"email": "reader@example.org", "components": ["score-recording"]},
        headers=BROWSER,
    )
    assert taken.status_code == 202 and taken.headers["content-type"].startswith("text/html")
    assert "<h1>Check your inbox</h1>" in taken.text and 'href="/status"' in taken.text
    wrong = await site.post("/statuspage/subscribe", data={"email": "nope"}, headers=BROWSER)
    assert wrong.status_code == 422 and "<h1>That did not work</h1>" in wrong.text
    assert "email" in wrong.text
    # programs still get JSON
    api = await site.post("/statuspage/subscribe", json={"email": "other@example.org"})
    assert api.status_code == 202 and api.json()["status"] == "confirmation_sent"


@pytest.mark.parametrize("door", ["confirm", "unsubscribe"])
async def test_a_bad_link_answers_a_browser_with_a_page(site: httpx.AsyncClient, door: str) -> None:
    page = await site.get(f"/statuspage/{door}?token=forged", headers=BROWSER)
    assert page.status_code == 400 and "<h1>That did not work</h1>" in page.text
    api = await site.get(f"/statuspage/{door}?token=forged")
    assert api.status_code == 400 and api.json()["error"]["code"] == "invalid_link"
