"""The status page in a real headless Chromium (Debian's ``chromium``, driven by
Playwright with ``executable_path``: nothing is downloaded), first from a running Tocsin,
then from the static export served by a plain file server with Tocsin stopped.

Checked: the components, the open incident and the uptime bars are visible; axe-core's
WCAG 2.1 A/AA rules find nothing; the page fits a phone's width; the export shows the
same page and serves the same JSON bytes as the live app, and its links work. Screenshots
are saved as test artifacts (listed at the end of the run).
"""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urljoin

import feedparser
import httpx
import pytest
from playwright.async_api import Page, async_playwright, expect
from tests.browser import accessible, artifact_folder, tocsin_server
from tests.statuspage.page_samples import sample_view
from tests.statuspage.page_story import OPEN_BODY, OPEN_UPDATE, Story, tell

from tocsin.context import Context
from tocsin.statuspage import export, public

DESKTOP = {"width": 1100, "height": 900}
PHONE = {"width": 360, "height": 740}


@pytest.fixture
def artifacts() -> Path:
    return artifact_folder("statuspage")


@contextmanager
def static_server(directory: Path) -> Iterator[str]:
    """Python's plain static file server (what any web server or object store does)."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


async def _shows_the_page(page: Page, leaves: int) -> None:
    """The components, the open incident and every uptime bar are on screen."""
    for name in ("Score Recording", "Game Player", "Payments and Subscriptions"):
        assert await page.get_by_role("heading", name=name, exact=True).is_visible(), name
    active = page.locator("section", has=page.get_by_role("heading", name="Active incidents"))
    assert await active.get_by_role("heading", name="Scores are not saving").is_visible()
    assert await active.get_by_text(OPEN_UPDATE).is_visible()
    assert await active.get_by_text(OPEN_BODY).is_visible()
    bars = page.locator("svg.bar")
    assert await bars.count() == leaves
    for index in range(leaves):
        box = await bars.nth(index).bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] >= 20, index
    outage = page.locator("#component-score-recording svg.bar rect.d-major_outage")
    assert await outage.is_visible()
    label = await page.locator("#component-score-recording svg.bar title").text_content()
    assert label is not None and "uptime over the last 90 days" in label


async def _signs_up(page: Page) -> None:
    """The sign-up form works without JavaScript: it reaches Tocsin's door."""
    await page.get_by_label("E-mail address").fill("reader@example.org")
    await page.get_by_text("Only about some components").click()
    await page.get_by_label("Learning: Score Recording").check()
    async with page.expect_response("**/statuspage/subscribe") as answer:
        await page.get_by_role("button", name="Subscribe").click()
    assert (await answer.value).status == 202
    # The response can arrive before Chromium has drawn the page it carries: wait for it.
    await expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    await accessible(page)
    await page.go_back()


async def _fits_a_phone(page: Page) -> None:
    wide = await page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    assert not wide, "the page scrolls sideways on a phone"


async def _local_links(page: Page) -> list[str]:
    hrefs = await page.eval_on_selector_all("a[href], link[href]", "e => e.map(a => a.href)")
    return [h for h in hrefs if h.startswith("http://127.0.0.1")]


async def test_the_page_in_chromium_live_and_exported(
    seeded: Context,
    chromium: str,
    artifacts: Path,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    story: Story = await tell(seeded)
    backend = seeded.db.dialect
    async with seeded.db.read() as session:
        view = await public.public_view(session, clock=seeded.clock)
    leaves = len([c for c in view.components if not c["group"]])

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium)
        try:
            with tocsin_server(seeded.settings.database_url, seeded.clock) as live:
                async with httpx.AsyncClient(base_url=live) as http:
                    documents = {
                        name: (await http.get(f"/api/v2/{name}")).content
                        for name in public.DOCUMENTS
                    }
                page = await browser.new_page(viewport=DESKTOP)  # type: ignore[arg-type]
                assert (await page.goto(f"{live}/status")).ok  # type: ignore[union-attr]
                await _shows_the_page(page, leaves)
                await accessible(page)
                live_text = await page.inner_text("main")
                shot = artifacts / f"status-live-{backend}.png"
                await page.screenshot(path=shot, full_page=True)
                request.node.user_properties.append(("artifact", str(shot)))
                await _signs_up(page)
                phone = await browser.new_page(viewport=PHONE)  # type: ignore[arg-type]
                await phone.goto(f"{live}/status")
                await _fits_a_phone(phone)
                shot = artifacts / f"status-phone-{backend}.png"
                await phone.screenshot(path=shot, full_page=True)
                request.node.user_properties.append(("artifact", str(shot)))

            # Tocsin is stopped: the export, served by a plain file server
            site = tmp_path / "site"
            await export.export(seeded.db, site, clock=seeded.clock)
            with static_server(site) as static:
                page = await browser.new_page(viewport=DESKTOP)  # type: ignore[arg-type]
                assert (await page.goto(f"{static}/")).ok  # type: ignore[union-attr]
                await _shows_the_page(page, leaves)
                assert await page.inner_text("main") == live_text
                shot = artifacts / f"status-export-{backend}.png"
                await page.screenshot(path=shot, full_page=True)
                request.node.user_properties.append(("artifact", str(shot)))
                async with httpx.AsyncClient() as http:
                    for name, body in documents.items():
                        answer = await http.get(f"{static}/api/v2/{name}")
                        assert answer.status_code == 200 and answer.content == body, name
                    for link in await _local_links(page):
                        assert (await http.get(link)).status_code == 200, link
                    for feed, version in (("history.rss", "rss20"), ("history.atom", "atom10")):
                        parsed = feedparser.parse((await http.get(f"{static}/{feed}")).content)
                        assert not parsed.bozo and parsed.version == version
                        assert "Scores are not saving" in {e.title for e in parsed.entries}
                await page.get_by_role("link", name="Scores are not saving").first.click()
                await page.wait_for_url(urljoin(f"{static}/", f"incidents/{story.open_id}.html"))
                await expect(page.get_by_text(OPEN_UPDATE)).to_be_visible()
                await accessible(page)
        finally:
            await browser.close()


@pytest.mark.parametrize("locale", ["en", "nl"])
async def test_every_kind_of_page_passes_axe_in_each_language(
    chromium: str, tmp_path: Path, locale: str
) -> None:
    """The page, the history and an incident's page, opened from disk (the export works
    there too), in English and in Dutch."""
    export.write(sample_view(locale), tmp_path, subscribe="https://tocsin.example.org/s")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium)
        try:
            page = await browser.new_page(viewport=DESKTOP)  # type: ignore[arg-type]
            for name in ("index.html", "history.html", "incidents/inc0active.html"):
                await page.goto((tmp_path / name).as_uri())
                assert await page.get_attribute("html", "lang") == locale
                await accessible(page)
            await page.goto((tmp_path / "index.html").as_uri())
            await page.get_by_role("link", name="Games do not load").first.click()
            await page.wait_for_url((tmp_path / "incidents/inc0old.html").as_uri())
        finally:
            await browser.close()
